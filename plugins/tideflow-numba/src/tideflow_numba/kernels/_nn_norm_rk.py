"""Normalization loops for the channels-last case: ``x`` viewed as ``(R, K)``.

When every kept axis comes after every reduced axis (batch norm with ``axis=-1``, the
default of ``layers.batch_normalization``; moments over the leading axes), each row holds
one element per kept index. These loops run over rows and, inside, over the kept indices,
accumulating into per-index float64 workspaces (``acc``, ``acc2``): the inner loop is
element-wise, so LLVM vectorizes it, and memory is read in order. The arithmetic mirrors
:mod:`._nn_norm_impl` (which handles every other axis layout).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def _col_sums(x: np.ndarray, acc: np.ndarray) -> None:
    acc[:] = 0.0
    for r in range(x.shape[0]):
        row = x[r]
        for k in range(x.shape[1]):
            acc[k] += row[k]


@njit(cache=True, inline="always")
def _col_sq_dev(x: np.ndarray, mean: np.ndarray, acc: np.ndarray) -> None:
    acc[:] = 0.0
    for r in range(x.shape[0]):
        row = x[r]
        for k in range(x.shape[1]):
            d = row[k] - mean[k]
            acc[k] += d * d


@njit(cache=True)
def moments(x: np.ndarray, inv_n: float, acc: np.ndarray, mean: np.ndarray,
            var: np.ndarray) -> None:
    """Mean and biased variance of each column of ``x`` (R, K)."""
    _col_sums(x, acc)
    for k in range(x.shape[1]):
        mean[k] = acc[k] * inv_n
    _col_sq_dev(x, mean, acc)
    for k in range(x.shape[1]):
        var[k] = acc[k] * inv_n


@njit(cache=True)
def moments_grad(x: np.ndarray, mean: np.ndarray, dmean: np.ndarray, dvar: np.ndarray,
                 c1: float, c2: float, zero: float, dv: np.ndarray, dm: np.ndarray,
                 dx: np.ndarray) -> None:
    """``dx = (x - mean) * (dvar * c2) + dmean * c1`` (empty ``dmean``/``dvar``: absent)."""
    has_var = dvar.size > 0
    for k in range(x.shape[1]):
        dv[k] = dvar[k] * c2 if has_var else zero
        dm[k] = dmean[k] * c1 if dmean.size > 0 else zero
    for r in range(x.shape[0]):
        row, out = x[r], dx[r]
        if has_var:
            for k in range(x.shape[1]):
                out[k] = (row[k] - mean[k]) * dv[k] + dm[k]
        else:
            for k in range(x.shape[1]):
                out[k] = zero + dm[k]


@njit(cache=True)
def bn_train(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float, one: float,
             inv_n: float, acc: np.ndarray, scale: np.ndarray, y: np.ndarray,
             mean: np.ndarray, inv: np.ndarray, var: np.ndarray) -> None:
    """Batch statistics, ``inv = 1 / sqrt(var + eps)`` and ``y = (x - mean) * scale + beta``."""
    moments(x, inv_n, acc, mean, var)
    for k in range(x.shape[1]):
        inv[k] = one / np.sqrt(var[k] + eps)
        scale[k] = inv[k] * gamma[k]
    for r in range(x.shape[0]):
        row, out = x[r], y[r]
        for k in range(x.shape[1]):
            out[k] = (row[k] - mean[k]) * scale[k] + beta[k]


@njit(cache=True)
def bn_train_grad(x: np.ndarray, gamma: np.ndarray, mean: np.ndarray, inv: np.ndarray,
                  dy: np.ndarray, count: float, inv_count: float, acc: np.ndarray,
                  acc2: np.ndarray, coef: np.ndarray, dx: np.ndarray, dgamma: np.ndarray,
                  dbeta: np.ndarray) -> None:
    """Fused gradient: ``dx = (count*dy - xhat*dgamma - dbeta) * gamma * inv / count``."""
    acc[:] = 0.0
    acc2[:] = 0.0
    for r in range(x.shape[0]):
        row, g = x[r], dy[r]
        for k in range(x.shape[1]):
            acc[k] += g[k]
            acc2[k] += g[k] * ((row[k] - mean[k]) * inv[k])
    for k in range(x.shape[1]):
        dbeta[k] = acc[k]
        dgamma[k] = acc2[k]
        coef[k] = gamma[k] * inv[k] * inv_count
    for r in range(x.shape[0]):
        row, g, out = x[r], dy[r], dx[r]
        for k in range(x.shape[1]):
            xhat = (row[k] - mean[k]) * inv[k]
            out[k] = (g[k] * count - xhat * dgamma[k] - dbeta[k]) * coef[k]


@njit(cache=True)
def bn_infer(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, mean: np.ndarray,
             var: np.ndarray, eps: float, scale: np.ndarray, shift: np.ndarray,
             y: np.ndarray) -> None:
    """``y = x * scale + shift`` with ``scale = gamma / sqrt(var + eps)``."""
    for k in range(x.shape[1]):
        scale[k] = gamma[k] / np.sqrt(var[k] + eps)
        shift[k] = beta[k] - mean[k] * scale[k]
    for r in range(x.shape[0]):
        row, out = x[r], y[r]
        for k in range(x.shape[1]):
            out[k] = row[k] * scale[k] + shift[k]


@njit(cache=True)
def bn_infer_grad(x: np.ndarray, gamma: np.ndarray, mean: np.ndarray, var: np.ndarray,
                  dy: np.ndarray, eps: float, one: float, half: float, acc: np.ndarray,
                  acc2: np.ndarray, gi: np.ndarray, dx: np.ndarray, dgamma: np.ndarray,
                  dbeta: np.ndarray, dmean: np.ndarray, dvar: np.ndarray) -> None:
    """Gradients of ``batch_norm_infer`` in x, gamma, beta, mean and variance."""
    acc[:] = 0.0
    acc2[:] = 0.0
    for r in range(x.shape[0]):
        row, g = x[r], dy[r]
        for k in range(x.shape[1]):
            acc[k] += g[k]
            acc2[k] += (row[k] - mean[k]) * g[k]
    for k in range(x.shape[1]):
        iv = one / np.sqrt(var[k] + eps)
        dbeta[k] = acc[k]
        dgamma[k] = acc2[k]
        dvar[k] = dgamma[k] * gamma[k] * (iv * iv * iv * -half)
        dgamma[k] = dgamma[k] * iv
        dmean[k] = dbeta[k] * gamma[k] * -iv
        gi[k] = gamma[k] * iv
    for r in range(x.shape[0]):
        g, out = dy[r], dx[r]
        for k in range(x.shape[1]):
            out[k] = g[k] * gi[k]
