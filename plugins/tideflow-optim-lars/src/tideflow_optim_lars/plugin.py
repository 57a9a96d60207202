"""Hook implementations of tideflow-optim-lars. Light: imports nothing heavy.

The optional numba kernels are named by ``"module:attr"`` strings: ``numba_kernels`` (which
imports numba) is imported only when a job runs an update on a ``numba`` backend.
"""

from __future__ import annotations

from collections.abc import Iterable

from tideflow.plugins import KernelSpec, OpSpec, OptimizerSpec, hookimpl


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


@hookimpl
def tideflow_kernels() -> Iterable[KernelSpec]:
    """Numba kernels (optional extra ``numba``): per variable, fused."""
    k = "tideflow_optim_lars.numba_kernels:"
    dense = ("lars_update",)
    return [*(KernelSpec(op, "numba", impl=k + op) for op in dense),
            *(KernelSpec(op, "numba", impl=f"{k}{op}_fused", variant="fused") for op in dense)]
