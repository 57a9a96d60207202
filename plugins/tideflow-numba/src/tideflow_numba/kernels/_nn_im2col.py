"""Compiled im2col / col2im loops of the conv kernels, on flat C-contiguous arrays.

Two column layouts, each chosen so that one BLAS matmul per chunk of images uses the filter
as stored and needs no transposed copy of the columns:

- NCHW, "K-major": ``cols[row, b, oh, ow]`` with ``row = (c * KH + i) * KW + j`` (the
  ``(O, C/G, KH, KW)`` filter's column order; a group's rows are contiguous), so
  ``y^T = W @ cols``. :func:`im2col_cm_s1` is the fast path for stride 1 with ``OW == W``
  (e.g. SAME): each row is the input plane shifted by a constant, copied in one run.
- NHWC, "row-major": ``cols[(b, oh, ow), g, (i, j, c)]`` (the ``(O, KH, KW, C/G)`` filter's
  column order), so ``y = cols @ W^T``; each (position, offset) copies ``C/G`` contiguous
  channels.

Padding is never materialized: in-bounds ranges are computed and the rest is zero. Offsets
are unsigned so that numba skips negative-index wraparound and LLVM vectorizes the runs.
col2im overwrites its images of ``dx`` (zero, then add every column entry). The loops are
single-threaded on purpose (see :mod:`tideflow_numba.kernels.conv`).
"""

from __future__ import annotations

import numpy as np
from numba import njit, uint64


@njit(cache=True, inline="always")
def _span(size: int, out: int, off: int, stride: int) -> tuple[int, int]:
    """Outputs ``o`` in ``[lo, hi)`` read in-bounds positions ``o * stride + off``."""
    lo = 0 if off >= 0 else (-off + stride - 1) // stride
    hi = 0 if size - 1 - off < 0 else (size - 1 - off) // stride + 1
    hi = min(hi, out)
    return min(lo, hi), hi


@njit(cache=True)
def im2col_cm(x: np.ndarray, cols: np.ndarray, n0: int, nb: int, c_: int, h_: int, w_: int,
              oh_: int, ow_: int, kh: int, kw: int, sh: int, sw: int, dh: int, dw: int,
              pt: int, pl: int) -> None:
    """K-major columns of images ``n0 .. n0 + nb`` of an NCHW ``x`` (any stride)."""
    size = oh_ * ow_
    hw = h_ * w_
    step = uint64(sw)
    for c in range(c_):
        for i in range(kh):
            for j in range(kw):
                row = (c * kh + i) * kw + j
                off = j * dw - pl
                lo, hi = _span(w_, ow_, off, sw)
                for b in range(nb):
                    d0 = (row * nb + b) * size
                    s0 = ((n0 + b) * c_ + c) * hw
                    for oh in range(oh_):
                        ih = oh * sh + i * dh - pt
                        dr = uint64(d0 + oh * ow_)
                        if ih < 0 or ih >= h_ or lo == hi:
                            for q in range(uint64(ow_)):
                                cols[dr + q] = 0
                            continue
                        for q in range(uint64(lo)):
                            cols[dr + q] = 0
                        src = uint64(s0 + ih * w_ + lo * sw + off)
                        dl = dr + uint64(lo)
                        for q in range(uint64(hi - lo)):
                            cols[dl + q] = x[src + q * step]
                        for q in range(uint64(hi), uint64(ow_)):
                            cols[dr + q] = 0


@njit(cache=True)
def col2im_cm(dcols: np.ndarray, dx: np.ndarray, n0: int, nb: int, c_: int, h_: int, w_: int,
              oh_: int, ow_: int, kh: int, kw: int, sh: int, sw: int, dh: int, dw: int,
              pt: int, pl: int) -> None:
    """Overwrite images ``n0 .. n0 + nb`` of an NCHW ``dx`` with the sums of K-major columns."""
    size = oh_ * ow_
    hw = h_ * w_
    step = uint64(sw)
    for b in range(nb):
        for c in range(c_):
            p0 = ((n0 + b) * c_ + c) * hw
            for k in range(uint64(p0), uint64(p0 + hw)):
                dx[k] = 0
            for i in range(kh):
                for j in range(kw):
                    off = j * dw - pl
                    lo, hi = _span(w_, ow_, off, sw)
                    if lo == hi:
                        continue
                    d0 = (((c * kh + i) * kw + j) * nb + b) * size
                    for oh in range(oh_):
                        ih = oh * sh + i * dh - pt
                        if ih < 0 or ih >= h_:
                            continue
                        src = uint64(d0 + oh * ow_ + lo)
                        dst = uint64(p0 + ih * w_ + lo * sw + off)
                        for q in range(uint64(hi - lo)):
                            dx[dst + q * step] += dcols[src + q]


@njit(cache=True, inline="always")
def _plane_span(h_: int, w_: int, oh_: int, a: int, off: int) -> tuple[int, int, int, int]:
    """In-bounds output rows ``[ohlo, ohhi)`` and columns ``[lo, hi)`` of a shifted plane."""
    ohlo = max(0, -a)
    ohhi = max(ohlo, min(oh_, h_ - a))
    lo = max(0, -off)
    hi = max(lo, min(w_, w_ - off))
    return ohlo, ohhi, lo, hi


