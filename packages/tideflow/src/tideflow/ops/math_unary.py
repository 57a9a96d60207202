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


def fill_value(func: str, value: Any, dtype: dtypes.DType) -> Any:
    """Check that ``value`` is a scalar and convert it to ``dtype``'s Python type."""
    value = plain(value)
    if not is_scalar(value):
        raise TypeError(f"{func}: value must be a Python int or float; received {value!r}")
    return float(value) if dtype.is_floating else int(value)


def _scalar_const(func: str, value: Any, like: Blob) -> Blob:
    value = plain(value)
    if not like.dtype.is_floating and not float(value).is_integer():
        raise TypeError(f"math.{func}: scalar {value!r} does not fit the integer blob "
                        f"'{like.op_name}' ({like.dtype.name}); cast the blob to a float type")
    value = float(value) if like.dtype.is_floating else int(value)
    return add_op("constant", [], {"value": value, "dtype": like.dtype, "shape": (1,)})


def as_blobs(func: str, x: Any, y: Any) -> tuple[Blob, Blob]:
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


def _one_plus(b: Blob) -> Blob:
    return add_op("scalar_add", [b], {"value": 1})


# name -> (kernel function, floating inputs only, gradient (dy, x, y) -> dx; None: zero)
_UNARY: dict[str, tuple[Callable[..., Any], bool, Callable[..., Blob] | None]] = {
    "exp": (np.exp, True, lambda dy, x, y: multiply(dy, y)),
    "log": (np.log, True, lambda dy, x, y: divide(dy, x)),
    "sqrt": (np.sqrt, True, lambda dy, x, y: scalar_mul(divide(dy, y), 0.5)),
    "rsqrt": (_rsqrt, True, lambda dy, x, y: scalar_mul(multiply(dy, pow(y, 3)), -0.5)),
    "square": (np.square, False, lambda dy, x, y: scalar_mul(multiply(dy, x), 2)),
    "abs": (np.abs, False, lambda dy, x, y: multiply(dy, sign(x))),
    "sign": (np.sign, False, None),
    "reciprocal": (np.reciprocal, True, lambda dy, x, y: negative(multiply(dy, square(y)))),
    "reciprocal_no_nan": (_reciprocal_no_nan, True,
                          lambda dy, x, y: negative(multiply(dy, square(y)))),
    "floor": (np.floor, True, None),
    "ceil": (np.ceil, True, None),
    "round": (np.rint, True, None),
    "sin": (np.sin, True, lambda dy, x, y: multiply(dy, cos(x))),
    "cos": (np.cos, True, lambda dy, x, y: negative(multiply(dy, sin(x)))),
    "log1p": (np.log1p, True, lambda dy, x, y: divide(dy, _one_plus(x))),
    "expm1": (np.expm1, True, lambda dy, x, y: multiply(dy, _one_plus(y))),
}


def _unary_grad(op: str) -> Callable[[Any, list], list]:
    derivative = _UNARY[op][2]

    def rule(ctx: Any, dys: list) -> list:
        (x,), (y,) = ctx.inputs, ctx.outputs
        return [zeros_like_blob(x) if derivative is None else derivative(dys[0], x, y)]

    return rule


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
    *[OpSpec(n, _infer_float if f else _infer_same, _kernel(fn), _unary_grad(n))
      for n, (fn, f, _) in _UNARY.items()],
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


def _public_unary(op: str, doc: str) -> Callable[..., Blob]:
    def fn(x: Blob, name: str | None = None) -> Blob:
        return add_op(op, [x], {}, name)

    fn.__name__ = fn.__qualname__ = op
    fn.__doc__ = doc + "\n\nArgs:\n    x: the input blob.\n    name: op name (optional).\n"
    return fn


exp = _public_unary("exp", "Return ``e ** x`` elementwise (floating-point blobs).")
log = _public_unary("log", "Return the natural logarithm of ``x`` (NaN below 0, -inf at 0).")
sqrt = _public_unary("sqrt", "Return the square root of ``x``.")
rsqrt = _public_unary("rsqrt", "Return ``1 / sqrt(x)``.")
square = _public_unary("square", "Return ``x * x`` (any numeric dtype).")
abs = _public_unary("abs", "Return ``|x|``; the gradient is ``sign(x)``.")  # noqa: A001
sign = _public_unary("sign", "Return -1, 0 or 1 by the sign of ``x``; zero gradient.")
reciprocal = _public_unary("reciprocal", "Return ``1 / x`` (inf at 0).")
reciprocal_no_nan = _public_unary("reciprocal_no_nan", "Return ``1 / x``, 0 where ``x == 0``.")
floor = _public_unary("floor", "Round down elementwise; zero gradient.")
ceil = _public_unary("ceil", "Round up elementwise; zero gradient.")
round = _public_unary(  # noqa: A001 - OneFlow's public name
    "round", "Round to nearest, halves to even (C ``nearbyint``); zero gradient.")
sin = _public_unary("sin", "Return ``sin(x)``.")
cos = _public_unary("cos", "Return ``cos(x)``.")
log1p = _public_unary("log1p", "Return ``log(1 + x)``, accurate for small ``x``.")
expm1 = _public_unary("expm1", "Return ``exp(x) - 1``, accurate for small ``x``.")


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
    a, b = as_blobs("mod", x, y)
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
    a, b = as_blobs(op, x, y)
    return add_op(op, [a, b], {}, name)


def _public_compare(op: str, sym: str) -> Callable[..., Blob]:
    def fn(x: Any, y: Any, name: str | None = None) -> Blob:
        return _compare(op, x, y, name)

    fn.__name__ = fn.__qualname__ = op
    fn.__doc__ = (f"Return ``x {sym} y`` as int8 0/1, broadcasting; one side may be a Python "
                  "scalar.\n\nArgs:\n    x: a blob or scalar.\n    y: a blob or scalar.\n"
                  "    name: op name (optional).\n")
    return fn


equal = _public_compare("equal", "==")
not_equal = _public_compare("not_equal", "!=")
less = _public_compare("less", "<")
less_equal = _public_compare("less_equal", "<=")
greater = _public_compare("greater", ">")
greater_equal = _public_compare("greater_equal", ">=")

__all__ = [
    "abs", "ceil", "clip_by_value", "cos", "equal", "exp", "expm1", "floor", "floor_mod",
    "greater", "greater_equal", "less", "less_equal", "log", "log1p", "mod", "not_equal",
    "pow", "reciprocal", "reciprocal_no_nan", "round", "rsqrt", "sign", "sin", "sqrt",
    "square",
]
