"""Which backend serves each device tag of a session (design §4).

The explicit choice (``flow.config.backend`` or ``TIDEFLOW_<TAG>_BACKEND``) wins; otherwise
the highest-priority available backend for the tag. A ``gpu`` placement with no available
GPU backend runs on the CPU backend with one warning that says why, as OneFlow's CPU-only
build does.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from typing import Any

from tideflow.errors import UnknownNameError
from tideflow.plugins.records import BackendSpec
from tideflow.plugins.registry import get_registry


def requested_backend(session: Any, tag: str) -> str | None:
    """The backend the user asked for on ``tag`` (config first, then environment)."""
    return session.config.backends.get(tag) or os.environ.get(
        f"TIDEFLOW_{tag.upper()}_BACKEND") or None


def why_no_gpu() -> str:
    """A sentence saying why no GPU backend can run here."""
    registry = get_registry()
    gpu = [b for b in registry.backends.values() if b.device == "gpu"]
    if not gpu:
        return ("no GPU backend is installed (install tideflow-cuda for NVIDIA GPUs: "
                "pip install tideflow[cuda])")
    reasons = [f"{b.name}: {registry.backend_available(b.name)[1]}" for b in gpu]
    return "no GPU backend is available (" + "; ".join(reasons) + ")"


def select_backends(session: Any, used: Iterable[str]) -> dict[str, BackendSpec]:
    """Return device tag -> backend spec for ``cpu``, ``gpu`` and every used tag.

    Raises:
        UnknownNameError: a requested backend is unknown, or no backend serves ``cpu``.
        BackendUnavailableError: a requested backend cannot run here.
    """
    registry = get_registry()
    cpu = registry.select_backend("cpu", requested_backend(session, "cpu"))
    if cpu is None:
        raise UnknownNameError("no available backend serves the 'cpu' device; installed: "
                               + ", ".join(registry.backends))
    gpu = registry.select_backend("gpu", requested_backend(session, "gpu"))
    if gpu is None:
        if "gpu" in set(used):
            warnings.warn(
                f"placement 'gpu' runs on the CPU backend '{cpu.name}': {why_no_gpu()}",
                RuntimeWarning, stacklevel=4,
            )
        gpu = cpu
    return {"cpu": cpu, "gpu": gpu}
