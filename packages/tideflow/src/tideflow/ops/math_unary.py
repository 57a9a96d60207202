"""``flow.math``: elementwise unary functions, powers, floor modulo, clipping, comparisons.

Floating-point functions (``exp``, ``log``, ``sqrt`` …) reject integer blobs instead of
casting silently. Comparisons broadcast and return ``int8`` (0 or 1) as OneFlow does; they
pass no gradient. A Python scalar operand of a comparison or of ``scalar % blob`` becomes a
``(1,)`` constant of the blob's dtype (OneFlow's scalar-by-tensor dispatch).
"""

from __future__ import annotations

import math as _pymath
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from tideflow import dtypes
from tideflow.errors import ShapeError
from tideflow.framework.blob import Blob
from tideflow.framework.build import add_op, user_frame
from tideflow.ops._util import broadcast_shape, check, meta, same_dtype
from tideflow.ops.math import (
    divide,
    multiply,
    negative,
    reduce_sum_to,
    scalar_mul,
)
from tideflow.plugins.records import OpSpec

# ---------------------------------------------------------------- helpers shared by op modules


def arg_error(func: str, msg: str, *blobs: Blob) -> ShapeError:
    """Return a :class:`ShapeError` for a bad argument found before an op is built.

    The message names the public function, the user's source line and the input blobs.
    """
    described = ", ".join(f"{b.op_name}: {b.meta}" for b in blobs)
    tail = f"; inputs: {described}" if described else ""
    return ShapeError(f"{func} at {user_frame()}: {msg}{tail}")


def is_scalar(x: Any) -> bool:
    """Whether ``x`` is a Python or NumPy number (``bool`` excluded)."""
    return isinstance(x, numbers.Number) and not isinstance(x, bool | np.bool_)


def plain(x: Any) -> Any:
    """Turn a NumPy scalar into the equivalent Python number (attributes are plain Python)."""
    return x.item() if isinstance(x, np.generic) else x


def _scalar_const(func: str, value: Any, like: Blob) -> Blob:
    value = plain(value)
    if not like.dtype.is_floating and not float(value).is_integer():
        raise TypeError(f"math.{func}: scalar {value!r} does not fit the integer blob "
                        f"'{like.op_name}' ({like.dtype.name}); cast the blob to a float type")
    value = float(value) if like.dtype.is_floating else int(value)
    return add_op("constant", [], {"value": value, "dtype": like.dtype, "shape": (1,)})


def _blobs(func: str, x: Any, y: Any) -> tuple[Blob, Blob]:
    """Coerce ``(blob|scalar, blob|scalar)`` to two blobs; scalars become ``(1,)`` constants."""
    if isinstance(x, Blob) and isinstance(y, Blob):
        return x, y
    if isinstance(x, Blob) and is_scalar(y):
        return x, _scalar_const(func, y, x)
    if is_scalar(x) and isinstance(y, Blob):
        return _scalar_const(func, x, y), y
    raise TypeError(f"math.{func}: expected blobs or a blob and a Python scalar; received "
                    f"{type(x).__name__} and {type(y).__name__}")


def zeros_like_blob(x: Blob) -> Blob:
    """A zero blob shaped like ``x`` (the gradient of piecewise-constant functions)."""
    return add_op("constant_like", [x], {"value": 0, "dtype": x.dtype})


# ---------------------------------------------------------------- unary ops


def _infer_same(attrs: dict, x: Any, *rest: Any) -> Any:
    return meta(x.shape, x.dtype)


def _infer_float(attrs: dict, x: Any, *rest: Any) -> Any:
    check(x.dtype.is_floating, f"needs a floating-point input; received {x.dtype.name} "
          "(cast it with flow.cast)")
    return meta(x.shape, x.dtype)


def _kernel(fn: Callable[..., Any]) -> Any:
    """Kernel factory for a ufunc; floating-point warnings are silenced as in OneFlow."""

    def make(attrs: dict, ins: list, outs: list) -> Any:
        def run(i: list, o: list) -> None:
            with np.errstate(all="ignore"):
                fn(*i, out=o[0])

        return run

    return make


