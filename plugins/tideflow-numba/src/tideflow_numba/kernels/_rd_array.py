"""Compiled loops of the selection kernels: where, where_grad, one_hot, gather, gather_grad.

``where`` works on canonical 4-d operands (see
:func:`~tideflow_numba.kernels._rd_util.plan_broadcast`), broadcast inside the loop with
zero strides; the index kernels on ``(outer, n, inner)`` views.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def where4(cond, x, y, out):
    """``out = x where cond != 0 else y`` (4-d operands broadcast to ``out``)."""
    cb = np.broadcast_to(cond, out.shape)
    xb = np.broadcast_to(x, out.shape)
    yb = np.broadcast_to(y, out.shape)
    n0, n1, n2, n3 = out.shape
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                for m in range(n3):
                    out[i, j, k, m] = xb[i, j, k, m] if cb[i, j, k, m] != 0 else yb[i, j, k, m]


@njit(cache=True)
def where_grad4(cond, dy, dx, dyo):
    """``dx = dy where cond != 0 else 0`` and ``dyo = 0 where cond != 0 else dy``."""
    cb = np.broadcast_to(cond, dx.shape)
    n0, n1, n2, n3 = dx.shape
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                for m in range(n3):
                    g = dy[i, j, k, m]
                    if cb[i, j, k, m] != 0:
                        dx[i, j, k, m] = g
                        dyo[i, j, k, m] = 0
                    else:
                        dx[i, j, k, m] = 0
                        dyo[i, j, k, m] = g


@njit(cache=True)
def one_hot3(idx, out, on, off):
    """``out[o, :, j] = off`` with ``on`` at ``idx[o, j]`` when it is in range."""
    no, depth, ni = out.shape
    for o in range(no):
        for d in range(depth):
            for j in range(ni):
                out[o, d, j] = off
        for j in range(ni):
            v = idx[o, j]
            if v >= 0 and v < depth:
                out[o, v, j] = on


@njit(cache=True)
def gather3(params, idx, out):
    """``out[o, j, :] = params[o, idx[j], :]``; zeros for out-of-range indices."""
    no, n, ni = params.shape
    m = idx.shape[0]
    for o in range(no):
        for j in range(m):
            t = idx[j]
            if t >= 0 and t < n:
                for i in range(ni):
                    out[o, j, i] = params[o, t, i]
            else:
                for i in range(ni):
                    out[o, j, i] = 0


@njit(cache=True)
def gather_grad3(dy, idx, out):
    """``out[o, idx[j], :] += dy[o, j, :]`` from zeros, in index order (duplicates add up)."""
    no, n, ni = out.shape
    m = idx.shape[0]
    for o in range(no):
        for t in range(n):
            for i in range(ni):
                out[o, t, i] = 0
        for j in range(m):
            t = idx[j]
            if t >= 0 and t < n:
                for i in range(ni):
                    out[o, t, i] += dy[o, j, i]
