"""Activations: ``flow.nn.relu`` / ``sigmoid`` / ``tanh`` / ``softmax`` and friends.

``relu``, ``sigmoid`` and ``tanh`` are also exported under ``flow.math``. Gradient rules
use the forward *output* where the derivative is a function of it (relu, sigmoid, tanh,
softmax, log_softmax, relu6), so the forward input's buffer can be reused early.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tideflow.framework.blob import Blob
from tideflow.framework.build import add_op
from tideflow.ops._util import check, meta, norm_axis
from tideflow.plugins.records import OpSpec

__all__ = ["leaky_relu", "log_softmax", "relu", "relu6", "sigmoid", "softmax", "tanh"]


def _infer_same(attrs: dict, x: Any, *rest: Any) -> Any:
    return meta(x.shape, x.dtype)


def _infer_float(attrs: dict, x: Any, *rest: Any) -> Any:
    check(x.dtype.is_floating, f"needs a floating-point blob; received {x.dtype.name}")
    if "axis" in attrs:
        norm_axis(attrs["axis"], len(x.shape))
    return meta(x.shape, x.dtype)


# ---------------------------------------------------------------- relu


def _relu_kernel(attrs: dict, ins: list, outs: list) -> Any:
    def run(i: list, o: list) -> None:
        np.maximum(i[0], 0, out=o[0])

    return run


def _relu_grad_kernel(attrs: dict, ins: list, outs: list) -> Any:
    def run(i: list, o: list) -> None:
        y, dy = i
        np.multiply(dy, y > 0, out=o[0])

    return run


def _grad_relu(ctx: Any, dys: list) -> list:
    return [ctx.op("relu_grad", ctx.outputs[0], dys[0])]


# ---------------------------------------------------------------- sigmoid, tanh


def _sigmoid(x: np.ndarray, out: np.ndarray) -> None:
    # 1 / (1 + exp(-x)) overflows harmlessly to 0 for very negative x; silence the warning.
    with np.errstate(over="ignore"):
        np.negative(x, out=out)
        np.exp(out, out=out)
    out += 1
    np.reciprocal(out, out=out)


def _sigmoid_kernel(attrs: dict, ins: list, outs: list) -> Any:
    def run(i: list, o: list) -> None:
        _sigmoid(i[0], o[0])

    return run


def _sigmoid_grad_kernel(attrs: dict, ins: list, outs: list) -> Any:
    def run(i: list, o: list) -> None:
        y, dy = i
        np.subtract(1, y, out=o[0])
        o[0] *= y
        o[0] *= dy

    return run


def _tanh_kernel(attrs: dict, ins: list, outs: list) -> Any:
    def run(i: list, o: list) -> None:
        np.tanh(i[0], out=o[0])

    return run


def _tanh_grad_kernel(attrs: dict, ins: list, outs: list) -> Any:
    def run(i: list, o: list) -> None:
        y, dy = i
        np.multiply(y, y, out=o[0])
        np.subtract(1, o[0], out=o[0])
        o[0] *= dy

    return run


def _output_grad(op: str) -> Any:
    def rule(ctx: Any, dys: list) -> list:
        return [ctx.op(op, ctx.outputs[0], dys[0], **ctx.attrs)]

    return rule


# ---------------------------------------------------------------- softmax, log_softmax


def _softmax_kernel(attrs: dict, ins: list, outs: list) -> Any:
    axis = norm_axis(attrs["axis"], len(ins[0].shape))

    def run(i: list, o: list) -> None:
        y = o[0]
        np.subtract(i[0], i[0].max(axis=axis, keepdims=True), out=y)
        np.exp(y, out=y)
        y /= y.sum(axis=axis, keepdims=True)

    return run


def _softmax_grad_kernel(attrs: dict, ins: list, outs: list) -> Any:
    axis = norm_axis(attrs["axis"], len(ins[0].shape))

    def run(i: list, o: list) -> None:
        y, dy = i
        np.multiply(dy, y, out=o[0])
        s = o[0].sum(axis=axis, keepdims=True)
        np.subtract(dy, s, out=o[0])
        o[0] *= y

    return run


def _log_softmax_kernel(attrs: dict, ins: list, outs: list) -> Any:
    axis = norm_axis(attrs["axis"], len(ins[0].shape))
    tmp = np.empty(ins[0].shape, outs[0].dtype.np_dtype)

    def run(i: list, o: list) -> None:
        y = o[0]
        np.subtract(i[0], i[0].max(axis=axis, keepdims=True), out=y)
        np.exp(y, out=tmp)
        y -= np.log(tmp.sum(axis=axis, keepdims=True))

    return run


def _log_softmax_grad_kernel(attrs: dict, ins: list, outs: list) -> Any:
    axis = norm_axis(attrs["axis"], len(ins[0].shape))

    def run(i: list, o: list) -> None:
        y, dy = i
        s = dy.sum(axis=axis, keepdims=True)
        np.exp(y, out=o[0])
        o[0] *= s
        np.subtract(dy, o[0], out=o[0])

    return run


# ---------------------------------------------------------------- leaky_relu, relu6


def _leaky_kernel(attrs: dict, ins: list, outs: list) -> Any:
    dt = outs[0].dtype.np_dtype
    one, alpha = np.asarray(1, dt), np.asarray(attrs["alpha"], dt)

    def run(i: list, o: list) -> None:
        x = i[0]
        np.multiply(x, np.where(x > 0, one, alpha), out=o[0])

    return run


def _leaky_grad_kernel(attrs: dict, ins: list, outs: list) -> Any:
    dt = outs[0].dtype.np_dtype
    one, alpha = np.asarray(1, dt), np.asarray(attrs["alpha"], dt)

    def run(i: list, o: list) -> None:
        x, dy = i
        np.multiply(dy, np.where(x > 0, one, alpha), out=o[0])

    return run


def _grad_leaky(ctx: Any, dys: list) -> list:
    return [ctx.op("leaky_relu_grad", ctx.inputs[0], dys[0], alpha=ctx.attrs["alpha"])]


def _relu6_kernel(attrs: dict, ins: list, outs: list) -> Any:
    def run(i: list, o: list) -> None:
        np.clip(i[0], 0, 6, out=o[0])

    return run


def _relu6_grad_kernel(attrs: dict, ins: list, outs: list) -> Any:
    def run(i: list, o: list) -> None:
        y, dy = i
        np.multiply(dy, (y > 0) & (y < 6), out=o[0])

    return run


SPECS = [
    OpSpec("relu", _infer_same, _relu_kernel, _grad_relu),
    OpSpec("relu_grad", _infer_same, _relu_grad_kernel),
    OpSpec("sigmoid", _infer_float, _sigmoid_kernel, _output_grad("sigmoid_grad")),
    OpSpec("sigmoid_grad", _infer_same, _sigmoid_grad_kernel),
    OpSpec("tanh", _infer_float, _tanh_kernel, _output_grad("tanh_grad")),
    OpSpec("tanh_grad", _infer_same, _tanh_grad_kernel),
    OpSpec("softmax", _infer_float, _softmax_kernel, _output_grad("softmax_grad")),
    OpSpec("softmax_grad", _infer_same, _softmax_grad_kernel),
    OpSpec("log_softmax", _infer_float, _log_softmax_kernel, _output_grad("log_softmax_grad")),
    OpSpec("log_softmax_grad", _infer_same, _log_softmax_grad_kernel),
    OpSpec("leaky_relu", _infer_float, _leaky_kernel, _grad_leaky),
    OpSpec("leaky_relu_grad", _infer_same, _leaky_grad_kernel),
    OpSpec("relu6", _infer_float, _relu6_kernel, _output_grad("relu6_grad")),
    OpSpec("relu6_grad", _infer_same, _relu6_grad_kernel),
]


def relu(x: Blob, name: str | None = None) -> Blob:
    """Return ``max(x, 0)``."""
    return add_op("relu", [x], {}, name)


def sigmoid(x: Blob, name: str | None = None) -> Blob:
    """Return ``1 / (1 + exp(-x))``."""
    return add_op("sigmoid", [x], {}, name)


def tanh(x: Blob, name: str | None = None) -> Blob:
    """Return the hyperbolic tangent of ``x``."""
    return add_op("tanh", [x], {}, name)


def _axis(func: str, axis: Any) -> int:
    if axis is None:
        return -1
    if not isinstance(axis, int | np.integer) or isinstance(axis, bool):
        raise TypeError(f"{func}: axis must be an int or None; received axis={axis!r}")
    return int(axis)


def softmax(logits: Blob, axis: int | None = None, name: str | None = None) -> Blob:
    """Numerically stable softmax along ``axis`` (None: the last axis)."""
    return add_op("softmax", [logits], {"axis": _axis("softmax", axis)}, name)


def log_softmax(logits: Blob, axis: int | None = None, name: str | None = None) -> Blob:
    """Numerically stable ``log(softmax(logits))`` along ``axis`` (None: the last axis)."""
    return add_op("log_softmax", [logits], {"axis": _axis("log_softmax", axis)}, name)


def leaky_relu(x: Blob, alpha: float = 0.2, name: str | None = None) -> Blob:
    """Return ``x`` where ``x > 0`` else ``alpha * x``."""
    if isinstance(alpha, bool) or not isinstance(alpha, int | float | np.floating | np.integer):
        raise TypeError(f"leaky_relu: alpha must be a number; received alpha={alpha!r}")
    return add_op("leaky_relu", [x], {"alpha": float(alpha)}, name)


def relu6(x: Blob, name: str | None = None) -> Blob:
    """Return ``min(max(x, 0), 6)``."""
    return add_op("relu6", [x], {}, name)
