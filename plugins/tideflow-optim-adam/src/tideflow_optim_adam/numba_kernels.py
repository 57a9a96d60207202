"""Optional Numba kernels of the Adam family's and LAMB's update ops (imports numba).

Never import this module eagerly. Registered in :mod:`tideflow_optim_adam.plugin` for a
``numba`` backend, as a third-party plugin would: ``adam_update`` and ``lamb_update`` in two
variants, ``"default"`` (one variable: the op's inputs
``(param, grad, *slots, lr, step[, skip])``) and ``"fused"`` (every variable of the
optimizer over flat buffers, see ``docs/plugins/fused-updates.md``), both running ONE
compiled core over 1-D arrays split into segments; and the row-sparse
``indexed_slices_adam_update`` (LazyAdam). This module holds the compiled cores only: the
drivers (layout, skip, clipping, copy-in/copy-out) are the numba backend's toolkit
:mod:`tideflow_numba.updates`.

Adam makes one parallel pass over the data (``prange`` over the toolkit's work items, inside
one variable) and allocates nothing; gradient clipping adds one parallel sum-of-squares pass
first and folds the scale into the update loop. LAMB needs each variable's ``||w||`` and
``||r||``: a first pass updates ``m`` and ``v`` and sums ``w^2`` and ``r^2`` per work item
(float64), the items are summed per variable, and a second pass recomputes ``r`` from the
new ``m`` and ``v`` (no temporary for ``r``) and updates ``w``. Arithmetic mirrors the NumPy
reference: scalars the reference computes in Python (double, including the bias-correction
powers) are computed in double and cast to the parameter's dtype, element-wise operations
run in that dtype.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit, prange

from tideflow_numba.updates import Run, dense_update_kernel, sparse_update_kernel, sum_rows, sumsq

#: elements per block of LAMB's first pass (its r^2 values wait in a per-item scratch row).
SUB = 64


@njit(inline="always")
def _sum(x: np.ndarray, n: Any) -> float:  # pragma: no cover - numba
    """Sum of ``x[:n]`` (``n`` unsigned) in four chains."""
    one, four = np.uint64(1), np.uint64(4)
    a0 = a1 = a2 = a3 = 0.0
    i = np.uint64(0)
    while i + four <= n:
        a0 += x[i]
        a1 += x[i + one]
        a2 += x[i + np.uint64(2)]
        a3 += x[i + np.uint64(3)]
        i += four
    while i < n:
        a0 += x[i]
        i += one
    return (a0 + a1) + (a2 + a3)


# ---------------------------------------------------------------- update rules


@njit(inline="always")
def _adam_elem(p: Any, g: Any, m: Any, v: Any, b1: Any, nb1: Any, b2: Any, nb2: Any, a: Any,
               sq: Any, eps: Any, lw: Any) -> tuple[Any, Any, Any]:  # pragma: no cover
    m = b1 * m + nb1 * g  # m <- beta1*m + (1-beta1)*g
    v = b2 * v + nb2 * g * g  # v <- beta2*v + (1-beta2)*g*g
    # w <- w - (lr/bc1)*m/(sqrt(v)/sqrt(bc2) + eps) - (lr*wd)*w
    return p - a * m / (np.sqrt(v) / sq + eps) - lw * p, m, v


@njit(inline="always")
def _adam_scalars(p: np.ndarray, lr: float, step: int,
                  hyp: np.ndarray) -> tuple[Any, ...]:  # pragma: no cover - numba
    """``(b1, 1-b1, b2, 1-b2, lr/bc1, sqrt(bc2), eps)`` in the parameter's dtype."""
    t = p.dtype.type
    b1, b2 = hyp[0], hyp[1]
    bc1 = bc2 = 1.0
    if hyp[3] != 0.0:  # bias correction: the powers in double, as the reference
        bc1 = 1.0 - b1 ** float(step + 1)
        bc2 = 1.0 - b2 ** float(step + 1)
    return (t(b1), t(1.0 - b1), t(b2), t(1.0 - b2), t(lr / bc1), t(math.sqrt(bc2)),
            t(hyp[2]))


@njit(cache=True, parallel=True)
def _adam(p: np.ndarray, g: np.ndarray, m: np.ndarray, v: np.ndarray, lr: float, step: int,
          gscale: float, lo: np.ndarray, hi: np.ndarray, seg: np.ndarray, wd: np.ndarray,
          hyp: np.ndarray) -> None:  # pragma: no cover - numba
    t = p.dtype.type
    b1, nb1, b2, nb2, a, sq, eps = _adam_scalars(p, lr, step, hyp)
    gs = t(gscale)
    for c in prange(lo.size):
        lw = t(lr * wd[seg[c]])
        for i in range(lo[c], hi[c]):
            p[i], m[i], v[i] = _adam_elem(p[i], g[i] * gs, m[i], v[i], b1, nb1, b2, nb2, a,
                                          sq, eps, lw)


