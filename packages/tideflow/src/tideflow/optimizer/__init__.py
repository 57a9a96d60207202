"""``flow.optimizer``: optimizers, learning-rate schedules, clipping, loss scaling, warmup.

Optimizer classes (``SGD``, ``Adam``, ...) come from optimizer-family plugins and schedules
may come from plugins too: both resolve through the plugin registry on first access, so the
core never names a plugin. An unknown name lists what is installed and says which
distribution provides it.
"""

from __future__ import annotations

from typing import Any

from tideflow.optimizer import grad_clipping, loss_scale, warmup
from tideflow.optimizer.base import Optimizer
from tideflow.optimizer.combined import CombinedOptimizer
from tideflow.optimizer.schedulers import LrScheduler
from tideflow.optimizer.update import indexed_slices_op_spec, update_op_spec

__all__ = ["CombinedOptimizer", "LrScheduler", "Optimizer", "grad_clipping",
           "indexed_slices_op_spec", "loss_scale", "update_op_spec", "warmup"]


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    from tideflow.errors import UnknownAttributeError, UnknownNameError
    from tideflow.plugins.registry import get_registry

    registry = get_registry()
    try:
        if name in registry.schedulers:
            return registry.scheduler_class(name)
        return registry.optimizer_class(name)
    except UnknownAttributeError:
        raise
    except UnknownNameError as exc:
        raise UnknownAttributeError(str(exc)) from exc


def __dir__() -> list[str]:
    from tideflow.plugins.registry import get_registry

    registry = get_registry()
    names = [c for spec in registry.optimizers.values() for c in spec.classes]
    return sorted([*__all__, *registry.schedulers, *names])
