"""Hook implementations of tideflow-optim-template.

This module is imported when tideflow builds its plugin registry, so it must stay light:
it returns records only, and names implementations by ``"module:attr"`` strings that are
imported on first use. Never import numba, cupy or torch here (the conformance check
``check_plugin_module_is_light`` fails if you do).
"""

from __future__ import annotations

from collections.abc import Iterable

from tideflow.plugins import KernelSpec, OpSpec, OptimizerSpec, hookimpl


@hookimpl
def tideflow_optimizers() -> Iterable[OptimizerSpec]:
    """The family: its public classes, the slots they may create and their update ops."""
    return [
        OptimizerSpec(
            name="template",
            classes={"TemplateSGD": "tideflow_optim_template.template:TemplateSGD"},
            slots=(),
            update_ops=("template_sgd_update",),
            summary="plain SGD, as a template for new optimizer plugins",
        )
    ]


@hookimpl
def tideflow_ops() -> Iterable[OpSpec]:
    """The update ops with their NumPy reference kernels (imported here: NumPy is light)."""
    from tideflow_optim_template.reference import SPECS

    return SPECS


@hookimpl
def tideflow_kernels() -> Iterable[KernelSpec]:
    """Optional faster kernels for the ``numba`` backend: per variable, and fused.

    The records only name the kernels: ``numba_kernels`` (which imports numba and the
    backend's toolkit ``tideflow_numba.updates``) is imported when a job runs the op on the
    numba backend. Without that backend (``pip install tideflow-numba``, or this plugin's
    extra ``numba``) the kernels are never selected. The ``"fused"`` variant updates every
    variable of the optimizer in one call (docs/plugins/fused-updates.md).
    """
    k = "tideflow_optim_template.numba_kernels:"
    op = "template_sgd_update"
    return [KernelSpec(op, "numba", impl=k + op),  # dtypes: float32 and float64 by default
            KernelSpec(op, "numba", impl=f"{k}{op}_fused", variant="fused")]
