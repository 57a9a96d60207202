"""Shape planning shared by the reduce, array and loss kernels (no numba code here).

:func:`plan_reduce` turns ``(shape, reduced axes)`` into a canonical 5-d view
``(a, r1, b, r2, c)`` (kept, reduced, kept, reduced, kept), reducing to ``(a, b, c)``: size-1
axes are dropped and adjacent axes of the same kind merged. Three or more separate reduced
groups need a transposed copy (kept axes first, then reduced axes), described by ``perm``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

Run = Callable[[list[Any], list[Any]], None]


def cc(a: np.ndarray) -> np.ndarray:
    """``a`` itself when C-contiguous, else a contiguous copy (the slow path)."""
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def norm_axis(axis: int, rank: int) -> int:
    """A possibly negative axis as an index in ``[0, rank)`` (shapes are checked upstream)."""
    return int(axis) % rank if rank else 0


def norm_axes(axis: Any, rank: int) -> tuple[int, ...]:
    """``None`` / int / sequence of axes as a sorted tuple of distinct axes."""
    if axis is None:
        return tuple(range(rank))
    if isinstance(axis, int | np.integer):
        axis = [axis]
    return tuple(sorted({norm_axis(a, rank) for a in axis}))


def prod(dims: Sequence[int]) -> int:
    """Product of ``dims`` (1 for none)."""
    out = 1
    for d in dims:
        out *= int(d)
    return out


@dataclass(frozen=True)
class ReducePlan:
    """How to view an input for a reduction: optional transpose, then a 5-d shape."""

    perm: tuple[int, ...] | None
    tshape: tuple[int, ...]
    shape5: tuple[int, int, int, int, int]

    @property
    def out3(self) -> tuple[int, int, int]:
        """The reduced output as ``(a, b, c)``."""
        a, _, b, _, c = self.shape5
        return a, b, c

    def workspace(self, dtype: Any) -> np.ndarray | None:
        """A buffer for the transposed copy, or None when no transpose is needed."""
        return None if self.perm is None else np.empty(self.tshape, dtype)

    def view5(self, x: np.ndarray, ws: np.ndarray | None) -> np.ndarray:
        """The input as a contiguous 5-d array (copied into ``ws`` when transposed)."""
        if ws is None:
            return cc(x).reshape(self.shape5)
        np.copyto(ws, x.transpose(self.perm))
        return ws.reshape(self.shape5)


def plan_reduce(shape: Sequence[int], axes: Sequence[int]) -> ReducePlan:
    """Plan the reduction of ``shape`` over ``axes`` (see the module docstring)."""
    axes = set(axes)
    groups: list[list[int]] = []  # [size, reduced]
    for i, d in enumerate(shape):
        if d == 1:
            continue
        red = int(i in axes)
        if groups and groups[-1][1] == red:
            groups[-1][0] *= d
        else:
            groups.append([d, red])
    if not groups or groups[0][1]:
        groups.insert(0, [1, 0])
    if groups[-1][1]:
        groups.append([1, 0])
    sizes = [g[0] for g in groups]
    if len(sizes) <= 5:
        sizes = [1] * (5 - len(sizes)) + sizes
        return ReducePlan(None, tuple(shape), tuple(sizes))  # type: ignore[arg-type]
    kept = [i for i in range(len(shape)) if i not in axes]
    red = sorted(axes)
    perm = tuple(kept + red)
    tshape = tuple(shape[p] for p in perm)
    shape5 = (1, 1, prod(shape[i] for i in kept), prod(shape[i] for i in red), 1)
    return ReducePlan(perm, tshape, shape5)


def plan_broadcast(out_shape: Sequence[int], in_shapes: Sequence[Sequence[int]],
                   rank: int = 4) -> tuple[tuple[int, ...], list[tuple[int, ...]]] | None:
    """Canonical ``rank``-d shapes of a broadcast: ``(out, [operands])``, or None.

    Size-1 output axes are dropped and adjacent axes merged where every operand is either
    full on both or broadcast on both; None when more than ``rank`` axes remain.
    """
    n = len(out_shape)
    padded = [(1,) * (n - len(s)) + tuple(s) for s in in_shapes]
    groups: list[list[Any]] = []  # [out size, [operand sizes], status]
    for d in range(n):
        if out_shape[d] == 1:
            continue
        status = tuple(p[d] != 1 for p in padded)
        if groups and groups[-1][2] == status:
            groups[-1][0] *= out_shape[d]
            groups[-1][1] = [s * p[d] for s, p in zip(groups[-1][1], padded)]
        else:
            groups.append([out_shape[d], [p[d] for p in padded], status])
    if len(groups) > rank:
        return None
    pad = (1,) * (rank - len(groups))
    out = pad + tuple(g[0] for g in groups)
    ins = [pad + tuple(g[1][k] for g in groups) for k in range(len(in_shapes))]
    return out, ins


def with_contiguous_outputs(run: Run) -> Run:
    """Wrap ``run`` so that non-contiguous outputs get a contiguous temporary, copied back."""

    def wrapped(ins: list[Any], outs: list[Any]) -> None:
        for o in outs:
            if not o.flags.c_contiguous:
                break
        else:
            run(ins, outs)
            return
        tmp = [o if o.flags.c_contiguous else np.empty(o.shape, o.dtype) for o in outs]
        run(ins, tmp)
        for o, t in zip(outs, tmp):
            if o is not t:
                np.copyto(o, t)

    return wrapped
