"""Compiled same-shape loops: scalar-attribute maps, gradient maps and the hot kernels.

All loops take 1-D C-contiguous buffers. Scalar attributes arrive already converted by
:func:`~tideflow_numba.kernels._ew_util.scalar` (the array's float type, or int64/float64
for integer arrays), so float32 data is computed in float32 as NumPy does. The hot kernels
of LeNet-sized graphs (relu, relu_grad, scalar_mul) have dedicated loops and ``prange``
variants for large arrays; the rarely used ops share one loop per family, selected by an
integer op code.
"""

from __future__ import annotations

import math

from numba import njit, prange

# scalar_map codes
NEG, SADD, SMUL, SPOW, SRPOW, SMOD, CLIP = range(7)
# grad_map codes: out from (y or x, dy) and two scalars
CLIP_GRAD, SIGMOID_GRAD, TANH_GRAD, LEAKY_GRAD, RELU6_GRAD = range(5)

_OPTS = {"cache": True, "error_model": "numpy"}


@njit(**_OPTS)
def scalar_map(code, x, out, p, q):  # noqa: ANN001, ANN201, C901
    """``out = f(x; p, q)`` for one of the scalar-attribute ops (see the codes)."""
    n = x.size
    if code == NEG:
        for i in range(n):
            out[i] = -x[i]
    elif code == SADD:
        for i in range(n):
            out[i] = x[i] + p
    elif code == SMUL:
        for i in range(n):
            out[i] = x[i] * p
    elif code == SPOW:
        if p == 0.5:  # NumPy's power takes sqrt for a scalar 0.5 (sqrt(-inf) is NaN)
            for i in range(n):
                out[i] = math.sqrt(x[i])
        else:
            for i in range(n):
                out[i] = x[i] ** p
    elif code == SRPOW:
        for i in range(n):
            out[i] = p ** x[i]
    elif code == SMOD:
        for i in range(n):
            out[i] = x[i] % p
    else:  # CLIP to [p, q]; NaN passes through as in np.clip
        for i in range(n):
            v = x[i]
            if v < p:
                v = p
            if v > q:
                v = q
            out[i] = v


@njit(**_OPTS)
def grad_map(code, x, dy, out, p, q):  # noqa: ANN001, ANN201
    """``out = g(x, dy; p, q)`` for the elementwise gradient ops (see the codes).

    ``p`` and ``q`` are the clip bounds (CLIP_GRAD), ``alpha`` and 0 (LEAKY_GRAD) or
    0 and 1 / 0 and 6 of the array's type (the other codes).
    """
    n = x.size
    if code == CLIP_GRAD:
        for i in range(n):
            v = x[i]
            if v < p or v > q:
                out[i] = 0
            else:
                out[i] = dy[i]
    elif code == SIGMOID_GRAD:  # (1 - y) * y * dy
        for i in range(n):
            y = x[i]
            out[i] = (q - y) * y * dy[i]
    elif code == TANH_GRAD:  # (1 - y * y) * dy
        for i in range(n):
            y = x[i]
            out[i] = (q - y * y) * dy[i]
    elif code == LEAKY_GRAD:  # dy * (1 if x > 0 else alpha)
        for i in range(n):
            out[i] = dy[i] if x[i] > q else dy[i] * p
    else:  # RELU6_GRAD: dy * (0 < y < 6)
        for i in range(n):
            y = x[i]
            out[i] = dy[i] if (y > p and y < q) else dy[i] * p


@njit(**_OPTS)
def relu(x, out, zero):  # noqa: ANN001, ANN201
    """``out = max(x, 0)`` (NaN passes through, as np.maximum)."""
    for i in range(x.size):
        v = x[i]
        out[i] = zero if v < zero else v


@njit(parallel=True, **_OPTS)
def relu_par(x, out, zero):  # noqa: ANN001, ANN201
    """:func:`relu` with ``prange`` (large arrays)."""
    for i in prange(x.size):
        v = x[i]
        out[i] = zero if v < zero else v


@njit(**_OPTS)
def relu_grad(y, dy, out, zero):  # noqa: ANN001, ANN201
    """``out = dy * (y > 0)``; ``dy * 0`` keeps NaN/inf of ``dy`` as NumPy's product."""
    for i in range(y.size):
        g = dy[i]
        out[i] = g if y[i] > zero else g * zero


@njit(parallel=True, **_OPTS)
def relu_grad_par(y, dy, out, zero):  # noqa: ANN001, ANN201
    """:func:`relu_grad` with ``prange`` (large arrays)."""
    for i in prange(y.size):
        g = dy[i]
        out[i] = g if y[i] > zero else g * zero


@njit(**_OPTS)
def scale(x, out, p):  # noqa: ANN001, ANN201
    """``out = x * p``."""
    for i in range(x.size):
        out[i] = x[i] * p


@njit(parallel=True, **_OPTS)
def scale_par(x, out, p):  # noqa: ANN001, ANN201
    """:func:`scale` with ``prange`` (large arrays)."""
    for i in prange(x.size):
        out[i] = x[i] * p


@njit(**_OPTS)
def minmax_masks(a, b, y, ma, mb):  # noqa: ANN001, ANN201
    """Gradient masks of maximum/minimum: 1 where an input equals ``y``, 0.5 on ties."""
    for i in range(y.size):
        v = y[i]
        ea = 1.0 if a[i] == v else 0.0
        eb = 1.0 if b[i] == v else 0.0
        share = 1.0 / max(ea + eb, 1.0)
        ma[i] = ea * share
        mb[i] = eb * share


@njit(**_OPTS)
def pow_grad(x, y, z, dz, gx, gy, one):  # noqa: ANN001, ANN201
    """``gx = dz * y * x ** (y - 1)``, ``gy = dz * z * log(x)`` (0 where ``x <= 0``)."""
    for i in range(z.size):  # every read before the writes: outputs may reuse inputs
        xv = x[i]
        yv = y[i]
        g = dz[i]
        zv = z[i]
        gx[i] = g * yv * xv ** (yv - one)
        gy[i] = g * zv * math.log(xv if xv > 0 else one)
