"""Compiled loops of the normalization kernels (moments, batch norm, moving averages).

Statistics are taken over every element of a flat contiguous array that shares one
"kept" index. The factory describes both index sets as runs (see :func:`runs`): ``kstart``
holds the flat offset of each kept index, ``rstart`` the offset of each contiguous run of
``rlen`` reduced elements, so element ``(k, r, q)`` is ``x[kstart[k] + rstart[r] + q]``.
Loops run over kept indices and accumulate sums in float64; every other
operation is done in the array dtype in the reference's order, so only the sums differ
from the NumPy reference (by at most its own float32 rounding).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numba import njit, uint64

from tideflow_numba.kernels._nn_sum import sq_dev_run, sum_run
from tideflow_numba.kernels._nn_util import c_strides


def runs(shape: Sequence[int], axes: Sequence[int]) -> tuple[np.ndarray, int]:
    """Offsets of the contiguous runs covering ``axes`` of a C-contiguous array.

    Returns:
        ``(starts, length)``: the trailing axes of ``shape`` that all belong to ``axes``
        form runs of ``length`` consecutive elements; ``starts`` (int64) enumerates, in C
        order, the offsets of the remaining axes of ``axes``.
    """
    axes = sorted({int(a) for a in axes})
    strides = c_strides(shape)
    length = 1
    last = len(shape) - 1
    while axes and axes[-1] == last:
        length *= int(shape[axes.pop()])
        last -= 1
    starts = np.zeros(1, np.int64)
    for a in axes:
        step = np.arange(int(shape[a]), dtype=np.int64) * strides[a]
        starts = (starts[:, None] + step[None, :]).reshape(-1)
    return starts, length


@njit(cache=True, inline="always")
def _sum(x: np.ndarray, base: int, rstart: np.ndarray, rlen: int) -> float:
    s = 0.0
    for r in range(rstart.size):
        s += sum_run(x, base + rstart[r], rlen, 0.0)
    return s


@njit(cache=True, inline="always")
def _sq_dev(x: np.ndarray, base: int, rstart: np.ndarray, rlen: int, m: float) -> float:
    s = 0.0
    for r in range(rstart.size):
        s += sq_dev_run(x, base + rstart[r], rlen, m, 0.0)
    return s


@njit(cache=True)
def moments(x: np.ndarray, kstart: np.ndarray, rstart: np.ndarray, rlen: int, inv_n: float,
            mean: np.ndarray, var: np.ndarray) -> None:
    """Mean and biased variance of each kept index."""
    for k in range(kstart.size):
        mean[k] = _sum(x, kstart[k], rstart, rlen) * inv_n
        var[k] = _sq_dev(x, kstart[k], rstart, rlen, mean[k]) * inv_n


@njit(cache=True)
def moments_grad(x: np.ndarray, mean: np.ndarray, dmean: np.ndarray, dvar: np.ndarray,
                 c1: float, c2: float, zero: float, kstart: np.ndarray, rstart: np.ndarray,
                 rlen: int, dx: np.ndarray) -> None:
    """``dx = (x - mean) * (dvar * c2) + dmean * c1``; an empty ``dmean``/``dvar`` is absent."""
    has_var = dvar.size > 0
    for k in range(kstart.size):
        dv = dvar[k] * c2 if has_var else zero
        dm = dmean[k] * c1 if dmean.size > 0 else zero
        m = mean[k]
        for r in range(rstart.size):
            b = uint64(kstart[k] + rstart[r])
            for q in range(uint64(rlen)):
                v = (x[b + q] - m) * dv if has_var else dv
                dx[b + q] = v + dm


@njit(cache=True)
def bn_train(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float, one: float,
             inv_n: float, kstart: np.ndarray, rstart: np.ndarray, rlen: int, y: np.ndarray,
             mean: np.ndarray, inv: np.ndarray, var: np.ndarray) -> None:
    """Batch statistics, ``inv = 1 / sqrt(var + eps)`` and ``y = (x - mean) * scale + beta``."""
    for k in range(kstart.size):
        mean[k] = _sum(x, kstart[k], rstart, rlen) * inv_n
        m = mean[k]
        var[k] = _sq_dev(x, kstart[k], rstart, rlen, m) * inv_n
        inv[k] = one / np.sqrt(var[k] + eps)
        scale = inv[k] * gamma[k]
        bk = beta[k]
        for r in range(rstart.size):
            b = uint64(kstart[k] + rstart[r])
            for q in range(uint64(rlen)):
                y[b + q] = (x[b + q] - m) * scale + bk


@njit(cache=True)
def bn_train_grad(x: np.ndarray, gamma: np.ndarray, mean: np.ndarray, inv: np.ndarray,
                  dy: np.ndarray, count: float, inv_count: float, kstart: np.ndarray,
                  rstart: np.ndarray, rlen: int, dx: np.ndarray, dgamma: np.ndarray,
                  dbeta: np.ndarray) -> None:
    """Fused gradient: ``dx = (count*dy - dbeta - xhat*dgamma) * gamma * inv / count``."""
    for k in range(kstart.size):
        m, iv = mean[k], inv[k]
        sb = 0.0
        sg = 0.0
        for r in range(rstart.size):
            b = uint64(kstart[k] + rstart[r])
            for q in range(uint64(rlen)):
                g = dy[b + q]
                sb += g
                sg += g * ((x[b + q] - m) * iv)
        dbeta[k] = sb
        dgamma[k] = sg
        db, dg = dbeta[k], dgamma[k]
        coef = gamma[k] * iv * inv_count
        for r in range(rstart.size):
            b = uint64(kstart[k] + rstart[r])
            for q in range(uint64(rlen)):
                xhat = (x[b + q] - m) * iv
                dx[b + q] = (dy[b + q] * count - xhat * dg - db) * coef


@njit(cache=True)
def bn_infer(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, mean: np.ndarray,
             var: np.ndarray, eps: float, kstart: np.ndarray, rstart: np.ndarray, rlen: int,
             y: np.ndarray) -> None:
    """``y = x * scale + shift`` with ``scale = gamma / sqrt(var + eps)``."""
    for k in range(kstart.size):
        scale = gamma[k] / np.sqrt(var[k] + eps)
        shift = beta[k] - mean[k] * scale
        for r in range(rstart.size):
            b = uint64(kstart[k] + rstart[r])
            for q in range(uint64(rlen)):
                y[b + q] = x[b + q] * scale + shift


@njit(cache=True)
def bn_infer_grad(x: np.ndarray, gamma: np.ndarray, mean: np.ndarray, var: np.ndarray,
                  dy: np.ndarray, eps: float, one: float, half: float, kstart: np.ndarray,
                  rstart: np.ndarray, rlen: int, dx: np.ndarray, dgamma: np.ndarray,
                  dbeta: np.ndarray, dmean: np.ndarray, dvar: np.ndarray) -> None:
    """Gradients of ``batch_norm_infer`` in x, gamma, beta, mean and variance."""
    for k in range(kstart.size):
        iv = one / np.sqrt(var[k] + eps)
        m, gk = mean[k], gamma[k]
        sb = 0.0
        sg = 0.0
        for r in range(rstart.size):
            b = uint64(kstart[k] + rstart[r])
            for q in range(uint64(rlen)):
                g = dy[b + q]
                sb += g
                sg += (x[b + q] - m) * g
        dbeta[k] = sb
        dgamma[k] = sg
        dvar[k] = dgamma[k] * gk * (iv * iv * iv * -half)
        dgamma[k] = dgamma[k] * iv
        dmean[k] = dbeta[k] * gk * -iv
        gi = gk * iv
        for r in range(rstart.size):
            b = uint64(kstart[k] + rstart[r])
            for q in range(uint64(rlen)):
                dx[b + q] = dy[b + q] * gi


@njit(cache=True)
def moving_average(moving: np.ndarray, batch: np.ndarray, momentum: float,
                   rest: float) -> None:
    """``moving = moving * momentum + batch * rest`` in place (1-D arrays)."""
    for k in range(moving.size):
        moving[k] = moving[k] * momentum + batch[k] * rest


@njit(cache=True)
def draw_mask(u: np.ndarray, rate: float, mask: np.ndarray) -> None:
    """``mask = u >= rate`` as 0/1 bytes (1-D arrays)."""
    for k in range(u.size):
        mask[k] = 1 if u[k] >= rate else 0


@njit(cache=True)
def apply_mask(x: np.ndarray, mask: np.ndarray, lut: np.ndarray, scale: float,
               shape: np.ndarray, mstrides: np.ndarray, idx: np.ndarray, y: np.ndarray) -> None:
    """``y = x * lut[mask] * scale`` with ``mask`` broadcast to ``shape`` (flat arrays).

    ``mstrides`` are the mask's element strides per axis of ``shape`` (0 where it
    broadcasts; ``idx`` is a workspace of the same length); an empty ``shape`` means the
    mask has the size of ``x``.
    """
    if shape.size == 0:
        for i in range(x.size):
            y[i] = x[i] * lut[mask[i]] * scale
        return
    nd = shape.size
    idx[:] = 0
    mo = 0
    for i in range(x.size):
        y[i] = x[i] * lut[mask[mo]] * scale
        d = nd - 1
        while d >= 0:
            idx[d] += 1
            mo += mstrides[d]
            if idx[d] < shape[d]:
                break
            mo -= mstrides[d] * shape[d]
            idx[d] = 0
            d -= 1
