"""Numba kernels of the ops the train pass inserts: seeds, regularization, clipping, schedule.

``fill``, ``l1_l2_regularize``, ``clip_by_global_norm``, ``lr_schedule``, ``step_increment``,
``count_not_finite`` and ``dynamic_loss_scale_schedule``; semantics in
:mod:`tideflow.ops.train_ops`. The element-wise passes over whole gradients (regularization,
clipping, the non-finite count) run in parallel; the scalar bookkeeping ops are tiny serial
functions. Sums of squares accumulate in float64 over fixed chunks, so the result does not
depend on the thread count.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numba import njit, prange

from tideflow.framework.graph import TensorMeta
from tideflow_numba.updates import CHUNK, sumsq

Run = Callable[[list[Any], list[Any]], None]

#: float32's largest finite value (the dynamic loss scale saturates there).
F32_MAX = float(np.finfo(np.float32).max)


def _flat(a: np.ndarray) -> np.ndarray:
    """A 1-D view of ``a`` (a contiguous copy when ``a`` is a strided view)."""
    return (a if a.flags.c_contiguous else np.ascontiguousarray(a)).reshape(-1)


def _scalar_type(dtype: np.dtype) -> type:
    """The type scalar attrs are cast to.

    The array dtype for floats (NumPy's weak Python scalars compute in it), float64 for
    integer arrays (NumPy promotes those to float).
    """
    return dtype.type if dtype.kind == "f" else np.float64


# ---------------------------------------------------------------- compiled loops


@njit(cache=True)
def _fill(out: np.ndarray, value: np.ndarray) -> None:  # pragma: no cover - numba
    v = value[0]
    for i in range(out.size):
        out[i] = v


@njit(cache=True, parallel=True)
def _regularize(g: np.ndarray, w: np.ndarray, l1: Any, l2: Any,
                out: np.ndarray) -> None:  # pragma: no cover - numba
    for i in prange(g.size):
        s = l1 if w[i] >= 0 else -l1  # OneFlow's CPU kernel: sign(0) = +1
        out[i] = g[i] + s + l2 * w[i]


@njit(cache=True, parallel=True)
def _sumsq(x: np.ndarray, part: np.ndarray) -> float:  # pragma: no cover - numba
    """Sum of squares of ``x`` in float64: per-chunk partials, then their sum in order."""
    n = x.size
    nch = (n + CHUNK - 1) // CHUNK
    for c in prange(nch):
        part[c] = sumsq(x, np.uint64(c * CHUNK), np.uint64(min(c * CHUNK + CHUNK, n)))
    total = 0.0
    for c in range(nch):
        total += part[c]
    return total


@njit(cache=True, parallel=True)
def _scale(g: np.ndarray, factor: float, out: np.ndarray) -> None:  # pragma: no cover - numba
    f = out.dtype.type(factor)
    for i in prange(g.size):
        out[i] = g[i] * f


@njit(cache=True, parallel=True)
def _count(x: np.ndarray) -> int:  # pragma: no cover - numba
    c = 0
    for i in prange(x.size):
        if not np.isfinite(x[i]):
            c += 1
    return c


@njit(cache=True)
def _increment(step: np.ndarray, skip: np.ndarray) -> None:  # pragma: no cover - numba
    if skip[0] == 0:
        step[0] += 1


@njit(cache=True)
def _schedule(count: np.ndarray, scale: np.ndarray, good: np.ndarray, skipped: np.ndarray,
              period: int, multiplier: float) -> None:  # pragma: no cover - numba
    s = float(scale[0])
    if count[0] == 0:
        k = int(good[0]) + 1
        if k >= period:
            s = float(np.float32(min(s * multiplier, F32_MAX)))
            k = 0
        good[0] = k
        scale[0] = s
    else:
        good[0] = 0
        scale[0] = float(np.float32(max(s / multiplier, 1.0)))
        skipped[0] += 1


# ---------------------------------------------------------------- kernel factories


def fill(attrs: dict, in_metas: list[TensorMeta], out_metas: list[TensorMeta]) -> Run:
    """``out <- value`` everywhere (the loss seed)."""
    value = np.array([attrs["value"]]).astype(out_metas[0].dtype.np_dtype)

    def run(ins: list[Any], outs: list[Any]) -> None:
        out = outs[0]
        if out.flags.c_contiguous:
            _fill(out.reshape(-1), value)
        else:
            out[...] = value[0]  # slow path: a strided output (never in a plan)

    return run


def l1_l2_regularize(attrs: dict, in_metas: list[TensorMeta],
                     out_metas: list[TensorMeta]) -> Run:
    """``out <- g + l1*sign(w) + l2*w`` with ``sign(0) = +1``, in the gradient's dtype."""
    cast = _scalar_type(in_metas[0].dtype.np_dtype)
    l1, l2 = cast(attrs["l1"]), cast(attrs["l2"])

    def run(ins: list[Any], outs: list[Any]) -> None:
        out = outs[0]
        if out.flags.c_contiguous:
            _regularize(_flat(ins[0]), _flat(ins[1]), l1, l2, out.reshape(-1))
        else:  # slow path: a strided output (never in a plan)
            work = np.empty(out.size, out.dtype)
            _regularize(_flat(ins[0]), _flat(ins[1]), l1, l2, work)
            out[...] = work.reshape(out.shape)

    return run


def clip_by_global_norm(attrs: dict, in_metas: list[TensorMeta],
                        out_metas: list[TensorMeta]) -> Run:
    """``out_k <- g_k * c / max(||g||, c)``, the norm over every gradient (float64 sums)."""
    c = float(attrs["clip_norm"])
    part = np.zeros(max([1] + [-(-m.size // CHUNK) for m in in_metas]))

    def run(ins: list[Any], outs: list[Any]) -> None:
        flats = [_flat(g) for g in ins]
        total = 0.0
        for g in flats:
            total += _sumsq(g, part)
        norm = math.sqrt(total)
        factor = c / max(norm, c) if c > 0 else 0.0
        for g, out in zip(flats, outs, strict=True):
            if out.flags.c_contiguous:
                _scale(g, factor, out.reshape(-1))
            else:
                work = np.empty(out.size, out.dtype)
                _scale(g, factor, work)
                out[...] = work.reshape(out.shape)

    return run


def lr_schedule(attrs: dict, in_metas: list[TensorMeta], out_metas: list[TensorMeta]) -> Run:
    """``lr <- scheduler.value(step)``.

    The scheduler is an arbitrary Python object (piecewise, warm-up, cosine, a plugin's own
    schedule), which numba cannot compile; it is evaluated once per step on a single scalar,
    so this kernel stays in Python: it reads the step, calls ``value`` and stores one float
    into the preallocated output (no array is allocated).
    """
    value = attrs["scheduler"].value

    def run(ins: list[Any], outs: list[Any]) -> None:
        outs[0][0] = value(int(ins[0][0]))

    return run


def step_increment(attrs: dict, in_metas: list[TensorMeta],
                   out_metas: list[TensorMeta]) -> Run:
    """``step += 1``, unless the optional second input (a non-finite count) is nonzero."""
    no_skip = np.zeros(1, np.int64)

    def run(ins: list[Any], outs: list[Any]) -> None:
        _increment(ins[0], ins[1] if len(ins) > 1 else no_skip)

    return run


def count_not_finite(attrs: dict, in_metas: list[TensorMeta],
                     out_metas: list[TensorMeta]) -> Run:
    """``out <- number of NaN/inf elements over every input`` (int64, shape (1,))."""

    def run(ins: list[Any], outs: list[Any]) -> None:
        total = 0
        for g in ins:
            total += _count(_flat(g))
        outs[0][0] = total

    return run


def dynamic_loss_scale_schedule(attrs: dict, in_metas: list[TensorMeta],
                                out_metas: list[TensorMeta]) -> Run:
    """Grow the scale after ``increment_period`` good steps, shrink it after a bad one.

    Inputs ``(count, scale, good_steps, skipped_steps)``, updated in place as
    :func:`tideflow.optimizer.loss_scale.schedule_step` does (the scale rounded to float32).
    """
    period, multiplier = int(attrs["increment_period"]), float(attrs["multiplier"])

    def run(ins: list[Any], outs: list[Any]) -> None:
        _schedule(ins[0], ins[1], ins[2], ins[3], period, multiplier)

    return run
