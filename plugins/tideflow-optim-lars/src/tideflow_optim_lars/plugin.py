"""Hook implementations of tideflow-optim-lars. Light: imports nothing heavy."""

from __future__ import annotations

from collections.abc import Iterable

from tideflow.plugins import OpSpec, OptimizerSpec, hookimpl


@hookimpl
def tideflow_optimizers() -> Iterable[OptimizerSpec]:
    """The LARS family: LARS with momentum and decoupled weight decay."""
    return [
        OptimizerSpec(
            name="lars",
            classes={"LARS": "tideflow_optim_lars.lars:LARS"},
            slots=("momentum",),
            update_ops=("lars_update",),
            summary="LARS: per-variable trust ratio, TF-style momentum, decoupled weight decay",
        )
    ]


@hookimpl
def tideflow_ops() -> Iterable[OpSpec]:
    """The update op with its NumPy reference kernel."""
    from tideflow_optim_lars.reference import SPECS

    return SPECS
