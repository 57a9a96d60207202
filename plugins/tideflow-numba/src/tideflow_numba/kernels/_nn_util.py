"""Small helpers shared by the nn kernel modules (conv, pool, normalization).

:func:`contiguous` wraps a fast ``run(ins, outs)`` that assumes C-contiguous arrays: plan
buffers always are, so the wrapper only checks flags; strided inputs (conformance tests)
are copied, and a strided output is computed into a temporary and copied back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

Run = Callable[[list[Any], list[Any]], None]


def contiguous(fast: Run, inplace: Sequence[int] = ()) -> Run:
    """Wrap ``fast`` so that it always sees C-contiguous inputs and outputs.

    Args:
        fast: the kernel body; it may assume every array is C-contiguous.
        inplace: indices of inputs that ``fast`` updates in place (copied back when a
            contiguous copy had to be made).

    Returns:
        ``run(ins, outs)``: calls ``fast`` directly when every array is contiguous.
    """

    def run(ins: list[Any], outs: list[Any]) -> None:
        if all(a.flags.c_contiguous for a in ins) and all(o.flags.c_contiguous for o in outs):
            fast(ins, outs)
            return
        cins = [np.ascontiguousarray(a) for a in ins]
        couts = [o if o.flags.c_contiguous else np.empty(o.shape, o.dtype) for o in outs]
        fast(cins, couts)
        for o, c in zip(outs, couts, strict=True):
            if o is not c:
                o[...] = c
        for k in inplace:
            if cins[k] is not ins[k]:
                ins[k][...] = cins[k]

    return run


def scalar(value: float, dtype: Any) -> Any:
    """``value`` as a NumPy scalar of ``dtype`` (mirrors NumPy's weak Python scalars)."""
    return np.dtype(dtype).type(value)


def prod(values: Sequence[int]) -> int:
    """Product of ints (1 for an empty sequence)."""
    out = 1
    for v in values:
        out *= int(v)
    return out


def c_strides(shape: Sequence[int]) -> list[int]:
    """Element strides of a C-contiguous array of ``shape``."""
    strides = [1] * len(shape)
    for k in range(len(shape) - 2, -1, -1):
        strides[k] = strides[k + 1] * int(shape[k + 1])
    return strides


def offsets(shape: Sequence[int], axes: Sequence[int]) -> np.ndarray:
    """Flat offsets (int64, C order) of every index over ``axes`` of a contiguous array."""
    strides = c_strides(shape)
    off = np.zeros(1, np.int64)
    for a in sorted(axes):
        step = np.arange(int(shape[a]), dtype=np.int64) * strides[a]
        off = (off[:, None] + step[None, :]).reshape(-1)
    return off
