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
from numba import njit, uint64

from tideflow_numba.kernels._nn_sum import sum_run


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


@njit(cache=True)
def im2col(x: np.ndarray, cols: np.ndarray, n0: int, cg: int, kh: int, kw: int, sh: int,
           sw: int, dh: int, dw: int, pt: int, pl: int, chan_major: bool) -> None:
    """Fill ``cols[row, b, oh, ow]`` from images ``n0 + b`` of ``x`` (N, C, H, W)."""
    nb, oh_, ow_ = cols.shape[1], cols.shape[2], cols.shape[3]
    c_, h_, w_ = x.shape[1], x.shape[2], x.shape[3]
    for t in range(c_ * kh * kw * nb):
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
            src = x[n, c, ih, lo * sw + off:(hi - 1) * sw + off + 1:sw]
            seg = dst[lo:hi]
            for ow in range(lo):
                dst[ow] = 0
            for ow in range(hi - lo):
                seg[ow] = src[ow]
            for ow in range(hi, ow_):
                dst[ow] = 0


@njit(cache=True)
def col2im(dcols: np.ndarray, dx: np.ndarray, n0: int, cg: int, kh: int, kw: int, sh: int,
           sw: int, dh: int, dw: int, pt: int, pl: int, chan_major: bool) -> None:
    """Overwrite images ``n0 + b`` of ``dx`` (N, C, H, W) with the sums of ``dcols``."""
    nb, oh_, ow_ = dcols.shape[1], dcols.shape[2], dcols.shape[3]
    c_, h_, w_ = dx.shape[1], dx.shape[2], dx.shape[3]
    for t in range(nb * c_):
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
                if lo == hi:
                    continue
                for oh in range(oh_):
                    ih = oh * sh + i * dh - pt
                    if ih < 0 or ih >= h_:
                        continue
                    src = dcols[row, b, oh, lo:hi]
                    dst = plane[ih, lo * sw + off:(hi - 1) * sw + off + 1:sw]
                    for ow in range(hi - lo):
                        dst[ow] += src[ow]


@njit(cache=True, inline="always")
def _plane_span(h_: int, w_: int, oh_: int, a: int, off: int) -> tuple[int, int, int, int]:
    """In-bounds output rows ``[ohlo, ohhi)`` and columns ``[lo, hi)`` of a shifted plane."""
    ohlo = max(0, -a)
    ohhi = max(ohlo, min(oh_, h_ - a))
    lo = max(0, -off)
    hi = max(lo, min(w_, w_ - off))
    return ohlo, ohhi, lo, hi


@njit(cache=True)
def im2col_s1(x: np.ndarray, cols: np.ndarray, n0: int, nb: int, c_: int, h_: int, w_: int,
              oh_: int, cg: int, kh: int, kw: int, dh: int, dw: int, pt: int, pl: int,
              chan_major: bool) -> None:
    """:func:`im2col` for stride 1 and ``OW == W`` on flat arrays (x: N*C*H*W, cols:
    K*nb*OH*OW): each row is the input plane shifted, copied in one run (unsigned offsets
    let LLVM vectorize the copies).
    """
    size = oh_ * w_
    hw = h_ * w_
    for c in range(c_):
        for i in range(kh):
            a = i * dh - pt
            for j in range(kw):
                row = _row_index(c, i, j, cg, kh, kw, chan_major)
                off = j * dw - pl
                ohlo, ohhi, lo, hi = _plane_span(h_, w_, oh_, a, off)
                empty = ohlo == ohhi or lo == hi
                k0 = ohlo * w_ + lo if not empty else size
                k1 = (ohhi - 1) * w_ + hi if not empty else size
                delta = a * w_ + off
                for b in range(nb):
                    d0 = uint64((row * nb + b) * size)
                    for k in range(uint64(k0)):
                        cols[d0 + k] = 0
                    if empty:
                        continue
                    dk = d0 + uint64(k0)
                    s0 = uint64(((n0 + b) * c_ + c) * hw + k0 + delta)
                    for k in range(uint64(k1 - k0)):
                        cols[dk + k] = x[s0 + k]
                    for k in range(uint64(k1), uint64(size)):
                        cols[d0 + k] = 0
                    if lo > 0 or hi < w_:
                        for oh in range(ohlo, ohhi - 1):
                            for k in range(uint64(oh * w_ + hi), uint64((oh + 1) * w_ + lo)):
                                cols[d0 + k] = 0


