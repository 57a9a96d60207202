"""Hook implementations of tideflow-optim-adam. Light: imports nothing heavy.

The optional numba kernels are named by ``"module:attr"`` strings: ``numba_kernels`` (which
imports numba) is imported only when a job runs an update on a ``numba`` backend.
"""

from __future__ import annotations

from collections.abc import Iterable

from tideflow.plugins import KernelSpec, OpSpec, OptimizerSpec, hookimpl


@hookimpl
def tideflow_optimizers() -> Iterable[OptimizerSpec]:
    """The Adam family (Adam, AdamW, LazyAdam) and LAMB."""
    return [
        OptimizerSpec(
            name="adam",
            classes={"Adam": "tideflow_optim_adam.adam:Adam",
                     "AdamW": "tideflow_optim_adam.adam:AdamW",
                     "LazyAdam": "tideflow_optim_adam.adam:LazyAdam"},
            slots=("m", "v"),
            update_ops=("adam_update", "indexed_slices_adam_update"),
            summary="Adam with optional bias correction and decoupled weight decay "
                    "(OneFlow v0.5.0 kernel)",
        ),
        OptimizerSpec(
            name="lamb",
            classes={"LAMB": "tideflow_optim_adam.lamb:LAMB"},
            slots=("m", "v", "beta1_t", "beta2_t"),
            update_ops=("lamb_update",),
            summary="LAMB: Adam direction scaled by the layer-wise trust ratio ||w||/||r||",
        ),
    ]


@hookimpl
def tideflow_ops() -> Iterable[OpSpec]:
    """The update ops with their NumPy reference kernels."""
    from tideflow_optim_adam.reference import SPECS

    return SPECS


@hookimpl
def tideflow_kernels() -> Iterable[KernelSpec]:
    """Numba kernels (optional extra ``numba``): per variable, fused, and row-sparse."""
    k = "tideflow_optim_adam.numba_kernels:"
    dense = ("adam_update", "lamb_update")
    sparse = ("indexed_slices_adam_update",)
    return [*(KernelSpec(op, "numba", impl=k + op) for op in dense + sparse),
            *(KernelSpec(op, "numba", impl=f"{k}{op}_fused", variant="fused") for op in dense)]
