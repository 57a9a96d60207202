"""The conformance check of a fused multi-tensor update kernel (``variant="fused"``).

A fused kernel updates ``k`` variables over flat buffers (``docs/plugins/fused-updates.md``).
:func:`check_fused` draws three variables from the op's per-variable sample (three draws,
cut to :data:`SIZES` elements), concatenates parameters, gradients and element slots into
flat arrays and per-variable scalar slots (shape ``(1,)``) into ``(k,)`` arrays, gives each
variable its own weight decay (one of them 0), and compares the kernel with the op's NumPy
reference applied variable by variable, in three cases: no clipping; a clip norm below the
gradients' global norm (the reference then receives the gradients scaled by
``clip_by_global_norm``'s reference kernel) with a zero skip count; and a nonzero skip count
(nothing may change). The gradient buffer must come back unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tideflow.dtypes import as_dtype
from tideflow.framework.graph import TensorMeta
from tideflow.plugins.registry import get_registry

#: element counts of the three variables of a fused check.
SIZES = (15, 7, 11)

Compare = Callable[[str, np.ndarray, np.ndarray], None]


def _metas(arrays: list[np.ndarray]) -> list[TensorMeta]:
    return [TensorMeta(tuple(a.shape), as_dtype(a.dtype)) for a in arrays]


def _split(where: str, ins: list[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray,
                                                         np.ndarray]:
    """``([param, grad, *slots], lr, step)`` of an update-op sample (a skip count dropped)."""
    ins = [np.asarray(a) for a in ins]
    if len(ins) >= 5 and all(a.dtype.kind in "iu" for a in ins[-2:]):
        ins = ins[:-1]  # (..., lr, step, skip)
    if len(ins) < 4 or ins[-1].dtype.kind not in "iu" or ins[-2].dtype.kind != "f":
        raise AssertionError(f"{where}: a fused kernel needs an update-op sample "
                             "(param, grad, *slots, lr, step)")
    return ins[:-2], ins[-2], ins[-1]


def _draw(where: str, fn: Callable[..., Any], dtype: str | None
          ) -> tuple[dict[str, Any], list[list[np.ndarray]], np.ndarray, np.ndarray]:
    """Three variables ``[param, grad, *slots]`` (scalar slots kept (1,)), attrs, lr, step."""
    rng = np.random.default_rng(0)
    variables: list[list[np.ndarray]] = []
    attrs: dict[str, Any] = {}
    lr = step = None
    for size in SIZES:
        attrs_j, ins, _ = fn(rng)
        arrays, lr_j, step_j = _split(where, ins)
        param = arrays[0]
        scalar = [a.shape == (1,) and param.shape != (1,) for a in arrays]
        cut = min(size, param.size)
        var = [a.astype(dtype or a.dtype) if s else
               np.ascontiguousarray(a.reshape(-1)[:cut], dtype=dtype or a.dtype)
               for a, s in zip(arrays, scalar, strict=True)]
        variables.append(var)
        if lr is None:
            attrs, lr, step = attrs_j, lr_j, step_j
    return attrs, variables, lr, step


def _reference(op: str, attrs: dict[str, Any], variables: list[list[np.ndarray]],
               wds: list[float], lr: np.ndarray, step: np.ndarray,
               clip: float | None) -> list[list[np.ndarray]]:
    """The per-variable reference results (after clipping the gradients as the core does)."""
    reg = get_registry()
    grads = [v[1] for v in variables]
    if clip is not None:
        metas = _metas(grads)
        clipped = [np.empty_like(g) for g in grads]
        reg.op("clip_by_global_norm").reference({"clip_norm": clip}, metas, metas)(
            grads, clipped)
        grads = clipped
    out = []
    for var, g, wd in zip(variables, grads, wds, strict=True):
        ins = [a.copy() for a in (var[0], g, *var[2:], lr, step)]
        reg.op(op).reference({**attrs, "weight_decay": wd}, _metas(ins), [])(ins, [])
        out.append([ins[0], var[1], *ins[2:2 + len(var) - 2]])
    return out


def _concat(parts: list[list[np.ndarray]]) -> list[np.ndarray]:
    return [np.concatenate([p[k].reshape(-1) for p in parts]) for k in range(len(parts[0]))]


def check_fused(op: str, kernel: Any, fn: Callable[..., Any], floats: list[str],
                where: str, compare: Compare) -> None:
    """Run fused kernel factory ``kernel`` of ``op`` against the per-variable reference.

    Args:
        op: the update op.
        kernel: the fused kernel factory.
        fn: the op's per-variable sample.
        floats: dtypes to check (cast of parameters, gradients and slots).
        where: the kernel's description, for messages.
        compare: ``compare(what, got, want)`` raising AssertionError on a mismatch.
    """
    for dtype in floats or [None]:
        attrs, variables, lr, step = _draw(where, fn, dtype)
        base = float(attrs.get("weight_decay") or 0.0) or 0.01
        wds = [base * (j + 1) if j != 1 else 0.0 for j in range(len(variables))]
        sizes = [v[0].size for v in variables]
        segments = tuple(int(o) for o in np.cumsum([0, *sizes]))
        grads = np.concatenate([v[1] for v in variables]).astype(np.float64)
        c = 0.5 * float(np.sqrt(np.dot(grads, grads)))
        hyper = {k: v for k, v in attrs.items() if k != "weight_decay"}
        names = ["param", "grad", *(f"slot {k}" for k in range(len(variables[0]) - 2))]
        cases = [("no clip", None, None), (f"clip_norm={c:.4g}, skip=0", c, 0),
                 (f"clip_norm={c:.4g}, skip=1", c, 1)]
        for label, clip, skip in cases:
            flat = _concat(variables)
            ins = [*(a.copy() for a in flat), lr.copy(), step.copy()]
            if skip is not None:
                ins.append(np.array([skip], np.int64))
            fattrs = {**hyper, "segments": segments, "weight_decay": tuple(wds),
                      "clip_norm": clip, "has_skip": skip is not None}
            kernel(fattrs, _metas(ins), [])(ins, [])
            want = flat if skip else _concat(
                _reference(op, attrs, variables, wds, lr, step, clip))
            for name, got, exp in zip(names, ins[:len(names)], want, strict=True):
                compare(f"{where}, fused {label}, {dtype or 'sample dtypes'}, {name}",
                        np.asarray(got), exp)


def check_skip(op: str, kernel: Any, fn: Callable[..., Any]) -> None:
    """A per-variable update kernel honours the trailing skip count (dynamic loss scaling).

    Without a skip input and with ``skip = [0]`` the kernel gives the same results; with
    ``skip = [3]`` it changes no input (float32, exact comparison).
    """
    attrs, ins, _ = fn(np.random.default_rng(0))
    ins = [a.astype(np.float32) if a.dtype.kind == "f" else a for a in ins]
    results = []
    for skip in (None, 0, 3):
        args = [a.copy() for a in ins] + ([] if skip is None else [np.array([skip], np.int64)])
        kernel(attrs, _metas(args), [])(args, [])
        results.append(args[:len(ins)])
    for k, (plain, zero, skipped, before) in enumerate(zip(*results, ins, strict=True)):
        if not np.array_equal(zero, plain, equal_nan=True):
            raise AssertionError(f"{op}: input {k} differs between no skip input and skip=[0]")
        if not np.array_equal(skipped, before, equal_nan=True):
            raise AssertionError(f"{op}: input {k} changed although skip=[3] (a skipped step "
                                 "must change nothing)")


def update_ops() -> set[str]:
    """The update ops every installed optimizer family declares."""
    return {op for spec in get_registry().optimizers.values() for op in spec.update_ops}
