"""``flow.optimizer.loss_scale``: static and dynamic loss scaling.

Dynamic scaling (OneFlow's ``DynamicLossScaleSchedulePass``): the loss is seeded with the
current scale s and gradients are multiplied by 1/s; if any gradient element is not
finite, every update of the step is skipped (variables, slots and the train step stay as
they were) and s becomes max(s / multiplier, 1); after ``increment_period`` good steps in a
row s grows by ``multiplier`` (capped at float32's max). The state lives in variables
``System-Train-DynamicLossScale-<job>-LossScale`` (float32), ``-GoodStepCounter`` (int64)
and tideflow's ``-SkippedSteps`` (int64, the number of skipped steps), so it is saved in
checkpoints and can be read with ``flow.get_all_variables()``.
"""

from __future__ import annotations

from dataclasses import dataclass

from tideflow.errors import HyperparameterError


@dataclass(frozen=True)
class LossScalePolicy:
    """Base of loss-scale policies."""


@dataclass(frozen=True)
class StaticLossScalePolicy(LossScalePolicy):
    """Seed the loss gradient with S and multiply gradients by 1/S after averaging."""

    loss_scale_factor: float


def static_loss_scale(loss_scale_factor: float) -> StaticLossScalePolicy:
    """Return a static loss-scale policy.

    Raises:
        HyperparameterError: the factor is not a positive finite number.
    """
    if (not isinstance(loss_scale_factor, int | float) or isinstance(loss_scale_factor, bool)
            or not 0 < loss_scale_factor < float("inf")):
        raise HyperparameterError(
            "static_loss_scale: `loss_scale_factor` must be a positive finite number; "
            f"received loss_scale_factor={loss_scale_factor!r}"
        )
    return StaticLossScalePolicy(float(loss_scale_factor))


@dataclass(frozen=True)
class DynamicLossScalePolicy(LossScalePolicy):
    """Grow the scale after good steps, halve it and skip the step on overflow."""

    initial_loss_scale: float
    increment_period: int
    multiplier: float


def dynamic_loss_scale(initial_loss_scale: float = 2.0**30, increment_period: int = 2000,
                       multiplier: float = 2.0) -> DynamicLossScalePolicy:
    """Return a dynamic loss-scale policy (OneFlow's defaults).

    Raises:
        HyperparameterError: a value is out of range (initial scale >= 1 and finite,
            increment_period a positive int, multiplier > 1).
    """
    checks = [
        ("initial_loss_scale", initial_loss_scale,
         isinstance(initial_loss_scale, int | float) and not isinstance(initial_loss_scale, bool)
         and 1 <= initial_loss_scale < float("inf"), "a finite number >= 1"),
        ("increment_period", increment_period,
         isinstance(increment_period, int) and not isinstance(increment_period, bool)
         and increment_period > 0, "a positive int"),
        ("multiplier", multiplier, isinstance(multiplier, int | float)
         and not isinstance(multiplier, bool) and 1 < multiplier < float("inf"),
         "a finite number > 1"),
    ]
    for name, value, ok, constraint in checks:
        if not ok:
            raise HyperparameterError(f"dynamic_loss_scale: `{name}` must be {constraint}; "
                                      f"received {name}={value!r}")
    return DynamicLossScalePolicy(float(initial_loss_scale), int(increment_period),
                                  float(multiplier))


def schedule_step(count_not_finite: int, good_steps: int, scale: float, increment_period: int,
                  multiplier: float) -> tuple[int, float]:
    """One step of the scale schedule (OneFlow's kernel, spec §9.2).

    Returns ``(good_steps, scale)`` after a step with ``count_not_finite`` non-finite
    gradient elements.
    """
    import numpy as np

    if count_not_finite == 0:
        good_steps += 1
        if good_steps >= increment_period:
            scale = float(np.float32(min(float(scale) * multiplier,
                                         float(np.finfo(np.float32).max))))
            good_steps = 0
        return good_steps, scale
    return 0, float(np.float32(max(float(scale) / multiplier, 1.0)))
