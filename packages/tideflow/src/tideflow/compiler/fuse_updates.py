"""Fuse an optimizer's per-variable update ops into one multi-tensor kernel call.

The train pass emits one update op per variable. When the variables one optimizer updates
are contiguous in the flat parameter buffer (and their slots in their slot buffers, in the
same order) and the backend has a ``"fused"`` kernel for the op, this pass replaces them by
one op over the flat spans (contract: ``docs/plugins/fused-updates.md``). A
``clip_by_global_norm`` feeding exactly those updates is folded into the fused kernel, whose
gradient input is then the flat span of the *unclipped* gradients.

The pass runs after storage is materialized (it needs the flat offsets) and before lowering.
It rewrites the graph in place and returns what the caller must bind before lowering: the
flat spans (of the parameter and slot buffers, and of the job's flat gradient buffer), and
the gradient values that become views of that flat gradient buffer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tideflow.framework.graph import Graph, OpNode, TensorMeta
from tideflow.plugins.registry import get_registry
from tideflow.runtime.backend import Backend
from tideflow.variables import VariableStore

#: Op type of the nodes that stand for a flat span bound by the caller.
FLAT_SPAN = "flat_span"


@dataclass
class _Group:
    """One optimizer's dense updates that can run as one fused call."""

    last: int  # index of the update node the fused node replaces
    drop: set[int]  # node indices removed (the other updates and a folded clip)
    node: OpNode  # the fused node (inputs filled by the pass)
    spans: list[tuple[int, tuple[str, str], int, int]]  # value, flat key, start, size
    grads: list[tuple[int, str]]  # gradient value -> variable name (bound to flat grads)


Span = tuple[int, tuple[str, str], int, int]


def fuse_updates(graph: Graph, groups: list[dict[str, Any]], store: VariableStore,
                 backends: Mapping[str, Backend]) -> tuple[list[Span], dict[int, str]]:
    """Fuse every eligible update group of ``graph`` (see the module docstring).

    Args:
        graph: a traced train job's graph, rewritten in place.
        groups: the train pass's records ``{"nodes": [update node indices], "clip": index
            or None}``, one per optimizer.
        store: the session's materialized variables.
        backends: device tag -> backend of this job.

    Returns:
        ``(spans, grads)``: ``(value id, flat key, start, size)`` per flat span to bind (the
        key ``("grad", dtype)`` names the job's flat gradient buffer, other keys
        ``store.flat``), and gradient value id -> variable name for the gradients that must
        be views of the flat gradient buffer.
    """
    fused = [g for rec in groups if (g := _plan_group(graph, rec, store, backends)) is not None]
    if not fused:
        return [], {}
    replace = {g.last: g for g in fused}
    drop = set().union(*(g.drop for g in fused))
    nodes: list[OpNode] = []
    spans: list[Span] = []
    grads: dict[int, str] = {}
    for i, node in enumerate(graph.nodes):
        if i in replace:
            g = replace[i]
            for value, key, start, size in g.spans:
                nodes.append(OpNode(f"{g.node.name}-span{value}", FLAT_SPAN, [], [value],
                                    {"key": key, "start": start, "size": size}, g.node.device))
            spans.extend(g.spans)
            nodes.append(g.node)
            grads.update(g.grads)
        elif i not in drop:
            nodes.append(node)
    graph.nodes[:] = nodes
    graph.producer.clear()
    for i, node in enumerate(nodes):
        for v in node.outputs:
            graph.producer[v] = i
    return spans, grads


def _var_name(graph: Graph, value: int) -> str | None:
    index = graph.producer.get(value)
    if index is None or graph.nodes[index].type != "variable":
        return None
    return graph.nodes[index].attrs["var_name"]


def _contiguous(store: VariableStore, names: list[str]) -> tuple[tuple[str, str], int, int] | None:
    """``(flat key, start, size)`` when ``names`` are back to back in one flat buffer."""
    infos = [store.infos[n] for n in names]
    key = (infos[0].group, infos[0].dtype.name)
    flat = store.flat.get(key)
    if flat is None or any((i.group, i.dtype.name) != key for i in infos):
        return None
    start = store.offsets[names[0]][0]
    pos = start
    base = flat.__array_interface__["data"][0]
    for n in names:
        s, size = store.offsets[n]
        view = store.arrays[n]
        if s != pos or view.__array_interface__["data"][0] != base + s * flat.itemsize:
            return None
        pos += size
    return key, start, pos - start


