"""Losses: ``flow.nn.sparse_softmax_cross_entropy_with_logits`` and friends.

The softmax cross-entropy ops are fused: one forward op computes the per-example loss
from a numerically stable log-softmax and also emits the softmax probabilities as a second
output, which the backward op turns into ``(softmax - labels) * dy`` without recomputing.
Sparse labels are checked at run time: a label outside ``[0, num_classes)`` raises a
:class:`ValueError` naming the bad value (it is never clipped).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tideflow.framework.blob import Blob
from tideflow.framework.build import add_op
from tideflow.ops._util import check, meta, same_dtype
from tideflow.plugins.records import OpSpec

__all__ = [
    "sigmoid_cross_entropy_with_logits",
    "softmax_cross_entropy_with_logits",
    "sparse_softmax_cross_entropy_with_logits",
]

_INDEX_DTYPES = ("int32", "int64")

# ---------------------------------------------------------------- sparse softmax CE


def _infer_sparse(attrs: dict, labels: Any, logits: Any) -> Any:
    check(logits.dtype.is_floating, f"logits must be floating point; received "
          f"{logits.dtype.name}")
    check(labels.dtype.name in _INDEX_DTYPES, f"labels must be int32 or int64 (class "
          f"indices); received {labels.dtype.name}")
    lead = tuple(logits.shape[:-1])
    ok = tuple(labels.shape) == lead or tuple(labels.shape) == (*lead, 1) or (
        lead == () and tuple(labels.shape) == (1,))
    check(ok, f"labels must have shape {lead} (logits.shape[:-1]) or {(*lead, 1)}; got "
          f"labels {labels.shape} for logits {logits.shape}")
    return meta(lead, logits.dtype), meta(logits.shape, logits.dtype)


def _labels_flat(labels: np.ndarray, m: int, classes: int) -> np.ndarray:
    flat = labels.reshape(m)
    lo, hi = int(flat.min()), int(flat.max())
    if lo < 0 or hi >= classes:
        bad = lo if lo < 0 else hi
        pos = np.unravel_index(int(np.argmax(flat == bad)), labels.shape)
        raise ValueError(f"sparse_softmax_cross_entropy_with_logits: labels must be in "
                         f"[0, {classes}); received {bad} at index {tuple(map(int, pos))}")
    return flat


def _sparse_kernel(attrs: dict, ins: list, outs: list) -> Any:
    classes = ins[1].shape[-1]
    m = ins[1].size // classes
    rows = np.arange(m)
    dt = outs[0].dtype.np_dtype
    picked = np.empty(m, dt)
    total = np.empty(m, dt)

    def run(i: list, o: list) -> None:
        labels = _labels_flat(i[0], m, classes)
        logits = i[1].reshape(m, classes)
        z = o[1].reshape(m, classes)  # z = logits - max, then exp(z), then probabilities
        np.subtract(logits, logits.max(axis=1, keepdims=True), out=z)
        picked[...] = z[rows, labels]
        np.exp(z, out=z)
        z.sum(axis=1, out=total)
        loss = o[0].reshape(m)
        np.log(total, out=loss)
        loss -= picked
        z /= total[:, None]

    return run


def _infer_sparse_grad(attrs: dict, prob: Any, labels: Any, dy: Any) -> Any:
    return meta(prob.shape, prob.dtype)


def _sparse_grad_kernel(attrs: dict, ins: list, outs: list) -> Any:
    classes = ins[0].shape[-1]
    m = ins[0].size // classes
    rows = np.arange(m)

    def run(i: list, o: list) -> None:
        prob, labels, dy = i
        dy = dy.reshape(m)
        out = o[0].reshape(m, classes)
        np.multiply(prob.reshape(m, classes), dy[:, None], out=out)
        out[rows, labels.reshape(m)] -= dy

    return run


def _grad_sparse(ctx: Any, dys: list) -> list:
    labels, _ = ctx.inputs
    prob = ctx.outputs[1]
    if dys[0] is None:
        return [None, None]
    return [None, ctx.op("sparse_softmax_cross_entropy_grad", prob, labels, dys[0])]


# ---------------------------------------------------------------- dense softmax CE


def _infer_dense(attrs: dict, labels: Any, logits: Any) -> Any:
    dtype = same_dtype(labels, logits)
    check(dtype.is_floating, f"logits must be floating point; received {dtype.name}")
    check(labels.shape == logits.shape, f"labels {labels.shape} and logits {logits.shape} "
          "must have the same shape")
    return meta(logits.shape[:-1], dtype), meta(logits.shape, dtype)


def _dense_kernel(attrs: dict, ins: list, outs: list) -> Any:
    classes = ins[1].shape[-1]
    m = ins[1].size // classes
    dt = outs[0].dtype.np_dtype
    lse = np.empty((m, 1), dt)
    tmp = np.empty((m, classes), dt)

    def run(i: list, o: list) -> None:
        labels, logits = i[0].reshape(m, classes), i[1].reshape(m, classes)
        z = o[1].reshape(m, classes)
        np.subtract(logits, logits.max(axis=1, keepdims=True), out=z)
        np.multiply(labels, z, out=tmp)
        loss = o[0].reshape(m)
        tmp.sum(axis=1, out=loss)  # sum(l * z)
        np.exp(z, out=z)
        z.sum(axis=1, keepdims=True, out=lse)
        z /= lse
        np.log(lse, out=lse)
        # loss = lse * sum(l) - sum(l * z)
        np.subtract(lse[:, 0] * labels.sum(axis=1), loss, out=loss)

    return run


def _infer_dense_grad(attrs: dict, prob: Any, labels: Any, dy: Any) -> Any:
    return meta(prob.shape, prob.dtype)


def _dense_grad_kernel(attrs: dict, ins: list, outs: list) -> Any:
    classes = ins[0].shape[-1]
    m = ins[0].size // classes

    def run(i: list, o: list) -> None:
        prob, labels = i[0].reshape(m, classes), i[1].reshape(m, classes)
        dy = i[2].reshape(m, 1)
        out = o[0].reshape(m, classes)
        # d/dz_j = softmax_j * sum(l) - l_j
        np.multiply(prob, labels.sum(axis=1, keepdims=True), out=out)
        out -= labels
        out *= dy

    return run


def _infer_dense_label_grad(attrs: dict, logits: Any, dy: Any) -> Any:
    return meta(logits.shape, logits.dtype)


def _dense_label_grad_kernel(attrs: dict, ins: list, outs: list) -> Any:
    classes = ins[0].shape[-1]
    m = ins[0].size // classes

    def run(i: list, o: list) -> None:
        logits, dy = i[0].reshape(m, classes), i[1].reshape(m, 1)
        out = o[0].reshape(m, classes)  # -log_softmax(logits) * dy
        np.subtract(logits, logits.max(axis=1, keepdims=True), out=out)
        lse = np.log(np.exp(out).sum(axis=1, keepdims=True))
        np.subtract(lse, out, out=out)
        out *= dy

    return run


def _grad_dense(ctx: Any, dys: list) -> list:
    labels, logits = ctx.inputs
    prob = ctx.outputs[1]
    if dys[0] is None:
        return [None, None]
    dlogits = ctx.op("softmax_cross_entropy_grad", prob, labels, dys[0])
    dlabels = ctx.op("softmax_cross_entropy_label_grad", logits, dys[0])
    return [dlabels, dlogits]


# ---------------------------------------------------------------- sigmoid CE


def _infer_sigmoid_ce(attrs: dict, labels: Any, logits: Any) -> Any:
    dtype = same_dtype(labels, logits)
    check(dtype.is_floating, f"logits must be floating point; received {dtype.name}")
    check(labels.shape == logits.shape, f"labels {labels.shape} and logits {logits.shape} "
          "must have the same shape")
    return meta(logits.shape, dtype)


def _sigmoid_ce_kernel(attrs: dict, ins: list, outs: list) -> Any:
    tmp = np.empty(ins[1].shape, outs[0].dtype.np_dtype)

    def run(i: list, o: list) -> None:
        z, x = i
        out = o[0]  # max(x, 0) - x*z + log1p(exp(-|x|))
        np.abs(x, out=tmp)
        np.negative(tmp, out=tmp)
        np.exp(tmp, out=tmp)
        np.log1p(tmp, out=tmp)
        np.maximum(x, 0, out=out)
        out += tmp
        np.multiply(x, z, out=tmp)
        out -= tmp

    return run


def _sigmoid_ce_grad_kernel(attrs: dict, ins: list, outs: list) -> Any:
    def run(i: list, o: list) -> None:
        z, x, dy = i
        out = o[0]  # (sigmoid(x) - z) * dy
        with np.errstate(over="ignore"):
            np.negative(x, out=out)
            np.exp(out, out=out)
        out += 1
        np.reciprocal(out, out=out)
        out -= z
        out *= dy

    return run


def _infer_sigmoid_ce_grad(attrs: dict, labels: Any, logits: Any, dy: Any) -> Any:
    return meta(logits.shape, logits.dtype)


def _grad_sigmoid_ce(ctx: Any, dys: list) -> list:
    from tideflow.ops.math import multiply, negative

    labels, logits = ctx.inputs
    dlogits = ctx.op("sigmoid_cross_entropy_grad", labels, logits, dys[0])
    return [negative(multiply(logits, dys[0])), dlogits]


SPECS = [
    OpSpec("sparse_softmax_cross_entropy", _infer_sparse, _sparse_kernel, _grad_sparse,
           summary="-log softmax(logits)[label]; 2nd output: the softmax"),
    OpSpec("sparse_softmax_cross_entropy_grad", _infer_sparse_grad, _sparse_grad_kernel,
           summary="(softmax - onehot) * dy"),
    OpSpec("softmax_cross_entropy", _infer_dense, _dense_kernel, _grad_dense,
           summary="-sum(labels * log softmax(logits)); 2nd output: the softmax"),
    OpSpec("softmax_cross_entropy_grad", _infer_dense_grad, _dense_grad_kernel,
           summary="(softmax * sum(labels) - labels) * dy"),
    OpSpec("softmax_cross_entropy_label_grad", _infer_dense_label_grad,
           _dense_label_grad_kernel, summary="-log softmax(logits) * dy"),
    OpSpec("sigmoid_cross_entropy", _infer_sigmoid_ce, _sigmoid_ce_kernel, _grad_sigmoid_ce,
           summary="elementwise logistic loss on logits"),
    OpSpec("sigmoid_cross_entropy_grad", _infer_sigmoid_ce_grad, _sigmoid_ce_grad_kernel,
           summary="(sigmoid(logits) - labels) * dy"),
]


def sparse_softmax_cross_entropy_with_logits(labels: Blob, logits: Blob,
                                             name: str | None = None) -> Blob:
    """Per-example ``-log softmax(logits)[label]`` over the last axis of ``logits``.

    Args:
        labels: int32/int64 class indices of shape ``logits.shape[:-1]``, or of the same
            rank as ``logits`` with a last dimension of 1 (squeezed).
        logits: unnormalized scores, floating point.
        name: op name.

    Returns:
        The loss, shape ``logits.shape[:-1]`` (the squeezed label shape).

    Raises:
        ShapeError: wrong label dtype or shape (at build time).
        ValueError: a label outside ``[0, num_classes)`` (when the job runs).
    """
    return add_op("sparse_softmax_cross_entropy", [labels, logits], {}, name)[0]


def softmax_cross_entropy_with_logits(labels: Blob, logits: Blob,
                                      name: str | None = None) -> Blob:
    """Per-example ``-sum(labels * log softmax(logits))`` over the last axis.

    ``labels`` are dense (probabilities), of the same shape and dtype as ``logits``; both
    get gradients.
    """
    return add_op("softmax_cross_entropy", [labels, logits], {}, name)[0]


def sigmoid_cross_entropy_with_logits(labels: Blob, logits: Blob,
                                      name: str | None = None) -> Blob:
    """Elementwise ``-z*log(sigmoid(x)) - (1-z)*log(1-sigmoid(x))``, computed stably.

    ``labels`` (z) have the shape and dtype of ``logits`` (x).
    """
    return add_op("sigmoid_cross_entropy", [labels, logits], {}, name)