@njit(cache=True)
def im2col_cm_s1(x: np.ndarray, cols: np.ndarray, n0: int, nb: int, c_: int, h_: int,
                 w_: int, oh_: int, kh: int, kw: int, dh: int, dw: int, pt: int,
                 pl: int) -> None:
    """:func:`im2col_cm` for stride 1 and ``OW == W``: one shifted run per row and image."""
    size = oh_ * w_
    hw = h_ * w_
    for c in range(c_):
        for i in range(kh):
            a = i * dh - pt
            for j in range(kw):
                row = (c * kh + i) * kw + j
                off = j * dw - pl
                ohlo, ohhi, lo, hi = _plane_span(h_, w_, oh_, a, off)
                empty = ohlo == ohhi or lo == hi
                k0 = size if empty else ohlo * w_ + lo
                k1 = size if empty else (ohhi - 1) * w_ + hi
                for b in range(nb):
                    d0 = uint64((row * nb + b) * size)
                    for k in range(uint64(k0)):
                        cols[d0 + k] = 0
                    if empty:
                        continue
                    dk = d0 + uint64(k0)
                    s0 = uint64(((n0 + b) * c_ + c) * hw + k0 + a * w_ + off)
                    for k in range(uint64(k1 - k0)):
                        cols[dk + k] = x[s0 + k]
                    for k in range(uint64(k1), uint64(size)):
                        cols[d0 + k] = 0
                    if lo > 0 or hi < w_:  # the run wrapped into padding columns
                        for oh in range(ohlo, ohhi - 1):
                            for k in range(uint64(oh * w_ + hi), uint64((oh + 1) * w_ + lo)):
                                cols[d0 + k] = 0


@njit(cache=True)
def col2im_cm_s1(dcols: np.ndarray, dx: np.ndarray, n0: int, nb: int, c_: int, h_: int,
                 w_: int, oh_: int, kh: int, kw: int, dh: int, dw: int, pt: int,
                 pl: int) -> None:
    """:func:`col2im_cm` for stride 1 and ``OW == W``.

    Zeroes the column entries that read padding, then adds each row to its plane in one run.
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
                    d0 = uint64((((c * kh + i) * kw + j) * nb + b) * size)
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
def im2col_rm(x: np.ndarray, cols: np.ndarray, n0: int, nb: int, c_: int, h_: int, w_: int,
              oh_: int, ow_: int, kh: int, kw: int, sh: int, sw: int, dh: int, dw: int,
              pt: int, pl: int, g: int) -> None:
    """Row-major columns ``(b, oh, ow) x (g, i, j, c)`` of an NHWC ``x``."""
    cg = c_ // g
    kg = cg * kh * kw
    for b in range(nb):
        for oh in range(oh_):
            for ow in range(ow_):
                d0 = ((b * oh_ + oh) * ow_ + ow) * g * kg
                for i in range(kh):
                    ih = oh * sh + i * dh - pt
                    for j in range(kw):
                        iw = ow * sw + j * dw - pl
                        valid = 0 <= ih < h_ and 0 <= iw < w_
                        s0 = (((n0 + b) * h_ + ih) * w_ + iw) * c_
                        for gg in range(g):
                            d = uint64(d0 + gg * kg + (i * kw + j) * cg)
                            if valid:
                                s = uint64(s0 + gg * cg)
                                for r in range(uint64(cg)):
                                    cols[d + r] = x[s + r]
                            else:
                                for r in range(uint64(cg)):
                                    cols[d + r] = 0


@njit(cache=True)
def col2im_rm(dcols: np.ndarray, dx: np.ndarray, n0: int, nb: int, c_: int, h_: int, w_: int,
              oh_: int, ow_: int, kh: int, kw: int, sh: int, sw: int, dh: int, dw: int,
              pt: int, pl: int, g: int) -> None:
    """Overwrite images ``n0 .. n0 + nb`` of an NHWC ``dx`` with the sums of row columns."""
    cg = c_ // g
    kg = cg * kh * kw
    image = h_ * w_ * c_
    for b in range(nb):
        for k in range(uint64((n0 + b) * image), uint64((n0 + b + 1) * image)):
            dx[k] = 0
        for oh in range(oh_):
            for ow in range(ow_):
                d0 = ((b * oh_ + oh) * ow_ + ow) * g * kg
                for i in range(kh):
                    ih = oh * sh + i * dh - pt
                    if ih < 0 or ih >= h_:
                        continue
                    for j in range(kw):
                        iw = ow * sw + j * dw - pl
                        if iw < 0 or iw >= w_:
                            continue
                        s0 = (((n0 + b) * h_ + ih) * w_ + iw) * c_
                        for gg in range(g):
                            d = uint64(d0 + gg * kg + (i * kw + j) * cg)
                            s = uint64(s0 + gg * cg)
                            for r in range(uint64(cg)):
                                dx[s + r] += dcols[d + r]
