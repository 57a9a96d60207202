"""``flow.config``: session resources and switches, effective before the first job call.

After the session starts, each setter warns "nothing happened because the session is
running" and returns False, as in OneFlow.
"""

from __future__ import annotations

from typing import Any

from tideflow import session as _session
from tideflow.errors import TideflowError


def _positive(name: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"flow.config.{name}: expected an int >= 0; received {value!r}")
    return value


def gpu_device_num(val: int) -> bool | None:
    """Set the number of GPUs per machine."""
    if _session.config_frozen("gpu_device_num"):
        return False
    _session.default_session().config.gpu_device_num = _positive("gpu_device_num", val)
    return None


def cpu_device_num(val: int) -> bool | None:
    """Set the number of CPU devices per machine."""
    if _session.config_frozen("cpu_device_num"):
        return False
    _session.default_session().config.cpu_device_num = _positive("cpu_device_num", val)
    return None


def machine_num(val: int) -> bool | None:
    """Set the number of machines."""
    if _session.config_frozen("machine_num"):
        return False
    _session.default_session().config.machine_num = _positive("machine_num", val)
    return None


def enable_legacy_model_io(val: bool = True) -> bool | None:
    """Use the legacy model I/O (no automatic initialization at session start)."""
    if _session.config_frozen("enable_legacy_model_io"):
        return False
    _session.default_session().config.legacy_model_io = bool(val)
    return None


def enable_model_io_v2(val: bool = True) -> bool | None:
    """Accepted for compatibility (the new model I/O is the default)."""
    return None


def enable_debug_mode(val: bool = True) -> bool | None:
    """Record the debug switch (more checks in error messages)."""
    if _session.config_frozen("enable_debug_mode"):
        return False
    _session.default_session().config.debug_mode = bool(val)
    return None


def load_library(path: str) -> None:
    """Custom C++ op libraries cannot load into tideflow."""
    raise TideflowError(
        f"flow.config.load_library({path!r}): tideflow cannot load OneFlow C++ op libraries; "
        "write the op as a tideflow plugin (docs/plugins/)"
    )


def backend(cpu: str | None = None, gpu: str | None = None) -> bool | None:
    """Choose the backend that serves each device tag (e.g. ``backend(cpu="numpy")``).

    The environment variables ``TIDEFLOW_CPU_BACKEND`` / ``TIDEFLOW_GPU_BACKEND`` do the
    same; this call takes precedence. Checked when the session starts.
    """
    if _session.config_frozen("backend"):
        return False
    chosen = _session.default_session().config.backends
    for tag, name in (("cpu", cpu), ("gpu", gpu)):
        if name is not None:
            if not isinstance(name, str):
                raise ValueError(f"flow.config.backend: {tag} must be a backend name; "
                                 f"received {name!r}")
            chosen[tag] = name
    return None


class _Knobs:
    """Accepts any knob (``flow.config.collective_boxing.*``) and ignores it."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None


collective_boxing = _Knobs()
