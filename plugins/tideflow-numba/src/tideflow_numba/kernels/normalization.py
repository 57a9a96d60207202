"""Numba kernels of moments, batch normalization, moving averages and dropout.

Reductions run over the kept indices (see :mod:`._nn_norm_impl` for the run
tables the factories build) with float64 sums; scalar attributes are converted to the
array dtype at factory time so the element-wise arithmetic rounds as the NumPy reference.

Dropout draws its uniform numbers exactly as the reference does, with a
``numpy.random.Generator`` seeded from the op's ``seed`` at factory time and filled into a
preallocated workspace each run; a compiled loop then builds the keep mask (``u >= rate``)
and applies it, so every backend produces the same masks for the same seed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tideflow_numba.kernels import _nn_norm_impl as impl
from tideflow_numba.kernels import _nn_norm_rk as rk
from tideflow_numba.kernels._nn_util import Run, c_strides, contiguous, offsets, prod, scalar

__all__ = [
    "assign_moving_average", "batch_norm_infer", "batch_norm_infer_grad", "batch_norm_train",
    "batch_norm_train_grad", "dropout", "dropout_grad", "moments", "moments_grad",
]


class _Tables:
    """How the kept and reduced axes of ``shape`` are walked (see the module docstring)."""

    def __init__(self, shape: Any, kept: Any, dtype: Any) -> None:
        shape = tuple(int(d) for d in shape)
        kept = sorted(int(a) for a in kept)
        reduced = [a for a in range(len(shape)) if a not in kept]
        self.count = prod(shape[a] for a in reduced)
        self.k = prod(shape[a] for a in kept)
        self.inv_n = 1.0 / self.count if self.count else float("nan")
        #: channels last: every kept axis after every reduced axis, x is (count, k)
        self.rk = kept == list(range(len(shape) - len(kept), len(shape)))
        if self.rk:
            self.kstart = self.rstart = np.zeros(0, np.int64)
            self.rlen = 0
        else:
            self.kstart = offsets(shape, kept)
            self.rstart, self.rlen = impl.runs(shape, reduced)
        self.acc, self.acc2 = np.empty(self.k), np.empty(self.k)
        self.ws, self.ws2 = np.empty(self.k, dtype), np.empty(self.k, dtype)

    @property
    def args(self) -> tuple[np.ndarray, np.ndarray, int]:
        """``(kstart, rstart, rlen)`` as the compiled loops take them."""
        return self.kstart, self.rstart, self.rlen

    def rows(self, a: np.ndarray) -> np.ndarray:
        """An x-shaped array as ``(count, k)`` (channels-last case)."""
        return a.reshape(self.count, self.k)


def _flat(a: np.ndarray) -> np.ndarray:
    return a.reshape(-1)


def _kept_axes(attrs: dict, shape: Any) -> list[int]:
    if "axes" in attrs:
        return [a for a in range(len(shape)) if a not in attrs["axes"]]
    return [attrs["axis"]]


def moments(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Mean and biased variance over ``axes``."""
    shape = in_metas[0].shape
    tb = _Tables(shape, _kept_axes(attrs, shape), out_metas[0].dtype.np_dtype)

    def fast(ins: list, outs: list) -> None:
        mean, var = _flat(outs[0]), _flat(outs[1])
        if tb.rk:
            rk.moments(tb.rows(ins[0]), tb.inv_n, tb.acc, mean, var)
        else:
            impl.moments(_flat(ins[0]), *tb.args, tb.inv_n, mean, var)

    return contiguous(fast)


