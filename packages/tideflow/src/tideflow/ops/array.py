"""Array ops: reshape, transpose, concat, slice, cast, constants, broadcast aliases.

``where``, ``gather`` and ``one_hot`` live in :mod:`tideflow.ops.select` and are re-exported
here, so ``flow.where`` and ``flow.gather`` keep their OneFlow names. Shape-only changes
(``flatten``, ``squeeze``, ``expand_dims``) build a ``reshape`` op.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import numpy as np

from tideflow.dtypes import as_dtype
from tideflow.errors import ShapeError
from tideflow.framework.blob import Blob
from tideflow.framework.build import add_op
from tideflow.ops import math as _m
from tideflow.ops import math_unary as _u
from tideflow.ops._util import broadcast_shape, check, meta, norm_axis, same_dtype
from tideflow.ops.math_unary import arg_error, fill_value, zeros_like_blob
from tideflow.ops.select import gather, one_hot, where
from tideflow.plugins.records import OpSpec

# ---------------------------------------------------------------- transpose, concat, split


def _infer_transpose(attrs: dict, x: Any) -> Any:
    perm = attrs["perm"]
    check(sorted(perm) == list(range(len(x.shape))),
          f"perm={perm} is not a permutation of the {len(x.shape)} axes of {x.shape}")
    return meta([x.shape[p] for p in perm], x.dtype)


def _transpose_kernel(attrs: dict, ins: list, outs: list) -> Any:
    perm = attrs["perm"]

    def run(i: list, o: list) -> None:
        o[0][...] = np.transpose(i[0], perm)

    return run


def _g_transpose(ctx: Any, dys: list) -> list:
    inverse = tuple(int(p) for p in np.argsort(ctx.attrs["perm"]))
    return [ctx.op("transpose", dys[0], perm=inverse)]


def _infer_concat(attrs: dict, *xs: Any) -> Any:
    check(len(xs) >= 1, "concat needs at least one input")
    rank = len(xs[0].shape)
    axis = norm_axis(attrs["axis"], rank)
    for x in xs[1:]:
        same = len(x.shape) == rank and all(
            a == b for k, (a, b) in enumerate(zip(x.shape, xs[0].shape)) if k != axis)
        check(same, f"inputs must match except on axis {axis}; got {x.shape} and "
              f"{xs[0].shape}")
    shape = list(xs[0].shape)
    shape[axis] = sum(x.shape[axis] for x in xs)
    return meta(shape, same_dtype(*xs))


def _concat_kernel(attrs: dict, ins: list, outs: list) -> Any:
    axis = norm_axis(attrs["axis"], len(ins[0].shape))

    def run(i: list, o: list) -> None:
        np.concatenate(i, axis=axis, out=o[0])

    return run


def _g_concat(ctx: Any, dys: list) -> list:
    axis = norm_axis(ctx.attrs["axis"], len(ctx.inputs[0].shape))
    sizes = tuple(x.shape[axis] for x in ctx.inputs)
    return list(ctx.op("split", dys[0], axis=axis, sizes=sizes))


def _infer_split(attrs: dict, x: Any) -> Any:
    axis, sizes = norm_axis(attrs["axis"], len(x.shape)), attrs["sizes"]
    check(sum(sizes) == x.shape[axis], f"sizes={sizes} do not add up to {x.shape[axis]} "
          f"(axis {axis} of {x.shape})")
    return tuple(meta(x.shape[:axis] + (s,) + x.shape[axis + 1:], x.dtype) for s in sizes)


def _split_kernel(attrs: dict, ins: list, outs: list) -> Any:
    axis = norm_axis(attrs["axis"], len(ins[0].shape))
    bounds = np.cumsum((0, *attrs["sizes"]))
    lead = (builtins.slice(None),) * axis

    def run(i: list, o: list) -> None:
        for k, out in enumerate(o):
            out[...] = i[0][(*lead, builtins.slice(bounds[k], bounds[k + 1]))]

    return run


def _g_split(ctx: Any, dys: list) -> list:
    parts = [d if d is not None else zeros_like_blob(y) for d, y in zip(dys, ctx.outputs)]
    return [ctx.op("concat", *parts, axis=ctx.attrs["axis"])]


# ---------------------------------------------------------------- slice


def _slice_bounds(attrs: dict, shape: tuple[int, ...]) -> list[builtins.slice]:
    """OneFlow's ``flow.slice`` rules; None begin is 0, None or -1 size runs to the end."""
    begin, size = attrs["begin"], attrs["size"]
    check(len(begin) == len(shape) and len(size) == len(shape),
          f"begin={begin} and size={size} must have one entry per axis of {shape}")
    out = []
    for b, s, d in zip(begin, size, shape):
        b = 0 if b is None else b
        check(-d <= b < d, f"begin={begin}: {b} is out of range for a dimension of {d}")
        check(s is None or s == -1 or 0 < s <= d,
              f"size={size}: {s} is invalid for a dimension of {d} (use 1..{d}, -1 or None)")
        start = b % d
        stop = d if s is None or s == -1 else min(start + s, d)
        out.append(builtins.slice(start, stop))
    return out


