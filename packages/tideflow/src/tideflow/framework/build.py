"""The build context: where ops go while a job body (or a test graph) is traced.

:func:`add_op` is the one entry point every public op function uses. It looks the op up in
the registry, infers output shapes and dtypes at once (so a mismatch is reported at the
user's own line, naming the op and the shapes), and appends a node to the current graph.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from tideflow.errors import JobDefinitionError, ShapeError
from tideflow.framework.blob import Blob
from tideflow.framework.graph import Graph, OpNode, TensorMeta
from tideflow.plugins.registry import get_registry

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_PLUGIN_MARK = os.sep + "tideflow_"


@dataclass
class BuildContext:
    """State of one graph being built.

    Attributes:
        graph: the graph receiving ops.
        job_name: the job's name (``""`` for standalone graphs).
        trainable: whether the job is a train job (dropout and batch norm switch on it).
        device: the default device tag.
        namespaces: the ``flow.scope.namespace`` stack.
        devices: the ``flow.scope.placement`` device-tag stack.
        session: the session owning variables (None for standalone graphs).
        extras: per-job information collected by passes (losses, optimizer, watches).
    """

    graph: Graph
    job_name: str = ""
    trainable: bool = True
    device: str = "cpu"
    namespaces: list[str] = field(default_factory=list)
    devices: list[str] = field(default_factory=list)
    session: Any = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def current_device(self) -> str:
        """The device tag of the innermost placement scope."""
        return self.devices[-1] if self.devices else self.device

    def prefixed(self, name: str) -> str:
        """Return ``name`` with the namespace prefix (``a-b-name``)."""
        return "-".join([*self.namespaces, name]) if self.namespaces else name


_STACK: list[BuildContext] = []


def current() -> BuildContext:
    """Return the innermost build context.

    Raises:
        JobDefinitionError: no job body is being traced.
    """
    if not _STACK:
        raise JobDefinitionError(
            "ops can only be built inside a job body: decorate the function with "
            "@flow.global_function and call it"
        )
    return _STACK[-1]


def active() -> BuildContext | None:
    """Return the innermost build context, or None outside job bodies."""
    return _STACK[-1] if _STACK else None


@contextlib.contextmanager
def building(ctx: BuildContext) -> Iterator[BuildContext]:
    """Make ``ctx`` the current build context inside the ``with`` block."""
    _STACK.append(ctx)
    try:
        yield ctx
    finally:
        _STACK.pop()


def user_frame() -> str:
    """Return ``file:line`` of the innermost caller outside tideflow and its plugins."""
    frame = sys._getframe(1)
    while frame is not None:
        fname = frame.f_code.co_filename
        if not fname.startswith(_PKG_DIR) and _PLUGIN_MARK not in fname:
            return f"{fname}:{frame.f_lineno}"
        frame = frame.f_back
    return "<unknown>"


def _describe(inputs: Sequence[Blob]) -> str:
    return ", ".join(f"{b.op_name}: {b.meta}" for b in inputs)


def add_op(
    op_type: str,
    inputs: Sequence[Blob],
    attrs: dict[str, Any] | None = None,
    name: str | None = None,
) -> Any:
    """Append an op to the current graph and return its output blob(s).

    Args:
        op_type: registered op type name.
        inputs: input blobs (all from the current graph).
        attrs: static attributes.
        name: op name; a unique one is generated from ``op_type`` when None.

    Returns:
        One :class:`Blob` for single-output ops, else a tuple of blobs.

    Raises:
        ShapeError: inference failed; the message names the op, the shapes and the
            user's source line.
    """
    ctx = current()
    attrs = dict(attrs or {})
    for b in inputs:
        if not isinstance(b, Blob):
            raise TypeError(
                f"op '{op_type}': inputs must be blobs built in this job; received "
                f"{type(b).__name__}"
            )
        if b.graph is not ctx.graph:
            raise JobDefinitionError(
                f"op '{op_type}': input '{b.op_name}' belongs to another job; blobs cannot "
                "cross job boundaries"
            )
    op = get_registry().op(op_type)
    op_name = ctx.graph.unique_name(ctx.prefixed(name or op_type))
    where = user_frame()
    try:
        out = op.infer(attrs, *[b.meta for b in inputs])
    except (ShapeError, ValueError, TypeError) as exc:
        raise ShapeError(
            f"op '{op_name}' ({op_type}) at {where}: {exc}; inputs: {_describe(inputs)}"
        ) from exc
    metas: tuple[TensorMeta, ...] = out if isinstance(out, tuple) else (out,)
    outs = [ctx.graph.new_value(m) for m in metas]
    node = OpNode(
        op_name, op_type, [b.value for b in inputs], outs, attrs, ctx.current_device, where
    )
    ctx.graph.add(node)
    blobs = tuple(Blob(ctx.graph, v, op_name, i) for i, v in enumerate(outs))
    return blobs if isinstance(out, tuple) else blobs[0]


def blob_of(graph: Graph, value: int) -> Blob:
    """Return a blob handle for an existing value of ``graph``."""
    node = graph.nodes[graph.producer[value]] if value in graph.producer else None
    if node is None:
        return Blob(graph, value, f"value_{value}", 0)
    return Blob(graph, value, node.name, node.outputs.index(value))
