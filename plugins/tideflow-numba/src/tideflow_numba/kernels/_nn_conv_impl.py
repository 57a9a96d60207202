"""Compiled loops of the conv kernels: im2col, col2im and a batched axis swap.

Columns are "K-major": ``cols[row, n, oh, ow]`` with one row per (channel, kernel offset),
so one BLAS matmul per call multiplies the ``(O/G, K/G)`` filter matrix of each group by
its ``(K/G, N*OH*OW)`` block of rows. ``chan_major`` orders a group's rows as
``(c, kh, kw)`` (the NCHW filter layout) or ``(kh, kw, c)`` (the NHWC filter layout), so the
filter is used as stored. The input is indexed as an ``(N, C, H, W)`` view (a transposed
view for NHWC). Padding is never materialized: each row's in-bounds output range is computed.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, inline="always")
def _row_index(c: int, i: int, j: int, cg: int, kh: int, kw: int, chan_major: bool) -> int:
    g, r = c // cg, c % cg
    if chan_major:
        return g * cg * kh * kw + (r * kh + i) * kw + j
    return g * cg * kh * kw + (i * kw + j) * cg + r


@njit(cache=True, inline="always")
def _span(size: int, out: int, off: int, stride: int) -> tuple[int, int]:
    """Outputs ``o`` in ``[lo, hi)`` read in-bounds positions ``o * stride + off``."""
    lo = 0 if off >= 0 else (-off + stride - 1) // stride
    hi = 0 if size - 1 - off < 0 else (size - 1 - off) // stride + 1
    hi = min(hi, out)
    lo = min(lo, hi)
    return lo, hi


@njit(cache=True, parallel=True)
def im2col(x: np.ndarray, cols: np.ndarray, n0: int, cg: int, kh: int, kw: int, sh: int,
           sw: int, dh: int, dw: int, pt: int, pl: int, chan_major: bool) -> None:
    """Fill ``cols[row, b, oh, ow]`` from images ``n0 + b`` of ``x`` (N, C, H, W)."""
    nb, oh_, ow_ = cols.shape[1], cols.shape[2], cols.shape[3]
    c_, h_, w_ = x.shape[1], x.shape[2], x.shape[3]
    for t in prange(c_ * kh * kw * nb):
        b = t % nb
        q = t // nb
        j = q % kw
        i = (q // kw) % kh
        c = q // (kw * kh)
        row = _row_index(c, i, j, cg, kh, kw, chan_major)
        n = n0 + b
        off = j * dw - pl
        lo, hi = _span(w_, ow_, off, sw)
        for oh in range(oh_):
            ih = oh * sh + i * dh - pt
            dst = cols[row, b, oh]
            if ih < 0 or ih >= h_:
                for ow in range(ow_):
                    dst[ow] = 0
                continue
            src = x[n, c, ih]
            for ow in range(lo):
                dst[ow] = 0
            for ow in range(lo, hi):
                dst[ow] = src[ow * sw + off]
            for ow in range(hi, ow_):
                dst[ow] = 0


@njit(cache=True, parallel=True)
def col2im(dcols: np.ndarray, dx: np.ndarray, n0: int, cg: int, kh: int, kw: int, sh: int,
           sw: int, dh: int, dw: int, pt: int, pl: int, chan_major: bool) -> None:
    """Overwrite images ``n0 + b`` of ``dx`` (N, C, H, W) with the sums of ``dcols``."""
    nb, oh_, ow_ = dcols.shape[1], dcols.shape[2], dcols.shape[3]
    c_, h_, w_ = dx.shape[1], dx.shape[2], dx.shape[3]
    for t in prange(nb * c_):
        b = t // c_
        c = t % c_
        n = n0 + b
        plane = dx[n, c]
        plane[:, :] = 0
        for i in range(kh):
            for j in range(kw):
                row = _row_index(c, i, j, cg, kh, kw, chan_major)
                off = j * dw - pl
                lo, hi = _span(w_, ow_, off, sw)
                for oh in range(oh_):
                    ih = oh * sh + i * dh - pt
                    if ih < 0 or ih >= h_:
                        continue
                    src = dcols[row, b, oh]
                    dst = plane[ih]
                    for ow in range(lo, hi):
                        dst[ow * sw + off] += src[ow]


@njit(cache=True, parallel=True)
def swap01(src: np.ndarray, dst: np.ndarray) -> None:
    """``dst[b, a, :] = src[a, b, :]`` for ``src`` (A, B, C) and ``dst`` (B, A, C)."""
    a_, b_, c_ = src.shape
    for t in prange(a_ * b_):
        b = t // a_
        a = t % a_
        s = src[a, b]
        d = dst[b, a]
        for k in range(c_):
            d[k] = s[k]


@njit(cache=True, parallel=True)
def bias_add(x: np.ndarray, b: np.ndarray, y: np.ndarray) -> None:
    """``y[p, c, q] = x[p, c, q] + b[c]`` for (pre, C, post) arrays."""
    pre, c_, post = x.shape
    if post == 1:
        for p in prange(pre):
            for c in range(c_):
                y[p, c, 0] = x[p, c, 0] + b[c]
        return
    for t in prange(pre * c_):
        c = t % c_
        p = t // c_
        bc = b[c]
        xs = x[p, c]
        ys = y[p, c]
        for q in range(post):
            ys[q] = xs[q] + bc


@njit(cache=True, parallel=True)
def bias_add_grad(dy: np.ndarray, acc: np.ndarray, db: np.ndarray) -> None:
    """``db[c] = sum(dy[:, c, :])`` of a (pre, C, post) array, accumulated in ``acc``."""
    pre, c_, post = dy.shape
    if post == 1:
        blocks = min(c_, 64)
        for k in prange(blocks):
            lo = k * c_ // blocks
            hi = (k + 1) * c_ // blocks
            for c in range(lo, hi):
                acc[c] = 0
            for p in range(pre):
                row = dy[p]
                for c in range(lo, hi):
                    acc[c] += row[c, 0]
            for c in range(lo, hi):
                db[c] = acc[c]
        return
    for c in prange(c_):
        s = acc[c] * 0
        for p in range(pre):
            xs = dy[p, c]
            for q in range(post):
                s += xs[q]
        db[c] = s


@njit(cache=True)
def accumulate(dst: np.ndarray, src: np.ndarray) -> None:
    """``dst += src`` for 1-D arrays."""
    for k in range(dst.size):
        dst[k] += src[k]
