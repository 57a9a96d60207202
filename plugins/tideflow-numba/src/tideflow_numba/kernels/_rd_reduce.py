"""Compiled loops of the reductions, on the canonical 5-d view ``(a, r1, b, r2, c)``.

The reduced output is ``(a, b, c)``; per ``a`` the loops walk the input in memory order and
combine into an accumulator ``acc[b, c]`` (float64 for float inputs, int64 for integers), so
float32 sums are accumulated in float64. ``op`` selects the combination (``SUM`` ... ``ALL``).
Index loops (argmax, argmin, top_k) work on ``(outer, n, inner)`` / ``(rows, n)`` views.
"""

from __future__ import annotations

import numpy as np
from numba import njit

SUM, PROD, MAX, MIN, ANY, ALL = 0, 1, 2, 3, 4, 5


@njit(cache=True)
def _comb(op, s, v):
    if op == SUM:
        return s + v
    if op == PROD:
        return s * v
    if op == MAX:
        return v if (v > s or v != v) else s  # NaN wins, as in np.max
    if op == MIN:
        return v if (v < s or v != v) else s
    if op == ANY:
        return 1 if (s != 0 or v != 0) else 0
    return 1 if (s != 0 and v != 0) else 0


@njit(cache=True)
def _ident(op, s):
    """The identity of ``op`` (``s`` itself for max and min: they are idempotent)."""
    if op in (SUM, ANY):
        return 0
    if op in (PROD, ALL):
        return 1
    return s


@njit(cache=True)
def reduce5(x, out, acc, op):
    """``out[a, b, c] = op-reduce of x[a, :, b, :, c]`` (``acc``: a ``(b, c)`` workspace)."""
    na, nr1, nb, nr2, nc = x.shape
    empty = nr1 * nr2 == 0
    for a in range(na):
        for b in range(nb):
            for c in range(nc):
                if op in (MAX, MIN) and not empty:
                    acc[b, c] = x[a, 0, b, 0, c]
                elif op in (PROD, ALL):
                    acc[b, c] = 1
                else:
                    acc[b, c] = 0
        for r1 in range(nr1):
            for b in range(nb):
                if nc == 1:
                    # four partial results break the dependency chain of long rows
                    s0 = acc[b, 0]
                    s1 = _ident(op, s0)
                    s2, s3 = s1, s1
                    r2 = 0
                    while r2 + 4 <= nr2:
                        s0 = _comb(op, s0, x[a, r1, b, r2, 0])
                        s1 = _comb(op, s1, x[a, r1, b, r2 + 1, 0])
                        s2 = _comb(op, s2, x[a, r1, b, r2 + 2, 0])
                        s3 = _comb(op, s3, x[a, r1, b, r2 + 3, 0])
                        r2 += 4
                    while r2 < nr2:
                        s0 = _comb(op, s0, x[a, r1, b, r2, 0])
                        r2 += 1
                    s0 = _comb(op, _comb(op, s0, s1), _comb(op, s2, s3))
                    acc[b, 0] = s0
                else:
                    for r2 in range(nr2):
                        for c in range(nc):
                            acc[b, c] = _comb(op, acc[b, c], x[a, r1, b, r2, c])
        for b in range(nb):
            for c in range(nc):
                out[a, b, c] = acc[b, c]


@njit(cache=True, error_model="numpy")
def logsumexp5(x, out, m, s):
    """``log(sum(exp(x - m))) + m`` with ``m`` the maximum (0 where not finite).

    ``m`` is a ``(b, c)`` workspace of the input dtype, ``s`` a float64 one.
    """
    na, nr1, nb, nr2, nc = x.shape
    empty = nr1 * nr2 == 0
    for a in range(na):
        for b in range(nb):
            for c in range(nc):
                m[b, c] = 0 if empty else x[a, 0, b, 0, c]
                s[b, c] = 0.0
        for r1 in range(nr1):
            for b in range(nb):
                for r2 in range(nr2):
                    for c in range(nc):
                        v = x[a, r1, b, r2, c]
                        if v > m[b, c] or v != v:
                            m[b, c] = v
        for b in range(nb):
            for c in range(nc):
                if not np.isfinite(m[b, c]):
                    m[b, c] = 0
        for r1 in range(nr1):
            for b in range(nb):
                for r2 in range(nr2):
                    for c in range(nc):
                        s[b, c] += np.exp(x[a, r1, b, r2, c] - m[b, c])
        for b in range(nb):
            for c in range(nc):
                out[a, b, c] = np.log(s[b, c]) + m[b, c]


