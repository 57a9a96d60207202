"""Array kernels: copies, reshapes, broadcasts, transposes, slicing, casts, selection.

Pure data movement (reshape, identity, copy, broadcast_to, transpose, concat, split, slice,
cast) runs one NumPy copy into the output (slice assignment, ``np.copyto``,
``np.concatenate(out=)``: compiled loops that allocate nothing), with index tuples and
views planned in the factory. The selection ops (where, one_hot, gather and their
gradients) run compiled loops of :mod:`~tideflow_numba.kernels._rd_array`.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from tideflow_numba.kernels._rd_array import (
    gather3,
    gather_grad3,
    one_hot3,
    where4,
    where_grad4,
)
from tideflow_numba.kernels._rd_util import (
    Run,
    cc,
    norm_axis,
    plan_broadcast,
    prod,
    with_contiguous_outputs,
)

# ---------------------------------------------------------------- copies


def _copy(attrs: dict, in_metas: list, out_metas: list) -> Run:
    def run(ins: list[Any], outs: list[Any]) -> None:
        outs[0][...] = ins[0]  # NumPy's fastest copy (broadcasting for broadcast_to)

    return run


def reshape(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Copy the input into the output of the new shape (same element order)."""
    shape = tuple(out_metas[0].shape)

    def run(ins: list[Any], outs: list[Any]) -> None:
        outs[0][...] = ins[0].reshape(shape)  # a view unless the input is not contiguous

    return run