def _rsqrt(x: np.ndarray, out: np.ndarray) -> None:
    np.sqrt(x, out=out)
    np.divide(1, out, out=out)


def _reciprocal_no_nan(x: np.ndarray, out: np.ndarray) -> None:
    out[...] = 0
    np.divide(1, x, out=out, where=x != 0)


def _g_zero(ctx: Any, dys: list) -> list:
    return [zeros_like_blob(ctx.inputs[0])]


def _g_exp(ctx: Any, dys: list) -> list:
    return [multiply(dys[0], ctx.outputs[0])]


def _g_log(ctx: Any, dys: list) -> list:
    return [divide(dys[0], ctx.inputs[0])]


def _g_sqrt(ctx: Any, dys: list) -> list:
    return [scalar_mul(divide(dys[0], ctx.outputs[0]), 0.5)]


def _g_rsqrt(ctx: Any, dys: list) -> list:
    return [scalar_mul(multiply(dys[0], pow(ctx.outputs[0], 3)), -0.5)]


def _g_square(ctx: Any, dys: list) -> list:
    return [scalar_mul(multiply(dys[0], ctx.inputs[0]), 2)]


def _g_abs(ctx: Any, dys: list) -> list:
    return [multiply(dys[0], sign(ctx.inputs[0]))]


def _g_reciprocal(ctx: Any, dys: list) -> list:
    return [negative(multiply(dys[0], square(ctx.outputs[0])))]


def _g_sin(ctx: Any, dys: list) -> list:
    return [multiply(dys[0], cos(ctx.inputs[0]))]


def _g_cos(ctx: Any, dys: list) -> list:
    return [negative(multiply(dys[0], sin(ctx.inputs[0])))]


def _g_log1p(ctx: Any, dys: list) -> list:
    return [divide(dys[0], add_op("scalar_add", [ctx.inputs[0]], {"value": 1}))]


def _g_expm1(ctx: Any, dys: list) -> list:
    return [multiply(dys[0], add_op("scalar_add", [ctx.outputs[0]], {"value": 1}))]


# name -> (kernel function, floating inputs only, gradient rule)
_UNARY: dict[str, tuple[Callable[..., Any], bool, Any]] = {
    "exp": (np.exp, True, _g_exp),
    "log": (np.log, True, _g_log),
    "sqrt": (np.sqrt, True, _g_sqrt),
    "rsqrt": (_rsqrt, True, _g_rsqrt),
    "square": (np.square, False, _g_square),
    "abs": (np.abs, False, _g_abs),
    "sign": (np.sign, False, _g_zero),
    "reciprocal": (np.reciprocal, True, _g_reciprocal),
    "reciprocal_no_nan": (_reciprocal_no_nan, True, _g_reciprocal),
    "floor": (np.floor, True, _g_zero),
    "ceil": (np.ceil, True, _g_zero),
    "round": (np.rint, True, _g_zero),
    "sin": (np.sin, True, _g_sin),
    "cos": (np.cos, True, _g_cos),
    "log1p": (np.log1p, True, _g_log1p),
    "expm1": (np.expm1, True, _g_expm1),
}

# ---------------------------------------------------------------- powers, modulo, clipping


def _infer_binary_float(attrs: dict, a: Any, b: Any) -> Any:
    dtype = same_dtype(a, b)
    check(dtype.is_floating, f"needs floating-point inputs; received {dtype.name}")
    return meta(broadcast_shape(a.shape, b.shape), dtype)


def _infer_binary(attrs: dict, a: Any, b: Any) -> Any:
    return meta(broadcast_shape(a.shape, b.shape), same_dtype(a, b))


def _infer_scalar_pow(attrs: dict, x: Any) -> Any:
    e = attrs["exponent"]
    check(x.dtype.is_floating or (isinstance(e, int) and e >= 0),
          f"an integer blob ({x.dtype.name}) needs a non-negative integer exponent; "
          f"received {e!r}")
    return meta(x.shape, x.dtype)


