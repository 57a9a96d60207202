"""Numba kernels of the elementwise unary math functions (exp, log, sqrt, floor, sin ...).

All of them share one compiled loop, :func:`_unary`, selected by an integer op code (the
branch is outside the element loop). ``one`` arrives in the array's float type so float32
data is computed in float32, as NumPy's ufuncs do. Only square, abs and sign accept
integer arrays (the references of the others reject them at inference).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numba import njit

from tideflow_numba.kernels._ew_util import finish, scalar

Run = Callable[[list, list], None]
Factory = Callable[[dict, list, list], Run]

(EXP, LOG, SQRT, RSQRT, SQUARE, ABS, SIGN, RECIPROCAL, RECIPROCAL_NO_NAN, FLOOR, CEIL, ROUND,
 SIN, COS, LOG1P, EXPM1) = range(16)


@njit(cache=True, error_model="numpy")
def _unary(code, x, out, one):  # noqa: ANN001, ANN202, C901, PLR0912
    n = x.size
    if code == EXP:
        for i in range(n):
            out[i] = math.exp(x[i])
    elif code == LOG:
        for i in range(n):
            out[i] = math.log(x[i])
    elif code == SQRT:
        for i in range(n):
            out[i] = math.sqrt(x[i])
    elif code == RSQRT:
        for i in range(n):
            out[i] = one / math.sqrt(x[i])
    elif code == SQUARE:
        for i in range(n):
            v = x[i]
            out[i] = v * v
    elif code == ABS:
        for i in range(n):
            out[i] = np.abs(x[i])
    elif code == SIGN:
        for i in range(n):
            v = x[i]
            if v > 0:
                out[i] = 1
            elif v < 0:
                out[i] = -1
            else:
                out[i] = v  # 0 stays 0, NaN stays NaN
    elif code == RECIPROCAL:
        for i in range(n):
            out[i] = one / x[i]
    elif code == RECIPROCAL_NO_NAN:
        for i in range(n):
            v = x[i]
            if v == 0:
                out[i] = 0
            else:
                out[i] = one / v
    elif code == FLOOR:
        for i in range(n):
            out[i] = np.floor(x[i])
    elif code == CEIL:
        for i in range(n):
            out[i] = np.ceil(x[i])
    elif code == ROUND:  # halves to even, as np.rint
        for i in range(n):
            out[i] = np.rint(x[i])
    elif code == SIN:
        for i in range(n):
            out[i] = math.sin(x[i])
    elif code == COS:
        for i in range(n):
            out[i] = math.cos(x[i])
    elif code == LOG1P:
        for i in range(n):
            out[i] = math.log1p(x[i])
    else:  # EXPM1
        for i in range(n):
            out[i] = math.expm1(x[i])


def _factory(code: int, name: str) -> Factory:
    def factory(attrs: dict, in_metas: list, out_metas: list) -> Run:
        one = scalar(1, in_metas[0].dtype.np_dtype)

        def run(ins: list, outs: list) -> None:
            o = outs[0]
            v = o.ravel()
            _unary(code, ins[0].ravel(), v, one)
            finish(o, v)

        return run

    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = f"Kernel factory of ``{name}``."
    return factory


exp = _factory(EXP, "exp")
log = _factory(LOG, "log")
sqrt = _factory(SQRT, "sqrt")
rsqrt = _factory(RSQRT, "rsqrt")
square = _factory(SQUARE, "square")
abs = _factory(ABS, "abs")  # noqa: A001 - the op's name
sign = _factory(SIGN, "sign")
reciprocal = _factory(RECIPROCAL, "reciprocal")
reciprocal_no_nan = _factory(RECIPROCAL_NO_NAN, "reciprocal_no_nan")
floor = _factory(FLOOR, "floor")
ceil = _factory(CEIL, "ceil")
round = _factory(ROUND, "round")  # noqa: A001 - the op's name
sin = _factory(SIN, "sin")
cos = _factory(COS, "cos")
log1p = _factory(LOG1P, "log1p")
expm1 = _factory(EXPM1, "expm1")
