"""Numba kernels of ``max_pool2d``, ``avg_pool2d`` and their gradients.

Every kernel is one compiled loop over the (image, channel) planes of an ``(N, C, H, W)``
view of its arrays (a transposed view for NHWC); windows are clipped to the input, so
padding and ``ceil_mode`` overhang are never materialized. 2x2 windows with stride 2 that
tile the input (the common CNN case) have branch-free specialized loops. The loops are
single-threaded (see :mod:`tideflow_numba.kernels.conv` for why).

Max pooling emits the argmax offset ``i * KW + j`` within each window (int32): the first
maximum wins ties, a NaN propagates to the output as in ``np.maximum``, and a window with
no input element gives ``-inf`` and offset 0, as the reference's ``-inf`` padding does. Its
gradient writes each output gradient at its argmax only (a non-finite gradient is not
spread over the window as the reference's ``dy * (argmax == t)`` products do). Average
pooling divides by the number of in-bounds elements (factory-time table, 0 for an empty
window).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from tideflow.ops.pool import PoolGeometry, inv_count
from tideflow_numba.kernels._nn_util import Run, contiguous

__all__ = ["avg_pool2d", "avg_pool2d_grad", "max_pool2d", "max_pool2d_grad"]


class _Pool(PoolGeometry):
    """The core's pooling geometry plus the per-column spans the compiled loops use."""

    def __init__(self, attrs: dict, x_shape: Any) -> None:
        super().__init__(attrs, tuple(int(d) for d in x_shape))
        # per window column j: output columns [lo, hi) that read in-bounds input columns,
        # the first of those input columns and the column stride
        spans = []
        for j in range(self.kw):
            off = j - self.pl
            lo = 0 if off >= 0 else (-off + self.sw - 1) // self.sw
            hi = min(self.ow, (self.w - 1 - off) // self.sw + 1) if self.w - 1 - off >= 0 else 0
            hi = max(lo, hi)
            spans.append((lo, hi, lo * self.sw + off, self.sw))
        self.spans = np.array(spans, np.int64).reshape(self.kw, 4)
        self.geo = (self.kh, self.sh, self.pt, self.spans)
        self.tiled2 = self.tiled and self.kh == self.kw == 2

    def view(self, a: np.ndarray) -> np.ndarray:
        """An input/output array as an (N, C, H, W) view."""
        return a.transpose(0, 3, 1, 2) if self.nhwc else a


@njit(cache=True)
def _max_pool(x: np.ndarray, y: np.ndarray, idx: np.ndarray, kh: int, sh: int, pt: int,
              spans: np.ndarray, ninf: Any) -> None:
    # One pass over each output row per window offset (i, j), in offset order: ``v > best``
    # keeps the first maximum and a NaN sticks, as the reference's ufunc sequence does.
    n_, c_, h_ = x.shape[0], x.shape[1], x.shape[2]
    oh_, ow_ = y.shape[2], y.shape[3]
    kw = spans.shape[0]
    for t in range(n_ * c_):
        n = t // c_
        c = t % c_
        for oh in range(oh_):
            yr = y[n, c, oh]
            ir = idx[n, c, oh]
            for ow in range(ow_):
                yr[ow] = ninf
                ir[ow] = 0
            r0 = oh * sh - pt
            for i in range(max(0, -r0), min(kh, h_ - r0)):
                xr = x[n, c, r0 + i]
                for j in range(kw):
                    lo, hi, start, step = spans[j, 0], spans[j, 1], spans[j, 2], spans[j, 3]
                    src = xr[start:start + (hi - lo - 1) * step + 1:step]
                    yseg = yr[lo:hi]
                    iseg = ir[lo:hi]
                    code = i * kw + j
                    for q in range(hi - lo):
                        yseg[q], iseg[q] = _better(src[q], yseg[q], iseg[q], code)


@njit(cache=True, inline="always")
def _better(v: Any, best: Any, k: int, code: int) -> tuple[Any, int]:
    """One branch-free step of the running max: first maximum wins, NaN sticks."""
    gt = v > best
    return (v if gt | (v != v) else best), (code if gt else k)


@njit(cache=True)
def _max_pool_2x2(x: np.ndarray, y: np.ndarray, idx: np.ndarray) -> None:
    """2x2 windows with stride 2 tiling the input exactly (no padding)."""
    n_, c_ = x.shape[0], x.shape[1]
    oh_, ow_ = y.shape[2], y.shape[3]
    for t in range(n_ * c_):
        n = t // c_
        c = t % c_
        for oh in range(oh_):
            r0 = x[n, c, 2 * oh]
            r1 = x[n, c, 2 * oh + 1]
            yr = y[n, c, oh]
            ir = idx[n, c, oh]
            for ow in range(ow_):
                best, k = r0[2 * ow], 0
                best, k = _better(r0[2 * ow + 1], best, k, 1)
                best, k = _better(r1[2 * ow], best, k, 2)
                best, k = _better(r1[2 * ow + 1], best, k, 3)
                yr[ow] = best
                ir[ow] = k


@njit(cache=True)
def _max_pool_grad_2x2(dy: np.ndarray, idx: np.ndarray, dx: np.ndarray) -> None:
    """Gradient of :func:`_max_pool_2x2`: zero each plane, then write ``dy`` at the argmax."""
    n_, c_, h_, w_ = dx.shape
    oh_, ow_ = dy.shape[2], dy.shape[3]
    for t in range(n_ * c_):
        n = t // c_
        c = t % c_
        d = dx[n, c]
        for r in range(h_):
            dr = d[r]
            for q in range(w_):
                dr[q] = 0
        for oh in range(oh_):
            g = dy[n, c, oh]
            k = idx[n, c, oh]
            for ow in range(ow_):
                kk = k[ow] & 3
                d[2 * oh + (kk >> 1), 2 * ow + (kk & 1)] = g[ow]


@njit(cache=True)
def _max_pool_grad(dy: np.ndarray, idx: np.ndarray, dx: np.ndarray, kh: int, sh: int,
                   pt: int, spans: np.ndarray, sw: int, pl: int, tiled: bool) -> None:
    n_, c_, h_, w_ = dx.shape
    oh_, ow_ = dy.shape[2], dy.shape[3]
    kw = spans.shape[0]
    for t in range(n_ * c_):
        n = t // c_
        c = t % c_
        d = dx[n, c]
        if tiled:  # windows tile the plane: write every element once
            for oh in range(oh_):
                g = dy[n, c, oh]
                k = idx[n, c, oh]
                for i in range(kh):
                    dr = d[oh * sh + i]
                    for j in range(kw):
                        dseg = dr[j::sw]
                        code = i * kw + j
                        for q in range(ow_):
                            dseg[q] = g[q] if k[q] == code else g[q] * 0
            continue
        d[:, :] = 0
        for oh in range(oh_):
            for ow in range(ow_):
                k = idx[n, c, oh, ow]
                r = oh * sh - pt + k // kw
                q = ow * sw - pl + k % kw
                if 0 <= r < h_ and 0 <= q < w_:
                    d[r, q] += dy[n, c, oh, ow]


@njit(cache=True)
def _avg_pool(x: np.ndarray, y: np.ndarray, inv: np.ndarray, kh: int, sh: int, pt: int,
              spans: np.ndarray) -> None:
    n_, c_, h_ = x.shape[0], x.shape[1], x.shape[2]
    oh_, ow_ = y.shape[2], y.shape[3]
    kw = spans.shape[0]
    for t in range(n_ * c_):
        n = t // c_
        c = t % c_
        for oh in range(oh_):
            yr = y[n, c, oh]
            for ow in range(ow_):
                yr[ow] = 0
            r0 = oh * sh - pt
            for i in range(max(0, -r0), min(kh, h_ - r0)):
                xr = x[n, c, r0 + i]
                for j in range(kw):
                    lo, hi, start, step = spans[j, 0], spans[j, 1], spans[j, 2], spans[j, 3]
                    src = xr[start:start + (hi - lo - 1) * step + 1:step]
                    yseg = yr[lo:hi]
                    for q in range(hi - lo):
                        yseg[q] += src[q]
            iv = inv[oh]
            for ow in range(ow_):
                yr[ow] *= iv[ow]


@njit(cache=True)
def _avg_pool_grad(dy: np.ndarray, dx: np.ndarray, inv: np.ndarray, share: np.ndarray,
                   kh: int, sh: int, pt: int, spans: np.ndarray) -> None:
    n_, c_, h_ = dx.shape[0], dx.shape[1], dx.shape[2]
    oh_, ow_ = dy.shape[2], dy.shape[3]
    kw = spans.shape[0]
    for t in range(n_ * c_):
        n = t // c_
        c = t % c_
        d = dx[n, c]
        d[:, :] = 0
        sh_row = share[n, c]
        for oh in range(oh_):
            g, iv = dy[n, c, oh], inv[oh]
            for ow in range(ow_):
                sh_row[ow] = g[ow] * iv[ow]
            r0 = oh * sh - pt
            for i in range(max(0, -r0), min(kh, h_ - r0)):
                dr = d[r0 + i]
                for j in range(kw):
                    lo, hi, start, step = spans[j, 0], spans[j, 1], spans[j, 2], spans[j, 3]
                    dseg = dr[start:start + (hi - lo - 1) * step + 1:step]
                    sseg = sh_row[lo:hi]
                    for q in range(hi - lo):
                        dseg[q] += sseg[q]


def max_pool2d(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Max pooling; second output: the int32 argmax offset within each window."""
    pl = _Pool(attrs, in_metas[0].shape)
    ninf = np.dtype(out_metas[0].dtype.np_dtype).type(-np.inf)

    def fast(ins: list, outs: list) -> None:
        if pl.tiled2:
            _max_pool_2x2(pl.view(ins[0]), pl.view(outs[0]), pl.view(outs[1]))
        else:
            _max_pool(pl.view(ins[0]), pl.view(outs[0]), pl.view(outs[1]), *pl.geo, ninf)

    return contiguous(fast)


def max_pool2d_grad(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Route each output gradient to its window's maximum (inputs: dy, argmax)."""
    pl = _Pool(attrs, attrs["x_shape"])

    def fast(ins: list, outs: list) -> None:
        if pl.tiled2:
            _max_pool_grad_2x2(pl.view(ins[0]), pl.view(ins[1]), pl.view(outs[0]))
        else:
            _max_pool_grad(pl.view(ins[0]), pl.view(ins[1]), pl.view(outs[0]), *pl.geo, pl.sw,
                           pl.pl, pl.tiled)

    return contiguous(fast)


def avg_pool2d(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Average pooling over the in-bounds elements of each window."""
    pl = _Pool(attrs, in_metas[0].shape)
    inv = inv_count(pl, out_metas[0].dtype.np_dtype)

    def fast(ins: list, outs: list) -> None:
        _avg_pool(pl.view(ins[0]), pl.view(outs[0]), inv, *pl.geo)

    return contiguous(fast)


def avg_pool2d_grad(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Spread each output gradient evenly over its window's in-bounds elements."""
    pl = _Pool(attrs, attrs["x_shape"])
    inv = inv_count(pl, out_metas[0].dtype.np_dtype)
    share = np.empty((pl.n, pl.c, pl.ow), inv.dtype)

    def fast(ins: list, outs: list) -> None:
        _avg_pool_grad(pl.view(ins[0]), pl.view(outs[0]), inv, share, *pl.geo)

    return contiguous(fast)