def _infer_scalar_int_ok(attrs: dict, x: Any) -> Any:
    for key in ("value", "min", "max"):
        v = attrs.get(key)
        check(v is None or x.dtype.is_floating or float(v).is_integer(),
              f"{key}={v!r} does not fit an integer blob ({x.dtype.name})")
    return meta(x.shape, x.dtype)


def _attr_kernel(fn: Callable[..., Any], *keys: str, reflect: bool = False) -> Any:
    def make(attrs: dict, ins: list, outs: list) -> Any:
        args = [attrs[k] for k in keys]

        def run(i: list, o: list) -> None:
            with np.errstate(all="ignore"):
                if reflect:
                    fn(*args, i[0], out=o[0])
                else:
                    fn(i[0], *args, out=o[0])

        return run

    return make


def _pow_grad_kernel(attrs: dict, ins: list, outs: list) -> Any:
    def run(i: list, o: list) -> None:
        x, y, z, dz = i
        with np.errstate(all="ignore"):
            o[0][...] = dz * y * np.power(x, y - 1)
            o[1][...] = dz * z * np.log(np.where(x > 0, x, 1))  # 0 where x <= 0, as TF

    return run


def _infer_pow_grad(attrs: dict, x: Any, y: Any, z: Any, dz: Any) -> Any:
    return meta(z.shape, z.dtype), meta(z.shape, z.dtype)


def _g_pow(ctx: Any, dys: list) -> list:
    x, y = ctx.inputs
    gx, gy = ctx.op("pow_grad", x, y, ctx.outputs[0], dys[0])
    return [reduce_sum_to(gx, x.shape), reduce_sum_to(gy, y.shape)]


def _g_scalar_pow(ctx: Any, dys: list) -> list:
    e = ctx.attrs["exponent"]
    if e == 0:
        return [zeros_like_blob(ctx.inputs[0])]
    if e == 1:
        return [dys[0]]
    return [scalar_mul(multiply(dys[0], pow(ctx.inputs[0], e - 1)), e)]


def _g_scalar_rpow(ctx: Any, dys: list) -> list:
    base = ctx.attrs["base"]
    log_base = _pymath.log(base) if base > 0 else float("nan")
    return [scalar_mul(multiply(dys[0], ctx.outputs[0]), log_base)]


def _g_mod(ctx: Any, dys: list) -> list:
    a, b = ctx.inputs
    dy = dys[0]
    # floor_mod(a, b) = a - b * floor(a / b)
    db = negative(multiply(dy, floor(divide(a, b))))
    return [reduce_sum_to(dy, a.shape), reduce_sum_to(db, b.shape)]


def _g_identity(ctx: Any, dys: list) -> list:
    return [dys[0]]


def _clip(x: np.ndarray, lo: Any, hi: Any, out: np.ndarray) -> None:
    np.clip(x, lo, hi, out=out)


def _clip_grad_kernel(attrs: dict, ins: list, outs: list) -> Any:
    lo, hi = attrs["min"], attrs["max"]

    def run(i: list, o: list) -> None:
        x, dy = i
        o[0][...] = dy
        if lo is not None:
            o[0][x < lo] = 0
        if hi is not None:
            o[0][x > hi] = 0

    return run


def _g_clip(ctx: Any, dys: list) -> list:
    return [ctx.op("clip_by_value_grad", ctx.inputs[0], dys[0], min=ctx.attrs["min"],
                   max=ctx.attrs["max"])]


# ---------------------------------------------------------------- comparisons


def _infer_compare(attrs: dict, a: Any, b: Any) -> Any:
    same_dtype(a, b)
    return meta(broadcast_shape(a.shape, b.shape), dtypes.int8)


def _g_none2(ctx: Any, dys: list) -> list:
    return [None, None]


_COMPARE = {
    "equal": np.equal,
    "not_equal": np.not_equal,
    "less": np.less,
    "less_equal": np.less_equal,
    "greater": np.greater,
    "greater_equal": np.greater_equal,
}

