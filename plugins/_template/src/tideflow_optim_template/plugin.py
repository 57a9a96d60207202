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
    """An optional faster kernel for the ``numba`` backend.

    The record only names the kernel: ``numba_kernels`` (which imports numba) is imported
    when a job runs the op on the numba backend. Without a ``numba`` backend plugin the
    kernel is never selected and numba need not be installed.
    """
    return [
        KernelSpec(op="template_sgd_update", backend="numba",
                   impl="tideflow_optim_template.numba_kernels:template_sgd_update",
                   dtypes=("float32", "float64")),
    ]
