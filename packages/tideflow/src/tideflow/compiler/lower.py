"""Lowering: bind every live op to a kernel and every value to a preallocated buffer.

Values that outlive a run (variables, feeds, fetches, watched values) get their own
buffers; the rest share buffers by liveness: once the last reader of a value has run, its
buffer returns to a pool keyed by (shape, dtype) and a later value of the same kind reuses
it. Kernels must therefore fully overwrite their outputs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from tideflow.compiler.fuse_updates import FLAT_SPAN, is_fused
from tideflow.framework.graph import Graph
from tideflow.plugins.registry import get_registry
from tideflow.runtime.backend import Backend
from tideflow.runtime.plan import Plan

#: Op types whose outputs are bound by the caller (no kernel runs for them).
BOUND_OPS = frozenset({"variable", "input", FLAT_SPAN})


def live_nodes(graph: Graph, needed: set[int]) -> list[int]:
    """Indices of nodes needed to compute ``needed`` values, plus every stateful op."""
    registry = get_registry()
    want = set(needed)
    keep = []
    for i in range(len(graph.nodes) - 1, -1, -1):
        node = graph.nodes[i]
        stateful = node.type not in BOUND_OPS and registry.op(node.type).spec.stateful
        if stateful or any(v in want for v in node.outputs):
            keep.append(i)
            want.update(node.inputs)
    keep.reverse()
    return keep


def lower(
    graph: Graph,
    backends: Mapping[str, Backend],
    bound: Mapping[int, Any],
    fetch: list[int],
    feed: list[int],
    keep: set[int] | None = None,
) -> Plan:
    """Build the flat plan of ``graph``.

    Args:
        graph: the traced graph (after all passes).
        backends: device tag -> backend.
        bound: value id -> existing buffer: variables, and caller-owned storage for op
            outputs (each variable's final gradient is a view of a flat gradient buffer).
        fetch: value ids whose buffers are read after a run.
        feed: value ids of placeholders, in argument order.
        keep: further value ids that must keep their own buffers (watched values).
    """
    keep = set(keep or ())
    persistent = set(fetch) | set(feed) | keep | set(bound)
    order = live_nodes(graph, set(fetch) | keep | set(feed))
    last_use: dict[int, int] = {}
    for pos, i in enumerate(order):
        for v in graph.nodes[i].inputs:
            last_use[v] = pos
    buffers: dict[int, Any] = dict(bound)
    pool: dict[tuple[Any, ...], list[Any]] = {}
    plan = Plan()

    def alloc(v: int, backend: Backend) -> Any:
        meta = graph.metas[v]
        key = (backend.name, meta.shape, meta.dtype.np_dtype)
        if v not in persistent and pool.get(key):
            return pool[key].pop()
        return backend.empty(meta.shape, meta.dtype.np_dtype)

    for pos, i in enumerate(order):
        node = graph.nodes[i]
        backend = backends[node.device]
        if node.type in BOUND_OPS:
            for v in node.outputs:
                if v not in buffers:
                    buffers[v] = alloc(v, backend)
            continue
        ins = [buffers[v] for v in node.inputs]
        outs = []
        for v in node.outputs:
            if v not in buffers:  # caller-bound outputs (flat gradient views) stay bound
                buffers[v] = alloc(v, backend)
            outs.append(buffers[v])
        in_metas = [graph.metas[v] for v in node.inputs]
        out_metas = [graph.metas[v] for v in node.outputs]
        dtype = _kernel_dtype(in_metas + out_metas)
        factory = backend.kernel_factory(node.type, dtype,
                                         "fused" if is_fused(node) else "default")
        run = factory(node.attrs, in_metas, out_metas)
        plan.steps.append(_bind(run, ins, outs))
        plan.names.append(node.name)
        for v in set(node.inputs):
            if last_use.get(v) == pos and v not in persistent:
                meta = graph.metas[v]
                pool.setdefault((backend.name, meta.shape, meta.dtype.np_dtype), []).append(
                    buffers[v]
                )
        for v in node.outputs:
            if v not in last_use and v not in persistent:
                meta = graph.metas[v]
                pool.setdefault((backend.name, meta.shape, meta.dtype.np_dtype), []).append(
                    buffers[v]
                )
    plan.feeds = [buffers[v] for v in feed]
    plan.fetches = [buffers[v] for v in fetch]
    plan.watched = {v: buffers[v] for v in keep}
    return plan


def _kernel_dtype(metas: list[Any]) -> str:
    for m in metas:
        if m.dtype.is_floating:
            return m.dtype.name
    return metas[0].dtype.name if metas else "float32"


def _bind(run: Callable[[list[Any], list[Any]], None], ins: list[Any], outs: list[Any]):
    return functools.partial(run, ins, outs)
