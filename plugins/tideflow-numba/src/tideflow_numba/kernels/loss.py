"""Loss kernels: fused softmax cross-entropy (sparse and dense labels), sigmoid cross-entropy.

Each kernel is one compiled call of :mod:`~tideflow_numba.kernels._rd_loss` over the
``(m, classes)`` row view of its operands (classes: the last axis), e.g. LeNet's
``sparse_softmax_cross_entropy`` on ``(100, 10)`` logits computes the loss and the softmax in
a single pass per row. Sparse labels outside ``[0, classes)`` raise :class:`ValueError` with
the reference's message.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tideflow_numba.kernels._rd_loss import (
    dense_xent,
    dense_xent_grad,
    dense_xent_label_grad,
    sigmoid_xent,
    sigmoid_xent_grad,
    sparse_xent,
    sparse_xent_grad,
)
from tideflow_numba.kernels._rd_util import Run, cc, prod, with_contiguous_outputs


def _rows(shape: tuple[int, ...]) -> tuple[int, int]:
    classes = shape[-1]
    return prod(shape[:-1]), classes


def _bad_label(labels: np.ndarray, classes: int) -> ValueError:
    flat = labels.reshape(-1)
    lo, hi = int(flat.min()), int(flat.max())
    bad = lo if lo < 0 else hi
    pos = np.unravel_index(int(np.argmax(flat == bad)), labels.shape)
    return ValueError(f"sparse_softmax_cross_entropy_with_logits: labels must be in "
                      f"[0, {classes}); received {bad} at index {tuple(map(int, pos))}")


def sparse_softmax_cross_entropy(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """``(labels, logits) -> (loss, softmax)``: ``-log softmax(logits)[label]`` per row."""
    m, classes = _rows(tuple(in_metas[1].shape))

    def run(ins: list[Any], outs: list[Any]) -> None:
        labels, logits = ins
        bad = sparse_xent(cc(labels).reshape(m), cc(logits).reshape(m, classes),
                          outs[0].reshape(m), outs[1].reshape(m, classes))
        if bad >= 0:
            raise _bad_label(labels, classes)

    return with_contiguous_outputs(run)


def sparse_softmax_cross_entropy_grad(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """``(prob, labels, dy) -> (prob - onehot(labels)) * dy``."""
    m, classes = _rows(tuple(in_metas[0].shape))

    def run(ins: list[Any], outs: list[Any]) -> None:
        prob, labels, dy = ins
        bad = sparse_xent_grad(cc(prob).reshape(m, classes), cc(labels).reshape(m),
                               cc(dy).reshape(m), outs[0].reshape(m, classes))
        if bad >= 0:
            raise IndexError(f"sparse_softmax_cross_entropy_grad: label "
                             f"{int(labels.reshape(-1)[bad])} is out of range for "
                             f"{classes} classes")

    return with_contiguous_outputs(run)


def softmax_cross_entropy(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """``(labels, logits) -> (loss, softmax)``: ``-sum(labels * log softmax(logits))``."""
    m, classes = _rows(tuple(in_metas[1].shape))

    def run(ins: list[Any], outs: list[Any]) -> None:
        labels, logits = ins
        dense_xent(cc(labels).reshape(m, classes), cc(logits).reshape(m, classes),
                   outs[0].reshape(m), outs[1].reshape(m, classes))

    return with_contiguous_outputs(run)


def softmax_cross_entropy_grad(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """``(prob, labels, dy) -> (prob * sum(labels) - labels) * dy``."""
    m, classes = _rows(tuple(in_metas[0].shape))

    def run(ins: list[Any], outs: list[Any]) -> None:
        prob, labels, dy = ins
        dense_xent_grad(cc(prob).reshape(m, classes), cc(labels).reshape(m, classes),
                        cc(dy).reshape(m), outs[0].reshape(m, classes))

    return with_contiguous_outputs(run)


def softmax_cross_entropy_label_grad(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """``(logits, dy) -> -log_softmax(logits) * dy``."""
    m, classes = _rows(tuple(in_metas[0].shape))

    def run(ins: list[Any], outs: list[Any]) -> None:
        logits, dy = ins
        dense_xent_label_grad(cc(logits).reshape(m, classes), cc(dy).reshape(m),
                              outs[0].reshape(m, classes))

    return with_contiguous_outputs(run)


def sigmoid_cross_entropy(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """``(labels z, logits x) -> max(x, 0) - x * z + log1p(exp(-|x|))`` elementwise."""
    n = prod(in_metas[1].shape)

    def run(ins: list[Any], outs: list[Any]) -> None:
        z, x = ins
        sigmoid_xent(cc(z).reshape(n), cc(x).reshape(n), outs[0].reshape(n))

    return with_contiguous_outputs(run)


def sigmoid_cross_entropy_grad(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """``(labels z, logits x, dy) -> (sigmoid(x) - z) * dy`` elementwise."""
    n = prod(in_metas[1].shape)

    def run(ins: list[Any], outs: list[Any]) -> None:
        z, x, dy = ins
        sigmoid_xent_grad(cc(z).reshape(n), cc(x).reshape(n), cc(dy).reshape(n),
                          outs[0].reshape(n))

    return with_contiguous_outputs(run)
