"""``flow.optimizer.loss_scale``: static loss scaling (dynamic scaling comes later)."""

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
