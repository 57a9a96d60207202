"""Optional Numba kernels of the SGD family's update ops (imports numba: never import eagerly).

Registered in :mod:`tideflow_optim_sgd.plugin` for a ``numba`` backend, as a third-party
plugin would: ``sgd_update`` and ``momentum_update`` in two variants, ``"default"`` (one
variable: the op's inputs ``(param, grad, *slots, lr, step[, skip])``) and ``"fused"`` (every
variable of the optimizer over flat buffers, see ``docs/plugins/fused-updates.md``), both
running ONE compiled core over 1-D arrays split into segments; and the row-sparse
``indexed_slices_sgd_update`` / ``indexed_slices_momentum_update``. This module holds the
compiled cores only: the drivers (layout, skip, clipping, copy-in/copy-out) are the numba
backend's toolkit :mod:`tideflow_numba.updates`.

The dense cores make one parallel pass over the data (``prange`` over the toolkit's work
items, inside one variable) and allocate nothing; gradient clipping adds one parallel
sum-of-squares pass first and folds the scale into the update loop. Arithmetic mirrors the
NumPy reference: scalars the reference computes in Python (double) are computed in double
and cast to the parameter's dtype, element-wise operations run in that dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, prange

from tideflow_numba.updates import Run, dense_update_kernel, sparse_update_kernel, sum_rows

# ---------------------------------------------------------------- update rules


@njit(inline="always")
def _sgd_elem(p: Any, g: Any, a: Any, w: Any) -> Any:  # pragma: no cover - numba
    return p - a * (g + w * p)  # w - lr*(g + wd*w)


@njit(inline="always")
def _momentum_elem(p: Any, g: Any, u: Any, b: Any, a: Any,
                   lw: Any) -> tuple[Any, Any]:  # pragma: no cover - numba
    u = b * u - a * g  # u <- beta*u - lr*g
    return p + u - lw * p, u  # w <- w + u - (lr*wd)*w


@njit(cache=True, parallel=True)
def _sgd(p: np.ndarray, g: np.ndarray, lr: float, step: int, gscale: float, lo: np.ndarray,
         hi: np.ndarray, seg: np.ndarray, wd: np.ndarray,
         hyp: np.ndarray) -> None:  # pragma: no cover - numba
    t = p.dtype.type
    a, gs = t(lr), t(gscale)
    for c in prange(lo.size):
        w = t(wd[seg[c]])
        for i in range(lo[c], hi[c]):
            p[i] = _sgd_elem(p[i], g[i] * gs, a, w)


@njit(cache=True, parallel=True)
def _momentum(p: np.ndarray, g: np.ndarray, u: np.ndarray, lr: float, step: int,
              gscale: float, lo: np.ndarray, hi: np.ndarray, seg: np.ndarray, wd: np.ndarray,
              hyp: np.ndarray) -> None:  # pragma: no cover - numba
    t = p.dtype.type
    a, b, gs = t(lr), t(hyp[0]), t(gscale)
    for c in prange(lo.size):
        lw = t(lr * wd[seg[c]])
        for i in range(lo[c], hi[c]):
            p[i], u[i] = _momentum_elem(p[i], g[i] * gs, u[i], b, a, lw)


@njit(cache=True)
def _sgd_rows(p: np.ndarray, idx: np.ndarray, vals: np.ndarray, rowmap: np.ndarray,
              uniq: np.ndarray, summed: np.ndarray, lr: float, step: int, wd: float,
              hyp: np.ndarray) -> None:  # pragma: no cover - numba
    count = sum_rows(idx, vals, rowmap, uniq, summed)
    t = p.dtype.type
    a, w = t(lr), t(wd)
    for j in range(count):
        r = uniq[j]
        rowmap[r] = -1
        for e in range(p.shape[1]):
            p[r, e] = _sgd_elem(p[r, e], summed[j, e], a, w)


@njit(cache=True)
def _momentum_rows(p: np.ndarray, u: np.ndarray, idx: np.ndarray, vals: np.ndarray,
                   rowmap: np.ndarray, uniq: np.ndarray, summed: np.ndarray, lr: float,
                   step: int, wd: float, hyp: np.ndarray) -> None:  # pragma: no cover - numba
    count = sum_rows(idx, vals, rowmap, uniq, summed)
    t = p.dtype.type
    a, b, lw = t(lr), t(hyp[0]), t(lr * wd)
    for j in range(count):
        r = uniq[j]
        rowmap[r] = -1
        for e in range(p.shape[1]):
            p[r, e], u[r, e] = _momentum_elem(p[r, e], summed[j, e], u[r, e], b, a, lw)


# ---------------------------------------------------------------- kernel factories


def sgd_update(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """``w <- w - lr*(g + wd*w)`` for one variable."""
    return dense_update_kernel(_sgd, attrs, in_metas, 0)


def sgd_update_fused(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """:func:`sgd_update` over flat segments (the fused contract)."""
    return dense_update_kernel(_sgd, attrs, in_metas, 0, fused=True)


def momentum_update(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """``u <- beta*u - lr*g; w <- w + u - lr*wd*w`` for one variable."""
    return dense_update_kernel(_momentum, attrs, in_metas, 1, (attrs["beta"],))


def momentum_update_fused(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """:func:`momentum_update` over flat segments (the fused contract)."""
    return dense_update_kernel(_momentum, attrs, in_metas, 1, (attrs["beta"],), fused=True)


def indexed_slices_sgd_update(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """:func:`sgd_update` on the rows of an indexed-slices gradient (duplicates summed)."""
    return sparse_update_kernel(_sgd_rows, attrs, in_metas, 0)


def indexed_slices_momentum_update(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """:func:`momentum_update` on the rows present (absent rows keep their momentum)."""
    return sparse_update_kernel(_momentum_rows, attrs, in_metas, 1, (attrs["beta"],))
