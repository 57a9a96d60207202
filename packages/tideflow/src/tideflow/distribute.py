"""``flow.distribute``: split/broadcast hints (recorded; one device needs no boxing)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Distribute:
    """A distribution hint: ``split(axis)``, ``broadcast()`` or ``auto()``."""

    kind: str
    axis: int | None = None


def split(axis: int) -> Distribute:
    """Split along ``axis`` across the devices of the placement."""
    return Distribute("split", int(axis))


def broadcast() -> Distribute:
    """Replicate on every device."""
    return Distribute("broadcast")


def auto() -> Distribute:
    """Let the compiler decide."""
    return Distribute("auto")
