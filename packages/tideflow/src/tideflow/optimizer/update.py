"""Building an update op from a family's pure NumPy update rule.

A family writes ``update(param, grad, slots, lr, step, hyper) -> (param, slots)`` once, as
a pure function over arrays, and turns it into an op with :func:`update_op_spec`. The op's
inputs are ``(param, grad, *slots, lr, step[, skip])`` (a slot has the variable's shape, or ``(1,)``
for per-variable scalar state); it writes the new parameter and slots in place and has no
outputs. ``lr`` is a Python float (the scheduled rate), ``step`` the train step read before
the increment (0 at the first update), ``hyper`` the op's attributes (the optimizer's
``hyperparams()`` plus ``weight_decay``). The optional last input ``skip`` (int64, shape
(1,)) is the non-finite gradient count under dynamic loss scaling: when nonzero the update
changes nothing. A backend's own update kernel must honour it too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tideflow.ops._util import check
from tideflow.plugins.records import OpSpec

UpdateFn = Callable[..., tuple[np.ndarray, tuple[np.ndarray, ...]]]


def _infer(num_slots: int) -> Callable[..., tuple[()]]:
    def infer(attrs: dict, param: Any, grad: Any, *rest: Any) -> tuple[()]:
        check(len(rest) in (num_slots + 2, num_slots + 3),
              f"expects {num_slots} slots, lr, step (and an optional skip count); received "
              f"{len(rest)} extra inputs")
        check(grad.shape == param.shape,
              f"gradient shape {grad.shape} differs from the variable's {param.shape}")
        for s in rest[:num_slots]:
            check(s.shape in (param.shape, (1,)),
                  f"slot shape {s.shape} is neither the variable's {param.shape} nor (1,)")
        return ()

    return infer


def reference_kernel(fn: UpdateFn, num_slots: int) -> Callable[..., Any]:
    """Kernel factory running ``fn`` and writing the results into the buffers."""

    def make(attrs: dict, ins: list, outs: list) -> Callable[[list, list], None]:
        hyper = dict(attrs)
        skip_at = 4 + num_slots if len(ins) > 4 + num_slots else None

        def run(i: list, o: list) -> None:
            if skip_at is not None and i[skip_at][0] != 0:
                return  # a non-finite gradient this step: change nothing
            param, grad = i[0], i[1]
            slots = tuple(i[2:2 + num_slots])
            lr = float(i[2 + num_slots][0])
            step = int(i[3 + num_slots][0])
            new_param, new_slots = fn(param, grad, slots, lr, step, hyper)
            param[...] = new_param
            for s, ns in zip(slots, new_slots, strict=True):
                s[...] = ns

        return run

    return make


def update_op_spec(name: str, fn: UpdateFn, num_slots: int, summary: str = "") -> OpSpec:
    """Return the stateful :class:`OpSpec` of update rule ``fn`` with ``num_slots`` slots."""
    return OpSpec(name, _infer(num_slots), reference_kernel(fn, num_slots), None,
                  stateful=True, summary=summary)


def _infer_sparse(num_slots: int) -> Callable[..., tuple[()]]:
    def infer(attrs: dict, param: Any, indices: Any, values: Any, *rest: Any) -> tuple[()]:
        check(len(rest) in (num_slots + 2, num_slots + 3),
              f"expects {num_slots} slots, lr, step (and an optional skip count); received "
              f"{len(rest)} extra inputs")
        check(indices.dtype.np_dtype.kind in "iu", f"indices must be integers; received "
              f"{indices.dtype.name}")
        check(values.shape == indices.shape + param.shape[1:],
              f"values shape {values.shape} must be indices.shape + variable.shape[1:] = "
              f"{indices.shape + param.shape[1:]}")
        return ()

    return infer


def sparse_reference_kernel(fn: UpdateFn, num_slots: int) -> Callable[..., Any]:
    """Kernel factory applying dense rule ``fn`` to the rows of an indexed-slices gradient.

    Duplicate indices are summed, absent rows (and their slots) stay untouched, out-of-range
    indices are ignored (OneFlow's "lazy" update, spec §10).
    """

    def make(attrs: dict, ins: list, outs: list) -> Callable[[list, list], None]:
        hyper = dict(attrs)
        row_shape = tuple(ins[0].shape[1:])
        n_rows = ins[0].shape[0]
        skip_at = 5 + num_slots if len(ins) > 5 + num_slots else None

        def run(i: list, o: list) -> None:
            if skip_at is not None and i[skip_at][0] != 0:
                return
            param, indices, values = i[0], i[1], i[2]
            slots = tuple(i[3:3 + num_slots])
            lr = float(i[3 + num_slots][0])
            step = int(i[4 + num_slots][0])
            flat = indices.reshape(-1)
            rows, inverse = np.unique(flat, return_inverse=True)
            summed = np.zeros((rows.size, *row_shape), dtype=values.dtype)
            np.add.at(summed, inverse, values.reshape(-1, *row_shape))
            keep = (rows >= 0) & (rows < n_rows)
            rows, summed = rows[keep], summed[keep]
            per_row = tuple(s[rows] if s.shape == param.shape else s for s in slots)
            new_param, new_slots = fn(param[rows], summed, per_row, lr, step, hyper)
            param[rows] = new_param
            for s, ns in zip(slots, new_slots, strict=True):
                if s.shape == param.shape:
                    s[rows] = ns
                else:
                    s[...] = ns

        return run

    return make


def indexed_slices_op_spec(name: str, fn: UpdateFn, num_slots: int, summary: str = "") -> OpSpec:
    """The stateful :class:`OpSpec` of the lazy (row-sparse) form of update rule ``fn``.

    Inputs are ``(param, indices, values, *slots, lr, step)``; ``values`` has shape
    ``indices.shape + param.shape[1:]`` (the gradient rows of an axis-0 ``gather``).
    """
    return OpSpec(name, _infer_sparse(num_slots), sparse_reference_kernel(fn, num_slots), None,
                  stateful=True, summary=summary)


def fused_reference_kernel(op_type: str) -> Callable[..., Any]:
    """The NumPy reference of ``op_type``'s ``"fused"`` variant (docs/plugins/fused-updates.md).

    Applies the op's per-variable reference kernel to each segment of the flat spans, after
    clipping the whole flat gradient to ``attrs["clip_norm"]`` when set. This is the oracle
    the conformance kit compares fused kernels with, and what a backend may register as its
    fused kernel when it only wants the clipping folded in.
    """
    from tideflow.framework.graph import TensorMeta
    from tideflow.plugins.registry import get_registry

    reference = get_registry().op(op_type).reference

    def make(attrs: dict, ins: list, outs: list) -> Callable[[list, list], None]:
        offsets = attrs["segments"]
        k = len(offsets) - 1
        has_skip = bool(attrs.get("has_skip"))
        clip = attrs.get("clip_norm")
        shared = {a: v for a, v in attrs.items()
                  if a not in ("segments", "weight_decay", "clip_norm", "has_skip")}
        n_tail = 3 if has_skip else 2
        slot_metas = ins[2:len(ins) - n_tail]
        tail_metas = ins[len(ins) - n_tail:]
        per_var = []
        for j in range(k):
            size = offsets[j + 1] - offsets[j]
            var = TensorMeta((size,), ins[0].dtype)
            metas = [var, var, *[var if m.shape[0] == ins[0].shape[0] else
                                 TensorMeta((1,), m.dtype) for m in slot_metas], *tail_metas]
            per_var.append(reference({**shared, "weight_decay": attrs["weight_decay"][j]},
                                     metas, []))

        def run(i: list, o: list) -> None:
            if has_skip and i[-1][0] != 0:
                return
            param, grad = i[0], i[1]
            if clip is not None:
                norm = float(np.sqrt(np.dot(grad.astype(np.float64), grad.astype(np.float64))))
                factor = clip / max(norm, clip) if clip > 0 else 0.0
                grad = np.multiply(grad, factor).astype(grad.dtype, copy=False)
            slots = i[2:len(i) - n_tail]
            tail = i[len(i) - n_tail:]
            n = param.shape[0]
            for j in range(k):
                a, b = offsets[j], offsets[j + 1]
                seg = [s[a:b] if s.shape[0] == n else s[j:j + 1] for s in slots]
                per_var[j]([param[a:b], grad[a:b], *seg, *tail], [])

        return run

    return make
