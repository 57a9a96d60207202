"""OneFlow's decay schedules: cosine, linear-cosine, polynomial, exponential, inverse time.

Every class here computes ``decay(s)`` in double from the float32 base rate ``B`` and the
double decay parameters, exactly as OneFlow's ``learning_rate_schedule`` kernel does; the
base class :class:`~tideflow.optimizer.schedulers.LrScheduler` rounds the result to float32
and applies warmup. Warmup does **not** offset the decay: at ``s >= warmup.steps`` the decay
is evaluated at the absolute step ``s`` (spec §4-5).

``steps`` (OneFlow's ``decay_batches``, D below) must be a positive int. OneFlow's guide
writes ``CosineScheduler(10000, 0.01, warmup=...)`` for "start at 0.01, decay over 10000
steps", but the signature is ``(base_lr, steps, ...)``; such a call raises
:class:`~tideflow.errors.HyperparameterError` naming ``steps=0.01`` and suggesting
``CosineScheduler(0.01, 10000, ...)`` instead of silently decaying over 0.01 steps.

There is no ``CosineDecayScheduler``: OneFlow's legacy API has none (spec §2.5 lists the
schedules; ``CosineAnnealingDecayConf`` exists only in v0.5.0 protos for the eager API).

Reference: OneFlow v0.4.0 ``oneflow/python/ops/optimizer.py`` (classes) and
``oneflow/core/kernel/learning_rate_schedule_kernel.cpp`` (formulas).
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from tideflow.errors import HyperparameterError
from tideflow.optimizer.base import check_hyper, is_real
from tideflow.optimizer.schedulers import LrScheduler
from tideflow.optimizer.warmup import WarmupConf


def _looks_swapped(base_lr: Any, steps: Any) -> bool:
    """``base_lr`` looks like a step count and ``steps`` like a learning rate."""
    return (is_real(base_lr) and float(base_lr).is_integer() and base_lr >= 1
            and is_real(steps) and 0 < steps < 1)


def _steps(cls: str, base_lr: Any, steps: Any) -> int:
    """Validate ``steps`` (a positive int); suggest the swapped call when it fits."""
    if isinstance(steps, numbers.Integral) and not isinstance(steps, bool) and steps > 0:
        return int(steps)
    hint = ""
    if _looks_swapped(base_lr, steps):
        hint = (f". The signature is {cls}(base_lr, steps, ...): did you mean "
                f"{cls}({float(steps)!r}, {int(base_lr)}, ...)?")
    raise HyperparameterError(f"{cls}: `steps` must be a positive int (the number of decay "
                              f"steps); received steps={steps!r}{hint}")


def _real(cls: str, name: str, value: Any, constraint: str,
          ok: Callable[[float], bool] = lambda v: True) -> float:
    """Validate a finite real number satisfying ``ok``; return it as a (double) float."""
    check_hyper(cls, name, value, is_real(value) and ok(float(value)), constraint)
    return float(value)


def _flag(cls: str, name: str, value: Any) -> bool:
    check_hyper(cls, name, value, isinstance(value, bool | np.bool_), "a bool (True or False)")
    return bool(value)


class CosineScheduler(LrScheduler):
    """Cosine decay from ``base_lr`` to ``alpha * base_lr`` over ``steps``.

    ``c = min(s, steps)``;
    ``lr = base_lr * ((1 - alpha) * 0.5 * (1 + cos(pi * c / steps)) + alpha)``: it falls
    from ``base_lr`` at ``s = 0`` to ``alpha * base_lr`` at ``s >= steps``.
    OneFlow does not check ``alpha``; tideflow requires ``0 <= alpha <= 1`` (alpha is the
    final fraction of the base rate: below 0 the rate turns negative, above 1 it rises).

    Args:
        base_lr: base learning rate B (stored as float32, like OneFlow's proto).
        steps: decay length D, a positive int.
        alpha: final fraction of ``base_lr``, in [0, 1]; default 0.0.
        warmup: ``flow.optimizer.warmup.constant(...)`` / ``linear(...)`` or None.

    Example::

        lr = flow.optimizer.CosineScheduler(0.01, 10000,
                                            warmup=flow.optimizer.warmup.linear(500, 0.0))

    Reference: OneFlow ``CosineDecayedLearningRate`` (learning_rate_schedule_kernel.cpp).
    """

    def __init__(self, base_lr: float, steps: int, alpha: float = 0.0,
                 warmup: WarmupConf | None = None) -> None:
        cls = type(self).__name__
        steps = _steps(cls, base_lr, steps)
        alpha = _real(cls, "alpha", alpha, "a number in [0, 1]", lambda v: 0 <= v <= 1)
        super().__init__(base_lr, warmup)
        self.steps, self.alpha = steps, alpha

    def decay(self, step: int) -> float:
        """The cosine-decayed rate at absolute ``step`` (double)."""
        c = float(min(step, self.steps))
        cosine = 0.5 * (1.0 + math.cos(math.pi * c / self.steps))
        return self.base_lr * ((1.0 - self.alpha) * cosine + self.alpha)


class LinearCosineScheduler(LrScheduler):
    """Linear decay times a cosine with ``num_periods`` periods, plus ``beta``.

    ``c = min(s, steps)``, ``lin = (steps - c) / steps``,
    ``cos = 0.5 * (1 + cos(2 * pi * num_periods * c / steps))``,
    ``lr = base_lr * ((alpha + lin) * cos + beta)``.

    OneFlow checks none of these; tideflow requires ``num_periods >= 0`` (the cosine is
    even, a negative count only repeats a positive one), ``alpha >= 0`` and ``beta >= 0``
    (together they keep the rate >= 0 for ``base_lr >= 0``).

    Args:
        base_lr: base learning rate B.
        steps: decay length D, a positive int.
        num_periods: cosine periods over D; default 0.5.
        alpha: added to the linear factor, >= 0; default 0.0.
        beta: added to the product (the floor of the rate's factor), >= 0; default 0.001.
        warmup: optional warmup.

    Example::

        lr = flow.optimizer.LinearCosineScheduler(0.1, 1000, num_periods=2)

    Reference: OneFlow ``LinearCosineDecayedLearningRate``.
    """

    def __init__(self, base_lr: float, steps: int, num_periods: float = 0.5,
                 alpha: float = 0.0, beta: float = 0.001,
                 warmup: WarmupConf | None = None) -> None:
        cls = type(self).__name__
        steps = _steps(cls, base_lr, steps)
        num_periods = _real(cls, "num_periods", num_periods, "a number >= 0", lambda v: v >= 0)
        alpha = _real(cls, "alpha", alpha, "a number >= 0", lambda v: v >= 0)
        beta = _real(cls, "beta", beta, "a number >= 0", lambda v: v >= 0)
        super().__init__(base_lr, warmup)
        self.steps, self.num_periods, self.alpha, self.beta = steps, num_periods, alpha, beta

    def decay(self, step: int) -> float:
        """The linear-cosine-decayed rate at absolute ``step`` (double)."""
        d = float(self.steps)
        c = min(float(step), d)
        linear = (d - c) / d
        cosine = 0.5 * (1.0 + math.cos(math.pi * 2.0 * self.num_periods * c / d))
        return self.base_lr * ((self.alpha + linear) * cosine + self.beta)


class PolynomialScheduler(LrScheduler):
    """Polynomial decay from ``base_lr`` to ``end_learning_rate`` (E) over ``steps`` (D).

    * ``cycle=False``: ``c = min(s, D)``; ``lr = (B - E) * (1 - c / D) ** power + E``.
    * ``cycle=True``: ``c = s`` except ``c = 1`` at ``s = 0``; ``D' = D * ceil(c / D)``;
      ``lr = (B - E) * (1 - c / D') ** power + E``. The restart at ``s = 0`` therefore
      already uses ``c = 1``, and every exact multiple of D gives ``lr = E`` (OneFlow's kernel).

    OneFlow does not check ``power`` or E; tideflow requires ``power > 0`` (``0 ** power``
    at the end of the decay must be 0) and ``end_learning_rate >= 0``.

    Args:
        base_lr: base learning rate B.
        steps: decay length D, a positive int.
        end_learning_rate: final rate E, >= 0; default 0.0001.
        power: exponent, > 0; default 1.0 (linear decay).
        cycle: restart the decay every D steps; default False.
        warmup: optional warmup.

    Example::

        lr = flow.optimizer.PolynomialScheduler(1e-4, 100000, end_learning_rate=0.0,
                                                warmup=flow.optimizer.warmup.linear(1000, 0))

    Reference: OneFlow ``PolynomialDecayedLearningRate``.
    """

    def __init__(self, base_lr: float, steps: int, end_learning_rate: float = 0.0001,
                 power: float = 1.0, cycle: bool = False,
                 warmup: WarmupConf | None = None) -> None:
        cls = type(self).__name__
        steps = _steps(cls, base_lr, steps)
        end = _real(cls, "end_learning_rate", end_learning_rate, "a number >= 0",
                    lambda v: v >= 0)
        power = _real(cls, "power", power, "a number > 0", lambda v: v > 0)
        cycle = _flag(cls, "cycle", cycle)
        super().__init__(base_lr, warmup)
        self.steps, self.end_learning_rate, self.power, self.cycle = steps, end, power, cycle

    def decay(self, step: int) -> float:
        """The polynomially decayed rate at absolute ``step`` (double)."""
        c, d = float(step), float(self.steps)
        if self.cycle:
            if step == 0:
                c = 1.0
            d = d * math.ceil(c / d)
        else:
            c = min(c, d)
        end = self.end_learning_rate
        return (self.base_lr - end) * (1.0 - c / d) ** self.power + end


class PolynomialSchduler(PolynomialScheduler):
    """Deprecated misspelt alias of :class:`PolynomialScheduler` (as in OneFlow).

    Constructing it emits a :class:`DeprecationWarning`; the schedule is identical.
    """

    def __init__(self, base_lr: float, steps: int, end_learning_rate: float = 0.0001,
                 power: float = 1.0, cycle: bool = False,
                 warmup: WarmupConf | None = None) -> None:
        warnings.warn("flow.optimizer.PolynomialSchduler is a deprecated misspelling; use "
                      "flow.optimizer.PolynomialScheduler", DeprecationWarning, stacklevel=2)
        super().__init__(base_lr, steps, end_learning_rate, power, cycle, warmup)


class _StaircaseScheduler(LrScheduler):
    """Shared arguments of the exponential-family decays: ``p = s / D``, floored if asked."""

    def __init__(self, base_lr: float, steps: int, decay_rate: float, staircase: bool = False,
                 warmup: WarmupConf | None = None) -> None:
        cls = type(self).__name__
        steps = _steps(cls, base_lr, steps)
        decay_rate = _real(cls, "decay_rate", decay_rate, "a number > 0", lambda v: v > 0)
        staircase = _flag(cls, "staircase", staircase)
        super().__init__(base_lr, warmup)
        self.steps, self.decay_rate, self.staircase = steps, decay_rate, staircase

    def _progress(self, step: int) -> float:
        p = float(step) / float(self.steps)
        return math.floor(p) if self.staircase else p


class ExponentialScheduler(_StaircaseScheduler):
    """Exponential decay by ``decay_rate`` every ``steps`` steps.

    ``p = s / steps`` (floored if ``staircase``);
    ``lr = base_lr * decay_rate ** p``.

    tideflow requires ``decay_rate > 0`` (OneFlow does not check it).

    Args:
        base_lr: base learning rate B.
        steps: decay period D, a positive int.
        decay_rate: factor per D steps, > 0 (required).
        staircase: decay in whole periods; default False.
        warmup: optional warmup.

    Example::

        lr = flow.optimizer.ExponentialScheduler(0.1, 1000, 0.96, staircase=True)

    Reference: OneFlow ``ExponentialDecayedLearningRate``.
    """

    def decay(self, step: int) -> float:
        """``base_lr * decay_rate ** p`` (double)."""
        return self.base_lr * self.decay_rate ** self._progress(step)


class InverseTimeScheduler(_StaircaseScheduler):
    """Inverse-time decay: the rate is divided by ``1 + decay_rate`` per ``steps`` steps.

    ``p = s / steps`` (floored if ``staircase``);
    ``lr = base_lr / (1 + decay_rate * p)``.

    OneFlow's docstring floors ``decay_rate * p`` with staircase; its kernel (followed here)
    floors ``p``. tideflow requires ``decay_rate > 0``.

    Args:
        base_lr: base learning rate B.
        steps: decay period D, a positive int.
        decay_rate: rate, > 0 (required).
        staircase: decay in whole periods; default False.
        warmup: optional warmup.

    Example::

        lr = flow.optimizer.InverseTimeScheduler(0.1, 1000, 0.5)

    Reference: OneFlow ``InverseTimeDecayedLearningRate``.
    """

    def decay(self, step: int) -> float:
        """``base_lr / (1 + decay_rate * p)`` (double)."""
        return self.base_lr / (1.0 + self.decay_rate * self._progress(step))


class NaturalExpScheduler(_StaircaseScheduler):
    """Natural-exponential decay: times ``exp(-decay_rate)`` every ``steps`` steps.

    ``p = s / steps`` (floored if ``staircase``);
    ``lr = base_lr * exp(-decay_rate * p)``.

    tideflow requires ``decay_rate > 0``.

    Args:
        base_lr: base learning rate B.
        steps: decay period D, a positive int.
        decay_rate: rate, > 0 (required).
        staircase: decay in whole periods; default False.
        warmup: optional warmup.

    Example::

        lr = flow.optimizer.NaturalExpScheduler(0.1, 1000, 0.5)

    Reference: OneFlow ``NaturalExpDecayedLearningRate``.
    """

    def decay(self, step: int) -> float:
        """``base_lr * exp(-decay_rate * p)`` (double)."""
        return self.base_lr * math.exp(-self.decay_rate * self._progress(step))

