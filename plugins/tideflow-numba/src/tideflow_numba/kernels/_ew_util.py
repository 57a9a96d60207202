"""Plain-Python helpers of the elementwise kernels: buffers, broadcasting plans, scalars.

Nothing here is compiled. The kernel factories use these at lowering time (broadcast
analysis, scalar attributes converted to the array's type). In ``run`` the kernels pass
``a.ravel()`` to compiled code: a 1-D view of a C-contiguous buffer (every plan buffer),
a contiguous copy only for the strided arrays of the conformance tests; an output that
was copied so is written back by :func:`finish`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numba
import numpy as np

#: Element count from which the hot kernels run their ``prange`` (parallel) variant.
PAR_MIN = 1 << 16


def parallel(size: int) -> bool:
    """Whether an array of ``size`` elements gets a hot kernel's ``prange`` variant.

    Needs at least :data:`PAR_MIN` elements and more than one numba thread (with one
    thread the parallel variant would only cost compile time).
    """
    return size >= PAR_MIN and numba.config.NUMBA_NUM_THREADS > 1


def flat(a: np.ndarray) -> np.ndarray:
    """A 1-D C-ordered view of a C-contiguous ``a``; a copy when ``a`` is strided.

    The kernels call ``a.ravel()`` directly (the same thing, one call less). For an output
    buffer, a copy means the result must be written back with :func:`finish`.
    """
    return a.ravel()


def finish(o: np.ndarray, v: np.ndarray) -> None:
    """Write ``v = o.ravel()`` back into ``o`` when ``o`` is not contiguous (a copy then)."""
    if not o.flags.c_contiguous:
        o[...] = v.reshape(o.shape)


def broadcast_plan(out_shape: Sequence[int], in_shapes: Sequence[Sequence[int]]
                   ) -> tuple[np.ndarray, list[np.ndarray]]:
    """Collapse a NumPy broadcast of ``in_shapes`` to ``out_shape`` to a canonical form.

    Output dims of size 1 are dropped and neighbouring dims in which every input is either
    full or broadcast alike are merged, so the result has the smallest rank that describes
    the broadcast (1 for same-shape and scalar operands, 2 for a row or column operand).

    Args:
        out_shape: the broadcast shape.
        in_shapes: the input shapes (each broadcastable to ``out_shape``).

    Returns:
        ``(shape, strides)``: the canonical int64 shape (rank >= 1) and, per input, its
        int64 element strides in that shape (0 along the dims it is broadcast over) into
        its C-contiguous buffer.
    """
    rank = len(out_shape)
    dims: list[list[Any]] = []  # [size, pattern] with pattern[k]: input k is full there
    for d, n in enumerate(out_shape):
        if n == 1:
            continue
        pattern = []
        for s in in_shapes:
            k = d - (rank - len(s))
            pattern.append(k >= 0 and s[k] == n)
        if dims and dims[-1][1] == pattern:
            dims[-1][0] *= n
        else:
            dims.append([n, pattern])
    if not dims:
        dims = [[1, [True] * len(in_shapes)]]
    if any(size == 0 for size, _ in dims):
        dims = [[0, [True] * len(in_shapes)]]
    shape = np.array([size for size, _ in dims], np.int64)
    strides = []
    for k in range(len(in_shapes)):
        st = np.zeros(len(dims), np.int64)
        acc = 1
        for d in range(len(dims) - 1, -1, -1):
            if dims[d][1][k]:
                st[d] = acc
                acc *= dims[d][0]
        strides.append(st)
    return shape, strides


def scalar(value: Any, np_dtype: np.dtype) -> Any:
    """A scalar attribute as the kernel should see it for arrays of ``np_dtype``.

    Floating arrays get the value in their own type (NumPy treats Python scalars as weak,
    so ``float32_array * 0.1`` computes in float32); integer arrays get an int64 for an
    integral value and a float64 otherwise (the result is cast back when stored).
    """
    np_dtype = np.dtype(np_dtype)
    if np_dtype.kind == "f":
        return np_dtype.type(value)
    if isinstance(value, bool | int | np.integer) or float(value).is_integer():
        return np.int64(int(value))
    return np.float64(value)


def axis_split(shape: Sequence[int], axis: int) -> tuple[int, int, int]:
    """View ``shape`` as ``(outer, n, inner)`` with ``n`` the length of ``axis`` (normalized)."""
    outer = int(np.prod(shape[:axis], dtype=np.int64))
    inner = int(np.prod(shape[axis + 1:], dtype=np.int64))
    return outer, int(shape[axis]), inner
