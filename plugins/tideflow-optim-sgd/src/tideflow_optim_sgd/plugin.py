"""Hook implementations of tideflow-optim-sgd. Light: imports nothing heavy.

The optional numba kernels are named by ``"module:attr"`` strings: ``numba_kernels`` (which
imports numba) is imported only when a job runs an update on a ``numba`` backend.
"""

from __future__ import annotations

from collections.abc import Iterable

from tideflow.plugins import KernelSpec, OpSpec, OptimizerSpec, hookimpl


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


@hookimpl
def tideflow_kernels() -> Iterable[KernelSpec]:
    """Numba kernels (optional extra ``numba``): per variable, fused, and row-sparse."""
    k = "tideflow_optim_sgd.numba_kernels:"
    dense = ("sgd_update", "momentum_update")
    sparse = ("indexed_slices_sgd_update", "indexed_slices_momentum_update")
    return [*(KernelSpec(op, "numba", impl=k + op) for op in dense + sparse),
            *(KernelSpec(op, "numba", impl=f"{k}{op}_fused", variant="fused") for op in dense)]
