"""Hook implementations of tideflow-optim-example. Light: imports nothing heavy."""

from __future__ import annotations

from collections.abc import Iterable

from tideflow.plugins import OpSpec, OptimizerSpec, hookimpl


@hookimpl
def tideflow_optimizers() -> Iterable[OptimizerSpec]:
    """The Adagrad family: one class, one slot, one update op."""
    return [
        OptimizerSpec(
            name="adagrad",
            classes={"Adagrad": "tideflow_optim_example.adagrad:Adagrad"},
            slots=("sum",),
            update_ops=("adagrad_update",),
            summary="Adagrad: per-element rates from the running sum of squared gradients",
        )
    ]


@hookimpl
def tideflow_ops() -> Iterable[OpSpec]:
    """The update op with its NumPy reference kernel."""
    from tideflow_optim_example.reference import SPECS

    return SPECS
