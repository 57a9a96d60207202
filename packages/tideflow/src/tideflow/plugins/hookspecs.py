"""The hooks a tideflow plugin can implement.

Every hook is a collecting hook: it is called once, when the registry is first built, and
the results of all plugins are gathered (never first-result). A hook returns an iterable of
frozen records from :mod:`tideflow.plugins.records`. A duplicate name across plugins is an
error naming every provider, unless a record sets ``replaces=True``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from tideflow.plugins.records import (
        BackendSpec,
        KernelSpec,
        OpSpec,
        OptimizerSpec,
        SchedulerSpec,
    )

PROJECT = "tideflow"
_hookspec = pluggy.HookspecMarker(PROJECT)


@_hookspec
def tideflow_backends() -> Iterable[BackendSpec]:
    """Return the backends this plugin provides.

    Called: once per registry build; results of all plugins are collected.

    Example::

        @hookimpl
        def tideflow_backends():
            return [BackendSpec(name="mycpu", device="cpu", priority=5,
                                probe="my_pkg.probe:probe")]
    """


@_hookspec
def tideflow_ops() -> Iterable[OpSpec]:
    """Return op definitions (inference, gradient rule, NumPy reference kernel).

    Called: once per registry build; results of all plugins are collected. Two plugins
    defining the same op name is an error.

    Example::

        @hookimpl
        def tideflow_ops():
            return [OpSpec(name="adagrad_update", infer="my_pkg.ops:infer_update",
                           reference="my_pkg.ops:adagrad_reference", stateful=True)]
    """


@_hookspec
def tideflow_kernels() -> Iterable[KernelSpec]:
    """Return kernels for (op, backend, variant) triples.

    Called: once per registry build; results of all plugins are collected. A second kernel
    for the same triple is an error unless it sets ``replaces=True``.

    Example::

        @hookimpl
        def tideflow_kernels():
            return [KernelSpec(op="relu", backend="numba", impl="my_pkg.k:relu")]
    """


@_hookspec
def tideflow_optimizers() -> Iterable[OptimizerSpec]:
    """Return optimizer families whose classes appear in ``flow.optimizer``.

    Called: once per registry build; results of all plugins are collected. A class name
    exported by two families is an error unless one sets ``replaces=True``.

    Example::

        @hookimpl
        def tideflow_optimizers():
            return [OptimizerSpec(name="adagrad",
                                  classes={"Adagrad": "my_pkg.adagrad:Adagrad"},
                                  slots=("sum",), update_ops=("adagrad_update",))]
    """


@_hookspec
def tideflow_lr_schedulers() -> Iterable[SchedulerSpec]:
    """Return learning-rate schedules to export into ``flow.optimizer``.

    Called: once per registry build; results of all plugins are collected.

    Example::

        @hookimpl
        def tideflow_lr_schedulers():
            return [SchedulerSpec(name="mysched",
                                  classes={"StepScheduler": "my_pkg.s:StepScheduler"})]
    """
