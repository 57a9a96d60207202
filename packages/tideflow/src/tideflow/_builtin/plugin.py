"""Hook implementations of the core, registered like any plugin's (under ``builtin``)."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable

from tideflow.plugins import BackendSpec, OpSpec, SchedulerSpec, hookimpl


def numpy_probe() -> tuple[bool, str]:
    """The NumPy reference backend is always available."""
    return True, "always available"


@hookimpl
def tideflow_backends() -> Iterable[BackendSpec]:
    """The NumPy reference backend for the ``cpu`` device tag."""
    return [
        BackendSpec(
            name="numpy",
            device="cpu",
            priority=0,
            probe="tideflow._builtin.plugin:numpy_probe",
            array_module="numpy:",
            reference=True,
            summary="NumPy reference backend (the oracle for every other kernel)",
        )
    ]


@hookimpl
def tideflow_ops() -> Iterable[OpSpec]:
    """Every ``SPECS`` list of the modules in :mod:`tideflow.ops`."""
    import tideflow.ops as pkg

    specs: list[OpSpec] = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{pkg.__name__}.{info.name}")
        specs.extend(getattr(module, "SPECS", ()))
    return specs


@hookimpl
def tideflow_lr_schedulers() -> Iterable[SchedulerSpec]:
    """The core's learning-rate schedules."""
    from tideflow.optimizer.schedulers import CORE_SCHEDULERS

    return [SchedulerSpec(name="core", classes=CORE_SCHEDULERS,
                          summary="learning-rate schedules of OneFlow's legacy API")]
