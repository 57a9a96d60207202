"""Reductions other than sum and mean, and index ops (argmax, argmin, top_k).

A full reduction gives shape ``(1,)`` (OneFlow has no 0-d blobs). ``reduce_max`` and
``reduce_min`` send the gradient to the positions of the extremum, split evenly between
ties. ``reduce_any``/``reduce_all`` return int8 0/1; ``argmax``, ``argmin`` and ``top_k``
return int32 indices. Those pass no gradient. ``gather`` and ``one_hot`` are in
:mod:`tideflow.ops.select`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tideflow import dtypes
from tideflow.framework.blob import Blob
from tideflow.framework.build import add_op
from tideflow.ops._util import check, meta, norm_axes, norm_axis
from tideflow.ops.math import broadcast_to, multiply, reduce_mean, reduce_sum, subtract
from tideflow.ops.math_unary import exp, sqrt, square
from tideflow.plugins.records import OpSpec


def _kept_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(1 if i in axes else d for i, d in enumerate(shape))


def _axes(attrs: dict, rank: int) -> tuple[int, ...]:
    return norm_axes(attrs["axis"], rank)


def _infer_reduce(attrs: dict, x: Any) -> Any:
    axes = _axes(attrs, len(x.shape))
    if attrs["keepdims"]:
        return meta(_kept_shape(x.shape, axes), x.dtype)
    return meta([d for i, d in enumerate(x.shape) if i not in axes], x.dtype)


def _infer_reduce_float(attrs: dict, x: Any) -> Any:
    check(x.dtype.is_floating, f"needs a floating-point input; received {x.dtype.name}")
    return _infer_reduce(attrs, x)


def _infer_reduce_bool(attrs: dict, x: Any) -> Any:
    return meta(_infer_reduce(attrs, x).shape, dtypes.int8)


def _reduce_kernel(fn: Callable[..., Any]) -> Any:
    """``fn(x, axis=axes, keepdims=True, out=view)`` writing straight into the output."""

    def make(attrs: dict, ins: list, outs: list) -> Any:
        axes = _axes(attrs, len(ins[0].shape))
        kept = _kept_shape(ins[0].shape, axes)

        def run(i: list, o: list) -> None:
            fn(i[0], axis=axes, keepdims=True, out=o[0].reshape(kept))

        return run

    return make


def _logsumexp(x: np.ndarray, axis: tuple[int, ...], keepdims: bool, out: np.ndarray) -> None:
    m = np.max(x, axis=axis, keepdims=True)
    m[~np.isfinite(m)] = 0
    with np.errstate(divide="ignore"):
        np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True), out=out)
    out += m


def _extremum_grad_kernel(attrs: dict, ins: list, outs: list) -> Any:
    axes = _axes(attrs, len(ins[0].shape))
    kept = _kept_shape(ins[0].shape, axes)

    def run(i: list, o: list) -> None:
        x, y, dy = i
        mask = x == y.reshape(kept)
        share = dy.reshape(kept) / mask.sum(axis=axes, keepdims=True)
        np.multiply(mask, share, out=o[0])

    return run


def _g_extremum(ctx: Any, dys: list) -> list:
    (x,) = ctx.inputs
    return [ctx.op("reduce_extremum_grad", x, ctx.outputs[0], dys[0], axis=ctx.attrs["axis"])]


def _infer_extremum_grad(attrs: dict, x: Any, y: Any, dy: Any) -> Any:
    return meta(x.shape, x.dtype)


def _prod_grad_kernel(attrs: dict, ins: list, outs: list) -> Any:
    rank = len(ins[0].shape)
    axes = _axes(attrs, rank)
    moved = tuple(range(rank - len(axes), rank))

    def run(i: list, o: list) -> None:
        x, dy = i
        xm = np.moveaxis(x, axes, moved)
        lead = xm.shape[: rank - len(axes)]
        xf = xm.reshape(lead + (-1,))
        # product of the other elements = (prefix product) * (suffix product): exact at zeros
        left = np.ones_like(xf)
        right = np.ones_like(xf)
        np.cumprod(xf[..., :-1], axis=-1, out=left[..., 1:])
        np.cumprod(xf[..., :0:-1], axis=-1, out=right[..., -2::-1])
        left *= right
        left *= dy.reshape((*lead, 1))
        om = np.moveaxis(o[0], axes, moved)
        om[...] = left.reshape(om.shape)

    return run


def _g_prod(ctx: Any, dys: list) -> list:
    return [ctx.op("reduce_prod_grad", ctx.inputs[0], dys[0], axis=ctx.attrs["axis"])]


def _infer_prod_grad(attrs: dict, x: Any, dy: Any) -> Any:
    return meta(x.shape, x.dtype)


def _g_logsumexp(ctx: Any, dys: list) -> list:
    (x,) = ctx.inputs
    kept = _kept_shape(x.shape, _axes(ctx.attrs, len(x.shape)))
    y = broadcast_to(ctx.op("reshape", ctx.outputs[0], shape=kept), x.shape)
    dy = broadcast_to(ctx.op("reshape", dys[0], shape=kept), x.shape)
    return [multiply(dy, exp(subtract(x, y)))]


def _g_none(ctx: Any, dys: list) -> list:
    return [None] * len(ctx.inputs)


def _infer_arg(attrs: dict, x: Any) -> Any:
    axis = norm_axis(attrs["axis"], len(x.shape))
    return meta([d for i, d in enumerate(x.shape) if i != axis], dtypes.int32)


def _arg_kernel(fn: Callable[..., Any]) -> Any:
    def make(attrs: dict, ins: list, outs: list) -> Any:
        axis = norm_axis(attrs["axis"], len(ins[0].shape))

        def run(i: list, o: list) -> None:
            o[0][...] = fn(i[0], axis=axis).reshape(o[0].shape)

        return run

    return make


def _infer_top_k(attrs: dict, x: Any) -> Any:
    k = attrs["k"]
    check(isinstance(k, int) and k >= 1, f"k must be a positive int; received {k!r}")
    return meta((*x.shape[:-1], min(k, x.shape[-1])), dtypes.int32)


def _top_k_kernel(attrs: dict, ins: list, outs: list) -> Any:
    n = ins[0].shape[-1]
    k = outs[0].shape[-1]

    def run(i: list, o: list) -> None:
        # stable descending order: sort the reversed row ascending, then reverse back, so
        # equal values keep increasing indices
        order = np.argsort(i[0][..., ::-1], axis=-1, kind="stable")[..., ::-1]
        np.subtract(n - 1, order[..., :k], out=o[0], casting="unsafe")

    return run


SPECS = [
    OpSpec("reduce_max", _infer_reduce, _reduce_kernel(np.max), _g_extremum),
    OpSpec("reduce_min", _infer_reduce, _reduce_kernel(np.min), _g_extremum),
    OpSpec("reduce_extremum_grad", _infer_extremum_grad, _extremum_grad_kernel),
    OpSpec("reduce_prod", _infer_reduce, _reduce_kernel(np.prod), _g_prod),
    OpSpec("reduce_prod_grad", _infer_prod_grad, _prod_grad_kernel),
    OpSpec("reduce_any", _infer_reduce_bool, _reduce_kernel(np.any), _g_none),
    OpSpec("reduce_all", _infer_reduce_bool, _reduce_kernel(np.all), _g_none),
    OpSpec("reduce_logsumexp", _infer_reduce_float, _reduce_kernel(_logsumexp), _g_logsumexp),
    OpSpec("argmax", _infer_arg, _arg_kernel(np.argmax), _g_none),
    OpSpec("argmin", _infer_arg, _arg_kernel(np.argmin), _g_none),
    OpSpec("top_k", _infer_top_k, _top_k_kernel, _g_none),
]

# ---------------------------------------------------------------- public functions


def _axis_attr(axis: Any) -> Any:
    if axis is None or isinstance(axis, int | np.integer):
        return None if axis is None else int(axis)
    return tuple(int(a) for a in axis)


def _reduce(op: str, x: Blob, axis: Any, keepdims: bool, name: str | None) -> Blob:
    return add_op(op, [x], {"axis": _axis_attr(axis), "keepdims": bool(keepdims)}, name)


def reduce_max(input_tensor: Blob, axis: Any = None, keepdims: bool = False,
               name: str | None = None) -> Blob:
    """Maximum over ``axis`` (an int, a sequence, or None for all axes).

    The gradient goes to the maximal elements, split evenly between ties.
    """
    return _reduce("reduce_max", input_tensor, axis, keepdims, name)


def reduce_min(input_tensor: Blob, axis: Any = None, keepdims: bool = False,
               name: str | None = None) -> Blob:
    """Minimum over ``axis``; the gradient is split evenly between tied minima."""
    return _reduce("reduce_min", input_tensor, axis, keepdims, name)


def reduce_prod(input_tensor: Blob, axis: Any = None, keepdims: bool = False,
                name: str | None = None) -> Blob:
    """Product over ``axis``; the gradient is exact where inputs are zero."""
    return _reduce("reduce_prod", input_tensor, axis, keepdims, name)


def reduce_any(x: Blob, axis: Any = None, keepdims: bool = False,
               name: str | None = None) -> Blob:
    """Whether any element over ``axis`` is nonzero, as int8 0/1."""
    return _reduce("reduce_any", x, axis, keepdims, name)


def reduce_all(x: Blob, axis: Any = None, keepdims: bool = False,
               name: str | None = None) -> Blob:
    """Whether every element over ``axis`` is nonzero, as int8 0/1."""
    return _reduce("reduce_all", x, axis, keepdims, name)


def reduce_logsumexp(input_tensor: Blob, axis: Any = None, keepdims: bool = False,
                     name: str | None = None) -> Blob:
    """``log(sum(exp(x)))`` over ``axis``, computed stably (shifted by the maximum)."""
    return _reduce("reduce_logsumexp", input_tensor, axis, keepdims, name)


def reduce_euclidean_norm(input_tensor: Blob, axis: Any = None, keepdims: bool = False,
                          name: str | None = None) -> Blob:
    """``sqrt(sum(x ** 2))`` over ``axis`` (the gradient is NaN where the norm is 0)."""
    return sqrt(reduce_sum(square(input_tensor), _axis_attr(axis), keepdims), name=name)


def reduce_variance(input_tensor: Blob, axis: Any = None, keepdims: bool = False,
                    name: str | None = None) -> Blob:
    """Biased variance ``mean((x - mean(x)) ** 2)`` over ``axis``."""
    axis = _axis_attr(axis)
    centered = subtract(input_tensor, reduce_mean(input_tensor, axis, keepdims=True))
    return reduce_mean(square(centered), axis, keepdims, name=name)


def reduce_std(input_tensor: Blob, axis: Any = None, keepdims: bool = False,
               name: str | None = None) -> Blob:
    """Biased standard deviation: ``sqrt(reduce_variance(x))``."""
    return sqrt(reduce_variance(input_tensor, axis, keepdims), name=name)


def argmax(input: Blob, axis: int = -1, name: str | None = None) -> Blob:  # noqa: A002
    """Index of the maximum along ``axis`` as int32 (the first one on ties)."""
    return add_op("argmax", [input], {"axis": int(axis)}, name)


def argmin(input: Blob, axis: int = -1, name: str | None = None) -> Blob:  # noqa: A002
    """Index of the minimum along ``axis`` as int32 (the first one on ties)."""
    return add_op("argmin", [input], {"axis": int(axis)}, name)


def top_k(input: Blob, k: int = 1, sorted: bool = True,  # noqa: A002
          name: str | None = None) -> Blob:
    """Indices (int32) of the ``k`` largest entries along the last axis, largest first.

    As in OneFlow's legacy API only the indices are returned (gather the values with
    ``flow.gather``). ``k`` larger than the last dimension is clamped to it. Equal values
    are listed by increasing index; ``sorted=False`` returns the same order.
    """
    return add_op("top_k", [input], {"k": int(k), "sorted": bool(sorted)}, name)


__all__ = [
    "argmax", "argmin", "reduce_all", "reduce_any", "reduce_euclidean_norm",
    "reduce_logsumexp", "reduce_max", "reduce_min", "reduce_prod", "reduce_std",
    "reduce_variance", "top_k",
]
