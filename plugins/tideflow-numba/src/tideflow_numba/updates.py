"""Toolkit for optimizer plugins that write numba kernels of their update ops.

An optimizer family (first- or third-party) that ships kernels for the ``numba`` backend
writes only its *compiled core*, the update rule over 1-D arrays; this module supplies the
rest, so every family honours the same contracts: the per-variable op (inputs
``(param, grad, *slots, lr, step[, skip])``) and the ``"fused"`` variant over flat buffers
(``docs/plugins/fused-updates.md``: ``segments``, per-variable ``weight_decay``,
``clip_norm``, ``has_skip``). Both variants run ONE core over work items: :func:`layout`
splits the variables (segments) into items of at most :data:`CHUNK` elements, never
straddling two variables, and the core loops ``for c in prange(lo.size)`` over them.

- :func:`dense_update_kernel` builds the ``run`` of a dense update (default or fused): it
  reads the attributes at factory time, honours the skip count, computes the clipping scale
  with :func:`grad_scale` (one parallel sum-of-squares pass) and works on contiguous copies
  of strided views (never needed in a plan).
- :func:`sparse_update_kernel` builds the ``run`` of a row-sparse (indexed-slices) update
  whose core sums duplicate rows with :func:`sum_rows`.
- :func:`sumsq` (inlined) sums squares in float64 over a work item, for cores that need
  norms (LARS, LAMB).

The work-item bounds are unsigned (``np.uint64``): numba then indexes without the
negative-index wrap-around check, which is what lets LLVM vectorize the update loops. Keep
loop indices derived from ``lo``/``hi`` in a core for the same reason.

Example, a plain SGD ``w <- w - lr*g`` with a default and a fused kernel::

    @njit(cache=True, parallel=True)
    def _sgd(p, g, lr, step, gscale, lo, hi, seg, wd, hyp):
        t = p.dtype.type
        a, gs = t(lr), t(gscale)
        for c in prange(lo.size):
            for i in range(lo[c], hi[c]):
                p[i] = p[i] - a * (g[i] * gs)

    def my_sgd_update(attrs, in_metas, out_metas):
        return dense_update_kernel(_sgd, attrs, in_metas, 0)

    def my_sgd_update_fused(attrs, in_metas, out_metas):
        return dense_update_kernel(_sgd, attrs, in_metas, 0, fused=True)

Numba caches a core's machine code keyed to the core's own source file, and the compiled
helpers it calls (:func:`sumsq`, :func:`sum_rows`) are compiled into it: their behaviour is
part of this module's interface and does not change under the same name.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numba import njit, prange

from tideflow_numba.cache import configure

configure()  # a writable cache directory before any @njit(cache=True) below

__all__ = ["CHUNK", "Run", "dense_update_kernel", "grad_scale", "layout", "sparse_update_kernel",
           "sum_rows", "sumsq"]

#: ``run(ins, outs)``, what a kernel factory returns.
Run = Callable[[list[Any], list[Any]], None]

#: elements per parallel work item; a work item never straddles two variables.
CHUNK = 1 << 15


def layout(segments: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split variables into work items (call it at factory time).

    Args:
        segments: ``k + 1`` offsets ``0 = o_0 <= ... <= o_k = n``; variable ``j`` is
            ``[o_j, o_{j+1})``.

    Returns:
        ``(lo, hi, seg)``: work item ``c`` is ``[lo[c], hi[c])`` of variable ``seg[c]``, in
        order, at most :data:`CHUNK` elements. ``lo`` and ``hi`` are ``np.uint64`` (numba
        then indexes without the wrap-around check, so LLVM vectorizes), ``seg`` int64.
    """
    lo: list[int] = []
    hi: list[int] = []
    seg: list[int] = []
    for j in range(len(segments) - 1):
        for a in range(segments[j], segments[j + 1], CHUNK):
            lo.append(a)
            hi.append(min(a + CHUNK, segments[j + 1]))
            seg.append(j)
    return np.array(lo, np.uint64), np.array(hi, np.uint64), np.array(seg, np.int64)


