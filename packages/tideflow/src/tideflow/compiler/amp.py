"""Automatic mixed precision: white-listed ops compute in float16 on GPU backends.

With ``function_config.enable_auto_mixed_precision(True)``, OneFlow inserts float16 casts
around its white-listed ops (matmul and convolution) and only for nodes placed on a GPU
(``auto_mixed_precision.cpp`` skips every node not on kGPU). tideflow follows that rule per
*backend*: an op is converted when the backend that runs it serves the ``gpu`` tag and
declares ``supports_float16``. A ``gpu`` placement that falls back to a CPU backend is a CPU
op, as in OneFlow's CPU-only build, so on a machine without a GPU backend enabling AMP
changes nothing numerically; the job says so once, when it is compiled.

The pass runs on the whole job after the train pass, so the gradient ops of white-listed
ops (``conv2d_grad_data``, ``conv2d_grad_filter`` and the matmuls of a matmul's gradient)
compute in float16 too, which is what OneFlow's pass before autodiff amounts to. Variables,
their gradients (the casts back to float32) and every optimizer update stay float32:
float32 master weights.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

from tideflow import dtypes
from tideflow.framework.graph import Graph, OpNode, TensorMeta
from tideflow.runtime.backend import Backend

#: Ops that compute in float16 under AMP (OneFlow's white list, plus the convolution
#: gradients that its pass produces by converting the forward op before autodiff).
WHITE_LIST = frozenset({"matmul", "conv2d", "conv2d_grad_data", "conv2d_grad_filter"})


def _converts(node: OpNode, backends: Mapping[str, Backend], graph: Graph) -> bool:
    backend = backends.get(node.device)
    if backend is None or backend.spec.device != "gpu" or not backend.spec.supports_float16:
        return False
    metas = [graph.metas[v] for v in node.inputs + node.outputs]
    floats = [m for m in metas if m.dtype.is_floating]
    return bool(floats) and all(m.dtype == dtypes.float32 for m in floats)


def auto_mixed_precision(graph: Graph, backends: Mapping[str, Backend], job: str) -> int:
    """Run white-listed ops of ``graph`` in float16 where their backend allows it.

    Each float32 input is cast to float16 once (a value read by several converted ops shares
    the cast), the op computes in float16, and each output is cast back to float32 under
    its original value id, so every reader sees float32 as before.

    Args:
        graph: a traced job's graph, rewritten in place.
        backends: device tag -> backend of this job.
        job: the job's name, for the message.

    Returns:
        The number of ops converted. When it is 0 because no op runs on a GPU backend, a
        ``UserWarning`` says once that the job computes in float32 unchanged.
    """
    nodes: list[OpNode] = []
    half: dict[int, int] = {}
    converted = 0
    on_cpu = False
    for node in graph.nodes:
        if node.type not in WHITE_LIST:
            nodes.append(node)
            continue
        if not _converts(node, backends, graph):
            on_cpu = on_cpu or backends.get(node.device) is None or \
                backends[node.device].spec.device != "gpu"
            nodes.append(node)
            continue
        converted += 1
        inputs = []
        for v in node.inputs:
            meta = graph.metas[v]
            if not meta.dtype.is_floating:
                inputs.append(v)
                continue
            if v not in half:
                half[v] = graph.new_value(TensorMeta(meta.shape, dtypes.float16))
                nodes.append(OpNode(f"{node.name}-amp_in{len(inputs)}", "cast", [v], [half[v]],
                                    {"dtype": dtypes.float16}, node.device, node.where))
            inputs.append(half[v])
        outs16 = [graph.new_value(TensorMeta(graph.metas[v].shape, dtypes.float16))
                  for v in node.outputs]
        nodes.append(OpNode(node.name, node.type, inputs, outs16, node.attrs, node.device,
                            node.where))
        for k, (v16, v) in enumerate(zip(outs16, node.outputs, strict=True)):
            nodes.append(OpNode(f"{node.name}-amp_out{k}", "cast", [v16], [v],
                                {"dtype": dtypes.float32}, node.device, node.where))
    graph.nodes[:] = nodes
    graph.producer.clear()
    for i, node in enumerate(nodes):
        for v in node.outputs:
            graph.producer[v] = i
    if converted == 0 and on_cpu:
        names = sorted({b.name for b in backends.values()})
        warnings.warn(
            f"function_config.enable_auto_mixed_precision: job '{job}' runs on the CPU "
            f"(backend {', '.join(names)}); as in OneFlow only GPU ops compute in float16, "
            "so this job computes in float32, unchanged", UserWarning, stacklevel=2)
    return converted
