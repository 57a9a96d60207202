"""Learning-rate schedules: the ``LrScheduler`` base, the piecewise and custom schedules.

A schedule is a pure function of the train step ``s`` (0 at the first update):
``value(s)`` returns the warmup rate while ``s < warmup.steps`` and otherwise the decay at
the absolute step (warmup does not shift the decay). The arithmetic is done in double and
the result rounded to float32, as OneFlow's kernel does. ``plot(steps)`` draws the schedule
with matplotlib (an optional dependency).

The decay schedules (cosine, polynomial, exponential, ...) live in
:mod:`tideflow.optimizer.decay_schedulers`; every schedule is registered through
``CORE_SCHEDULERS`` and reached as ``flow.optimizer.<Name>``.
"""

from __future__ import annotations

import bisect
import inspect
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from tideflow.errors import HyperparameterError
from tideflow.framework.blob import Blob
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
            raise HyperparameterError(f"{cls}: `warmup` must be flow.optimizer.warmup."
                                      f"constant(...), linear(...) or None; received "
                                      f"warmup={warmup!r}")
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
        """The constructor arguments by name, as stored (``base_lr`` rounded to float32).

        Read from the attributes named like the parameters of ``__init__``, so ``repr``
        shows e.g. ``CosineScheduler(base_lr=..., steps=10000, alpha=0.0, warmup=None)``.
        """
        params = list(inspect.signature(type(self).__init__).parameters)[1:]
        return {name: getattr(self, name) for name in params if hasattr(self, name)}

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


class CustomScheduler(LrScheduler):
    """The learning rate is a blob computed by the job itself (OneFlow's ``CustomScheduler``).

    ``lbn`` is a blob built in the train job's body (``flow.constant(0.1, flow.float)``, or
    any op's output, e.g. a function of other blobs); it must hold exactly one element. The
    train pass casts it to float32 and reshapes it to ``(1,)`` in place of the
    ``lr_schedule`` op, so each step's update uses the value the job computed in that step.
    There is no warmup or decay on top (OneFlow asserts neither is set).

    OneFlow differences: OneFlow takes the blob's logical blob name (a str); tideflow takes
    the blob itself and does not resolve names. v0.3.4 used the blob directly, as tideflow
    does; v0.4.0/v0.5.0 overwrite it with a schedule op whose base rate is 0 (spec §4, an
    apparent bug: the effective rate would be 0), which tideflow does not reproduce.

    Args:
        lbn: the learning-rate blob (one element, any numeric dtype).
        warmup: must be None (a custom rate takes no warmup).

    Example::

        @flow.global_function(type="train")
        def train(x: tp.Numpy.Placeholder((4,))) -> tp.Numpy:
            ...
            lr = flow.constant(0.05, flow.float)
            flow.optimizer.SGD(flow.optimizer.CustomScheduler(lr), momentum=0).minimize(loss)

    Reference: OneFlow v0.3.4/v0.4.0 ``oneflow/python/ops/optimizer.py`` (CustomScheduler)
    and ``oneflow/core/job_rewriter/auto_learning_rate.cpp``.
    """

    def __init__(self, lbn: Blob, warmup: WarmupConf | None = None) -> None:
        cls = type(self).__name__
        if not isinstance(lbn, Blob):
            raise HyperparameterError(
                f"{cls}: `lbn` must be a blob built in the train job's body (tideflow does not "
                f"resolve logical blob names); received lbn={lbn!r}")
        if warmup is not None:
            raise HyperparameterError(f"{cls}: `warmup` must be None (a custom learning rate "
                                      f"takes no warmup, as in OneFlow); received "
                                      f"warmup={warmup!r}")
        self.blob = lbn
        self.warmup = None

    @property
    def lbn(self) -> Blob:
        """The learning-rate blob (OneFlow's argument name)."""
        return self.blob

    def decay(self, step: int) -> float:
        """Not available: see :meth:`value`."""
        return self.value(step)

    def value(self, step: int) -> float:
        """Raise TypeError: the rate is computed in the job, not by the schedule."""
        raise TypeError(f"CustomScheduler: the learning rate is the blob "
                        f"'{self.blob.logical_blob_name}', computed in the job at each step; "
                        "it has no value outside the job (read the blob in the job instead)")


#: The schedules the core registers through ``tideflow_lr_schedulers``.
CORE_SCHEDULERS = {
    name: f"tideflow.optimizer.{module}:{name}"
    for module, names in (
        ("schedulers", ("PiecewiseConstantScheduler", "PiecewiseScalingScheduler",
                        "CustomScheduler")),
        ("decay_schedulers", ("CosineScheduler", "LinearCosineScheduler",
                              "PolynomialScheduler", "PolynomialSchduler",
                              "ExponentialScheduler", "InverseTimeScheduler",
                              "NaturalExpScheduler")),
    )
    for name in names
}