def moments_grad(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Gradient of moments: inputs ``x, mean[, dmean][, dvar]``."""
    shape = in_metas[0].shape
    dt = out_metas[0].dtype.np_dtype
    tb = _Tables(shape, _kept_axes(attrs, shape), dt)
    has_mean, has_var = attrs["has_dmean"], attrs["has_dvar"]
    count = tb.count
    c1, c2 = (scalar(v / count if count else np.inf, dt) for v in (1.0, 2.0))
    none, zero = np.empty(0, dt), scalar(0, dt)

    def fast(ins: list, outs: list) -> None:
        rest = ins[2:]
        dmean = _flat(rest[0]) if has_mean else none
        dvar = _flat(rest[-1]) if has_var else none
        if tb.rk:
            rk.moments_grad(tb.rows(ins[0]), _flat(ins[1]), dmean, dvar, c1, c2, zero, tb.ws,
                            tb.ws2, tb.rows(outs[0]))
        else:
            impl.moments_grad(_flat(ins[0]), _flat(ins[1]), dmean, dvar, c1, c2, zero,
                              *tb.args, _flat(outs[0]))

    return contiguous(fast)


def batch_norm_train(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Batch norm with batch statistics; outputs y, mean, 1/std, variance."""
    dt = out_metas[0].dtype.np_dtype
    tb = _Tables(in_metas[0].shape, [attrs["axis"]], dt)
    eps, one = scalar(attrs["epsilon"], dt), scalar(1, dt)

    def fast(ins: list, outs: list) -> None:
        x, gamma, beta = ins
        y, mean, inv, var = outs
        if tb.rk:
            rk.bn_train(tb.rows(x), gamma, beta, eps, one, tb.inv_n, tb.acc, tb.ws, tb.rows(y),
                        mean, inv, var)
        else:
            impl.bn_train(_flat(x), gamma, beta, eps, one, tb.inv_n, *tb.args, _flat(y), mean,
                          inv, var)

    return contiguous(fast)


def batch_norm_train_grad(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Fused gradient of batch_norm_train: inputs x, gamma, mean, inv, dy."""
    dt = out_metas[0].dtype.np_dtype
    tb = _Tables(in_metas[0].shape, [attrs["axis"]], dt)
    count = scalar(tb.count, dt)
    inv_count = scalar(1.0 / tb.count if tb.count else np.inf, dt)

    def fast(ins: list, outs: list) -> None:
        x, gamma, mean, inv, dy = ins
        dx, dgamma, dbeta = outs
        if tb.rk:
            rk.bn_train_grad(tb.rows(x), gamma, mean, inv, tb.rows(dy), count, inv_count,
                             tb.acc, tb.acc2, tb.ws, tb.rows(dx), dgamma, dbeta)
        else:
            impl.bn_train_grad(_flat(x), gamma, mean, inv, _flat(dy), count, inv_count,
                               *tb.args, _flat(dx), dgamma, dbeta)

    return contiguous(fast)


def batch_norm_infer(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Batch norm with given statistics: inputs x, gamma, beta, mean, variance."""
    dt = out_metas[0].dtype.np_dtype
    tb = _Tables(in_metas[0].shape, [attrs["axis"]], dt)
    eps = scalar(attrs["epsilon"], dt)

    def fast(ins: list, outs: list) -> None:
        x, gamma, beta, mean, var = ins
        if tb.rk:
            rk.bn_infer(tb.rows(x), gamma, beta, mean, var, eps, tb.ws, tb.ws2,
                        tb.rows(outs[0]))
        else:
            impl.bn_infer(_flat(x), gamma, beta, mean, var, eps, *tb.args, _flat(outs[0]))

    return contiguous(fast)


def batch_norm_infer_grad(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Gradients of batch_norm_infer: inputs x, gamma, mean, variance, dy."""
    dt = out_metas[0].dtype.np_dtype
    tb = _Tables(in_metas[0].shape, [attrs["axis"]], dt)
    eps, one, half = scalar(attrs["epsilon"], dt), scalar(1, dt), scalar(0.5, dt)

    def fast(ins: list, outs: list) -> None:
        x, gamma, mean, var, dy = ins
        if tb.rk:
            rk.bn_infer_grad(tb.rows(x), gamma, mean, var, tb.rows(dy), eps, one, half, tb.acc,
                             tb.acc2, tb.ws, tb.rows(outs[0]), *outs[1:])
        else:
            impl.bn_infer_grad(_flat(x), gamma, mean, var, _flat(dy), eps, one, half,
                               *tb.args, _flat(outs[0]), *outs[1:])

    return contiguous(fast)


def assign_moving_average(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """``moving = momentum * moving + (1 - momentum) * batch``, in place; no outputs."""
    dt = in_metas[0].dtype.np_dtype
    momentum = scalar(attrs["momentum"], dt)
    rest = scalar(1.0 - attrs["momentum"], dt)

    def fast(ins: list, outs: list) -> None:
        impl.moving_average(_flat(ins[0]), _flat(ins[1]), momentum, rest)

    return contiguous(fast, inplace=(0,))


class _Mask:
    """How a keep mask of ``mask_shape`` broadcasts over ``shape``; applies it."""

    def __init__(self, shape: Any, mask_shape: Any, dtype: Any, rate: float) -> None:
        shape = tuple(int(d) for d in shape)
        mask_shape = tuple(int(d) for d in mask_shape)
        self.scale = scalar(1.0 / (1.0 - rate), dtype)
        self.lut = np.arange(256).astype(dtype)
        if mask_shape == shape:
            self.shape = np.zeros(0, np.int64)
            self.strides = np.zeros(0, np.int64)
        else:
            mstrides = c_strides(mask_shape)
            self.shape = np.array(shape, np.int64)
            self.strides = np.array([0 if m == 1 else s for m, s in zip(mask_shape, mstrides,
                                                                        strict=True)], np.int64)
        self.idx = np.zeros(self.shape.size, np.int64)

    def apply(self, x: np.ndarray, mask: np.ndarray, y: np.ndarray) -> None:
        """``y = x * mask * scale`` (mask broadcast)."""
        impl.apply_mask(_flat(x), _flat(mask), self.lut, self.scale, self.shape, self.strides,
                        self.idx, _flat(y))


def dropout(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Inverted dropout; outputs y and the uint8 keep mask (the reference's random draws)."""
    rate = attrs["rate"]
    dt = np.dtype(out_metas[0].dtype.np_dtype)
    rng = np.random.default_rng(attrs["seed"])
    draw_dtype = dt.type if dt in (np.float32, np.float64) else np.float64
    u = np.empty(out_metas[1].shape, draw_dtype)
    threshold = scalar(rate, draw_dtype)
    mk = _Mask(in_metas[0].shape, out_metas[1].shape, dt, rate)

    def fast(ins: list, outs: list) -> None:
        y, mask = outs
        rng.random(out=u, dtype=draw_dtype)
        impl.draw_mask(_flat(u), threshold, _flat(mask))
        mk.apply(ins[0], mask, y)

    return contiguous(fast)


def dropout_grad(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """``dx = dy * mask / (1 - rate)`` (inputs dy, mask)."""
    mk = _Mask(in_metas[0].shape, in_metas[1].shape, out_metas[0].dtype.np_dtype,
               attrs["rate"])

    def fast(ins: list, outs: list) -> None:
        mk.apply(ins[0], ins[1], outs[0])

    return contiguous(fast)