SPECS = [
    *[OpSpec(n, _infer_float if f else _infer_same, _kernel(fn), g)
      for n, (fn, f, g) in _UNARY.items()],
    OpSpec("pow", _infer_binary_float, _kernel(np.power), _g_pow),
    OpSpec("pow_grad", _infer_pow_grad, _pow_grad_kernel),
    OpSpec("scalar_pow", _infer_scalar_pow, _attr_kernel(np.power, "exponent"), _g_scalar_pow),
    OpSpec("scalar_rpow", _infer_float, _attr_kernel(np.power, "base", reflect=True),
           _g_scalar_rpow),
    OpSpec("mod", _infer_binary, _kernel(np.mod), _g_mod),
    OpSpec("scalar_mod", _infer_scalar_int_ok, _attr_kernel(np.mod, "value"), _g_identity),
    OpSpec("clip_by_value", _infer_scalar_int_ok, _attr_kernel(_clip, "min", "max"), _g_clip),
    OpSpec("clip_by_value_grad", _infer_same, _clip_grad_kernel),
    *[OpSpec(n, _infer_compare, _kernel(fn), _g_none2) for n, fn in _COMPARE.items()],
]

# ---------------------------------------------------------------- public functions


def _unary(op: str, x: Blob, name: str | None) -> Blob:
    return add_op(op, [x], {}, name)


def exp(x: Blob, name: str | None = None) -> Blob:
    """Return ``e ** x`` elementwise (floating-point blobs)."""
    return _unary("exp", x, name)


def log(x: Blob, name: str | None = None) -> Blob:
    """Return the natural logarithm of ``x`` (NaN below 0, ``-inf`` at 0)."""
    return _unary("log", x, name)


def sqrt(x: Blob, name: str | None = None) -> Blob:
    """Return the square root of ``x``."""
    return _unary("sqrt", x, name)


def rsqrt(x: Blob, name: str | None = None) -> Blob:
    """Return ``1 / sqrt(x)``."""
    return _unary("rsqrt", x, name)


def square(x: Blob, name: str | None = None) -> Blob:
    """Return ``x * x`` (any numeric dtype)."""
    return _unary("square", x, name)


def abs(x: Blob, name: str | None = None) -> Blob:  # noqa: A001 - OneFlow's public name
    """Return ``|x|``; the gradient is ``sign(x)`` (0 at 0)."""
    return _unary("abs", x, name)


def sign(x: Blob, name: str | None = None) -> Blob:
    """Return -1, 0 or 1 by the sign of ``x``; the gradient is zero."""
    return _unary("sign", x, name)


def reciprocal(x: Blob, name: str | None = None) -> Blob:
    """Return ``1 / x`` (``inf`` at 0)."""
    return _unary("reciprocal", x, name)


def reciprocal_no_nan(x: Blob, name: str | None = None) -> Blob:
    """Return ``1 / x``, with 0 where ``x == 0``."""
    return _unary("reciprocal_no_nan", x, name)


def floor(x: Blob, name: str | None = None) -> Blob:
    """Round down elementwise; the gradient is zero."""
    return _unary("floor", x, name)


def ceil(x: Blob, name: str | None = None) -> Blob:
    """Round up elementwise; the gradient is zero."""
    return _unary("ceil", x, name)


def round(x: Blob, name: str | None = None) -> Blob:  # noqa: A001 - OneFlow's public name
    """Round to the nearest integer, halves to even (C's ``nearbyint``); zero gradient."""
    return _unary("round", x, name)


def sin(x: Blob, name: str | None = None) -> Blob:
    """Return ``sin(x)``."""
    return _unary("sin", x, name)


def cos(x: Blob, name: str | None = None) -> Blob:
    """Return ``cos(x)``."""
    return _unary("cos", x, name)


def log1p(x: Blob, name: str | None = None) -> Blob:
    """Return ``log(1 + x)``, accurate for small ``x``."""
    return _unary("log1p", x, name)


def expm1(x: Blob, name: str | None = None) -> Blob:
    """Return ``exp(x) - 1``, accurate for small ``x``."""
    return _unary("expm1", x, name)