def identity(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Copy the input."""
    return _copy(attrs, in_metas, out_metas)


def copy(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Copy the input (a variable's value as read in the forward)."""
    return _copy(attrs, in_metas, out_metas)


def broadcast_to(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Broadcast the input to ``attrs["shape"]``."""
    return _copy(attrs, in_metas, out_metas)


def transpose(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Permute the axes: output axis ``k`` is input axis ``perm[k]``."""
    perm = tuple(int(p) for p in attrs["perm"])

    def run(ins: list[Any], outs: list[Any]) -> None:
        np.copyto(outs[0], ins[0].transpose(perm))

    return run


def cast(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Convert to the output dtype (float to int truncates toward zero)."""

    def run(ins: list[Any], outs: list[Any]) -> None:
        np.copyto(outs[0], ins[0], casting="unsafe")

    return run


def _fill(attrs: dict, in_metas: list, out_metas: list) -> Run:
    value = attrs["value"]

    def run(ins: list[Any], outs: list[Any]) -> None:
        outs[0].fill(value)

    return run


def constant(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Fill the output with ``attrs["value"]``."""
    return _fill(attrs, in_metas, out_metas)


def constant_like(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Fill the output (shaped like the input) with ``attrs["value"]``."""
    return _fill(attrs, in_metas, out_metas)


# ---------------------------------------------------------------- concat, split, slice


def concat(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Concatenate the inputs along ``attrs["axis"]``."""
    axis = norm_axis(attrs["axis"], len(in_metas[0].shape))

    def run(ins: list[Any], outs: list[Any]) -> None:
        np.concatenate(ins, axis=axis, out=outs[0])

    return run


def split(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Split along ``attrs["axis"]`` into pieces of ``attrs["sizes"]``."""
    axis = norm_axis(attrs["axis"], len(in_metas[0].shape))
    lead = (builtins.slice(None),) * axis
    index = []
    start = 0
    for size in attrs["sizes"]:
        index.append((*lead, builtins.slice(start, start + int(size))))
        start += int(size)

    def run(ins: list[Any], outs: list[Any]) -> None:
        x = ins[0]
        for out, ix in zip(outs, index):
            np.copyto(out, x[ix])

    return run


def _slice_index(attrs: dict, shape: tuple[int, ...]) -> tuple[builtins.slice, ...]:
    """OneFlow's ``flow.slice`` bounds (validated by the op's inference)."""
    out = []
    for b, s, d in zip(attrs["begin"], attrs["size"], shape):
        start = (0 if b is None else int(b)) % d if d else 0
        stop = d if s is None or s == -1 else min(start + int(s), d)
        out.append(builtins.slice(start, stop))
    return tuple(out)


def slice(attrs: dict, in_metas: list, out_metas: list) -> Run:  # noqa: A001
    """Copy the block ``begin .. begin + size`` of the input."""
    index = _slice_index(attrs, tuple(in_metas[0].shape))

    def run(ins: list[Any], outs: list[Any]) -> None:
        np.copyto(outs[0], ins[0][index])

    return run


def slice_grad(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Zeros of ``attrs["shape"]`` with ``dy`` written into the sliced block."""
    index = _slice_index(attrs, tuple(out_metas[0].shape))

    def run(ins: list[Any], outs: list[Any]) -> None:
        out = outs[0]
        out.fill(0)
        np.copyto(out[index], ins[0])

    return run


# ---------------------------------------------------------------- where


def where(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """``x`` where ``cond != 0`` else ``y``; the three operands broadcast."""
    plan = plan_broadcast(out_metas[0].shape, [m.shape for m in in_metas])
    if plan is None:  # more than 4 separate broadcast patterns: NumPy with a mask buffer
        mask = np.empty(in_metas[0].shape, np.bool_)

        def slow(ins: list[Any], outs: list[Any]) -> None:
            cond, x, y = ins
            np.copyto(outs[0], y)
            np.not_equal(cond, 0, out=mask)
            np.copyto(outs[0], x, where=mask)

        return slow
    out4, (c4, x4, y4) = plan

    def run(ins: list[Any], outs: list[Any]) -> None:
        cond, x, y = ins
        where4(cc(cond).reshape(c4), cc(x).reshape(x4), cc(y).reshape(y4),
               outs[0].reshape(out4))

    return with_contiguous_outputs(run)


def where_grad(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """From ``(cond, dy)``: ``dy`` where ``cond != 0`` (else 0), and the complement."""
    shape = tuple(out_metas[0].shape)
    plan = plan_broadcast(shape, [in_metas[0].shape, shape])
    if plan is None:
        mask = np.empty(in_metas[0].shape, np.bool_)

        def slow(ins: list[Any], outs: list[Any]) -> None:
            cond, dy = ins
            np.not_equal(cond, 0, out=mask)
            outs[0].fill(0)
            np.copyto(outs[0], dy, where=mask)
            np.copyto(outs[1], dy)
            np.copyto(outs[1], 0, where=mask)

        return slow
    out4, (c4, d4) = plan

    def run(ins: list[Any], outs: list[Any]) -> None:
        cond, dy = ins
        where_grad4(cc(cond).reshape(c4), cc(dy).reshape(d4), outs[0].reshape(out4),
                    outs[1].reshape(out4))

    return with_contiguous_outputs(run)


# ---------------------------------------------------------------- one_hot, gather


def one_hot(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """One-hot rows along a new axis ``attrs["axis"]``; out-of-range indices stay all off."""
    out_shape = tuple(out_metas[0].shape)
    dtype = out_metas[0].dtype.np_dtype
    axis = norm_axis(attrs["axis"], len(out_shape))
    shape = tuple(in_metas[0].shape)
    outer, inner = prod(shape[:axis]), prod(shape[axis:])
    depth = out_shape[axis]
    on, off = dtype.type(attrs["on_value"]), dtype.type(attrs["off_value"])

    def run(ins: list[Any], outs: list[Any]) -> None:
        one_hot3(cc(ins[0]).reshape(outer, inner), outs[0].reshape(outer, depth, inner), on,
                 off)

    return with_contiguous_outputs(run)


def gather(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Slices of ``params`` along ``attrs["axis"]`` at ``indices``; zeros when out of range."""
    shape = tuple(in_metas[0].shape)
    axis = norm_axis(attrs["axis"], len(shape))
    p3 = (prod(shape[:axis]), shape[axis], prod(shape[axis + 1:]))
    m = prod(in_metas[1].shape)
    o3 = (p3[0], m, p3[2])

    def run(ins: list[Any], outs: list[Any]) -> None:
        params, idx = ins
        gather3(cc(params).reshape(p3), cc(idx).reshape(m), outs[0].reshape(o3))

    return with_contiguous_outputs(run)


def gather_grad(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Scatter-add ``dy`` into zeros of ``attrs["shape"]`` (duplicate indices add up)."""
    shape = tuple(attrs["shape"])
    axis = norm_axis(attrs["axis"], len(shape))
    o3 = (prod(shape[:axis]), shape[axis], prod(shape[axis + 1:]))
    m = prod(in_metas[1].shape)
    d3 = (o3[0], m, o3[2])

    def run(ins: list[Any], outs: list[Any]) -> None:
        dy, idx = ins
        gather_grad3(cc(dy).reshape(d3), cc(idx).reshape(m), outs[0].reshape(o3))

    return with_contiguous_outputs(run)