@njit(cache=True, error_model="numpy")
def extremum_grad5(x, y, dy, dx, cnt):
    """``dx = (x == y) * dy / count(x == y)`` per reduced group (``cnt``: float64 ``(b, c)``)."""
    na, nr1, nb, nr2, nc = x.shape
    for a in range(na):
        for b in range(nb):
            for c in range(nc):
                cnt[b, c] = 0.0
        for r1 in range(nr1):
            for b in range(nb):
                for r2 in range(nr2):
                    for c in range(nc):
                        if x[a, r1, b, r2, c] == y[a, b, c]:
                            cnt[b, c] += 1.0
        for b in range(nb):
            for c in range(nc):
                cnt[b, c] = np.float64(dy[a, b, c]) / cnt[b, c]  # the share, in float64
        for r1 in range(nr1):
            for b in range(nb):
                for r2 in range(nr2):
                    for c in range(nc):
                        hit = 1.0 if x[a, r1, b, r2, c] == y[a, b, c] else 0.0
                        dx[a, r1, b, r2, c] = hit * cnt[b, c]


@njit(cache=True, error_model="numpy")
def prod_grad5(x, dy, dx, one):
    """``dx = dy * (product of the other elements of the group)``: prefix times suffix.

    Exact at zeros (no division). ``one`` is 1 in the accumulation type (float64 or int64).
    """
    na, nr1, nb, nr2, nc = x.shape
    for a in range(na):
        for b in range(nb):
            for c in range(nc):
                p = one
                for r1 in range(nr1):
                    for r2 in range(nr2):
                        dx[a, r1, b, r2, c] = p
                        p = p * x[a, r1, b, r2, c]
                g = dy[a, b, c]
                p = one
                for r1 in range(nr1 - 1, -1, -1):
                    for r2 in range(nr2 - 1, -1, -1):
                        dx[a, r1, b, r2, c] = dx[a, r1, b, r2, c] * p * g
                        p = p * x[a, r1, b, r2, c]


@njit(cache=True)
def arg3(x, out, is_max):
    """Index of the first maximum (``is_max``) or minimum of ``x[o, :, i]`` into ``out[o, i]``.

    As ``np.argmax``/``np.argmin``: the first NaN wins, else the first extremum.
    """
    no, n, ni = x.shape
    for o in range(no):
        if ni == 1:
            best = x[o, 0, 0]
            k = 0
            if best == best:
                for i in range(1, n):
                    v = x[o, i, 0]
                    if v != v:
                        k = i
                        break
                    if (v > best) if is_max else (v < best):
                        best = v
                        k = i
            out[o, 0] = k
            continue
        for j in range(ni):
            out[o, j] = 0
        for i in range(1, n):
            for j in range(ni):
                best = x[o, out[o, j], j]
                if best != best:
                    continue
                v = x[o, i, j]
                if v != v or ((v > best) if is_max else (v < best)):
                    out[o, j] = i


@njit(cache=True)
def _before(a, b):
    """Whether ``a`` sorts strictly before ``b`` in top_k order (NaN is the largest)."""
    return (a != a and b == b) or a > b


@njit(cache=True)
def top_k_rows(x, out, idx, tmp):
    """Stable descending order of each row of ``x`` (``(rows, n)``), first ``k`` into ``out``.

    A bottom-up merge sort of indices (``idx``, ``tmp``: int64 ``(n,)`` workspaces): equal
    values keep increasing indices, exactly like the reference's stable argsort.
    """
    rows, n = x.shape
    k = out.shape[1]
    for r in range(rows):
        for i in range(n):
            idx[i] = i
        src, dst = idx, tmp
        width = 1
        while width < n:
            for lo in range(0, n, 2 * width):
                mid = min(lo + width, n)
                hi = min(lo + 2 * width, n)
                i, j, t = lo, mid, lo
                while i < mid and j < hi:
                    if _before(x[r, src[j]], x[r, src[i]]):
                        dst[t] = src[j]
                        j += 1
                    else:
                        dst[t] = src[i]
                        i += 1
                    t += 1
                while i < mid:
                    dst[t] = src[i]
                    i += 1
                    t += 1
                while j < hi:
                    dst[t] = src[j]
                    j += 1
                    t += 1
            src, dst = dst, src
            width *= 2
        for t in range(k):
            out[r, t] = src[t]
