"""Hook implementations of tideflow-optim-rmsprop. Light: imports nothing heavy."""

from __future__ import annotations

from collections.abc import Iterable

from tideflow.plugins import OpSpec, OptimizerSpec, hookimpl


@hookimpl
def tideflow_optimizers() -> Iterable[OptimizerSpec]:
    """The RMSProp family: RMSProp, plain and centered."""
    return [
        OptimizerSpec(
            name="rmsprop",
            classes={"RMSProp": "tideflow_optim_rmsprop.rmsprop:RMSProp"},
            slots=("mean_square", "mean_gradient"),
            update_ops=("rmsprop_update", "rmsprop_centered_update"),
            summary="RMSProp, plain and centered, epsilon inside the square root",
        )
    ]


@hookimpl
def tideflow_ops() -> Iterable[OpSpec]:
    """The update ops with their NumPy reference kernels."""
    from tideflow_optim_rmsprop.reference import SPECS

    return SPECS
