"""Learning-rate schedules: the ``LrScheduler`` base and OneFlow's piecewise schedules.

A schedule is a pure function of the train step ``s`` (0 at the first update):
``value(s)`` returns the warmup rate while ``s < warmup.steps`` and otherwise the decay at
the absolute step (warmup does not shift the decay). The arithmetic is done in double and
the result rounded to float32, as OneFlow's kernel does. ``plot(steps)`` draws the schedule
with matplotlib (an optional dependency).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from tideflow.errors import HyperparameterError
from tideflow.optimizer.warmup import WarmupConf


def _number(cls: str, name: str, value: Any) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise HyperparameterError(f"{cls}: `{name}` must be a finite number; received "
                                  f"{name}={value!r}")
    return float(value)


class LrScheduler:
    """Base of learning-rate schedules.

    Subclasses implement :meth:`decay`; the base handles warmup, float32 rounding and
    plotting.

    Args:
        base_lr: the base learning rate B.
        warmup: ``flow.optimizer.warmup.constant(...)`` / ``linear(...)`` or None.
    """

    def __init__(self, base_lr: float, warmup: WarmupConf | None = None) -> None:
        cls = type(self).__name__
        self.base_lr = float(np.float32(_number(cls, "base_lr", base_lr)))
        if warmup is not None and not isinstance(warmup, WarmupConf):
            raise HyperparameterError(f"{cls}: `warmup` must come from flow.optimizer.warmup; "
                                      f"received warmup={warmup!r}")
        self.warmup = warmup

    def decay(self, step: int) -> float:
        """The decayed rate at ``step`` (no warmup); constant base_lr by default."""
        return self.base_lr

    def value(self, step: int) -> float:
        """The learning rate used by the update at train step ``step`` (float32)."""
        if self.warmup is not None and step < self.warmup.steps:
            return float(np.float32(self.warmup.value(self.base_lr, step)))
        return float(np.float32(self.decay(step)))

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, for display and serialization."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    def plot(self, steps: int, ax: Any = None) -> Any:
        """Plot ``value(s)`` for ``s`` in ``range(steps)`` and return the matplotlib axes."""
        try:
            import matplotlib.pyplot as plt
        except ImportError as exc:
            raise ImportError("LrScheduler.plot needs matplotlib: pip install "
                              "'tideflow[plot]'") from exc
        if ax is None:
            _, ax = plt.subplots()
        xs = np.arange(int(steps))
        ax.plot(xs, [self.value(int(s)) for s in xs])
        ax.set_xlabel("train step")
        ax.set_ylabel("learning rate")
        ax.set_title(type(self).__name__)
        return ax

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _boundaries(cls: str, boundaries: Any) -> list[int]:
    ok = isinstance(boundaries, Sequence) and all(
        isinstance(b, int) and not isinstance(b, bool) and b >= 0 for b in boundaries)
    if not ok or list(boundaries) != sorted(boundaries):
        raise HyperparameterError(f"{cls}: `boundaries` must be a sorted list of ints >= 0; "
                                  f"received boundaries={boundaries!r}")
    return list(boundaries)


class PiecewiseConstantScheduler(LrScheduler):
    """lr = values[i], i = the first index with ``step <= boundaries[i]`` (else the last).

    OneFlow's kernel uses ``<=``: the step equal to a boundary still gets the earlier
    value. ``values[0]`` is the base rate that warmup scales.

    Args:
        boundaries: sorted step boundaries.
        values: ``len(boundaries) + 1`` learning rates.
        warmup: optional warmup.
    """

    def __init__(self, boundaries: Sequence[int], values: Sequence[float],
                 warmup: WarmupConf | None = None) -> None:
        cls = type(self).__name__
        self.boundaries = _boundaries(cls, boundaries)
        if not isinstance(values, Sequence) or len(values) != len(self.boundaries) + 1:
            raise HyperparameterError(
                f"{cls}: `values` must have len(boundaries) + 1 = {len(self.boundaries) + 1} "
                f"entries; received values={values!r}")
        self.values = [_number(cls, "values", v) for v in values]
        super().__init__(self.values[0], warmup)

    def decay(self, step: int) -> float:
        """``values[i]`` for the first boundary with ``step <= boundaries[i]``."""
        return self.values[bisect.bisect_left(self.boundaries, step)]


class PiecewiseScalingScheduler(LrScheduler):
    """lr = base_lr * scales[i] with scales = [1, *scale] and i as in the constant schedule.

    Args:
        base_lr: base learning rate.
        boundaries: sorted step boundaries.
        scale: one factor per boundary, or a single factor repeated.
        warmup: optional warmup.
    """

    def __init__(self, base_lr: float, boundaries: Sequence[int],
                 scale: float | Sequence[float], warmup: WarmupConf | None = None) -> None:
        cls = type(self).__name__
        self.boundaries = _boundaries(cls, boundaries)
        if isinstance(scale, int | float) and not isinstance(scale, bool):
            scales = [float(scale)] * len(self.boundaries)
        else:
            if not isinstance(scale, Sequence) or len(scale) != len(self.boundaries):
                raise HyperparameterError(
                    f"{cls}: `scale` must be a number or have one entry per boundary; "
                    f"received scale={scale!r}")
            scales = [_number(cls, "scale", s) for s in scale]
        self.scale = scale
        self.scales = [1.0, *scales]
        super().__init__(base_lr, warmup)

    def decay(self, step: int) -> float:
        """``base_lr * scales[i]`` for the first boundary with ``step <= boundaries[i]``."""
        return self.base_lr * self.scales[bisect.bisect_left(self.boundaries, step)]


#: The schedules the core registers through ``tideflow_lr_schedulers``.
CORE_SCHEDULERS = {
    "PiecewiseConstantScheduler": "tideflow.optimizer.schedulers:PiecewiseConstantScheduler",
    "PiecewiseScalingScheduler": "tideflow.optimizer.schedulers:PiecewiseScalingScheduler",
}
