"""Reverse-mode automatic differentiation on the op graph.

Each op's gradient rule (``OpSpec.grad``) receives a :class:`GradContext` and the gradients
of its outputs, and builds new ops that compute the gradients of its inputs. Gradient ops
are placed on the same device as the op they differentiate. Several contributions to one
value are summed with ``add_n``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tideflow.errors import JobDefinitionError
from tideflow.framework import build
from tideflow.framework.blob import Blob
from tideflow.framework.graph import OpNode
from tideflow.plugins.registry import get_registry


class GradContext:
    """What a gradient rule sees: the forward op's inputs, outputs and attributes."""

    def __init__(self, node: OpNode, inputs: list[Blob], outputs: list[Blob]) -> None:
        self.node = node
        self.inputs = inputs
        self.outputs = outputs
        self.attrs = node.attrs

    def op(self, op_type: str, *inputs: Blob, **attrs: Any) -> Any:
        """Build op ``op_type`` on ``inputs`` and return its output blob(s)."""
        return build.add_op(op_type, list(inputs), attrs, name=f"{self.node.name}-grad")


def _on_path(nodes: list[OpNode], xs: set[int], ys: set[int]) -> list[int]:
    """Indices of nodes that depend on some x and that some y depends on."""
    from_x = set(xs)
    fwd = []
    for i, node in enumerate(nodes):
        if any(v in from_x for v in node.inputs):
            from_x.update(node.outputs)
            fwd.append(i)
    to_y = set(ys)
    path = []
    for i in reversed(fwd):
        node = nodes[i]
        if any(v in to_y for v in node.outputs):
            to_y.update(node.inputs)
            path.append(i)
    return path  # reverse topological order


def _accumulate(parts: list[Blob]) -> Blob:
    if len(parts) == 1:
        return parts[0]
    return build.add_op("add_n", parts, {}, name="grad_sum")


def gradients(
    ys: Sequence[Blob], seeds: Sequence[Blob], xs: Sequence[Blob]
) -> list[Blob | None]:
    """Return d(sum_i <seed_i, y_i>)/dx for every x (None where x does not reach any y).

    Args:
        ys: the blobs to differentiate.
        seeds: gradients of ``ys`` (same shapes and dtypes).
        xs: the blobs to differentiate with respect to.

    Raises:
        JobDefinitionError: an op on the path has no gradient rule.
    """
    ctx = build.current()
    graph = ctx.graph
    registry = get_registry()
    pending: dict[int, list[Blob]] = {}
    for y, s in zip(ys, seeds, strict=True):
        pending.setdefault(y.value, []).append(s)
    nodes = list(graph.nodes)  # rules append nodes; walk the forward part only
    path = _on_path(nodes, {x.value for x in xs}, {y.value for y in ys})
    xset = {x.value for x in xs}
    for i in path:
        node = nodes[i]
        dys = [
            _accumulate(pending[v]) if v in pending else None for v in node.outputs
        ]
        if all(d is None for d in dys):
            continue
        rule = registry.op(node.type).grad
        if rule is None:
            raise JobDefinitionError(
                f"op '{node.name}' ({node.type}) at {node.where} has no gradient rule, but "
                "the loss depends on it through a trainable input"
            )
        for v, d in zip(node.outputs, dys, strict=True):
            if d is not None and v not in xset:
                pending[v] = [d]
        inputs = [build.blob_of(graph, v) for v in node.inputs]
        outputs = [build.blob_of(graph, v) for v in node.outputs]
        ctx.devices.append(node.device)
        try:
            dxs = rule(GradContext(node, inputs, outputs), dys)
        finally:
            ctx.devices.pop()
        if len(dxs) != len(node.inputs):
            raise JobDefinitionError(
                f"gradient rule of '{node.type}' returned {len(dxs)} gradients for "
                f"{len(node.inputs)} inputs"
            )
        for v, dx in zip(node.inputs, dxs, strict=True):
            if dx is None:
                continue
            if dx.shape != graph.metas[v].shape:
                raise JobDefinitionError(
                    f"gradient rule of '{node.type}' returned shape {dx.shape} for an input "
                    f"of shape {graph.metas[v].shape}"
                )
            pending.setdefault(v, []).append(dx)
    return [_accumulate(pending[x.value]) if x.value in pending else None for x in xs]
