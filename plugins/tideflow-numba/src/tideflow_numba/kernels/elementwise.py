"""Numba kernels of the elementwise ops: broadcasting arithmetic, scalar ops, comparisons.

Binary ops analyse their broadcast at lowering (:func:`~._ew_util.broadcast_plan`) and run
one compiled row loop per op family (:mod:`._ew_binary`); add, subtract, multiply and
add_n switch to ``prange`` loops for same-shape outputs of at least
:data:`~._ew_util.PAR_MIN` elements. Scalar-attribute ops share
:func:`._ew_map.scalar_map` (scalar_mul has its own hot loop). Comparisons write ``int8``
0/1 like the reference.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tideflow_numba.kernels import _ew_binary as bn
from tideflow_numba.kernels import _ew_map as mp
from tideflow_numba.kernels._ew_util import (
    broadcast_plan,
    finish,
    flat,
    parallel,
    scalar,
)

Run = Callable[[list, list], None]
Factory = Callable[[dict, list, list], Run]

# ---------------------------------------------------------------- broadcasting binary ops


def _binary(name: str, code: int, kernel: Any, par_kernel: Any = None) -> Factory:
    def factory(attrs: dict, in_metas: list, out_metas: list) -> Run:
        out = out_metas[0]
        if (par_kernel is not None and parallel(out.size)
                and all(m.size == out.size for m in in_metas)):
            def run_par(ins: list, outs: list) -> None:
                o = outs[0]
                v = o.ravel()
                par_kernel(ins[0].ravel(), ins[1].ravel(), v)
                finish(o, v)

            return run_par
        shape, (sa, sb) = broadcast_plan(out.shape, [m.shape for m in in_metas])

        def run(ins: list, outs: list) -> None:
            o = outs[0]
            v = o.ravel()
            kernel(code, ins[0].ravel(), sa, ins[1].ravel(), sb, shape, v)
            finish(o, v)

        return run

    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = f"Kernel factory of ``{name}`` (NumPy broadcasting)."
    return factory


add = _binary("add", bn.ADD, bn.arith, bn.add_par)
subtract = _binary("subtract", bn.SUB, bn.arith, bn.sub_par)
multiply = _binary("multiply", bn.MUL, bn.arith, bn.mul_par)
divide = _binary("divide", bn.DIV, bn.arith)
maximum = _binary("maximum", bn.MAX, bn.arith)
minimum = _binary("minimum", bn.MIN, bn.arith)
pow = _binary("pow", bn.POW, bn.arith)  # noqa: A001 - the op's name
mod = _binary("mod", bn.MOD, bn.arith)
equal = _binary("equal", bn.EQ, bn.compare)
not_equal = _binary("not_equal", bn.NE, bn.compare)
less = _binary("less", bn.LT, bn.compare)
less_equal = _binary("less_equal", bn.LE, bn.compare)
greater = _binary("greater", bn.GT, bn.compare)
greater_equal = _binary("greater_equal", bn.GE, bn.compare)


def add_n(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Sum of same-shape inputs, left to right as the reference (``((a + b) + c) ...``)."""
    out = out_metas[0]
    shape = np.array([out.size], np.int64)
    one = np.ones(1, np.int64)
    par = parallel(out.size)

    def run(ins: list, outs: list) -> None:
        o = outs[0]
        v = o.ravel()
        if len(ins) == 1:
            bn.expand(ins[0].ravel(), one, shape, v)
        else:
            if par:
                bn.add_par(ins[0].ravel(), ins[1].ravel(), v)
                for x in ins[2:]:
                    bn.add_par(v, x.ravel(), v)
            else:
                bn.arith(bn.ADD, ins[0].ravel(), one, ins[1].ravel(), one, shape, v)
                for x in ins[2:]:
                    bn.add_into(v, x.ravel())
        finish(o, v)

    return run


def _expander(in_shape: tuple, out_shape: tuple, np_dtype: np.dtype
              ) -> Callable[[np.ndarray], np.ndarray]:
    """A function turning a buffer of ``in_shape`` into a flat one of ``out_shape``.

    Identity (flat view) when the shapes have the same size; otherwise it expands into a
    workspace allocated here, once.
    """
    if int(np.prod(in_shape)) == int(np.prod(out_shape)):
        return flat
    shape, (sa,) = broadcast_plan(out_shape, [in_shape])
    work = np.empty(int(np.prod(out_shape)), np_dtype)

    def expand(a: np.ndarray) -> np.ndarray:
        bn.expand(a.ravel(), sa, shape, work)
        return work

    return expand


