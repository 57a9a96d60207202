"""Dynamic loss scaling in the train pass (spec §1 steps 1, 3, 4, 8; §9.2).

The loss is seeded with the current scale variable, gradients are divided by it after
averaging, the non-finite elements of all gradients are counted, every update op and the
step counter receive that count as their ``skip`` input, and a schedule op updates the
scale for the next step.
"""

from __future__ import annotations

from dataclasses import dataclass

from tideflow import dtypes
from tideflow.framework import build
from tideflow.framework.blob import Blob
from tideflow.initializers import constant_initializer, zeros_initializer
from tideflow.optimizer.loss_scale import DynamicLossScalePolicy

PREFIX = "System-Train-DynamicLossScale"


@dataclass
class ScaleState:
    """The blobs of the dynamic loss-scale variables of one job."""

    scale: Blob
    good_steps: Blob
    skipped_steps: Blob


def declare_state(ctx: build.BuildContext, policy: DynamicLossScalePolicy) -> ScaleState:
    """Create (or reuse) the job's loss-scale variables."""
    from tideflow.variables import declare_in_job

    base = f"{PREFIX}-{ctx.job_name}"
    return ScaleState(
        declare_in_job(f"{base}-LossScale", (1,), dtypes.float32,
                       constant_initializer(policy.initial_loss_scale), trainable=False, seed=0),
        declare_in_job(f"{base}-GoodStepCounter", (1,), dtypes.int64,
                       zeros_initializer(dtypes.int64), trainable=False, seed=0),
        declare_in_job(f"{base}-SkippedSteps", (1,), dtypes.int64,
                       zeros_initializer(dtypes.int64), trainable=False, seed=0),
    )


def _as(scale: Blob, dtype: dtypes.DType) -> Blob:
    from tideflow.ops.array import cast

    return scale if scale.dtype == dtype else cast(scale, dtype)


def seed(scale: Blob, loss: Blob) -> Blob:
    """The loss gradient seed: the current scale, shaped like the loss."""
    from tideflow.ops.math import broadcast_to

    return broadcast_to(_as(scale, loss.dtype), loss.shape)


def unscale(g: Blob, scale: Blob) -> Blob:
    """``g / s`` with the scale read at run time."""
    from tideflow.ops.math import divide

    return divide(g, _as(scale, g.dtype))


def count_not_finite(grads: list[Blob]) -> Blob:
    """Number of non-finite elements over every gradient (int64, shape (1,))."""
    return build.add_op("count_not_finite", grads, {}, name=f"{PREFIX}-CountNotFinite")


def schedule(state: ScaleState, count: Blob, policy: DynamicLossScalePolicy) -> None:
    """Update the scale after the step (it is read by the next step's seed)."""
    build.add_op("dynamic_loss_scale_schedule",
                 [count, state.scale, state.good_steps, state.skipped_steps],
                 {"increment_period": policy.increment_period,
                  "multiplier": policy.multiplier}, name=f"{PREFIX}-Schedule")