def _infer_slice(attrs: dict, x: Any) -> Any:
    return meta([s.stop - s.start for s in _slice_bounds(attrs, x.shape)], x.dtype)


def _slice_kernel(attrs: dict, ins: list, outs: list) -> Any:
    index = tuple(_slice_bounds(attrs, ins[0].shape))

    def run(i: list, o: list) -> None:
        o[0][...] = i[0][index]

    return run


def _infer_slice_grad(attrs: dict, dy: Any) -> Any:
    return meta(attrs["shape"], dy.dtype)


def _slice_grad_kernel(attrs: dict, ins: list, outs: list) -> Any:
    index = tuple(_slice_bounds(attrs, outs[0].shape))

    def run(i: list, o: list) -> None:
        o[0][...] = 0
        o[0][index] = i[0]

    return run


def _g_slice(ctx: Any, dys: list) -> list:
    a = ctx.attrs
    return [ctx.op("slice_grad", dys[0], begin=a["begin"], size=a["size"],
                   shape=ctx.inputs[0].shape)]


# ---------------------------------------------------------------- cast, constants, identity


def _infer_cast(attrs: dict, x: Any) -> Any:
    return meta(x.shape, attrs["dtype"])


def _copy_kernel(attrs: dict, ins: list, outs: list) -> Any:
    def run(i: list, o: list) -> None:
        np.copyto(o[0], i[0], casting="unsafe")

    return run


def _g_cast(ctx: Any, dys: list) -> list:
    x = ctx.inputs[0]
    if not (x.dtype.is_floating and ctx.attrs["dtype"].is_floating):
        return [None]
    return [ctx.op("cast", dys[0], dtype=x.dtype)]


def _infer_same(attrs: dict, x: Any) -> Any:
    return meta(x.shape, x.dtype)


def _infer_constant(attrs: dict, *like: Any) -> Any:
    shape = attrs["shape"] if not like else like[0].shape
    return meta(shape, attrs["dtype"])


def _fill_kernel(attrs: dict, ins: list, outs: list) -> Any:
    value = attrs["value"]

    def run(i: list, o: list) -> None:
        o[0].fill(value)

    return run


def _g_none(ctx: Any, dys: list) -> list:
    return [None] * len(ctx.inputs)


def _g_pass(ctx: Any, dys: list) -> list:
    return [dys[0]]


SPECS = [
    OpSpec("transpose", _infer_transpose, _transpose_kernel, _g_transpose),
    OpSpec("concat", _infer_concat, _concat_kernel, _g_concat),
    OpSpec("split", _infer_split, _split_kernel, _g_split),
    OpSpec("slice", _infer_slice, _slice_kernel, _g_slice),
    OpSpec("slice_grad", _infer_slice_grad, _slice_grad_kernel),
    OpSpec("cast", _infer_cast, _copy_kernel, _g_cast),
    OpSpec("constant", _infer_constant, _fill_kernel),
    OpSpec("constant_like", _infer_constant, _fill_kernel, _g_none),
    OpSpec("identity", _infer_same, _copy_kernel, _g_pass),
]

# ---------------------------------------------------------------- public functions


def _shape_tuple(func: str, shape: Any) -> tuple[int, ...]:
    if not isinstance(shape, Sequence) or not all(isinstance(d, int | np.integer) for d in shape):
        raise TypeError(f"{func}: shape must be a list or tuple of ints; received {shape!r}")
    return tuple(int(d) for d in shape)


def reshape(x: Blob, shape: Sequence[int], name: str | None = None) -> Blob:
    """Return ``x`` with a new shape of the same element count (one ``-1`` is inferred)."""
    shape = _shape_tuple("reshape", shape)
    if not all(d == -1 or d > 0 for d in shape):
        raise arg_error("reshape", f"shape={shape}: dimensions must be positive or -1", x)
    return add_op("reshape", [x], {"shape": shape}, name)


def transpose(a: Blob, perm: Sequence[int] | None = None, conjugate: bool = False,
              batch_axis_non_change: bool = False, name: str | None = None) -> Blob:
    """Permute the axes of ``a``: output axis ``k`` is input axis ``perm[k]``.

    ``perm=None`` reverses the axes (OneFlow requires ``perm``; this follows TensorFlow).

    Raises:
        ValueError: ``conjugate=True`` (tideflow, like OneFlow, has no complex dtypes).
    """
    if conjugate:
        raise ValueError(f"transpose: conjugate={conjugate!r} is not supported by tideflow "
                         "(it has no complex dtypes, as in OneFlow); call transpose with "
                         "conjugate=False, the default")
    rank = len(a.shape)
    perm = range(rank)[::-1] if perm is None else perm
    perm = tuple(int(p) + rank if -rank <= p < 0 else int(p) for p in perm)
    return add_op("transpose", [a], {"perm": perm}, name)


