"""Hook implementations of tideflow-optim-rmsprop. Light: imports nothing heavy.

The optional numba kernels are named by ``"module:attr"`` strings: ``numba_kernels`` (which
imports numba) is imported only when a job runs an update on a ``numba`` backend.
"""

from __future__ import annotations

from collections.abc import Iterable

from tideflow.plugins import KernelSpec, OpSpec, OptimizerSpec, hookimpl


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


@hookimpl
def tideflow_kernels() -> Iterable[KernelSpec]:
    """Numba kernels (optional extra ``numba``): per variable, fused."""
    k = "tideflow_optim_rmsprop.numba_kernels:"
    dense = ("rmsprop_update", "rmsprop_centered_update")
    return [*(KernelSpec(op, "numba", impl=k + op) for op in dense),
            *(KernelSpec(op, "numba", impl=f"{k}{op}_fused", variant="fused") for op in dense)]