@njit(cache=True)
def col2im_s1(dcols: np.ndarray, dx: np.ndarray, n0: int, nb: int, c_: int, h_: int, w_: int,
              oh_: int, cg: int, kh: int, kw: int, dh: int, dw: int, pt: int, pl: int,
              chan_major: bool) -> None:
    """:func:`col2im` for stride 1 and ``OW == W`` on flat arrays (see :func:`im2col_s1`):
    zeroes the columns that read padding, then adds each row to its plane in one run.
    """
    size = oh_ * w_
    hw = h_ * w_
    for b in range(nb):
        for c in range(c_):
            p0 = uint64(((n0 + b) * c_ + c) * hw)
            for k in range(uint64(hw)):
                dx[p0 + k] = 0
            for i in range(kh):
                a = i * dh - pt
                for j in range(kw):
                    off = j * dw - pl
                    ohlo, ohhi, lo, hi = _plane_span(h_, w_, oh_, a, off)
                    if ohlo == ohhi or lo == hi:
                        continue
                    d0 = uint64((_row_index(c, i, j, cg, kh, kw, chan_major) * nb + b) * size)
                    if lo > 0 or hi < w_:
                        for oh in range(ohlo, ohhi - 1):
                            for k in range(uint64(oh * w_ + hi), uint64((oh + 1) * w_ + lo)):
                                dcols[d0 + k] = 0
                    k0 = ohlo * w_ + lo
                    k1 = (ohhi - 1) * w_ + hi
                    dk = d0 + uint64(k0)
                    pk = p0 + uint64(k0 + a * w_ + off)
                    for k in range(uint64(k1 - k0)):
                        dx[pk + k] += dcols[dk + k]


@njit(cache=True)
def swap01(src: np.ndarray, dst: np.ndarray) -> None:
    """``dst[b, a, :] = src[a, b, :]`` for ``src`` (A, B, C) and ``dst`` (B, A, C)."""
    a_, b_, c_ = src.shape
    for t in range(a_ * b_):
        b = t // a_
        a = t % a_
        s = src[a, b]
        d = dst[b, a]
        for k in range(c_):
            d[k] = s[k]


@njit(cache=True)
def bias_add(x: np.ndarray, b: np.ndarray, y: np.ndarray) -> None:
    """``y[p, c, q] = x[p, c, q] + b[c]`` for (pre, C, post) arrays."""
    pre, c_, post = x.shape
    if post == 1:
        for p in range(pre):
            for c in range(c_):
                y[p, c, 0] = x[p, c, 0] + b[c]
        return
    for t in range(pre * c_):
        c = t % c_
        p = t // c_
        bc = b[c]
        xs = x[p, c]
        ys = y[p, c]
        for q in range(post):
            ys[q] = xs[q] + bc


@njit(cache=True)
def bias_add_grad(dy: np.ndarray, pre: int, c_: int, post: int, acc: np.ndarray, zero: float,
                  db: np.ndarray) -> None:
    """``db[c] = sum(dy[:, c, :])`` of a flat (pre, C, post) array, accumulated in ``acc``
    (float64 or int64; ``zero`` is 0 of that type).
    """
    if post == 1:
        blocks = min(c_, 64)
        for k in range(blocks):
            lo = k * c_ // blocks
            hi = (k + 1) * c_ // blocks
            part = acc[lo:hi]
            for c in range(hi - lo):
                part[c] = zero
            for p in range(pre):
                row = dy[p * c_ + lo:p * c_ + hi]
                for c in range(hi - lo):
                    part[c] += row[c]
            for c in range(hi - lo):
                db[lo + c] = part[c]
        return
    for c in range(c_):
        s = zero
        for p in range(pre):
            s += sum_run(dy, (p * c_ + c) * post, post, zero)
        db[c] = s


@njit(cache=True)
def accumulate(dst: np.ndarray, src: np.ndarray) -> None:
    """``dst += src`` for 1-D arrays."""
    for k in range(dst.size):
        dst[k] += src[k]
