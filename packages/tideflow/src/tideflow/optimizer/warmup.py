"""``flow.optimizer.warmup``: constant and linear warmup (no offset of the decay)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from tideflow.errors import HyperparameterError


@dataclass(frozen=True)
class WarmupConf(ABC):
    """Base of warmups: active while ``step < steps``."""

    steps: int

    @abstractmethod
    def value(self, base_lr: float, step: int) -> float:
        """The warmup learning rate at ``step`` (only called when ``step < steps``)."""


@dataclass(frozen=True)
class ConstantWarmup(WarmupConf):
    """lr = base_lr * multiplier during warmup."""

    multiplier: float

    def value(self, base_lr: float, step: int) -> float:
        """``base_lr * multiplier``."""
        return base_lr * self.multiplier


@dataclass(frozen=True)
class LinearWarmup(WarmupConf):
    """lr = base_lr * (start + (1 - start) * step / steps) during warmup."""

    start_multiplier: float

    def value(self, base_lr: float, step: int) -> float:
        """``base_lr * (start + (1 - start) * step / steps)``."""
        s = self.start_multiplier
        return base_lr * (s + (1.0 - s) * step / self.steps)


def _steps(name: str, steps: object) -> int:
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 0:
        raise HyperparameterError(f"warmup.{name}: `steps` must be an int >= 0; received "
                                  f"steps={steps!r}")
    return steps


def constant(steps: int, multiplier: float) -> ConstantWarmup:
    """Constant warmup for ``steps`` steps; OneFlow requires 0 < multiplier < 1."""
    if not isinstance(multiplier, int | float) or not 0 < multiplier < 1:
        raise HyperparameterError("warmup.constant: `multiplier` must be in (0, 1); received "
                                  f"multiplier={multiplier!r}")
    return ConstantWarmup(_steps("constant", steps), float(multiplier))


def linear(steps: int, start_multiplier: float) -> LinearWarmup:
    """Linear warmup from ``start_multiplier`` to 1; OneFlow requires 0 <= start < 1."""
    if not isinstance(start_multiplier, int | float) or not 0 <= start_multiplier < 1:
        raise HyperparameterError("warmup.linear: `start_multiplier` must be in [0, 1); "
                                  f"received start_multiplier={start_multiplier!r}")
    return LinearWarmup(_steps("linear", steps), float(start_multiplier))
