"""First-call (compile) and steady-state timings of a reference job, per CPU backend.

``python -m tideflow info --timings`` calls :func:`measure` for every available ``cpu``
backend. The reference job is OneFlow's documentation LeNet train step (batch 100, SGD with
momentum). A compiling backend pays on the first call: numba compiles each kernel, or loads
it from its on-disk cache (``NUMBA_CACHE_DIR``), so running the command twice shows the cold
and the cached cost.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

import tideflow as flow
import tideflow.typing as tp

BATCH = 100


def _lenet(data: Any) -> Any:
    init = flow.truncated_normal(0.1)
    h = flow.layers.conv2d(data, 32, 5, padding="SAME", activation=flow.nn.relu, name="conv1",
                           kernel_initializer=init)
    h = flow.nn.max_pool2d(h, ksize=2, strides=2, padding="SAME", data_format="NCHW")
    h = flow.layers.conv2d(h, 64, 5, padding="SAME", activation=flow.nn.relu, name="conv2",
                           kernel_initializer=init)
    h = flow.nn.max_pool2d(h, ksize=2, strides=2, padding="SAME", data_format="NCHW")
    h = flow.reshape(h, [BATCH, -1])
    h = flow.layers.dense(h, 512, activation=flow.nn.relu, kernel_initializer=init, name="fc1")
    h = flow.nn.dropout(h, rate=0.5)
    return flow.layers.dense(h, 10, kernel_initializer=init, name="fc2")


def _run_steps(plan: Any) -> list[float]:
    times = []
    for step in plan.steps:
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return times


def measure(backend: str, top: int = 8) -> dict[str, Any]:
    """Build, lower and run the reference job six times on ``backend``; return the timings.

    Returns:
        ``backend``, ``lower_s`` (trace, initialization and lowering: kernel modules are
        imported here), ``first_run_s`` and ``steady_run_s`` (sum of the plan's kernel
        calls on the first run and on the median of the next five) and ``slowest``: the
        ``top`` kernels by first-call time as ``(op name, first s, steady s)``.
    """
    flow.clear_default_session()
    try:
        flow.config.backend(cpu=backend)

        @flow.global_function(type="train")
        def lenet_train(images: tp.Numpy.Placeholder((BATCH, 1, 28, 28)),
                        labels: tp.Numpy.Placeholder((BATCH,), dtype=flow.int32)) -> tp.Numpy:
            logits = _lenet(images)
            loss = flow.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)
            flow.optimizer.SGD(flow.optimizer.PiecewiseConstantScheduler([], [0.01]),
                               momentum=0.9).minimize(loss)
            return loss

        t0 = time.perf_counter()
        session = flow.session.default_session()
        session.try_init()
        lower_s = time.perf_counter() - t0
        plan = session.compiled["lenet_train"].plan
        rng = np.random.default_rng(0)
        plan.feeds[0][...] = rng.random(plan.feeds[0].shape)
        plan.feeds[1][...] = rng.integers(0, 10, plan.feeds[1].shape)
        first = _run_steps(plan)
        runs = [_run_steps(plan) for _ in range(5)]
        runs.sort(key=sum)
        steady = runs[len(runs) // 2]  # the median run
    finally:
        flow.clear_default_session()
    order = sorted(range(len(first)), key=lambda i: -first[i])[:top]
    return {"backend": backend, "lower_s": lower_s, "first_run_s": sum(first),
            "steady_run_s": sum(steady),
            "slowest": [(plan.names[i], first[i], steady[i]) for i in order]}


def render(rows: list[dict[str, Any]]) -> list[str]:
    """Text lines for ``info --timings``."""
    out = ["", "Compile timings (LeNet train step, batch 100; first call compiles or loads "
           "numba's cache):"]
    for r in rows:
        if "error" in r:
            out.append(f"  {r['backend']}: not measured: {r['error']}")
            continue
        out.append(f"  {r['backend']}: lowering {r['lower_s']:.2f} s, first run "
                   f"{r['first_run_s']:.2f} s, steady run {r['steady_run_s'] * 1e3:.1f} ms")
        for name, first, steady in r["slowest"]:
            out.append(f"    {name:<40} first {first * 1e3:9.1f} ms   steady "
                       f"{steady * 1e3:7.2f} ms")
    return out
