"""Compiled loops of the broadcasting binary ops (arithmetic and comparisons).

Every broadcast is first collapsed to a canonical shape (see
:func:`~tideflow_numba.kernels._ew_util.broadcast_plan`): its last dim is a *span* that
each operand walks with stride 1 or 0, the leading dims are *rows* whose start offsets are
decoded from the row number. One row loop per op family, selected by an integer op code
(branching outside the element loop), covers same-shape operands (rank 1, strides 1),
scalar operands (rank 1, stride 0) and every other broadcast; add, subtract and multiply
read a scalar operand once. Large same-shape add/subtract/multiply have ``prange`` loops.

Each function is self-contained (no compiled helpers): every compiled function costs
compile time on a cold cache, and callees are re-optimized inside each caller anyway.
Indices are unsigned so that LLVM drops the negative-index wraparound and vectorizes.
"""

from __future__ import annotations

from numba import njit, prange, uint64

ADD, SUB, MUL, DIV, MAX, MIN, POW, MOD = range(8)
EQ, NE, LT, LE, GT, GE = range(6)

_OPTS = {"cache": True, "error_model": "numpy"}


@njit(**_OPTS)
def arith(code, a, sa, b, sb, shape, out):  # noqa: ANN001, ANN201, C901, PLR0912, PLR0915
    """Broadcast ``out = a (op) b`` over a canonical ``shape`` (strides ``sa``, ``sb``)."""
    rank = shape.size
    inner = shape[rank - 1]
    if inner == 0 or out.size == 0:
        return
    ia = uint64(sa[rank - 1])
    ib = uint64(sb[rank - 1])
    n = uint64(inner)
    for r in range(out.size // inner):
        q = r
        oa = 0
        ob = 0
        for d in range(rank - 2, -1, -1):  # decode the row's offsets
            i = q % shape[d]
            q //= shape[d]
            oa += i * sa[d]
            ob += i * sb[d]
        oa = uint64(oa)
        ob = uint64(ob)
        base = uint64(r * inner)
        if code <= MUL and ib == 0:  # scalar right operand, read once
            y = b[ob]
            if code == ADD:
                for j in range(n):
                    out[base + j] = a[oa + j * ia] + y
            elif code == SUB:
                for j in range(n):
                    out[base + j] = a[oa + j * ia] - y
            else:
                for j in range(n):
                    out[base + j] = a[oa + j * ia] * y
        elif code <= MUL and ia == 0:
            x = a[oa]
            if code == ADD:
                for j in range(n):
                    out[base + j] = x + b[ob + j * ib]
            elif code == SUB:
                for j in range(n):
                    out[base + j] = x - b[ob + j * ib]
            else:
                for j in range(n):
                    out[base + j] = x * b[ob + j * ib]
        elif code == ADD:
            for j in range(n):
                out[base + j] = a[oa + j * ia] + b[ob + j * ib]
        elif code == SUB:
            for j in range(n):
                out[base + j] = a[oa + j * ia] - b[ob + j * ib]
        elif code == MUL:
            for j in range(n):
                out[base + j] = a[oa + j * ia] * b[ob + j * ib]
        elif code == DIV:
            for j in range(n):
                out[base + j] = a[oa + j * ia] / b[ob + j * ib]
        elif code == MAX:
            for j in range(n):
                x = a[oa + j * ia]
                y = b[ob + j * ib]
                out[base + j] = x if (x > y or x != x) else y  # NaN propagates (np.maximum)
        elif code == MIN:
            for j in range(n):
                x = a[oa + j * ia]
                y = b[ob + j * ib]
                out[base + j] = x if (x < y or x != x) else y
        elif code == POW:
            for j in range(n):
                out[base + j] = a[oa + j * ia] ** b[ob + j * ib]
        else:  # MOD: floor modulo, the sign of the divisor (as np.mod)
            for j in range(n):
                out[base + j] = a[oa + j * ia] % b[ob + j * ib]


@njit(**_OPTS)
def add_into(acc, x):  # noqa: ANN001, ANN201
    """``acc += x`` (same shape; one array, so LLVM vectorizes without alias checks)."""
    for i in range(acc.size):
        acc[i] += x[i]


@njit(parallel=True, **_OPTS)
def add_par(a, b, out):  # noqa: ANN001, ANN201
    """Same-shape ``out = a + b`` with ``prange`` (large arrays)."""
    for i in prange(out.size):
        out[i] = a[i] + b[i]


@njit(parallel=True, **_OPTS)
def sub_par(a, b, out):  # noqa: ANN001, ANN201
    """Same-shape ``out = a - b`` with ``prange`` (large arrays)."""
    for i in prange(out.size):
        out[i] = a[i] - b[i]


@njit(parallel=True, **_OPTS)
def mul_par(a, b, out):  # noqa: ANN001, ANN201
    """Same-shape ``out = a * b`` with ``prange`` (large arrays)."""
    for i in prange(out.size):
        out[i] = a[i] * b[i]


@njit(**_OPTS)
def compare(code, a, sa, b, sb, shape, out):  # noqa: ANN001, ANN201, C901
    """Broadcast comparison ``out = a (cmp) b`` (0 or 1) over a canonical ``shape``."""
    rank = shape.size
    inner = shape[rank - 1]
    if inner == 0 or out.size == 0:
        return
    ia = uint64(sa[rank - 1])
    ib = uint64(sb[rank - 1])
    for r in range(out.size // inner):
        q = r
        oa = 0
        ob = 0
        for d in range(rank - 2, -1, -1):
            i = q % shape[d]
            q //= shape[d]
            oa += i * sa[d]
            ob += i * sb[d]
        oa = uint64(oa)
        ob = uint64(ob)
        base = uint64(r * inner)
        for j in range(uint64(inner)):
            x = a[oa + j * ia]
            y = b[ob + j * ib]
            if code == EQ:
                out[base + j] = x == y
            elif code == NE:
                out[base + j] = x != y
            elif code == LT:
                out[base + j] = x < y
            elif code == LE:
                out[base + j] = x <= y
            elif code == GT:
                out[base + j] = x > y
            else:
                out[base + j] = x >= y


@njit(**_OPTS)
def expand(a, sa, shape, out):  # noqa: ANN001, ANN201
    """Copy ``a`` broadcast over a canonical ``shape`` (strides ``sa``) into ``out``."""
    rank = shape.size
    inner = shape[rank - 1]
    if inner == 0 or out.size == 0:
        return
    ia = uint64(sa[rank - 1])
    for r in range(out.size // inner):
        q = r
        oa = 0
        for d in range(rank - 2, -1, -1):
            i = q % shape[d]
            q //= shape[d]
            oa += i * sa[d]
        oa = uint64(oa)
        base = uint64(r * inner)
        for j in range(uint64(inner)):
            out[base + j] = a[oa + j * ia]