@njit(inline="always")
def sumsq(x: np.ndarray, i: Any, end: Any) -> float:  # pragma: no cover - numba
    """Sum of ``float64(x[k])**2`` for ``k`` in ``[i, end)``, in four chains (inlined).

    Args:
        x: a 1-D array.
        i: the first index, ``np.uint64`` (e.g. ``lo[c]``).
        end: the end index, ``np.uint64`` (e.g. ``hi[c]``).

    Returns:
        The float64 sum of squares.
    """
    one, four = np.uint64(1), np.uint64(4)
    a0 = a1 = a2 = a3 = 0.0
    while i + four <= end:
        x0, x1 = np.float64(x[i]), np.float64(x[i + one])
        x2, x3 = np.float64(x[i + np.uint64(2)]), np.float64(x[i + np.uint64(3)])
        a0 += x0 * x0
        a1 += x1 * x1
        a2 += x2 * x2
        a3 += x3 * x3
        i += four
    while i < end:
        x0 = np.float64(x[i])
        a0 += x0 * x0
        i += one
    return (a0 + a1) + (a2 + a3)


@njit(cache=True, parallel=True)
def grad_scale(g: np.ndarray, lo: np.ndarray, hi: np.ndarray, part: np.ndarray,
               clip: float) -> float:  # pragma: no cover - numba
    """``clip_by_global_norm``'s scale ``clip / max(||g||, clip)`` over all work items.

    Args:
        g: the flat gradient.
        lo: work-item starts (:func:`layout`).
        hi: work-item ends.
        part: float64 workspace of at least ``(lo.size, 1)``; column 0 is overwritten.
        clip: the clip norm, > 0.

    Returns:
        The scale (float64): per-item float64 sums of squares, summed in order.
    """
    for c in prange(lo.size):
        part[c, 0] = sumsq(g, lo[c], hi[c])
    total = 0.0
    for c in range(lo.size):
        total += part[c, 0]
    return clip / max(math.sqrt(total), clip)


def dense_update_kernel(core: Any, attrs: dict, in_metas: list, n_slots: int,
                        hyper: Sequence[float] = (), *, fused: bool = False,
                        workspace: int | None = None, clip_in_core: bool = False) -> Run:
    """The ``run`` of a dense update op (default or fused variant) calling compiled ``core``.

    The call is ``core(param, grad, *slots, lr, step, gscale, lo, hi, seg, wd, hyp)``, plus
    ``part, segsum`` when ``workspace`` is given: 1-D contiguous ``param``, ``grad`` and
    slots (element slots span like ``param``; per-variable scalar slots hold one element per
    variable), ``lr`` float, ``step`` int, ``gscale`` the gradient scale of clipping (1.0
    without), ``(lo, hi, seg)`` from :func:`layout`, ``wd`` float64 per-variable weight
    decays, ``hyp`` float64 ``hyper``. The core writes ``param`` and the slots in place and
    must leave ``grad`` unchanged. A nonzero skip count returns before calling it.

    Args:
        core: an ``@njit`` function with the signature above.
        attrs: the op's attributes (the factory's ``attrs``).
        in_metas: the factory's ``in_metas``.
        n_slots: how many slot inputs follow ``grad``.
        hyper: the family's hyperparameters for the core, as floats (``hyp``).
        fused: the ``"fused"`` variant: the inputs are flat spans split by
            ``attrs["segments"]``, with per-variable ``attrs["weight_decay"]``, an optional
            ``attrs["clip_norm"]`` and skip input (``attrs["has_skip"]``). Otherwise one
            variable of any shape, ``attrs["weight_decay"]`` (default 0) and a skip input
            when ``in_metas`` has one more entry than ``(param, grad, *slots, lr, step)``.
        workspace: None: the core gets no workspace. An int ``s``: it also gets ``part``,
            float64 ``(items, 2 + s)`` (per-item sums, then ``s`` scratch entries per item),
            and ``segsum``, float64 ``(variables, 2)``, for per-variable norms.
        clip_in_core: pass the clip norm (0.0: none) in place of ``gscale``, for a core that
            computes the global norm in its own pass (LARS); :func:`grad_scale` is not run.

    Returns:
        ``run(ins, outs)``.
    """
    if fused:
        segments = tuple(int(o) for o in attrs["segments"])
        wds = tuple(float(w) for w in attrs["weight_decay"])
        clip, has_skip = float(attrs.get("clip_norm") or 0.0), bool(attrs.get("has_skip"))
    else:
        segments, wds = (0, in_metas[0].size), (float(attrs.get("weight_decay", 0.0)),)
        clip, has_skip = 0.0, len(in_metas) > 4 + n_slots
    lo, hi, seg = layout(segments)
    wd, hyp = np.array(wds, np.float64), np.array(hyper, np.float64)
    part = np.zeros((max(lo.size, 1), 2 + (workspace or 0)))
    extra = () if workspace is None else (part, np.zeros((len(wds), 2)))
    n = 2 + n_slots

    def run(ins: list[Any], outs: list[Any]) -> None:
        if has_skip and ins[n + 2][0] != 0:
            return  # a non-finite gradient this step: change nothing
        lr, step = float(ins[n][0]), int(ins[n + 1][0])
        arrs = ins[:n]
        contiguous = all(a.flags.c_contiguous for a in arrs)
        flat = [(a if contiguous else np.ascontiguousarray(a)).reshape(-1) for a in arrs]
        if clip_in_core:
            gscale = clip
        else:
            gscale = grad_scale(flat[1], lo, hi, part, clip) if clip > 0 else 1.0
        core(*flat, lr, step, gscale, lo, hi, seg, wd, hyp, *extra)
        if not contiguous:  # slow path (strided views, never in a plan): copy out
            for k in [0, *range(2, n)]:
                if not arrs[k].flags.c_contiguous:
                    arrs[k][...] = flat[k].reshape(arrs[k].shape)

    return run