@njit(cache=True)
def _adam_rows(p: np.ndarray, m: np.ndarray, v: np.ndarray, idx: np.ndarray,
               vals: np.ndarray, rowmap: np.ndarray, uniq: np.ndarray, summed: np.ndarray,
               lr: float, step: int, wd: float,
               hyp: np.ndarray) -> None:  # pragma: no cover - numba
    count = sum_rows(idx, vals, rowmap, uniq, summed)
    b1, nb1, b2, nb2, a, sq, eps = _adam_scalars(p, lr, step, hyp)
    lw = p.dtype.type(lr * wd)
    for j in range(count):
        r = uniq[j]
        rowmap[r] = -1
        for e in range(p.shape[1]):
            p[r, e], m[r, e], v[r, e] = _adam_elem(p[r, e], summed[j, e], m[r, e], v[r, e],
                                                   b1, nb1, b2, nb2, a, sq, eps, lw)


@njit(inline="always")
def _lamb_r(m: Any, v: Any, c1: Any, c2: Any, eps: Any) -> Any:  # pragma: no cover - numba
    return (m / c1) / (np.sqrt(v / c2) + eps)  # r = m_hat / (sqrt(v_hat) + eps)


@njit(cache=True, parallel=True)
def _lamb(p: np.ndarray, g: np.ndarray, m: np.ndarray, v: np.ndarray, b1t: np.ndarray,
          b2t: np.ndarray, lr: float, step: int, gscale: float, lo: np.ndarray,
          hi: np.ndarray, seg: np.ndarray, wd: np.ndarray, hyp: np.ndarray, part: np.ndarray,
          segsum: np.ndarray) -> None:  # pragma: no cover - numba
    t = p.dtype.type
    b1, nb1, b2, nb2, eps = t(hyp[0]), t(1.0 - hyp[0]), t(hyp[1]), t(1.0 - hyp[1]), t(hyp[2])
    gs, one = t(gscale), t(1.0)
    for s in range(b1t.size):  # the power slots advance before use
        b1t[s] = b1t[s] * b1
        b2t[s] = b2t[s] * b2
    # pass 1: m, v; per-item sums of w^2 and r^2. Each item runs in blocks of SUB elements:
    # a vectorizable loop updates m, v and writes r^2 to the item's scratch row of `part`,
    # then four chains sum the block (float64 sums cannot vectorize without reassociation).
    sub = np.uint64(SUB)
    for c in prange(lo.size):
        s = seg[c]
        c1, c2 = one - b1t[s], one - b2t[s]
        row = part[c, 2:]
        ar = 0.0
        i, end = lo[c], hi[c]
        while i < end:
            stop = min(i + sub, end)
            for k in range(i, stop):
                gi = g[k] * gs
                mi = b1 * m[k] + nb1 * gi
                vi = b2 * v[k] + nb2 * gi * gi
                m[k] = mi
                v[k] = vi
                ri = np.float64(_lamb_r(mi, vi, c1, c2, eps))
                row[k - i] = ri * ri
            ar += _sum(row, stop - i)
            i = stop
        part[c, 0] = sumsq(p, lo[c], hi[c])
        part[c, 1] = ar
    segsum[:, :] = 0.0
    for c in range(lo.size):
        segsum[seg[c], 0] += part[c, 0]
        segsum[seg[c], 1] += part[c, 1]
    # pass 2: r again from the new m, v; w <- w - lr*trust*(r + wd*w)
    for c in prange(lo.size):
        s = seg[c]
        c1, c2 = one - b1t[s], one - b2t[s]
        w_norm, r_norm = t(math.sqrt(segsum[s, 0])), t(math.sqrt(segsum[s, 1]))
        trust = w_norm / r_norm if w_norm > 0 and r_norm > 0 else one
        lt, w = t(lr) * trust, t(wd[s])
        for i in range(lo[c], hi[c]):
            p[i] = p[i] - lt * (_lamb_r(m[i], v[i], c1, c2, eps) + w * p[i])


# ---------------------------------------------------------------- kernel factories


def _adam_hyper(attrs: dict) -> tuple[float, ...]:
    return (attrs["beta1"], attrs["beta2"], attrs["epsilon"],
            float(bool(attrs.get("do_bias_correction", False))))


def _lamb_hyper(attrs: dict) -> tuple[float, ...]:
    return attrs["beta1"], attrs["beta2"], attrs["epsilon"]


def adam_update(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Adam (OneFlow v0.5.0 kernel) for one variable: inputs ``(w, g, m, v, lr, step)``."""
    return dense_update_kernel(_adam, attrs, in_metas, 2, _adam_hyper(attrs))


def adam_update_fused(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """:func:`adam_update` over flat segments (the fused contract)."""
    return dense_update_kernel(_adam, attrs, in_metas, 2, _adam_hyper(attrs), fused=True)


def indexed_slices_adam_update(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """:func:`adam_update` on the rows of an indexed-slices gradient (LazyAdam)."""
    return sparse_update_kernel(_adam_rows, attrs, in_metas, 2, _adam_hyper(attrs))


def lamb_update(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """LAMB for one variable: inputs ``(w, g, m, v, beta1_t, beta2_t, lr, step)``."""
    return dense_update_kernel(_lamb, attrs, in_metas, 4, _lamb_hyper(attrs), workspace=SUB)


def lamb_update_fused(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """:func:`lamb_update` over flat segments (``beta1_t``, ``beta2_t``: one entry each)."""
    return dense_update_kernel(_lamb, attrs, in_metas, 4, _lamb_hyper(attrs), fused=True,
                               workspace=SUB)
