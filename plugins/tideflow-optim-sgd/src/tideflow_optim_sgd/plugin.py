"""Hook implementations of tideflow-optim-sgd. Light: imports nothing heavy."""

from __future__ import annotations

from collections.abc import Iterable

from tideflow.plugins import OpSpec, OptimizerSpec, hookimpl


@hookimpl
def tideflow_optimizers() -> Iterable[OptimizerSpec]:
    """The SGD family: SGD (plain and momentum) and SGDW."""
    return [
        OptimizerSpec(
            name="sgd",
            classes={"SGD": "tideflow_optim_sgd.sgd:SGD", "SGDW": "tideflow_optim_sgd.sgd:SGDW"},
            slots=("momentum",),
            update_ops=("sgd_update", "momentum_update", "indexed_slices_sgd_update",
                        "indexed_slices_momentum_update"),
            summary="SGD with optional momentum (TF convention) and decoupled weight decay",
        )
    ]


@hookimpl
def tideflow_ops() -> Iterable[OpSpec]:
    """The update ops with their NumPy reference kernels."""
    from tideflow_optim_sgd.reference import SPECS

    return SPECS
