"""Small helpers shared by op definitions: checks, metas, broadcasting, blob coercion."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tideflow.dtypes import DType
from tideflow.errors import ShapeError
from tideflow.framework.graph import TensorMeta


def check(cond: bool, msg: str) -> None:
    """Raise :class:`ShapeError` with ``msg`` unless ``cond``."""
    if not cond:
        raise ShapeError(msg)


def meta(shape: Sequence[int], dtype: DType) -> TensorMeta:
    """Build a :class:`TensorMeta`; a rank-0 shape becomes ``(1,)`` as in OneFlow."""
    shape = tuple(int(d) for d in shape)
    return TensorMeta(shape if shape else (1,), dtype)


def same_dtype(*metas: TensorMeta) -> DType:
    """Return the common dtype of ``metas`` or raise naming both (no silent casts)."""
    d = metas[0].dtype
    for m in metas[1:]:
        check(m.dtype == d, f"dtypes differ: {d.name} and {m.dtype.name}; cast one explicitly")
    return d


def broadcast_shape(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...]:
    """NumPy broadcasting of two shapes, or :class:`ShapeError`."""
    try:
        return tuple(np.broadcast_shapes(tuple(a), tuple(b)))
    except ValueError:
        raise ShapeError(f"shapes {tuple(a)} and {tuple(b)} cannot be broadcast") from None


def norm_axis(axis: int, rank: int, what: str = "axis") -> int:
    """Normalize a possibly negative axis, or raise naming it."""
    check(-rank <= axis < rank, f"{what}={axis} is out of range for rank {rank}")
    return axis % rank


def norm_axes(axis: Any, rank: int) -> tuple[int, ...]:
    """Normalize ``None`` / int / sequence of axes to a sorted tuple."""
    if axis is None:
        return tuple(range(rank))
    if isinstance(axis, int | np.integer):
        axis = [int(axis)]
    out = sorted({norm_axis(int(a), rank) for a in axis})
    return tuple(out)


def elementwise_kernel(fn: Any) -> Any:
    """Kernel factory for ``fn(*ins, out=outs[0])`` ufunc-style functions."""

    def make(attrs: dict, ins: list, outs: list) -> Any:
        def run(i: list, o: list) -> None:
            fn(*i, out=o[0])

        return run

    return make


def unbroadcast(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``x`` over the axes that broadcasting added to reach ``x.shape`` from ``shape``."""
    if x.shape == shape:
        return x
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, d in enumerate(shape) if d == 1 and x.shape[lead + i] != 1
    )
    return x.sum(axis=axes).reshape(shape)
