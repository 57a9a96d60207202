"""Selection ops: ``where``, ``gather`` and ``one_hot``.

``where`` picks between two broadcast operands by an integer condition; ``gather`` picks
slices at integer indices (out-of-range indices give zeros, and the gradient scatter-adds);
``one_hot`` encodes integer indices (it passes no gradient). :mod:`tideflow.ops.array`
re-exports all three, so they keep their OneFlow names ``flow.where``, ``flow.gather`` and
``flow.one_hot``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tideflow import dtypes
from tideflow.dtypes import as_dtype
from tideflow.framework.blob import Blob
from tideflow.framework.build import add_op
from tideflow.ops._util import broadcast_shape, check, meta, norm_axis, same_dtype
from tideflow.ops.math import reduce_sum_to
from tideflow.ops.math_unary import as_blobs, fill_value, is_scalar
from tideflow.plugins.records import OpSpec

# ---------------------------------------------------------------- where


def _infer_where(attrs: dict, cond: Any, x: Any, y: Any) -> Any:
    check(not cond.dtype.is_floating,
          f"condition must be an integer blob (int8/int32); received {cond.dtype.name}")
    shape = broadcast_shape(broadcast_shape(cond.shape, x.shape), y.shape)
    return meta(shape, same_dtype(x, y))


def _where_kernel(attrs: dict, ins: list, outs: list) -> Any:
    def run(i: list, o: list) -> None:
        cond, x, y = i
        o[0][...] = y
        np.copyto(o[0], x, where=cond != 0)

    return run


def _infer_where_grad(attrs: dict, cond: Any, dy: Any) -> Any:
    return meta(dy.shape, dy.dtype), meta(dy.shape, dy.dtype)


def _where_grad_kernel(attrs: dict, ins: list, outs: list) -> Any:
    def run(i: list, o: list) -> None:
        cond, dy = i
        pick = cond != 0
        o[0][...] = 0
        np.copyto(o[0], dy, where=pick)
        o[1][...] = dy
        np.copyto(o[1], 0, where=pick)

    return run


def _g_where(ctx: Any, dys: list) -> list:
    cond, x, y = ctx.inputs
    dx, dy = ctx.op("where_grad", cond, dys[0])
    return [None, reduce_sum_to(dx, x.shape), reduce_sum_to(dy, y.shape)]


# ---------------------------------------------------------------- one_hot, gather


def _g_none(ctx: Any, dys: list) -> list:
    return [None] * len(ctx.inputs)


def _infer_one_hot(attrs: dict, x: Any) -> Any:
    check(not x.dtype.is_floating, f"indices must be an integer blob; received {x.dtype.name}")
    check(attrs["depth"] > 0, f"depth must be positive; received {attrs['depth']}")
    shape = list(x.shape)
    shape.insert(norm_axis(attrs["axis"], len(shape) + 1), attrs["depth"])
    return meta(shape, attrs["dtype"])


def _one_hot_kernel(attrs: dict, ins: list, outs: list) -> Any:
    depth, on, off = attrs["depth"], attrs["on_value"], attrs["off_value"]
    axis = norm_axis(attrs["axis"], len(outs[0].shape))

    def run(i: list, o: list) -> None:
        idx = i[0]
        o[0][...] = off
        hot = np.moveaxis(o[0], axis, -1)  # a view; out-of-range indices stay all-off
        valid = (idx >= 0) & (idx < depth)
        hot[(*np.nonzero(valid), idx[valid])] = on

    return run


def _infer_gather(attrs: dict, params: Any, indices: Any) -> Any:
    check(not indices.dtype.is_floating,
          f"indices must be an integer blob; received {indices.dtype.name}")
    axis = norm_axis(attrs["axis"], len(params.shape))
    return meta(params.shape[:axis] + indices.shape + params.shape[axis + 1:], params.dtype)


def _gather_kernel(attrs: dict, ins: list, outs: list) -> Any:
    axis = norm_axis(attrs["axis"], len(ins[0].shape))
    n = ins[0].shape[axis]
    mask_shape = (1,) * axis + ins[1].shape + (1,) * (len(ins[0].shape) - axis - 1)

    def run(i: list, o: list) -> None:
        params, idx = i
        np.take(params, idx, axis=axis, out=o[0], mode="clip")
        invalid = (idx < 0) | (idx >= n)
        if invalid.any():  # OneFlow writes zeros for out-of-range indices
            np.copyto(o[0], 0, where=invalid.reshape(mask_shape))

    return run


def _infer_gather_grad(attrs: dict, dy: Any, indices: Any) -> Any:
    return meta(attrs["shape"], dy.dtype)


def _gather_grad_kernel(attrs: dict, ins: list, outs: list) -> Any:
    axis, shape = attrs["axis"], tuple(attrs["shape"])
    n, pre, post = shape[axis], shape[:axis], shape[axis + 1:]

    def run(i: list, o: list) -> None:
        dy, idx = i
        o[0][...] = 0
        flat = idx.reshape(-1)
        rows = np.moveaxis(dy.reshape((*pre, flat.size, *post)), axis, 0)
        valid = (flat >= 0) & (flat < n)
        np.add.at(np.moveaxis(o[0], axis, 0), flat[valid], rows[valid])

    return run


def _g_gather(ctx: Any, dys: list) -> list:
    params, indices = ctx.inputs
    axis = norm_axis(ctx.attrs["axis"], len(params.shape))
    return [ctx.op("gather_grad", dys[0], indices, axis=axis, shape=params.shape), None]


def _g_gather_grad(ctx: Any, dys: list) -> list:
    return [ctx.op("gather", dys[0], ctx.inputs[1], axis=ctx.attrs["axis"]), None]


SPECS = [
    OpSpec("where", _infer_where, _where_kernel, _g_where),
    OpSpec("where_grad", _infer_where_grad, _where_grad_kernel),
    OpSpec("one_hot", _infer_one_hot, _one_hot_kernel, _g_none),
    OpSpec("gather", _infer_gather, _gather_kernel, _g_gather),
    OpSpec("gather_grad", _infer_gather_grad, _gather_grad_kernel, _g_gather_grad),
]

# ---------------------------------------------------------------- public functions


def where(condition: Blob, x: Any = None, y: Any = None, name: str | None = None) -> Blob:
    """Choose ``x`` where ``condition`` (an integer blob) is nonzero, else ``y``.

    The three operands broadcast; ``x`` or ``y`` may be a Python scalar.

    Raises:
        ValueError: ``x`` or ``y`` is None. With both None this would be OneFlow's
            ``argwhere``, whose output shape is dynamic; tideflow does not support it.
    """
    if x is None and y is None:
        raise ValueError(
            "where: where(condition) with x=None and y=None is not supported by tideflow: "
            "it means OneFlow's argwhere, whose output shape depends on the data. Pass both "
            "x and y (flow.where(condition, x, y)), or use the 0/1 condition as a mask, "
            "e.g. flow.cast(condition, dtype) * values")
    if x is None or y is None:
        missing = "x" if x is None else "y"
        raise ValueError(f"where: pass both x and y; received {missing}=None (tideflow has "
                         "no one-operand form)")
    if is_scalar(x) or is_scalar(y):
        x, y = as_blobs("where", x, y)
    return add_op("where", [condition, x, y], {}, name)


def one_hot(indices: Blob, depth: int, on_value: Any = 1, off_value: Any = 0, axis: int = -1,
            dtype: Any = None, name: str | None = None) -> Blob:
    """One-hot encode integer ``indices`` along a new axis ``axis`` of size ``depth``.

    ``dtype`` defaults to float32. Out-of-range indices give all-``off_value`` rows
    (OneFlow's kernels abort on them).
    """
    dtype = dtypes.float32 if dtype is None else as_dtype(dtype)
    attrs = {"depth": int(depth), "axis": int(axis), "dtype": dtype,
             "on_value": fill_value("one_hot", on_value, dtype),
             "off_value": fill_value("one_hot", off_value, dtype)}
    return add_op("one_hot", [indices], attrs, name)


def gather(params: Blob, indices: Blob, validate_indices: Any = None, axis: int | None = None,
           batch_dims: int = 0, name: str | None = None) -> Blob:
    """Pick slices of ``params`` along ``axis`` (default 0) at integer ``indices``.

    The result has shape ``params.shape[:axis] + indices.shape + params.shape[axis+1:]``.
    Out-of-range indices give zeros, as OneFlow's kernels do. The gradient scatter-adds.

    Raises:
        ValueError: ``batch_dims`` is not 0 (OneFlow's ``batch_gather`` is not supported).
    """
    if batch_dims:
        raise ValueError(
            f"gather: batch_dims={batch_dims!r} is not supported by tideflow (only "
            "batch_dims=0; OneFlow's batch_gather is not implemented). Gather with "
            "batch_dims=0 instead: reshape params of shape (B, N, ...) to (B * N, ...) and "
            "add b * N to the indices of batch row b")
    return add_op("gather", [params, indices], {"axis": int(axis or 0)}, name)


__all__ = ["gather", "one_hot", "where"]
