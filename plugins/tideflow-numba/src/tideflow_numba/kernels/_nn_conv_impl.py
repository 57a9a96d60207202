"""Compiled loops of the conv kernels besides im2col (see :mod:`._nn_im2col`).

A batched axis swap (NCHW outputs and output gradients), ``bias_add``, ``bias_add_grad``
and an in-place accumulation. Single-threaded, as every loop of the conv kernels.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from tideflow_numba.kernels._nn_sum import sum_run


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
def bias_add_grad(dy: np.ndarray, pre: int, c_: int, post: int, acc: np.ndarray,
                  part: np.ndarray, zero: float, db: np.ndarray) -> None:
    """``db[c] = sum(dy[:, c, :])`` of a flat (pre, C, post) array.

    Accumulates in the workspaces ``acc`` (C,) and ``part`` (post,), float64 or int64
    (``zero`` is 0 of that type).
    """
    if post == 1:
        for c in range(c_):
            acc[c] = zero
        for p in range(pre):
            row = dy[p * c_:(p + 1) * c_]
            for c in range(c_):
                acc[c] += row[c]
        for c in range(c_):
            db[c] = acc[c]
        return
    # per channel: add the rows element-wise into ``part`` (a loop LLVM vectorizes, unlike
    # a strict sequential sum), then sum ``part``
    for c in range(c_):
        for q in range(post):
            part[q] = zero
        for p in range(pre):
            row = dy[(p * c_ + c) * post:(p * c_ + c + 1) * post]
            for q in range(post):
                part[q] += row[q]
        db[c] = sum_run(part, 0, post, zero)


@njit(cache=True)
def accumulate(dst: np.ndarray, src: np.ndarray) -> None:
    """``dst += src`` for 1-D arrays."""
    for k in range(dst.size):
        dst[k] += src[k]
