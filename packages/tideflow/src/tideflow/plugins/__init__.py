"""tideflow's plugin system.

Quick start for plugin authors::

    # pyproject.toml
    [project.entry-points.tideflow]
    myopt = "tideflow_myopt.plugin"

    # tideflow_myopt/plugin.py  (light: import nothing heavy here)
    from tideflow.plugins import hookimpl, OptimizerSpec

    @hookimpl
    def tideflow_optimizers():
        return [OptimizerSpec(name="myopt", classes={"MyOpt": "tideflow_myopt.opt:MyOpt"})]

Hooks: ``tideflow_backends``, ``tideflow_ops``, ``tideflow_kernels``,
``tideflow_optimizers``, ``tideflow_lr_schedulers`` (see :mod:`tideflow.plugins.hookspecs`).
Switches: ``TIDEFLOW_PLUGINS=a,b`` loads only those entry points (empty: none);
``TIDEFLOW_DISABLE_PLUGINS=a,b`` blocks some.
"""

from __future__ import annotations

import pluggy

from tideflow.plugins.hookspecs import PROJECT
from tideflow.plugins.records import (
    BackendSpec,
    KernelSpec,
    OpSpec,
    OptimizerSpec,
    SchedulerSpec,
    resolve,
)

hookimpl = pluggy.HookimplMarker(PROJECT)

__all__ = [
    "BackendSpec",
    "KernelSpec",
    "OpSpec",
    "OptimizerSpec",
    "SchedulerSpec",
    "hookimpl",
    "resolve",
]