def concat(inputs: Sequence[Blob] | None = None, axis: int = 0, max_dim_size: int | None = None,
           name: str | None = None, values: Sequence[Blob] | None = None) -> Blob:
    """Concatenate blobs along ``axis``; a single input is returned as is.

    ``max_dim_size`` (a hint for dynamic blobs in OneFlow) must be at least the result's
    size along ``axis``; ``values`` is the deprecated spelling of ``inputs``.
    """
    inputs = list(values if inputs is None and values is not None else inputs or [])
    if not inputs:
        raise ValueError("concat: inputs must be a non-empty list of blobs")
    if len(inputs) == 1:
        return inputs[0]
    out = add_op("concat", inputs, {"axis": int(axis)}, name)
    size = out.shape[norm_axis(int(axis), len(out.shape))]
    if max_dim_size is not None and max_dim_size < size:
        raise arg_error("concat", f"max_dim_size={max_dim_size} is smaller than the "
                        f"concatenated size {size}", *inputs)
    return out


def slice(x: Blob, begin: Sequence[int | None], size: Sequence[int | None],  # noqa: A001
          name: str | None = None) -> Blob:
    """Extract ``x[begin[i] : begin[i] + size[i]]`` on every axis (OneFlow's ``flow.slice``).

    A None ``begin`` starts at 0; a negative one counts from the end. A None or ``-1`` size
    runs to the end; a size past the end is clipped. Unlike OneFlow, a negative ``begin``
    with a size reaching the end works (OneFlow computes an empty stop there).
    """
    for arg, vals in (("begin", begin), ("size", size)):
        if not isinstance(vals, Sequence) or not all(
                v is None or isinstance(v, int | np.integer) for v in vals):
            raise TypeError(f"slice: {arg} must be a list or tuple of ints or None; "
                            f"received {vals!r}")
    attrs = {"begin": tuple(None if b is None else int(b) for b in begin),
             "size": tuple(None if s is None else int(s) for s in size)}
    return add_op("slice", [x], attrs, name)


def cast(x: Blob, dtype: Any, name: str | None = None) -> Blob:
    """Convert ``x`` to ``dtype`` (float to int truncates toward zero); ``x`` if unchanged.

    The gradient is cast back for float-to-float casts; integer sides pass none.
    """
    dtype = as_dtype(dtype)
    if dtype == x.dtype:
        return x
    return add_op("cast", [x], {"dtype": dtype}, name)


def constant(value: Any, dtype: Any, shape: Sequence[int] | None = None,
             name: str | None = None) -> Blob:
    """A blob of ``shape`` (``(1,)`` when None) filled with the scalar ``value``."""
    dtype = as_dtype(dtype)
    shape = () if shape is None else _shape_tuple("constant", shape)
    return add_op("constant", [], {"value": fill_value("constant", value, dtype),
                                   "dtype": dtype, "shape": shape}, name)


def constant_like(like: Blob, value: Any, dtype: Any = None, name: str | None = None) -> Blob:
    """A blob shaped like ``like`` filled with ``value`` (``like``'s dtype when None)."""
    dtype = like.dtype if dtype is None else as_dtype(dtype)
    return add_op("constant_like", [like],
                  {"value": fill_value("constant_like", value, dtype), "dtype": dtype}, name)


def zeros_like(like: Blob, dtype: Any = None, name: str | None = None) -> Blob:
    """Zeros shaped like ``like``."""
    return constant_like(like, 0, dtype, name)


def ones_like(like: Blob, dtype: Any = None, name: str | None = None) -> Blob:
    """Ones shaped like ``like``."""
    return constant_like(like, 1, dtype, name)


def identity(x: Blob, name: str | None = None) -> Blob:
    """A copy of ``x`` (a new op, so it can be named or watched)."""
    return add_op("identity", [x], {}, name)


def flatten(input: Blob, start_dim: int = 0, end_dim: int = -1,  # noqa: A002
            name: str | None = None) -> Blob:
    """Merge axes ``start_dim..end_dim`` into one. Note: ``start_dim=0`` includes the batch."""
    rank = len(input.shape)
    lo, hi = start_dim % max(rank, 1), end_dim % max(rank, 1)
    if not (-rank <= start_dim < rank and -rank <= end_dim < rank) or lo > hi:
        raise arg_error("flatten", f"start_dim={start_dim}, end_dim={end_dim} are invalid "
                        f"for rank {rank}", input)
    merged = int(np.prod(input.shape[lo:hi + 1]))
    return add_op("reshape", [input], {"shape": input.shape[:lo] + (merged,)
                                       + input.shape[hi + 1:]}, name)


