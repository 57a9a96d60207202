"""The op graph recorded while a job body runs.

A :class:`Graph` is a list of :class:`OpNode` in creation order over :class:`Value` ids.
Every value has a static :class:`TensorMeta`. Nodes carry the device tag of the placement
scope they were built in, their attributes and the user's source line, so later passes can
report errors where the user wrote the code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tideflow.dtypes import DType


@dataclass(frozen=True, slots=True)
class TensorMeta:
    """Static shape and dtype of a value."""

    shape: tuple[int, ...]
    dtype: DType

    @property
    def size(self) -> int:
        """Number of elements."""
        n = 1
        for d in self.shape:
            n *= d
        return n

    def __repr__(self) -> str:
        return f"{self.shape} {self.dtype.name}"


@dataclass(slots=True)
class OpNode:
    """One op in the graph.

    Attributes:
        name: unique op name (namespace-prefixed).
        type: op type, a key of the op registry.
        inputs: value ids read.
        outputs: value ids written.
        attrs: static attributes passed to inference, gradient and kernel factory.
        device: the device tag of the placement scope (``cpu`` or ``gpu``).
        where: the user's source location, ``file:line``.
    """

    name: str
    type: str
    inputs: list[int]
    outputs: list[int]
    attrs: dict[str, Any]
    device: str
    where: str = ""


@dataclass(slots=True)
class Graph:
    """Values and ops of one job (or of a standalone test graph)."""

    metas: list[TensorMeta] = field(default_factory=list)
    nodes: list[OpNode] = field(default_factory=list)
    producer: dict[int, int] = field(default_factory=dict)
    names: set[str] = field(default_factory=set)

    def new_value(self, meta: TensorMeta) -> int:
        """Add a value and return its id."""
        self.metas.append(meta)
        return len(self.metas) - 1

    def add(self, node: OpNode) -> OpNode:
        """Append ``node``; its outputs must be fresh values."""
        index = len(self.nodes)
        self.nodes.append(node)
        self.names.add(node.name)
        for v in node.outputs:
            self.producer[v] = index
        return node

    def unique_name(self, base: str) -> str:
        """Return ``base`` or ``base_<k>`` so that no two ops share a name."""
        if base not in self.names:
            return base
        k = 1
        while f"{base}_{k}" in self.names:
            k += 1
        return f"{base}_{k}"
