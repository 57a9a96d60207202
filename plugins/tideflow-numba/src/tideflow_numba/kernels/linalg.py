"""Matrix product kernel: NumPy BLAS into the output buffer.

The factory picks the call once: ``np.dot(a, b, out=)`` for 2-d operands, ``np.matmul(a, b,
out=)`` for batched ones. A transposed operand is a transposed view of its buffer (no copy):
BLAS takes it as a transposed (Fortran-ordered) matrix.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tideflow_numba.kernels._rd_util import Run, with_contiguous_outputs


def matmul(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """``op(a) @ op(b)``, ``op`` transposing the last two axes where asked."""
    ta, tb = bool(attrs["transpose_a"]), bool(attrs["transpose_b"])
    if len(in_metas[0].shape) == 2:

        def run2(ins: list[Any], outs: list[Any]) -> None:
            a, b = ins
            np.dot(a.T if ta else a, b.T if tb else b, out=outs[0])

        return with_contiguous_outputs(run2)

    def run(ins: list[Any], outs: list[Any]) -> None:
        a, b = ins
        np.matmul(a.swapaxes(-1, -2) if ta else a, b.swapaxes(-1, -2) if tb else b,
                  out=outs[0])

    return run