def squeeze(input: Blob, axis: int | Sequence[int] | None = None,  # noqa: A002
            name: str | None = None) -> Blob:
    """Remove size-1 axes (all of them when ``axis`` is None)."""
    rank = len(input.shape)
    if axis is None:
        axes = {k for k, d in enumerate(input.shape) if d == 1}
    else:
        axes = set()
        for a in [axis] if isinstance(axis, int | np.integer) else axis:
            if not -rank <= a < rank or input.shape[a] != 1:
                raise arg_error("squeeze", f"axis={axis}: only existing size-1 axes can be "
                                f"squeezed from shape {input.shape}", input)
            axes.add(int(a) % rank)
    shape = tuple(d for k, d in enumerate(input.shape) if k not in axes)
    return add_op("reshape", [input], {"shape": shape}, name)


def expand_dims(input: Blob, axis: int, name: str | None = None) -> Blob:  # noqa: A002
    """Insert a size-1 axis at ``axis`` (``-1`` appends)."""
    rank = len(input.shape)
    if not -(rank + 1) <= axis <= rank:
        raise arg_error("expand_dims", f"axis={axis} is out of range [{-(rank + 1)}, {rank}]",
                        input)
    shape = list(input.shape)
    shape.insert(axis % (rank + 1), 1)
    return add_op("reshape", [input], {"shape": tuple(shape)}, name)


def _broadcasts(shape: tuple[int, ...], target: tuple[int, ...]) -> bool:
    try:
        return broadcast_shape(shape, target) == target
    except ShapeError:
        return False


def broadcast_like(x: Blob, like: Blob, broadcast_axes: Sequence[int] | None = None,
                   name: str | None = None) -> Blob:
    """Broadcast ``x`` to ``like.shape``.

    With ``broadcast_axes``, ``x`` is ``like``'s shape with those axes set to 1 or removed.
    Without, NumPy broadcasting applies (OneFlow would require every axis of ``x`` to be 1).
    """
    target = like.shape
    if broadcast_axes is not None:
        rank = len(target)
        axes = {norm_axis(int(a), rank) for a in broadcast_axes}
        kept = tuple(1 if k in axes else d for k, d in enumerate(target))
        removed = tuple(d for k, d in enumerate(target) if k not in axes)
        if x.shape not in (kept, removed or (1,)):
            raise arg_error("broadcast_like", f"x of shape {x.shape} does not match "
                            f"like {target} reduced over broadcast_axes={tuple(broadcast_axes)}"
                            f" (expected {kept} or {removed})", x, like)
        if x.shape != kept:
            x = add_op("reshape", [x], {"shape": kept})
    elif not _broadcasts(x.shape, target):
        raise arg_error("broadcast_like", f"cannot broadcast {x.shape} to {target}", x, like)
    return _m.broadcast_to(x, target, name) if x.shape != target else identity(x, name)


def stack(inputs: Sequence[Blob], axis: int = 0, name: str | None = None) -> Blob:
    """Stack blobs of one shape along a new axis ``axis``."""
    inputs = list(inputs)
    if not inputs:
        raise ValueError("stack: inputs must be a non-empty list of blobs")
    if len(inputs) == 1:
        return expand_dims(inputs[0], axis, name=name)
    return concat([expand_dims(b, axis) for b in inputs], axis=axis, name=name)


broadcast_add = _m.add
broadcast_sub = _m.subtract
broadcast_mul = _m.multiply
broadcast_div = _m.divide
broadcast_maximum = _m.maximum
broadcast_minimum = _m.minimum
broadcast_floor_mod = _u.mod
broadcast_equal = _u.equal
broadcast_not_equal = _u.not_equal
broadcast_less = _u.less
broadcast_less_equal = _u.less_equal
broadcast_greater = _u.greater
broadcast_greater_equal = _u.greater_equal

__all__ = [
    "broadcast_add", "broadcast_div", "broadcast_equal", "broadcast_floor_mod",
    "broadcast_greater", "broadcast_greater_equal", "broadcast_less", "broadcast_less_equal",
    "broadcast_like", "broadcast_maximum", "broadcast_minimum", "broadcast_mul",
    "broadcast_not_equal", "broadcast_sub", "cast", "concat", "constant", "constant_like",
    "expand_dims", "flatten", "gather", "identity", "one_hot", "ones_like", "reshape", "slice",
    "squeeze", "stack", "transpose", "where", "zeros_like",
]
