"""Numba kernels of ``max_pool2d``, ``avg_pool2d`` and their gradients.

Every kernel is one parallel loop over the (image, channel) planes of an ``(N, C, H, W)``
view of its arrays (a transposed view for NHWC); windows are clipped to the input, so
padding and ``ceil_mode`` overhang are never materialized. Max pooling emits the argmax
offset ``i * KW + j`` within each window (int32): the first maximum wins ties, a NaN
propagates to the output as in ``np.maximum``, and a window with no input element gives
``-inf`` and offset 0, as the reference's ``-inf`` padding does. Average pooling divides by
the number of in-bounds elements (factory-time table, 0 for an empty window).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, prange

from tideflow.ops.conv import window_out
from tideflow_numba.kernels._nn_util import Run, contiguous

__all__ = ["avg_pool2d", "avg_pool2d_grad", "max_pool2d", "max_pool2d_grad"]


class _Pool:
    """Sizes of one pooling op from its attributes and the input shape."""

    def __init__(self, attrs: dict, x_shape: Any) -> None:
        self.nhwc = attrs["data_format"] == "NHWC"
        if self.nhwc:
            self.n, self.h, self.w, self.c = (int(d) for d in x_shape)
        else:
            self.n, self.c, self.h, self.w = (int(d) for d in x_shape)
        self.kh, self.kw = attrs["ksize"]
        self.sh, self.sw = attrs["strides"]
        (self.pt, self.pb), (self.pl, self.pr) = attrs["pads"]
        ceil = attrs["ceil_mode"]
        self.oh = window_out(self.h, self.kh, self.sh, (self.pt, self.pb), ceil)
        self.ow = window_out(self.w, self.kw, self.sw, (self.pl, self.pr), ceil)
        self.geo = (self.kh, self.kw, self.sh, self.sw, self.pt, self.pl)

    def view(self, a: np.ndarray) -> np.ndarray:
        """An input/output array as an (N, C, H, W) view."""
        return a.transpose(0, 3, 1, 2) if self.nhwc else a

    def inv_count(self, dtype: Any) -> np.ndarray:
        """``1 / in-bounds elements`` of every window, (OH, OW) in ``dtype``; 0 if none."""

        def count(out: int, stride: int, k: int, before: int, size: int) -> np.ndarray:
            start = np.arange(out) * stride - before
            return np.clip(start + k, 0, size) - np.clip(start, 0, size)

        cnt = np.outer(count(self.oh, self.sh, self.kh, self.pt, self.h),
                       count(self.ow, self.sw, self.kw, self.pl, self.w)).astype(np.float64)
        inv = np.zeros(cnt.shape, np.float64)
        np.divide(1.0, cnt, out=inv, where=cnt > 0)
        return inv.astype(dtype)


@njit(cache=True, inline="always")
def _clip(o: int, stride: int, before: int, k: int, size: int) -> tuple[int, int, int]:
    """Window start ``s`` of output ``o`` and its in-bounds offsets ``[lo, hi)``."""
    s = o * stride - before
    lo = max(0, -s)
    hi = min(k, size - s)
    return s, lo, max(lo, hi)


@njit(cache=True, parallel=True)
def _max_pool(x: np.ndarray, y: np.ndarray, idx: np.ndarray, kh: int, kw: int, sh: int,
              sw: int, pt: int, pl: int, ninf: Any) -> None:
    n_, c_, h_, w_ = x.shape
    oh_, ow_ = y.shape[2], y.shape[3]
    for t in prange(n_ * c_):
        n = t // c_
        c = t % c_
        xs = x[n, c]
        for oh in range(oh_):
            r0, ilo, ihi = _clip(oh, sh, pt, kh, h_)
            for ow in range(ow_):
                c0, jlo, jhi = _clip(ow, sw, pl, kw, w_)
                first = ilo == 0 and jlo == 0 and ihi > 0 and jhi > 0
                best = xs[r0, c0] if first else ninf
                arg = 0
                for i in range(ilo, ihi):
                    for j in range(jlo, jhi):
                        v = xs[r0 + i, c0 + j]
                        if v > best:
                            best = v
                            arg = i * kw + j
                        elif v != v:
                            best = v
                y[n, c, oh, ow] = best
                idx[n, c, oh, ow] = arg


@njit(cache=True, parallel=True)
def _max_pool_grad(dy: np.ndarray, idx: np.ndarray, dx: np.ndarray, kh: int, kw: int,
                   sh: int, sw: int, pt: int, pl: int) -> None:
    n_, c_, h_, w_ = dx.shape
    oh_, ow_ = dy.shape[2], dy.shape[3]
    for t in prange(n_ * c_):
        n = t // c_
        c = t % c_
        d = dx[n, c]
        d[:, :] = 0
        for oh in range(oh_):
            for ow in range(ow_):
                k = idx[n, c, oh, ow]
                r = oh * sh - pt + k // kw
                q = ow * sw - pl + k % kw
                if 0 <= r < h_ and 0 <= q < w_:
                    d[r, q] += dy[n, c, oh, ow]


@njit(cache=True, parallel=True)
def _avg_pool(x: np.ndarray, y: np.ndarray, inv: np.ndarray, kh: int, kw: int, sh: int,
              sw: int, pt: int, pl: int) -> None:
    n_, c_, h_, w_ = x.shape
    oh_, ow_ = y.shape[2], y.shape[3]
    for t in prange(n_ * c_):
        n = t // c_
        c = t % c_
        xs = x[n, c]
        for oh in range(oh_):
            r0, ilo, ihi = _clip(oh, sh, pt, kh, h_)
            for ow in range(ow_):
                c0, jlo, jhi = _clip(ow, sw, pl, kw, w_)
                s = inv[oh, ow] - inv[oh, ow]
                for i in range(ilo, ihi):
                    for j in range(jlo, jhi):
                        s += xs[r0 + i, c0 + j]
                y[n, c, oh, ow] = s * inv[oh, ow]


@njit(cache=True, parallel=True)
def _avg_pool_grad(dy: np.ndarray, dx: np.ndarray, inv: np.ndarray, kh: int, kw: int,
                   sh: int, sw: int, pt: int, pl: int) -> None:
    n_, c_, h_, w_ = dx.shape
    oh_, ow_ = dy.shape[2], dy.shape[3]
    for t in prange(n_ * c_):
        n = t // c_
        c = t % c_
        d = dx[n, c]
        d[:, :] = 0
        for oh in range(oh_):
            r0, ilo, ihi = _clip(oh, sh, pt, kh, h_)
            for ow in range(ow_):
                c0, jlo, jhi = _clip(ow, sw, pl, kw, w_)
                share = dy[n, c, oh, ow] * inv[oh, ow]
                for i in range(ilo, ihi):
                    for j in range(jlo, jhi):
                        d[r0 + i, c0 + j] += share


def max_pool2d(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Max pooling; second output: the int32 argmax offset within each window."""
    pl = _Pool(attrs, in_metas[0].shape)
    ninf = np.dtype(out_metas[0].dtype.np_dtype).type(-np.inf)

    def fast(ins: list, outs: list) -> None:
        _max_pool(pl.view(ins[0]), pl.view(outs[0]), pl.view(outs[1]), *pl.geo, ninf)

    return contiguous(fast)


def max_pool2d_grad(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Route each output gradient to its window's maximum (inputs: dy, argmax)."""
    pl = _Pool(attrs, attrs["x_shape"])

    def fast(ins: list, outs: list) -> None:
        _max_pool_grad(pl.view(ins[0]), pl.view(ins[1]), pl.view(outs[0]), *pl.geo)

    return contiguous(fast)


def avg_pool2d(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Average pooling over the in-bounds elements of each window."""
    pl = _Pool(attrs, in_metas[0].shape)
    inv = pl.inv_count(out_metas[0].dtype.np_dtype)

    def fast(ins: list, outs: list) -> None:
        _avg_pool(pl.view(ins[0]), pl.view(outs[0]), inv, *pl.geo)

    return contiguous(fast)


def avg_pool2d_grad(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Spread each output gradient evenly over its window's in-bounds elements."""
    pl = _Pool(attrs, attrs["x_shape"])
    inv = pl.inv_count(out_metas[0].dtype.np_dtype)

    def fast(ins: list, outs: list) -> None:
        _avg_pool_grad(pl.view(ins[0]), pl.view(outs[0]), inv, *pl.geo)

    return contiguous(fast)
