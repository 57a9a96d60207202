"""Compiled row loops of the cross-entropy losses (rows: the last axis, ``(m, classes)``).

Each forward kernel makes one pass per row over data that stays in cache: the maximum,
the exponentials (written into the probability output) with a float64 sum, the loss, then
the normalisation. The sparse kernels return the first row with an invalid label (or -1).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _row_max(x, r):
    mx = x[r, 0]
    for j in range(1, x.shape[1]):
        v = x[r, j]
        if v > mx or v != v:
            mx = v
    return mx


@njit(cache=True, error_model="numpy")
def sparse_xent(labels, logits, loss, prob):
    """``loss = log(sum(exp(z))) - z[label]``, ``prob = softmax(logits)``, ``z = x - max``."""
    m, c = logits.shape
    for r in range(m):
        if labels[r] < 0 or labels[r] >= c:
            return r
    for r in range(m):
        mx = _row_max(logits, r)
        s = 0.0
        for j in range(c):
            e = np.exp(logits[r, j] - mx)
            prob[r, j] = e
            s += e
        loss[r] = np.log(s) - (logits[r, labels[r]] - mx)
        for j in range(c):
            prob[r, j] = prob[r, j] / s
    return -1


@njit(cache=True)
def sparse_xent_grad(prob, labels, dy, out):
    """``out = prob * dy`` with ``dy`` subtracted at each row's label."""
    m, c = prob.shape
    for r in range(m):
        g = dy[r]
        for j in range(c):
            out[r, j] = prob[r, j] * g
        t = labels[r]
        if t < 0:
            t += c  # NumPy's negative indexing, as the reference's fancy index
        if t < 0 or t >= c:
            return r
        out[r, t] = out[r, t] - g
    return -1


@njit(cache=True, error_model="numpy")
def dense_xent(labels, logits, loss, prob):
    """``loss = lse * sum(l) - sum(l * z)``, ``prob = softmax(logits)``, ``z = x - max``."""
    m, c = logits.shape
    for r in range(m):
        mx = _row_max(logits, r)
        s = 0.0
        sl = 0.0
        slz = 0.0
        for j in range(c):
            z = logits[r, j] - mx
            lab = labels[r, j]
            sl += lab
            slz += lab * z
            e = np.exp(z)
            prob[r, j] = e
            s += e
        loss[r] = np.log(s) * sl - slz
        for j in range(c):
            prob[r, j] = prob[r, j] / s


@njit(cache=True)
def dense_xent_grad(prob, labels, dy, out):
    """``out = (prob * sum(labels) - labels) * dy`` per row."""
    m, c = prob.shape
    for r in range(m):
        sl = 0.0
        for j in range(c):
            sl += labels[r, j]
        g = dy[r]
        for j in range(c):
            out[r, j] = (prob[r, j] * sl - labels[r, j]) * g


@njit(cache=True, error_model="numpy")
def dense_xent_label_grad(logits, dy, out):
    """``out = -log_softmax(logits) * dy = (lse - z) * dy`` per row."""
    m, c = logits.shape
    for r in range(m):
        mx = _row_max(logits, r)
        s = 0.0
        for j in range(c):
            s += np.exp(logits[r, j] - mx)
        lse = np.log(s)
        g = dy[r]
        for j in range(c):
            out[r, j] = (lse - (logits[r, j] - mx)) * g


@njit(cache=True)
def sigmoid_xent(z, x, out):
    """``max(x, 0) - x * z + log1p(exp(-|x|))`` elementwise (flat arrays)."""
    for i in range(x.shape[0]):
        v = x[i]
        t = np.log1p(np.exp(-np.abs(v)))
        out[i] = ((v if v > 0 else 0) + t) - v * z[i]


@njit(cache=True, error_model="numpy")
def sigmoid_xent_grad(z, x, dy, out):
    """``(sigmoid(x) - z) * dy`` elementwise (flat arrays)."""
    for i in range(x.shape[0]):
        out[i] = (1.0 / (1.0 + np.exp(-x[i])) - z[i]) * dy[i]
