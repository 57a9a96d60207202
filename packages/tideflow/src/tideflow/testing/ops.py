"""Run ops outside jobs, and check gradient rules against finite differences."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tideflow.compiler.autodiff import gradients
from tideflow.compiler.lower import lower
from tideflow.dtypes import as_dtype
from tideflow.framework.blob import Blob
from tideflow.framework.build import BuildContext, add_op, building
from tideflow.framework.graph import Graph
from tideflow.plugins.registry import get_registry
from tideflow.runtime.backend import Backend


def default_backend() -> str:
    """The backend ``cpu`` placements get: ``TIDEFLOW_CPU_BACKEND``, else the best available.

    The best available is the highest-priority one (``numba`` when tideflow-numba is
    installed, else the NumPy reference).
    """
    import os

    requested = os.environ.get("TIDEFLOW_CPU_BACKEND") or None
    spec = get_registry().select_backend("cpu", requested)
    return spec.name if spec is not None else "numpy"


def _backend(name: str | None, allow_reference_fallback: bool = False) -> Backend:
    name = default_backend() if name is None else name
    return Backend(get_registry().backends[name], allow_reference_fallback)


def _inputs(arrays: Sequence[np.ndarray]) -> list[Blob]:
    return [
        add_op("input", [], {"shape": a.shape, "dtype": as_dtype(a.dtype)}, f"in{i}")
        for i, a in enumerate(arrays)
    ]


def _as_list(out: Any) -> list[Blob]:
    return list(out) if isinstance(out, tuple | list) else [out]


def run_graph(
    fn: Callable[..., Any],
    arrays: Sequence[np.ndarray],
    backend: str | None = None,
    trainable: bool = True,
) -> list[np.ndarray]:
    """Trace ``fn`` on placeholders shaped like ``arrays``, run it once, return outputs.

    Args:
        fn: function of blobs returning a blob or a tuple of blobs.
        arrays: input values (their shapes and dtypes define the placeholders).
        backend: backend name that runs every op (default: :func:`default_backend`).
        trainable: whether ops see a train job (dropout, batch norm).
    """
    arrays = [np.asarray(a) for a in arrays]
    ctx = BuildContext(Graph(), job_name="run_graph", trainable=trainable)
    with building(ctx):
        xs = _inputs(arrays)
        outs = _as_list(fn(*xs))
    plan = lower(ctx.graph, {"cpu": _backend(backend), "gpu": _backend(backend)}, {},
                 [o.value for o in outs], [x.value for x in xs])
    for buf, a in zip(plan.feeds, arrays, strict=True):
        buf[...] = a
    plan.run()
    return [np.array(f) for f in plan.fetches]


def _build_grad_plan(fn: Callable[..., Any], arrays: list[np.ndarray], wrt: list[int],
                     backend: str | None, allow_reference_fallback: bool = False) -> Any:
    ctx = BuildContext(Graph(), job_name="check_grad", trainable=True)
    with building(ctx):
        xs = _inputs(arrays)
        outs = _as_list(fn(*xs))
        y = outs[0]
        (w,) = _inputs([np.zeros(y.shape, y.dtype.np_dtype)])
        from tideflow.ops.math import multiply, reduce_sum

        loss = reduce_sum(multiply(y, w))
        (seed,) = _inputs([np.zeros(loss.shape, loss.dtype.np_dtype)])
        grads = gradients([loss], [seed], [xs[i] for i in wrt])
    missing = [wrt[k] for k, g in enumerate(grads) if g is None]
    if missing:
        raise AssertionError(f"no gradient reaches inputs {missing}")
    fetch = [loss.value] + [g.value for g in grads]
    feed = [x.value for x in xs] + [w.value, seed.value]
    be = _backend(backend, allow_reference_fallback)
    return lower(ctx.graph, {"cpu": be, "gpu": be}, {}, fetch, feed), y.shape


def numeric_grad(f: Callable[[], float], x: np.ndarray, eps: float,
                 index: Sequence[tuple[int, ...]]) -> np.ndarray:
    """Central differences of ``f`` w.r.t. the given elements of ``x`` (changed in place)."""
    out = np.zeros(len(index))
    for k, idx in enumerate(index):
        old = x[idx]
        x[idx] = old + eps
        fp = f()
        x[idx] = old - eps
        fm = f()
        x[idx] = old
        out[k] = (fp - fm) / (2 * eps)
    return out


def check_grad(
    fn: Callable[..., Any],
    arrays: Sequence[np.ndarray],
    wrt: Sequence[int] | None = None,
    rtol: float = 1e-5,
    atol: float = 1e-7,
    eps: float = 1e-6,
    max_points: int = 64,
    seed: int = 0,
    backend: str | None = None,
    allow_reference_fallback: bool = False,
) -> None:
    """Assert that the gradient rules under ``fn`` match central finite differences.

    The scalar checked is ``sum(fn(*arrays)[0] * w)`` for a random ``w``. Inputs should be
    float64 so that ``eps`` is meaningful; at most ``max_points`` elements per input are
    probed (chosen at random). With ``allow_reference_fallback``, ops that ``backend`` has
    no kernel for run their NumPy reference kernel (with a warning).

    Raises:
        AssertionError: a gradient differs beyond ``atol + rtol * |numeric|``.
    """
    rng = np.random.default_rng(seed)
    arrays = [np.array(a) for a in arrays]
    wrt = list(range(len(arrays))) if wrt is None else list(wrt)
    plan, yshape = _build_grad_plan(fn, arrays, wrt, backend, allow_reference_fallback)
    n = len(arrays)
    for buf, a in zip(plan.feeds[:n], arrays, strict=True):
        buf[...] = a
    plan.feeds[n][...] = rng.standard_normal(yshape)
    plan.feeds[n + 1][...] = 1.0
    plan.run()
    analytic = [np.array(g) for g in plan.fetches[1:]]

    def f() -> float:
        plan.run()
        return float(plan.fetches[0].sum())

    for k, i in enumerate(wrt):
        x = plan.feeds[i]
        flat = np.arange(x.size)
        pick = rng.choice(flat, size=min(max_points, x.size), replace=False) if x.size else []
        index = [np.unravel_index(p, x.shape) for p in pick]
        num = numeric_grad(f, x, eps, index)
        ana = np.array([analytic[k][idx] for idx in index])
        bad = np.abs(ana - num) > atol + rtol * np.abs(num)
        if bad.any():
            j = int(np.argmax(bad))
            raise AssertionError(
                f"gradient of input {i} at {index[j]}: analytic {ana[j]!r} vs numeric "
                f"{num[j]!r} ({int(bad.sum())}/{len(index)} points off; rtol={rtol}, "
                f"atol={atol})"
            )
