"""``flow.math``: arithmetic with broadcasting, scalar ops, sums and reductions.

Each op here is an :class:`~tideflow.plugins.records.OpSpec` (inference, gradient rule,
NumPy reference kernel) plus the public function that builds it. Binary operators follow
OneFlow's dispatch: a Python scalar operand gives a scalar op, blobs broadcast.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from tideflow.framework.blob import Blob
from tideflow.framework.build import add_op
from tideflow.ops._util import (
    broadcast_shape,
    check,
    elementwise_kernel,
    meta,
    norm_axes,
    same_dtype,
    unbroadcast,
)
from tideflow.plugins.records import OpSpec

# ---------------------------------------------------------------- binary, broadcasting


def _infer_binary(attrs: dict, a: Any, b: Any) -> Any:
    return meta(broadcast_shape(a.shape, b.shape), same_dtype(a, b))


def _grad_add(ctx: Any, dys: list) -> list:
    a, b = ctx.inputs
    return [reduce_sum_to(dys[0], a.shape), reduce_sum_to(dys[0], b.shape)]


def _grad_sub(ctx: Any, dys: list) -> list:
    a, b = ctx.inputs
    return [reduce_sum_to(dys[0], a.shape), reduce_sum_to(negative(dys[0]), b.shape)]


def _grad_mul(ctx: Any, dys: list) -> list:
    a, b = ctx.inputs
    dy = dys[0]
    return [reduce_sum_to(dy * b, a.shape), reduce_sum_to(dy * a, b.shape)]


def _grad_div(ctx: Any, dys: list) -> list:
    a, b = ctx.inputs
    (y,) = ctx.outputs
    dy = dys[0]
    da = dy / b
    return [reduce_sum_to(da, a.shape), reduce_sum_to(negative(da * y), b.shape)]


def _grad_minmax(ctx: Any, dys: list) -> list:
    a, b = ctx.inputs
    (y,) = ctx.outputs
    ma, mb = ctx.op("minmax_grad_masks", a, b, y)
    return [reduce_sum_to(dys[0] * ma, a.shape), reduce_sum_to(dys[0] * mb, b.shape)]


def _masks_kernel(attrs: dict, ins: list, outs: list) -> Any:
    def run(i: list, o: list) -> None:
        a, b, y = i
        ea = (a == y).astype(o[0].dtype)
        eb = (b == y).astype(o[0].dtype)
        share = 1.0 / np.maximum(ea + eb, 1.0)  # ties split the gradient evenly
        o[0][...] = ea * share
        o[1][...] = eb * share

    return run


def _infer_masks(attrs: dict, a: Any, b: Any, y: Any) -> Any:
    return meta(y.shape, y.dtype), meta(y.shape, y.dtype)


# ---------------------------------------------------------------- scalar and unary


def _infer_same(attrs: dict, x: Any, *rest: Any) -> Any:
    return meta(x.shape, x.dtype)


def _scalar_add_kernel(attrs: dict, ins: list, outs: list) -> Any:
    value = attrs["value"]

    def run(i: list, o: list) -> None:
        np.add(i[0], value, out=o[0])

    return run


def _scalar_mul_kernel(attrs: dict, ins: list, outs: list) -> Any:
    value = attrs["value"]

    def run(i: list, o: list) -> None:
        np.multiply(i[0], value, out=o[0], casting="unsafe")

    return run


def _grad_scalar_add(ctx: Any, dys: list) -> list:
    return [dys[0]]


def _grad_scalar_mul(ctx: Any, dys: list) -> list:
    return [scalar_mul(dys[0], ctx.attrs["value"])]


def _grad_negative(ctx: Any, dys: list) -> list:
    return [negative(dys[0])]


# ---------------------------------------------------------------- add_n, sums, broadcast


def _infer_add_n(attrs: dict, *xs: Any) -> Any:
    check(len(xs) >= 1, "add_n needs at least one input")
    for x in xs[1:]:
        check(x.shape == xs[0].shape, f"add_n inputs must share a shape; got {x.shape} "
              f"and {xs[0].shape}")
    return meta(xs[0].shape, same_dtype(*xs))


def _add_n_kernel(attrs: dict, ins: list, outs: list) -> Any:
    def run(i: list, o: list) -> None:
        np.add(i[0], i[1], out=o[0]) if len(i) > 1 else np.copyto(o[0], i[0])
        for x in i[2:]:
            np.add(o[0], x, out=o[0])

    return run


def _grad_add_n(ctx: Any, dys: list) -> list:
    return [dys[0]] * len(ctx.inputs)


def _infer_reduce(attrs: dict, x: Any) -> Any:
    axes = norm_axes(attrs["axis"], len(x.shape))
    if attrs["keepdims"]:
        shape = tuple(1 if i in axes else d for i, d in enumerate(x.shape))
    else:
        shape = tuple(d for i, d in enumerate(x.shape) if i not in axes)
    return meta(shape, x.dtype)


def _reduce_kernel(fn: Any) -> Any:
    def make(attrs: dict, ins: list, outs: list) -> Any:
        axes = norm_axes(attrs["axis"], len(ins[0].shape))
        shape = outs[0].shape

        def run(i: list, o: list) -> None:
            o[0][...] = fn(i[0], axis=axes).reshape(shape)

        return run

    return make


def _grad_reduce_sum(ctx: Any, dys: list) -> list:
    (x,) = ctx.inputs
    axes = norm_axes(ctx.attrs["axis"], len(x.shape))
    kept = tuple(1 if i in axes else d for i, d in enumerate(x.shape))
    return [broadcast_to(ctx.op("reshape", dys[0], shape=kept), x.shape)]


def _infer_to_shape(attrs: dict, x: Any) -> Any:
    return meta(attrs["shape"], x.dtype)


def _infer_sum_to(attrs: dict, x: Any) -> Any:
    shape = tuple(attrs["shape"])
    check(broadcast_shape(shape, x.shape) == x.shape,
          f"cannot sum shape {x.shape} down to {shape}")
    return meta(shape, x.dtype)


def _sum_to_kernel(attrs: dict, ins: list, outs: list) -> Any:
    shape = tuple(attrs["shape"])

    def run(i: list, o: list) -> None:
        o[0][...] = unbroadcast(i[0], shape)

    return run


def _grad_sum_to(ctx: Any, dys: list) -> list:
    return [broadcast_to(dys[0], ctx.inputs[0].shape)]


def _infer_broadcast_to(attrs: dict, x: Any) -> Any:
    shape = tuple(attrs["shape"])
    check(broadcast_shape(x.shape, shape) == shape, f"cannot broadcast {x.shape} to {shape}")
    return meta(shape, x.dtype)


def _broadcast_to_kernel(attrs: dict, ins: list, outs: list) -> Any:
    def run(i: list, o: list) -> None:
        o[0][...] = i[0]

    return run


def _grad_broadcast_to(ctx: Any, dys: list) -> list:
    return [reduce_sum_to(dys[0], ctx.inputs[0].shape)]


def _reshape_infer(attrs: dict, x: Any) -> Any:
    shape = list(attrs["shape"])
    n = x.size
    check(shape.count(-1) <= 1, f"shape={tuple(shape)} has more than one -1")
    if -1 in shape:
        known = int(np.prod([d for d in shape if d != -1]))
        check(known > 0 and n % known == 0, f"cannot reshape {x.shape} to {tuple(shape)}")
        shape[shape.index(-1)] = n // known
    check(int(np.prod(shape)) == n, f"cannot reshape {x.shape} ({n} elements) to "
          f"{tuple(shape)}")
    return meta(shape, x.dtype)


def _reshape_kernel(attrs: dict, ins: list, outs: list) -> Any:
    def run(i: list, o: list) -> None:
        o[0].reshape(i[0].shape)[...] = i[0]

    return run


def _grad_reshape(ctx: Any, dys: list) -> list:
    return [ctx.op("reshape", dys[0], shape=ctx.inputs[0].shape)]


SPECS = [
    OpSpec("add", _infer_binary, elementwise_kernel(np.add), _grad_add),
    OpSpec("subtract", _infer_binary, elementwise_kernel(np.subtract), _grad_sub),
    OpSpec("multiply", _infer_binary, elementwise_kernel(np.multiply), _grad_mul),
    OpSpec("divide", _infer_binary, elementwise_kernel(np.divide), _grad_div),
    OpSpec("maximum", _infer_binary, elementwise_kernel(np.maximum), _grad_minmax),
    OpSpec("minimum", _infer_binary, elementwise_kernel(np.minimum), _grad_minmax),
    OpSpec("minmax_grad_masks", _infer_masks, _masks_kernel),
    OpSpec("scalar_add", _infer_same, _scalar_add_kernel, _grad_scalar_add),
    OpSpec("scalar_mul", _infer_same, _scalar_mul_kernel, _grad_scalar_mul),
    OpSpec("negative", _infer_same, elementwise_kernel(np.negative), _grad_negative),
    OpSpec("add_n", _infer_add_n, _add_n_kernel, _grad_add_n),
    OpSpec("reduce_sum", _infer_reduce, _reduce_kernel(np.sum), _grad_reduce_sum),
    OpSpec("reduce_sum_to", _infer_sum_to, _sum_to_kernel, _grad_sum_to),
    OpSpec("broadcast_to", _infer_broadcast_to, _broadcast_to_kernel, _grad_broadcast_to),
    OpSpec("reshape", _reshape_infer, _reshape_kernel, _grad_reshape),
]

# ---------------------------------------------------------------- public functions


def _is_scalar(x: Any) -> bool:
    return isinstance(x, numbers.Number) and not isinstance(x, bool)


def _binary(op: str, x: Any, y: Any, name: str | None) -> Blob:
    if not isinstance(x, Blob) or not isinstance(y, Blob):
        raise TypeError(f"math.{op}: expected blobs or Python scalars; received "
                        f"{type(x).__name__} and {type(y).__name__}")
    return add_op(op, [x, y], {}, name)


def add(x: Any, y: Any, name: str | None = None) -> Blob:
    """Return ``x + y`` (broadcasting; a Python scalar gives a scalar op)."""
    if _is_scalar(y):
        return add_op("scalar_add", [x], {"value": y}, name)
    if _is_scalar(x):
        return add_op("scalar_add", [y], {"value": x}, name)
    return _binary("add", x, y, name)


def subtract(x: Any, y: Any, name: str | None = None) -> Blob:
    """Return ``x - y``."""
    if _is_scalar(y):
        return add_op("scalar_add", [x], {"value": -y}, name)
    if _is_scalar(x):
        return add_op("scalar_add", [negative(y)], {"value": x}, name)
    return _binary("subtract", x, y, name)


def multiply(x: Any, y: Any, name: str | None = None) -> Blob:
    """Return ``x * y``."""
    if _is_scalar(y):
        return add_op("scalar_mul", [x], {"value": y}, name)
    if _is_scalar(x):
        return add_op("scalar_mul", [y], {"value": x}, name)
    return _binary("multiply", x, y, name)


def divide(x: Any, y: Any, name: str | None = None) -> Blob:
    """Return ``x / y``. As in OneFlow, ``blob / 0`` multiplies by 0.0."""
    if _is_scalar(y):
        return add_op("scalar_mul", [x], {"value": 0.0 if y == 0 else 1.0 / y}, name)
    if _is_scalar(x):
        return scalar_mul(add_op("reciprocal_no_nan", [y], {}), x, name)
    return _binary("divide", x, y, name)


def maximum(x: Blob, y: Blob, name: str | None = None) -> Blob:
    """Elementwise maximum with broadcasting."""
    return _binary("maximum", x, y, name)


def minimum(x: Blob, y: Blob, name: str | None = None) -> Blob:
    """Elementwise minimum with broadcasting."""
    return _binary("minimum", x, y, name)


def scalar_mul(x: Blob, value: float, name: str | None = None) -> Blob:
    """Return ``x * value`` for a Python scalar ``value``."""
    return add_op("scalar_mul", [x], {"value": value}, name)


def negative(x: Blob, name: str | None = None) -> Blob:
    """Return ``-x``."""
    return add_op("negative", [x], {}, name)


def add_n(inputs: list[Blob], name: str | None = None) -> Blob:
    """Sum a list of blobs of one shape."""
    return add_op("add_n", list(inputs), {}, name)


def reduce_sum(input_tensor: Blob, axis: Any = None, keepdims: bool = False,
               name: str | None = None) -> Blob:
    """Sum over ``axis`` (all axes when None); a full reduction has shape ``(1,)``."""
    return add_op("reduce_sum", [input_tensor], {"axis": axis, "keepdims": keepdims}, name)


def reduce_mean(input_blob: Blob, axis: Any = None, keepdims: bool = False,
                name: str | None = None) -> Blob:
    """Mean over ``axis``: ``reduce_sum`` times ``1/count`` as in OneFlow."""
    axes = norm_axes(axis, len(input_blob.shape))
    count = int(np.prod([input_blob.shape[a] for a in axes])) if axes else 1
    s = reduce_sum(input_blob, axis, keepdims, name=name)
    return scalar_mul(s, 1.0 / count)


def reduce_sum_to(x: Blob, shape: tuple[int, ...], name: str | None = None) -> Blob:
    """Sum ``x`` over broadcast axes down to ``shape`` (identity when equal)."""
    if tuple(x.shape) == tuple(shape):
        return x
    return add_op("reduce_sum_to", [x], {"shape": tuple(shape)}, name)


def broadcast_to(x: Blob, shape: tuple[int, ...], name: str | None = None) -> Blob:
    """Broadcast ``x`` to ``shape`` (identity when equal)."""
    if tuple(x.shape) == tuple(shape):
        return x
    return add_op("broadcast_to", [x], {"shape": tuple(shape)}, name)