def pow(x: Any, y: Any, name: str | None = None) -> Blob:  # noqa: A001 - OneFlow's public name
    """Return ``x ** y`` with broadcasting.

    ``blob ** scalar`` builds ``scalar_pow`` (integer blobs need a non-negative integer
    exponent), ``scalar ** blob`` builds ``scalar_rpow``; two blobs must be floating point.
    The gradient with respect to the exponent is 0 where the base is <= 0.

    Raises:
        TypeError: neither operand is a blob.
    """
    if isinstance(x, Blob) and is_scalar(y):
        e = plain(y)
        if isinstance(e, float) and e.is_integer() and not x.dtype.is_floating:
            e = int(e)
        return add_op("scalar_pow", [x], {"exponent": e}, name)
    if is_scalar(x) and isinstance(y, Blob):
        return add_op("scalar_rpow", [y], {"base": float(plain(x))}, name)
    if isinstance(x, Blob) and isinstance(y, Blob):
        return add_op("pow", [x, y], {}, name)
    raise TypeError(f"math.pow: expected blobs or a blob and a Python scalar; received "
                    f"{type(x).__name__} and {type(y).__name__}")


def mod(x: Any, y: Any, name: str | None = None) -> Blob:
    """Return the floor modulo ``x % y`` (the result takes the sign of ``y``, as NumPy).

    ``blob % scalar`` builds ``scalar_mod``; otherwise the operands broadcast.
    """
    if isinstance(x, Blob) and is_scalar(y):
        return add_op("scalar_mod", [x], {"value": plain(y)}, name)
    a, b = _blobs("mod", x, y)
    return add_op("mod", [a, b], {}, name)


floor_mod = mod


def clip_by_value(values: Blob, min_value: Any = None, max_value: Any = None,
                  name: str | None = None) -> Blob:
    """Clamp ``values`` to ``[min_value, max_value]`` (either bound may be None).

    The gradient passes where ``min_value <= x <= max_value`` and is 0 elsewhere.

    Raises:
        ValueError: both bounds are None.
    """
    if min_value is None and max_value is None:
        raise ValueError("math.clip_by_value: min_value and max_value cannot both be None")
    return add_op("clip_by_value", [values],
                  {"min": plain(min_value), "max": plain(max_value)}, name)


def _compare(op: str, x: Any, y: Any, name: str | None) -> Blob:
    a, b = _blobs(op, x, y)
    return add_op(op, [a, b], {}, name)


def equal(x: Any, y: Any, name: str | None = None) -> Blob:
    """Return ``x == y`` as int8 0/1 with broadcasting (a scalar operand is allowed)."""
    return _compare("equal", x, y, name)


def not_equal(x: Any, y: Any, name: str | None = None) -> Blob:
    """Return ``x != y`` as int8 0/1 with broadcasting."""
    return _compare("not_equal", x, y, name)


def less(x: Any, y: Any, name: str | None = None) -> Blob:
    """Return ``x < y`` as int8 0/1 with broadcasting."""
    return _compare("less", x, y, name)


def less_equal(x: Any, y: Any, name: str | None = None) -> Blob:
    """Return ``x <= y`` as int8 0/1 with broadcasting."""
    return _compare("less_equal", x, y, name)


def greater(x: Any, y: Any, name: str | None = None) -> Blob:
    """Return ``x > y`` as int8 0/1 with broadcasting."""
    return _compare("greater", x, y, name)


def greater_equal(x: Any, y: Any, name: str | None = None) -> Blob:
    """Return ``x >= y`` as int8 0/1 with broadcasting."""
    return _compare("greater_equal", x, y, name)


__all__ = [
    "abs", "ceil", "clip_by_value", "cos", "equal", "exp", "expm1", "floor", "floor_mod",
    "greater", "greater_equal", "less", "less_equal", "log", "log1p", "mod", "not_equal",
    "pow", "reciprocal", "reciprocal_no_nan", "round", "rsqrt", "sign", "sin", "sqrt",
    "square",
]
