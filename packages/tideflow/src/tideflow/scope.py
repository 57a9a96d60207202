"""``flow.scope``: placement, namespaces and the consistent / mirrored views.

Placement strings follow OneFlow: a device tag ``"cpu"``/``"gpu"`` and machine:device ids
such as ``"0:0"``, ``"0:0-3"`` or a list of them. Inside a job a placement is a context
manager that puts the ops built in it on that device; outside a job it is a value for
``function_config.default_placement_scope``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from tideflow.errors import UnknownNameError
from tideflow.framework import build

_IDS = re.compile(r"^(\d+):(\d+)(?:-(\d+))?$")
DEVICE_TAGS = ("cpu", "gpu")


def parse_device_ids(ids: str | Sequence[str]) -> tuple[tuple[int, int], ...]:
    """Expand ``"0:0-3"`` (or a list of such) to ``((0, 0), (0, 1), ...)``.

    Raises:
        ValueError: an id string does not match ``machine:device[-device]``.
    """
    items = [ids] if isinstance(ids, str) else list(ids)
    out: list[tuple[int, int]] = []
    for item in items:
        m = _IDS.match(item) if isinstance(item, str) else None
        if m is None:
            raise ValueError(
                "placement: machine_device_ids must look like '0:0', '0:0-3' or a list of "
                f"them; received {item!r}"
            )
        machine, first = int(m.group(1)), int(m.group(2))
        last = int(m.group(3)) if m.group(3) is not None else first
        if last < first:
            raise ValueError(f"placement: device range {item!r} ends before it starts")
        out.extend((machine, d) for d in range(first, last + 1))
    return tuple(out)


@dataclass(frozen=True)
class Placement:
    """A device tag and its devices; a context manager inside job bodies."""

    device_tag: str
    devices: tuple[tuple[int, int], ...]

    def __enter__(self) -> Placement:
        build.current().devices.append(self.device_tag)
        return self

    def __exit__(self, *exc: Any) -> None:
        build.current().devices.pop()


def placement(device_tag: str, machine_device_ids: str | Sequence[str] = "0:0",
              hierarchy: Any = None) -> Placement:
    """Return a placement scope for ``device_tag`` on ``machine_device_ids``.

    Raises:
        UnknownNameError: ``device_tag`` is not ``"cpu"`` or ``"gpu"``.
    """
    if device_tag not in DEVICE_TAGS:
        raise UnknownNameError(
            f"placement: device_tag must be one of {DEVICE_TAGS}; received {device_tag!r}"
        )
    return Placement(device_tag, parse_device_ids(machine_device_ids))


@contextlib.contextmanager
def namespace(name: str) -> Iterator[None]:
    """Prefix variable and op names built inside with ``name-``."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"namespace: name must be a non-empty str; received {name!r}")
    ctx = build.current()
    ctx.namespaces.append(name)
    try:
        yield
    finally:
        ctx.namespaces.pop()


@dataclass(frozen=True)
class DistributeStrategy:
    """A logical view: ``consistent`` or ``mirrored``; usable as a ``with`` block."""

    kind: str

    def __enter__(self) -> DistributeStrategy:
        ctx = build.active()
        if ctx is not None:
            ctx.extras.setdefault("views", []).append(self.kind)
        return self

    def __exit__(self, *exc: Any) -> None:
        ctx = build.active()
        if ctx is not None:
            ctx.extras["views"].pop()


def consistent_view() -> DistributeStrategy:
    """The default logical view: whole (logical) blobs, variables replicated."""
    return DistributeStrategy("consistent")


def mirrored_view() -> DistributeStrategy:
    """The mirrored view: per-device lists in and out."""
    return DistributeStrategy("mirrored")


def _view() -> str:
    ctx = build.active()
    if ctx is None:
        return "consistent"
    views = ctx.extras.get("views") or [ctx.extras.get("default_view", "consistent")]
    return views[-1]


def consistent_view_enabled() -> bool:
    """Whether the current logical view is consistent."""
    return _view() == "consistent"


def mirrored_view_enabled() -> bool:
    """Whether the current logical view is mirrored."""
    return _view() == "mirrored"