@njit(cache=True)
def sum_rows(idx: np.ndarray, vals: np.ndarray, rowmap: np.ndarray, uniq: np.ndarray,
             summed: np.ndarray) -> int:  # pragma: no cover - numba
    """Sum the value rows of equal indices (in order), skipping out-of-range ones.

    Args:
        idx: the row indices (1-D int).
        vals: the value rows, ``(idx.size, width)``.
        rowmap: int64 per parameter row, -1 where absent; the caller resets the rows it
            uses to -1 (``rowmap[uniq[j]] = -1``) before the next call.
        uniq: int64 ``(idx.size,)``; ``uniq[:count]`` receives the distinct rows in order.
        summed: ``(idx.size, width)``; ``summed[j]`` receives the summed row ``uniq[j]``.

    Returns:
        ``count``, the number of distinct in-range rows.
    """
    count = 0
    for k in range(idx.size):
        r = idx[k]
        if r < 0 or r >= rowmap.size:
            continue
        j = rowmap[r]
        if j < 0:
            j = count
            rowmap[r] = j
            uniq[j] = r
            count += 1
            for e in range(summed.shape[1]):
                summed[j, e] = 0
        for e in range(summed.shape[1]):
            summed[j, e] += vals[k, e]
    return count


def sparse_update_kernel(core: Any, attrs: dict, in_metas: list, n_slots: int,
                         hyper: Sequence[float] = ()) -> Run:
    """The ``run`` of a row-sparse update op calling compiled ``core``.

    The op's inputs are ``(param, indices, values, *slots, lr, step[, skip])``; the call is
    ``core(param2d, *slots2d, idx, vals2d, rowmap, uniq, summed, lr, step, wd, hyp)`` with
    the parameter and slots viewed as ``(rows, width)``, and the workspaces of
    :func:`sum_rows`, which the core calls first (then it resets ``rowmap`` of each row it
    updates to -1). ``wd`` is ``attrs["weight_decay"]`` (float), ``hyp`` float64 ``hyper``.

    Args:
        core: an ``@njit`` function with the signature above.
        attrs: the op's attributes.
        in_metas: the factory's ``in_metas``.
        n_slots: how many slot inputs follow ``values``.
        hyper: the family's hyperparameters for the core, as floats.

    Returns:
        ``run(ins, outs)``.
    """
    shape = tuple(in_metas[0].shape)
    rows = shape[0] if shape else 1
    width = int(np.prod(shape[1:], dtype=np.int64))
    n_idx = in_metas[1].size
    rowmap = np.full(rows, -1, np.int64)
    uniq = np.zeros(n_idx, np.int64)
    summed = np.zeros((n_idx, width), in_metas[2].dtype.np_dtype)
    wd, hyp = float(attrs.get("weight_decay", 0.0)), np.array(hyper, np.float64)
    skip_at = 5 + n_slots if len(in_metas) > 5 + n_slots else None

    def run(ins: list[Any], outs: list[Any]) -> None:
        if skip_at is not None and ins[skip_at][0] != 0:
            return
        lr, step = float(ins[3 + n_slots][0]), int(ins[4 + n_slots][0])
        arrs = [ins[0], *ins[3:3 + n_slots]]
        work = [np.ascontiguousarray(a).reshape(rows, width) for a in arrs]
        idx = np.ascontiguousarray(ins[1]).reshape(-1)
        vals = np.ascontiguousarray(ins[2]).reshape(n_idx, width)
        core(*work, idx, vals, rowmap, uniq, summed, lr, step, wd, hyp)
        for a, w in zip(arrs, work, strict=True):
            if not a.flags.c_contiguous:
                a[...] = w.reshape(a.shape)

    return run