def _plan_group(graph: Graph, rec: dict[str, Any], store: VariableStore,
                backends: Mapping[str, Backend]) -> _Group | None:
    """The fused replacement of one optimizer's updates, or None when not eligible."""
    indices = list(rec.get("nodes") or [])
    if not indices:
        return None
    nodes = [graph.nodes[i] for i in indices]
    first = nodes[0]
    backend = backends.get(first.device)
    registry = get_registry()
    spec = registry.kernel(first.type, backend.name, "fused") if backend else None
    if spec is None:
        return None
    names = [_var_name(graph, n.inputs[0]) for n in nodes]
    if any(n is None for n in names):
        return None
    info0 = store.infos[names[0]]
    if spec.dtypes and info0.dtype.name not in spec.dtypes:
        return None
    shared = {k: v for k, v in first.attrs.items() if k != "weight_decay"}
    n_in = len(first.inputs)
    for n in nodes:
        if (n.type != first.type or n.device != first.device or len(n.inputs) != n_in
                or {k: v for k, v in n.attrs.items() if k != "weight_decay"} != shared):
            return None
    # inputs: param, grad, *slots, lr, step[, skip]; the tail must be shared
    has_skip = n_in >= 5 and graph.metas[first.inputs[-1]].dtype.name == "int64" and \
        graph.metas[first.inputs[-2]].dtype.name == "int64"
    tail_len = 3 if has_skip else 2
    if any(n.inputs[-tail_len:] != first.inputs[-tail_len:] for n in nodes):
        return None
    num_slots = n_in - 2 - tail_len
    order = sorted(range(len(nodes)), key=lambda j: store.offsets[names[j]][0])
    nodes = [nodes[j] for j in order]
    names = [names[j] for j in order]
    param = _contiguous(store, names)
    if param is None:
        return None
    spans = [param]
    for s in range(num_slots):
        slot_names = [_var_name(graph, n.inputs[2 + s]) for n in nodes]
        if any(n is None for n in slot_names):
            return None
        span = _contiguous(store, slot_names)  # type: ignore[arg-type]
        if span is None or span[2] not in (param[2], len(nodes)):
            return None
        if span[2] == len(nodes) and any(store.infos[n].shape != (1,) for n in slot_names):
            return None
        spans.append(span)
    grads = [n.inputs[1] for n in nodes]
    drop = set(indices)
    clip_norm = None
    clip_index = rec.get("clip")
    if clip_index is not None:
        clip = graph.nodes[clip_index]
        if clip.type != "clip_by_global_norm" or sorted(clip.outputs) != sorted(grads) or \
                len(clip.outputs) != len(grads):
            return None
        before = dict(zip(clip.outputs, clip.inputs, strict=True))
        grads = [before[g] for g in grads]
        clip_norm = float(clip.attrs["clip_norm"])
        drop.add(clip_index)
    if len(set(grads)) != len(grads) or any(graph.producer.get(g) is None or
                                           graph.nodes[graph.producer[g]].type in
                                           ("variable", "input") for g in grads):
        return None
    offsets = [0]
    for n in names:
        offsets.append(offsets[-1] + store.offsets[n][1])
    attrs = {**shared, "segments": tuple(offsets),
             "weight_decay": tuple(float(n.attrs.get("weight_decay", 0.0)) for n in nodes),
             "clip_norm": clip_norm, "has_skip": has_skip}
    dtype = info0.dtype
    values = []
    span_records = []
    for key, start, size in spans:
        v = graph.new_value(TensorMeta((size,), dtype))
        values.append(v)
        span_records.append((v, key, start, size))
    grad_flat = graph.new_value(TensorMeta((param[2],), dtype))
    inputs = [values[0], grad_flat, *values[1:], *first.inputs[-tail_len:]]
    last = max(indices)
    fused = OpNode(graph.nodes[last].name.rsplit("_optimizer", 1)[0] + "-fused_optimizer",
                   first.type, inputs, [], attrs, first.device, first.where)
    # the flat gradient span: bound by the caller (job.py) to the job's flat gradient buffer
    span_records.append((grad_flat, ("grad", dtype.name), param[1], param[2]))
    return _Group(last, drop - {last}, fused, span_records,
                  [(g, nm) for g, nm in zip(grads, names, strict=True)])


def is_fused(node: OpNode) -> bool:
    """Whether ``node`` is a fused update (lowering asks for the ``"fused"`` variant)."""
    return "segments" in node.attrs and isinstance(node.attrs["segments"], tuple)

