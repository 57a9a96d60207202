"""Reduction kernels: sums, extrema, products, any/all, logsumexp, their gradients, indices.

Every reduction views its input as the canonical 5-d ``(a, r1, b, r2, c)`` of
:func:`~tideflow_numba.kernels._rd_util.plan_reduce` (planned once, in the factory; a
transposed copy into a factory-allocated workspace only for three or more separate reduced
axis groups) and runs one compiled loop of :mod:`~tideflow_numba.kernels._rd_reduce`.
Float sums and products accumulate in float64, integer ones in int64.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tideflow_numba.kernels._rd_reduce import (
    ALL,
    ANY,
    MAX,
    MIN,
    PROD,
    SUM,
    arg3,
    extremum_grad5,
    logsumexp5,
    prod_grad5,
    reduce5,
    top_k_rows,
)
from tideflow_numba.kernels._rd_util import (
    Run,
    cc,
    norm_axes,
    norm_axis,
    plan_reduce,
    prod,
    with_contiguous_outputs,
)


def _acc_dtype(dtype: np.dtype) -> type:
    return np.float64 if dtype.kind == "f" else np.int64


def _reduce_over(shape: tuple[int, ...], axes: tuple[int, ...], dtype: np.dtype,
                 op: int) -> Run:
    plan = plan_reduce(shape, axes)
    _, _, nb, _, nc = plan.shape5
    acc = np.empty((nb, nc), _acc_dtype(dtype))
    ws = plan.workspace(dtype)
    out3 = plan.out3

    def run(ins: list[Any], outs: list[Any]) -> None:
        reduce5(plan.view5(ins[0], ws), outs[0].reshape(out3), acc, op)

    return with_contiguous_outputs(run)


def _reduce(attrs: dict, in_metas: list, op: int) -> Run:
    shape = tuple(in_metas[0].shape)
    return _reduce_over(shape, norm_axes(attrs["axis"], len(shape)),
                        in_metas[0].dtype.np_dtype, op)


def reduce_sum(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Sum over ``attrs["axis"]`` (float64 accumulation for floats)."""
    return _reduce(attrs, in_metas, SUM)


def reduce_sum_to(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Sum over the axes broadcasting added to reach the input from ``attrs["shape"]``."""
    shape = tuple(in_metas[0].shape)
    target = tuple(attrs["shape"])
    lead = len(shape) - len(target)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, d in enumerate(target) if d == 1 and shape[lead + i] != 1)
    return _reduce_over(shape, axes, in_metas[0].dtype.np_dtype, SUM)


def reduce_max(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Maximum over ``attrs["axis"]`` (NaN propagates)."""
    return _reduce(attrs, in_metas, MAX)


def reduce_min(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Minimum over ``attrs["axis"]`` (NaN propagates)."""
    return _reduce(attrs, in_metas, MIN)


def reduce_prod(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Product over ``attrs["axis"]``."""
    return _reduce(attrs, in_metas, PROD)


def reduce_any(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Whether any element over ``attrs["axis"]`` is nonzero, as int8 0/1."""
    return _reduce(attrs, in_metas, ANY)


def reduce_all(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Whether every element over ``attrs["axis"]`` is nonzero, as int8 0/1."""
    return _reduce(attrs, in_metas, ALL)


def reduce_logsumexp(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """``log(sum(exp(x - m))) + m`` over ``attrs["axis"]``, ``m`` the (finite) maximum."""
    shape = tuple(in_metas[0].shape)
    dtype = in_metas[0].dtype.np_dtype
    plan = plan_reduce(shape, norm_axes(attrs["axis"], len(shape)))
    _, _, nb, _, nc = plan.shape5
    m = np.empty((nb, nc), dtype)
    s = np.empty((nb, nc), np.float64)
    ws = plan.workspace(dtype)
    out3 = plan.out3

    def run(ins: list[Any], outs: list[Any]) -> None:
        logsumexp5(plan.view5(ins[0], ws), outs[0].reshape(out3), m, s)

    return with_contiguous_outputs(run)


def _full_shape_grad(attrs: dict, in_metas: list,
                     body: Any) -> Run:
    """A gradient whose output is shaped like input 0: ``body(x5, dx5, *rest3)``."""
    shape = tuple(in_metas[0].shape)
    dtype = in_metas[0].dtype.np_dtype
    plan = plan_reduce(shape, norm_axes(attrs["axis"], len(shape)))
    ws = plan.workspace(dtype)
    dws = plan.workspace(dtype)
    out3 = plan.out3

    def run(ins: list[Any], outs: list[Any]) -> None:
        x5 = plan.view5(ins[0], ws)
        rest = [cc(a).reshape(out3) for a in ins[1:]]
        if dws is None:
            body(x5, outs[0].reshape(plan.shape5), *rest)
        else:
            body(x5, dws.reshape(plan.shape5), *rest)
            np.copyto(outs[0].transpose(plan.perm), dws)

    return with_contiguous_outputs(run)


def reduce_extremum_grad(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """``(x == y) * dy / count`` from ``(x, y, dy)``: ties split the gradient evenly."""
    plan = plan_reduce(tuple(in_metas[0].shape),
                       norm_axes(attrs["axis"], len(in_metas[0].shape)))
    cnt = np.empty((plan.shape5[2], plan.shape5[4]), np.float64)

    def body(x5: np.ndarray, dx5: np.ndarray, y: np.ndarray, dy: np.ndarray) -> None:
        extremum_grad5(x5, y, dy, dx5, cnt)

    return _full_shape_grad(attrs, in_metas, body)


def reduce_prod_grad(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """``dy`` times the product of the other elements of each group, from ``(x, dy)``."""
    one = _acc_dtype(in_metas[0].dtype.np_dtype)(1)

    def body(x5: np.ndarray, dx5: np.ndarray, dy: np.ndarray) -> None:
        prod_grad5(x5, dy, dx5, one)

    return _full_shape_grad(attrs, in_metas, body)


def _arg(attrs: dict, in_metas: list, is_max: bool) -> Run:
    shape = tuple(in_metas[0].shape)
    axis = norm_axis(attrs["axis"], len(shape))
    shape3 = (prod(shape[:axis]), shape[axis], prod(shape[axis + 1:]))
    out2 = (shape3[0], shape3[2])
    fn = "argmax" if is_max else "argmin"

    def run(ins: list[Any], outs: list[Any]) -> None:
        if shape3[1] == 0 and outs[0].size:
            raise ValueError(f"attempt to get {fn} of an empty sequence")
        arg3(cc(ins[0]).reshape(shape3), outs[0].reshape(out2), is_max)

    return with_contiguous_outputs(run)


def argmax(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Index (int32) of the first maximum along ``attrs["axis"]`` (the first NaN wins)."""
    return _arg(attrs, in_metas, True)


def argmin(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Index (int32) of the first minimum along ``attrs["axis"]`` (the first NaN wins)."""
    return _arg(attrs, in_metas, False)


def top_k(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Indices (int32) of the ``k`` largest entries of the last axis, largest first.

    Equal values are listed by increasing index and NaN counts as the largest value, as in
    the reference's stable sort.
    """
    shape = tuple(in_metas[0].shape)
    n = shape[-1]
    rows = prod(shape[:-1])
    k = tuple(out_metas[0].shape)[-1]
    idx = np.empty(n, np.int64)
    tmp = np.empty(n, np.int64)

    def run(ins: list[Any], outs: list[Any]) -> None:
        top_k_rows(cc(ins[0]).reshape(rows, n), outs[0].reshape(rows, k), idx, tmp)

    return with_contiguous_outputs(run)
