"""Numba kernels of the activations: relu, sigmoid, tanh, softmax and their gradients.

relu and relu_grad (LeNet's hot path) have dedicated loops with ``prange`` variants for
arrays of at least :data:`~._ew_util.PAR_MIN` elements. sigmoid, tanh, relu6 and
leaky_relu share :func:`_activation`; the other gradients share
:func:`._ew_map.grad_map`. Softmax and log_softmax (and gradients) view their input as
``(outer, n, inner)`` with ``n`` the softmax axis, so any axis runs one compiled loop;
sums accumulate in float64.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numba import njit

from tideflow_numba.kernels import _ew_map as mp
from tideflow_numba.kernels._ew_util import axis_split, finish, parallel, scalar

Run = Callable[[list, list], None]

SIGMOID, TANH, RELU6, LEAKY = range(4)
SOFTMAX, LOG_SOFTMAX, SOFTMAX_GRAD, LOG_SOFTMAX_GRAD = range(4)


@njit(cache=True, error_model="numpy")
def _activation(code, x, out, p, q):  # noqa: ANN001, ANN202
    n = x.size
    if code == SIGMOID:  # 1 / (1 + exp(-x)); q is 1
        for i in range(n):
            out[i] = q / (q + math.exp(-x[i]))
    elif code == TANH:
        for i in range(n):
            out[i] = math.tanh(x[i])
    elif code == RELU6:  # clip to [p, q] = [0, 6]; NaN passes through
        for i in range(n):
            v = x[i]
            if v < p:
                v = p
            if v > q:
                v = q
            out[i] = v
    else:  # LEAKY: x * (1 if x > 0 else alpha); p is alpha, q is 0
        for i in range(n):
            v = x[i]
            out[i] = v if v > q else v * p


@njit(cache=True, error_model="numpy")
def _softmax(mode, x, dy, out, m, s, outer, n, inner):  # noqa: ANN001, ANN202, C901, PLR0912
    """Softmax family over ``(outer, n, inner)`` buffers.

    ``m`` (the array's type) and ``s`` (float64) are per-``inner`` workspaces. Forward modes
    read ``x``; gradient modes read ``y`` (in ``x``) and ``dy``.
    """
    for o in range(outer):
        base = o * n * inner
        for j in range(inner):
            s[j] = 0.0
        if mode < SOFTMAX_GRAD:  # forward
            for j in range(inner):
                m[j] = -np.inf
            for k in range(n):
                row = base + k * inner
                for j in range(inner):
                    v = x[row + j]
                    if v > m[j] or v != v:  # max with NaN propagation, as np.max
                        m[j] = v
            for k in range(n):
                row = base + k * inner
                for j in range(inner):
                    e = math.exp(x[row + j] - m[j])
                    s[j] += e
                    if mode == SOFTMAX:
                        out[row + j] = e
            if mode == SOFTMAX:
                for k in range(n):
                    row = base + k * inner
                    for j in range(inner):
                        out[row + j] = out[row + j] / s[j]
            else:
                for j in range(inner):
                    s[j] = math.log(s[j])
                for k in range(n):
                    row = base + k * inner
                    for j in range(inner):  # (x - max) in the array's type, as the reference
                        out[row + j] = (x[row + j] - m[j]) - s[j]
        else:
            for k in range(n):
                row = base + k * inner
                for j in range(inner):
                    if mode == SOFTMAX_GRAD:
                        s[j] += dy[row + j] * x[row + j]
                    else:
                        s[j] += dy[row + j]
            for j in range(inner):
                m[j] = s[j]
            for k in range(n):
                row = base + k * inner
                for j in range(inner):
                    if mode == SOFTMAX_GRAD:  # (dy - sum(dy * y)) * y
                        out[row + j] = (dy[row + j] - m[j]) * x[row + j]
                    else:  # dy - exp(y) * sum(dy)
                        out[row + j] = dy[row + j] - math.exp(x[row + j]) * m[j]


# ---------------------------------------------------------------- relu family


def relu(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """``max(x, 0)``."""
    zero = scalar(0, in_metas[0].dtype.np_dtype)
    kern = mp.relu_par if parallel(in_metas[0].size) else mp.relu

    def run(ins: list, outs: list) -> None:
        o = outs[0]
        v = o.ravel()
        kern(ins[0].ravel(), v, zero)
        finish(o, v)

    return run


def relu_grad(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """``dy * (y > 0)`` from the forward output ``y``."""
    zero = scalar(0, in_metas[0].dtype.np_dtype)
    kern = mp.relu_grad_par if parallel(in_metas[0].size) else mp.relu_grad

    def run(ins: list, outs: list) -> None:
        o = outs[0]
        v = o.ravel()
        kern(ins[0].ravel(), ins[1].ravel(), v, zero)
        finish(o, v)

    return run


def _act(code: int, p: Any, q: Any) -> Run:
    def run(ins: list, outs: list) -> None:
        o = outs[0]
        v = o.ravel()
        _activation(code, ins[0].ravel(), v, p, q)
        finish(o, v)

    return run


def _grad(code: int, p: Any, q: Any) -> Run:
    def run(ins: list, outs: list) -> None:
        o = outs[0]
        v = o.ravel()
        mp.grad_map(code, ins[0].ravel(), ins[1].ravel(), v, p, q)
        finish(o, v)

    return run


def sigmoid(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """``1 / (1 + exp(-x))``."""
    dt = in_metas[0].dtype.np_dtype
    return _act(SIGMOID, scalar(0, dt), scalar(1, dt))


def sigmoid_grad(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """``(1 - y) * y * dy``."""
    dt = in_metas[0].dtype.np_dtype
    return _grad(mp.SIGMOID_GRAD, scalar(0, dt), scalar(1, dt))


def tanh(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """``tanh(x)``."""
    dt = in_metas[0].dtype.np_dtype
    return _act(TANH, scalar(0, dt), scalar(1, dt))


def tanh_grad(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """``(1 - y * y) * dy``."""
    dt = in_metas[0].dtype.np_dtype
    return _grad(mp.TANH_GRAD, scalar(0, dt), scalar(1, dt))


def relu6(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """``min(max(x, 0), 6)``."""
    dt = in_metas[0].dtype.np_dtype
    return _act(RELU6, scalar(0, dt), scalar(6, dt))


def relu6_grad(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """``dy * (0 < y < 6)``."""
    dt = in_metas[0].dtype.np_dtype
    return _grad(mp.RELU6_GRAD, scalar(0, dt), scalar(6, dt))


def leaky_relu(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """``x`` where ``x > 0``, else ``alpha * x``."""
    dt = in_metas[0].dtype.np_dtype
    return _act(LEAKY, scalar(attrs["alpha"], dt), scalar(0, dt))


def leaky_relu_grad(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """``dy`` where ``x > 0``, else ``alpha * dy``."""
    dt = in_metas[0].dtype.np_dtype
    return _grad(mp.LEAKY_GRAD, scalar(attrs["alpha"], dt), scalar(0, dt))


# ---------------------------------------------------------------- softmax family


def _softmax_factory(name: str, mode: int) -> Callable[[dict, list, list], Run]:
    def factory(attrs: dict, in_metas: list, out_metas: list) -> Run:
        shape = in_metas[0].shape
        axis = int(attrs["axis"]) % len(shape)
        outer, n, inner = axis_split(shape, axis)
        m = np.empty(inner, in_metas[0].dtype.np_dtype)
        s = np.empty(inner, np.float64)
        two = len(in_metas) == 2

        def run(ins: list, outs: list) -> None:
            o = outs[0]
            v = o.ravel()
            x = ins[0].ravel()
            _softmax(mode, x, ins[1].ravel() if two else x, v, m, s, outer, n, inner)
            finish(o, v)

        return run

    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = f"Kernel factory of ``{name}`` along ``attrs['axis']``."
    return factory


softmax = _softmax_factory("softmax", SOFTMAX)
log_softmax = _softmax_factory("log_softmax", LOG_SOFTMAX)
softmax_grad = _softmax_factory("softmax_grad", SOFTMAX_GRAD)
log_softmax_grad = _softmax_factory("log_softmax_grad", LOG_SOFTMAX_GRAD)
