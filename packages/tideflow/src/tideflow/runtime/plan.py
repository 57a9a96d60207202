"""A job's compiled form: a flat list of pre-bound kernel calls over fixed buffers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Plan:
    """Kernel calls in order, with the buffers fed before and read after a run.

    Attributes:
        steps: zero-argument callables, each one kernel call with its buffers bound.
        feeds: one buffer per placeholder, written before :meth:`run`.
        fetches: one buffer per returned blob, read after :meth:`run`.
        watched: value id -> buffer, for ``flow.watch`` / ``flow.watch_diff`` handlers.
        names: op name of each step (for profiling and error messages).
    """

    steps: list[Callable[[], None]] = field(default_factory=list)
    feeds: list[Any] = field(default_factory=list)
    fetches: list[Any] = field(default_factory=list)
    watched: dict[int, Any] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)

    def run(self) -> None:
        """Run every kernel call in order."""
        for step in self.steps:
            step()
