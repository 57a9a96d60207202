"""``flow.matmul``: matrix products (batched over leading axes) with transposes."""

from __future__ import annotations

from typing import Any

import numpy as np

from tideflow.framework.blob import Blob
from tideflow.framework.build import add_op
from tideflow.ops._util import check, meta, same_dtype
from tideflow.plugins.records import OpSpec


def _infer_matmul(attrs: dict, a: Any, b: Any) -> Any:
    check(len(a.shape) >= 2 and len(a.shape) == len(b.shape),
          f"matmul needs two blobs of equal rank >= 2; got {a.shape} and {b.shape}")
    check(a.shape[:-2] == b.shape[:-2], f"batch dims differ: {a.shape} and {b.shape}")
    m, k = a.shape[-2:][::-1] if attrs["transpose_a"] else a.shape[-2:]
    k2, n = b.shape[-2:][::-1] if attrs["transpose_b"] else b.shape[-2:]
    check(k == k2, f"inner dimensions differ: {k} vs {k2} (transpose_a="
          f"{attrs['transpose_a']}, transpose_b={attrs['transpose_b']})")
    return meta((*a.shape[:-2], m, n), same_dtype(a, b))


def _t(x: np.ndarray, flag: bool) -> np.ndarray:
    return np.swapaxes(x, -1, -2) if flag else x


def _matmul_kernel(attrs: dict, ins: list, outs: list) -> Any:
    ta, tb = attrs["transpose_a"], attrs["transpose_b"]

    def run(i: list, o: list) -> None:
        np.matmul(_t(i[0], ta), _t(i[1], tb), out=o[0])

    return run


def _grad_matmul(ctx: Any, dys: list) -> list:
    a, b = ctx.inputs
    ta, tb = ctx.attrs["transpose_a"], ctx.attrs["transpose_b"]
    dy = dys[0]
    # y = op(a) @ op(b); d op(a) = dy @ op(b)^T, d op(b) = op(a)^T @ dy
    if ta:
        da = matmul(b, dy, transpose_a=tb, transpose_b=True)
    else:
        da = matmul(dy, b, transpose_b=not tb)
    if tb:
        db = matmul(dy, a, transpose_a=True, transpose_b=ta)
    else:
        db = matmul(a, dy, transpose_a=not ta)
    return [da, db]


SPECS = [OpSpec("matmul", _infer_matmul, _matmul_kernel, _grad_matmul)]


def matmul(a: Blob, b: Blob, transpose_a: bool = False, transpose_b: bool = False,
           name: str | None = None) -> Blob:
    """Return ``op(a) @ op(b)`` where ``op`` transposes the last two axes when asked."""
    return add_op("matmul", [a, b], {"transpose_a": bool(transpose_a),
                                     "transpose_b": bool(transpose_b)}, name)
