"""``flow.env``: machines and ports. One machine only for now; values are recorded."""

from __future__ import annotations

from typing import Any

_ENV: dict[str, Any] = {"machine": ["127.0.0.1"], "ctrl_port": None, "data_port": None,
                        "log_dir": None, "initialized": False}


def machine(val: list[Any]) -> None:
    """Record the machine list (each an address string or a dict with ``addr``)."""
    if not isinstance(val, list | tuple) or not val:
        raise ValueError(f"flow.env.machine: expected a non-empty list; received {val!r}")
    _ENV["machine"] = list(val)


def ctrl_port(val: int) -> None:
    """Record the control port."""
    _ENV["ctrl_port"] = int(val)


def data_port(val: int) -> None:
    """Record the data port."""
    _ENV["data_port"] = int(val)


def log_dir(val: str) -> None:
    """Record the log directory."""
    _ENV["log_dir"] = str(val)


def logtostderr(val: int = 1) -> None:
    """Accepted for compatibility."""


def logbuflevel(val: int = -1) -> None:
    """Accepted for compatibility."""


def init() -> None:
    """Mark the environment initialized (placements can then be built outside jobs)."""
    _ENV["initialized"] = True


def all_device_placement(device_type: str = "cpu") -> Any:
    """A placement covering every configured device of ``device_type``."""
    from tideflow import scope, session

    cfg = session.default_session().config
    n = cfg.gpu_device_num if device_type == "gpu" else cfg.cpu_device_num
    return scope.placement(device_type, f"0:0-{max(n, 1) - 1}")