def minmax_grad_masks(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Masks ``(a == y, b == y)`` of maximum/minimum, ties sharing the gradient evenly."""
    shape = out_metas[0].shape
    ea = _expander(in_metas[0].shape, shape, in_metas[0].dtype.np_dtype)
    eb = _expander(in_metas[1].shape, shape, in_metas[1].dtype.np_dtype)

    def run(ins: list, outs: list) -> None:
        va, vb = outs[0].ravel(), outs[1].ravel()
        mp.minmax_masks(ea(ins[0]), eb(ins[1]), ins[2].ravel(), va, vb)
        finish(outs[0], va)
        finish(outs[1], vb)

    return run


def pow_grad(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Gradients of ``z = x ** y`` at the output's shape (summed down by the graph)."""
    shape, dt = out_metas[0].shape, out_metas[0].dtype.np_dtype
    ex = _expander(in_metas[0].shape, shape, dt)
    ey = _expander(in_metas[1].shape, shape, dt)
    one = scalar(1, dt)

    def run(ins: list, outs: list) -> None:
        vx, vy = outs[0].ravel(), outs[1].ravel()
        mp.pow_grad(ex(ins[0]), ey(ins[1]), ins[2].ravel(), ins[3].ravel(), vx, vy, one)
        finish(outs[0], vx)
        finish(outs[1], vy)

    return run


# ---------------------------------------------------------------- scalar-attribute ops


def _map(code: int, p: Any, q: Any) -> Run:
    def run(ins: list, outs: list) -> None:
        o = outs[0]
        v = o.ravel()
        mp.scalar_map(code, ins[0].ravel(), v, p, q)
        finish(o, v)

    return run


def scalar_add(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """``x + value``."""
    dt = in_metas[0].dtype.np_dtype
    return _map(mp.SADD, scalar(attrs["value"], dt), scalar(0, dt))


def scalar_mul(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """``x * value`` (an integer array times a fraction truncates, as the reference)."""
    p = scalar(attrs["value"], in_metas[0].dtype.np_dtype)
    kern = mp.scale_par if parallel(in_metas[0].size) else mp.scale

    def run(ins: list, outs: list) -> None:
        o = outs[0]
        v = o.ravel()
        kern(ins[0].ravel(), v, p)
        finish(o, v)

    return run


def negative(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """``-x``."""
    zero = scalar(0, in_metas[0].dtype.np_dtype)
    return _map(mp.NEG, zero, zero)


def scalar_pow(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """``x ** exponent``."""
    dt = in_metas[0].dtype.np_dtype
    return _map(mp.SPOW, scalar(attrs["exponent"], dt), scalar(0, dt))


def scalar_rpow(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """``base ** x``."""
    dt = in_metas[0].dtype.np_dtype
    return _map(mp.SRPOW, scalar(attrs["base"], dt), scalar(0, dt))


def scalar_mod(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """``x % value`` (floor modulo)."""
    dt = in_metas[0].dtype.np_dtype
    return _map(mp.SMOD, scalar(attrs["value"], dt), scalar(0, dt))


def _bounds(attrs: dict, np_dtype: np.dtype) -> tuple[Any, Any]:
    """The clip bounds as scalars; a missing bound becomes the type's extreme."""
    lo, hi = attrs.get("min"), attrs.get("max")
    if np.dtype(np_dtype).kind == "f":
        lo = -np.inf if lo is None else lo
        hi = np.inf if hi is None else hi
    else:
        info = np.iinfo(np.int64)
        lo = info.min if lo is None else lo
        hi = info.max if hi is None else hi
    return scalar(lo, np_dtype), scalar(hi, np_dtype)


def clip_by_value(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Clamp ``x`` to ``[min, max]`` (either may be None)."""
    return _map(mp.CLIP, *_bounds(attrs, in_metas[0].dtype.np_dtype))


def clip_by_value_grad(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """``dy`` where ``min <= x <= max``, exactly 0 elsewhere."""
    lo, hi = _bounds(attrs, in_metas[0].dtype.np_dtype)

    def run(ins: list, outs: list) -> None:
        o = outs[0]
        v = o.ravel()
        mp.grad_map(mp.CLIP_GRAD, ins[0].ravel(), ins[1].ravel(), v, lo, hi)
        finish(o, v)

    return run
