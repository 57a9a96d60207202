"""``flow.nn.moments``, ``flow.nn.batch_normalization`` and the fused batch-norm ops.

``layers.batch_normalization`` is built from three ops here:

- ``batch_norm_train`` (x, gamma, beta; attrs axis, epsilon) -> (y, batch_mean,
  batch_inv_std, batch_var): normalizes with the batch statistics (biased variance) over
  every axis but ``axis``; its gradient is the fused ``batch_norm_train_grad``.
- ``batch_norm_infer`` (x, gamma, beta, mean, variance): normalizes with given statistics;
  differentiable in all five inputs.
- ``assign_moving_average`` (moving, batch; attr momentum): a stateful op with no outputs
  that updates the variable in place, ``moving = momentum*moving + (1-momentum)*batch``.

Statistics and parameters are 1-D of length ``x.shape[axis]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tideflow.framework.blob import Blob
from tideflow.framework.build import add_op
from tideflow.ops._util import check, meta, norm_axes, norm_axis, same_dtype
from tideflow.ops.math import add, multiply, scalar_mul
from tideflow.plugins.records import OpSpec

__all__ = ["batch_normalization", "moments"]

# ---------------------------------------------------------------- moments


def _kept(shape: Sequence[int], axes: Sequence[int]) -> tuple[int, ...]:
    return tuple(1 if k in axes else d for k, d in enumerate(shape))


def _infer_moments(attrs: dict, x: Any) -> Any:
    check(x.dtype.is_floating, f"moments needs a floating-point blob; received "
          f"{x.dtype.name}")
    axes = attrs["axes"]
    check(all(0 <= a < len(x.shape) for a in axes), f"axes={axes} out of range for {x.shape}")
    if attrs["keepdims"]:
        shape = _kept(x.shape, axes)
    else:
        shape = tuple(d for k, d in enumerate(x.shape) if k not in axes)
    return meta(shape, x.dtype), meta(shape, x.dtype)


def _moments_kernel(attrs: dict, ins: list, outs: list) -> Any:
    axes = tuple(attrs["axes"])
    kept = _kept(ins[0].shape, axes)
    diff = np.empty(ins[0].shape, outs[0].dtype.np_dtype)

    def run(i: list, o: list) -> None:
        mean, var = o[0].reshape(kept), o[1].reshape(kept)
        np.mean(i[0], axis=axes, keepdims=True, out=mean)
        np.subtract(i[0], mean, out=diff)
        np.multiply(diff, diff, out=diff)
        np.mean(diff, axis=axes, keepdims=True, out=var)

    return run


def _infer_moments_grad(attrs: dict, x: Any, *rest: Any) -> Any:
    return meta(x.shape, x.dtype)


def _moments_grad_kernel(attrs: dict, ins: list, outs: list) -> Any:
    axes = tuple(attrs["axes"])
    shape = ins[0].shape
    kept = _kept(shape, axes)
    count = int(np.prod([shape[a] for a in axes], dtype=np.int64))
    has_mean, has_var = attrs["has_dmean"], attrs["has_dvar"]
    dt = outs[0].dtype.np_dtype
    dvar2 = np.empty(kept, dt)

    def run(i: list, o: list) -> None:
        x, mean = i[0], i[1].reshape(kept)
        rest = list(i[2:])
        dx = o[0]
        if has_var:  # d var / dx = 2 (x - mean) / count
            np.multiply(rest[-1].reshape(kept), 2.0 / count, out=dvar2)
            np.subtract(x, mean, out=dx)
            dx *= dvar2
        else:
            dx.fill(0)
        if has_mean:
            dx += rest[0].reshape(kept) * (1.0 / count)

    return run


def _grad_moments(ctx: Any, dys: list) -> list:
    (x,) = ctx.inputs
    return [_moments_grad(ctx, x, ctx.outputs[0], dys[0], dys[1], ctx.attrs["axes"])]


def _moments_grad(ctx: Any, x: Blob, mean: Blob, dmean: Blob | None, dvar: Blob | None,
                  axes: Sequence[int]) -> Blob | None:
    if dmean is None and dvar is None:
        return None
    extra = [d for d in (dmean, dvar) if d is not None]
    return ctx.op("moments_grad", x, mean, *extra, axes=tuple(axes),
                  has_dmean=dmean is not None, has_dvar=dvar is not None)


# ---------------------------------------------------------------- fused batch norm


def _stat_axes(rank: int, axis: int) -> tuple[int, ...]:
    return tuple(k for k in range(rank) if k != axis)


def _check_params(attrs: dict, x: Any, params: Sequence[Any]) -> tuple[int, Any]:
    rank = len(x.shape)
    axis = attrs["axis"]
    check(0 <= axis < rank, f"axis={axis} is out of range for x {x.shape}")
    check(x.dtype.is_floating, f"batch norm needs a floating-point blob; received "
          f"{x.dtype.name}")
    c = x.shape[axis]
    for p in params:
        check(tuple(p.shape) == (c,), f"parameters and statistics must have shape ({c},) "
              f"(x.shape[{axis}] of x {x.shape}); got {p.shape}")
    return c, same_dtype(x, *params)


def _infer_bn_train(attrs: dict, x: Any, gamma: Any, beta: Any) -> Any:
    c, dtype = _check_params(attrs, x, [gamma, beta])
    stat = meta((c,), dtype)
    return meta(x.shape, dtype), stat, stat, stat


def _bn_shapes(attrs: dict, shape: Sequence[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    axis = attrs["axis"]
    bshape = tuple(d if k == axis else 1 for k, d in enumerate(shape))
    return _stat_axes(len(shape), axis), bshape


def _bn_train_kernel(attrs: dict, ins: list, outs: list) -> Any:
    axes, bshape = _bn_shapes(attrs, ins[0].shape)
    eps = attrs["epsilon"]
    dt = outs[0].dtype.np_dtype
    scale = np.empty(bshape, dt)

    def run(i: list, o: list) -> None:
        x, gamma, beta = i
        y = o[0]
        mean, inv, var = o[1].reshape(bshape), o[2].reshape(bshape), o[3].reshape(bshape)
        np.mean(x, axis=axes, keepdims=True, out=mean)
        np.subtract(x, mean, out=y)
        np.multiply(y, y, out=y)
        np.mean(y, axis=axes, keepdims=True, out=var)
        np.add(var, eps, out=inv)
        np.sqrt(inv, out=inv)
        np.reciprocal(inv, out=inv)
        np.multiply(inv, gamma.reshape(bshape), out=scale)
        np.subtract(x, mean, out=y)
        y *= scale
        y += beta.reshape(bshape)

    return run


def _infer_bn_train_grad(attrs: dict, x: Any, gamma: Any, mean: Any, inv: Any,
                         dy: Any) -> Any:
    c = x.shape[attrs["axis"]]
    return meta(x.shape, x.dtype), meta((c,), x.dtype), meta((c,), x.dtype)


def _bn_train_grad_kernel(attrs: dict, ins: list, outs: list) -> Any:
    axes, bshape = _bn_shapes(attrs, ins[0].shape)
    count = ins[0].size // ins[0].shape[attrs["axis"]]
    dt = outs[0].dtype.np_dtype
    xhat = np.empty(ins[0].shape, dt)
    coef = np.empty(bshape, dt)

    def run(i: list, o: list) -> None:
        x, gamma, mean, inv, dy = i
        dx, dgamma, dbeta = o[0], o[1].reshape(bshape), o[2].reshape(bshape)
        inv = inv.reshape(bshape)
        np.subtract(x, mean.reshape(bshape), out=xhat)
        np.multiply(xhat, inv, out=xhat)
        np.sum(dy, axis=axes, keepdims=True, out=dbeta)
        np.multiply(dy, xhat, out=dx)
        np.sum(dx, axis=axes, keepdims=True, out=dgamma)
        # dx = gamma * inv / count * (count * dy - dbeta - xhat * dgamma)
        np.multiply(xhat, dgamma, out=dx)
        np.multiply(dy, count, out=xhat)
        np.subtract(xhat, dx, out=dx)
        dx -= dbeta
        np.multiply(gamma.reshape(bshape), inv, out=coef)
        np.multiply(coef, 1.0 / count, out=coef)
        dx *= coef

    return run


def _grad_bn_train(ctx: Any, dys: list) -> list:
    x, gamma, _ = ctx.inputs
    _, mean, inv, _ = ctx.outputs
    dy, dmean, dinv, dvar = dys
    axis = ctx.attrs["axis"]
    parts: list[Blob] = []
    dgamma = dbeta = None
    if dy is not None:
        dx, dgamma, dbeta = ctx.op("batch_norm_train_grad", x, gamma, mean, inv, dy,
                                   **ctx.attrs)
        parts.append(dx)
    if dinv is not None:  # d inv / d var = -inv^3 / 2
        via_inv = multiply(dinv, scalar_mul(multiply(inv, multiply(inv, inv)), -0.5))
        dvar = via_inv if dvar is None else add(dvar, via_inv)
    extra = _moments_grad(ctx, x, mean, dmean, dvar, _stat_axes(len(x.shape), axis))
    if extra is not None:
        parts.append(extra)
    if not parts:
        return [None, dgamma, dbeta]
    return [parts[0] if len(parts) == 1 else add(parts[0], parts[1]), dgamma, dbeta]


def _infer_bn_infer(attrs: dict, x: Any, gamma: Any, beta: Any, mean: Any, var: Any) -> Any:
    _, dtype = _check_params(attrs, x, [gamma, beta, mean, var])
    return meta(x.shape, dtype)


def _bn_infer_kernel(attrs: dict, ins: list, outs: list) -> Any:
    _, bshape = _bn_shapes(attrs, ins[0].shape)
    eps = attrs["epsilon"]
    dt = outs[0].dtype.np_dtype
    scale, shift = np.empty(bshape, dt), np.empty(bshape, dt)

    def run(i: list, o: list) -> None:
        x, gamma, beta, mean, var = i
        np.add(var.reshape(bshape), eps, out=scale)
        np.sqrt(scale, out=scale)
        np.divide(gamma.reshape(bshape), scale, out=scale)
        np.multiply(mean.reshape(bshape), scale, out=shift)
        np.subtract(beta.reshape(bshape), shift, out=shift)
        np.multiply(x, scale, out=o[0])
        o[0] += shift

    return run


def _infer_bn_infer_grad(attrs: dict, x: Any, gamma: Any, mean: Any, var: Any,
                         dy: Any) -> Any:
    stat = meta(gamma.shape, x.dtype)
    return meta(x.shape, x.dtype), stat, stat, stat, stat


def _bn_infer_grad_kernel(attrs: dict, ins: list, outs: list) -> Any:
    axes, bshape = _bn_shapes(attrs, ins[0].shape)
    eps = attrs["epsilon"]
    dt = outs[0].dtype.np_dtype
    inv = np.empty(bshape, dt)

    def run(i: list, o: list) -> None:
        x, gamma, mean, var, dy = i
        dx = o[0]
        dgamma, dbeta, dmean, dvar = (a.reshape(bshape) for a in o[1:])
        gamma = gamma.reshape(bshape)
        np.add(var.reshape(bshape), eps, out=inv)
        np.sqrt(inv, out=inv)
        np.reciprocal(inv, out=inv)
        np.sum(dy, axis=axes, keepdims=True, out=dbeta)
        np.subtract(x, mean.reshape(bshape), out=dx)
        dx *= dy
        np.sum(dx, axis=axes, keepdims=True, out=dgamma)  # sum(dy * (x - mean))
        np.multiply(dgamma, gamma, out=dvar)
        dvar *= inv * inv * inv * -0.5
        dgamma *= inv
        np.multiply(dbeta, gamma, out=dmean)
        dmean *= -inv
        np.multiply(dy, gamma * inv, out=dx)

    return run


def _grad_bn_infer(ctx: Any, dys: list) -> list:
    x, gamma, _, mean, var = ctx.inputs
    dx, dgamma, dbeta, dmean, dvar = ctx.op("batch_norm_infer_grad", x, gamma, mean, var,
                                            dys[0], **ctx.attrs)
    return [dx, dgamma, dbeta, dmean, dvar]


# ---------------------------------------------------------------- moving averages


def _infer_assign(attrs: dict, moving: Any, batch: Any) -> Any:
    check(moving.shape == batch.shape, f"moving {moving.shape} and batch statistic "
          f"{batch.shape} must have the same shape")
    same_dtype(moving, batch)
    return ()


def _assign_kernel(attrs: dict, ins: list, outs: list) -> Any:
    momentum = attrs["momentum"]
    tmp = np.empty(ins[0].shape, ins[0].dtype.np_dtype)

    def run(i: list, o: list) -> None:
        moving, batch = i
        np.multiply(batch, 1.0 - momentum, out=tmp)
        moving *= momentum
        moving += tmp

    return run


SPECS = [
    OpSpec("moments", _infer_moments, _moments_kernel, _grad_moments,
           summary="mean and biased variance over axes"),
    OpSpec("moments_grad", _infer_moments_grad, _moments_grad_kernel,
           summary="gradient of moments"),
    OpSpec("batch_norm_train", _infer_bn_train, _bn_train_kernel, _grad_bn_train,
           summary="batch norm with batch statistics; also emits mean, 1/std and variance"),
    OpSpec("batch_norm_train_grad", _infer_bn_train_grad, _bn_train_grad_kernel,
           summary="fused gradient of batch_norm_train (dx, dgamma, dbeta)"),
    OpSpec("batch_norm_infer", _infer_bn_infer, _bn_infer_kernel, _grad_bn_infer,
           summary="batch norm with given statistics"),
    OpSpec("batch_norm_infer_grad", _infer_bn_infer_grad, _bn_infer_grad_kernel,
           summary="gradient of batch_norm_infer in all its inputs"),
    OpSpec("assign_moving_average", _infer_assign, _assign_kernel, stateful=True,
           summary="moving = momentum*moving + (1-momentum)*batch, in place"),
]

# ---------------------------------------------------------------- public functions


def moments(x: Blob, axes: int | Sequence[int], keepdims: bool = False,
            name: str | None = None) -> tuple[Blob, Blob]:
    """Mean and (biased) variance of ``x`` over ``axes``.

    Returns:
        ``(mean, variance)``; reduced axes are dropped unless ``keepdims``.
    """
    axes_t = norm_axes(axes, len(x.shape))
    return add_op("moments", [x], {"axes": axes_t, "keepdims": bool(keepdims)}, name)


def _fill(like: Blob, n: int, value: float) -> Blob:
    return add_op("fill", [], {"shape": (n,), "dtype": like.dtype, "value": value},
                  "constant")


def _param(func: str, b: Blob | None, x: Blob, axis: int, value: float, what: str) -> Blob:
    c = x.shape[axis]
    if b is None:
        return _fill(x, c, value)
    if not isinstance(b, Blob):
        raise TypeError(f"{func}: {what} must be a blob or None; received {type(b).__name__}")
    if tuple(b.shape) != (c,) and b.shape and int(np.prod(b.shape)) == c:
        return add_op("reshape", [b], {"shape": (c,)})
    return b


def batch_norm_train(x: Blob, gamma: Blob | None, beta: Blob | None, axis: int,
                     epsilon: float) -> tuple[Blob, Blob, Blob]:
    """Normalize ``x`` with its batch statistics over every axis but ``axis``.

    Args:
        x: the input.
        gamma: scale of length ``x.shape[axis]``, or None (ones).
        beta: offset of length ``x.shape[axis]``, or None (zeros).
        axis: the channel axis (may be negative).
        epsilon: added to the variance.

    Returns:
        ``(y, batch_mean, batch_variance)``; the variance is biased.
    """
    axis = norm_axis(axis, len(x.shape))
    gamma = _param("batch_norm_train", gamma, x, axis, 1.0, "gamma")
    beta = _param("batch_norm_train", beta, x, axis, 0.0, "beta")
    y, mean, _, var = add_op("batch_norm_train", [x, gamma, beta],
                             {"axis": axis, "epsilon": float(epsilon)}, "batch_norm")
    return y, mean, var


def batch_norm_infer(x: Blob, gamma: Blob | None, beta: Blob | None, mean: Blob,
                     variance: Blob, axis: int, epsilon: float,
                     name: str | None = None) -> Blob:
    """Normalize ``x`` with the given statistics: ``(x - mean) / sqrt(var + eps) * g + b``.

    ``gamma``/``beta`` may be None (ones/zeros); all 1-D of length ``x.shape[axis]``.
    """
    func = "batch_norm_infer"
    axis = norm_axis(axis, len(x.shape))
    ins = [_param(func, gamma, x, axis, 1.0, "gamma"), _param(func, beta, x, axis, 0.0, "beta"),
           _param(func, mean, x, axis, 0.0, "mean"),
           _param(func, variance, x, axis, 1.0, "variance")]
    return add_op("batch_norm_infer", [x, *ins], {"axis": axis, "epsilon": float(epsilon)},
                  name or "batch_norm")


def assign_moving_average(moving: Blob, batch: Blob, momentum: float) -> None:
    """Update the variable ``moving`` in place: ``momentum*moving + (1-momentum)*batch``."""
    add_op("assign_moving_average", [moving, batch], {"momentum": float(momentum)},
           "assign_moving_average")


def batch_normalization(x: Blob, mean: Blob, variance: Blob, offset: Blob | None = None,
                        scale: Blob | None = None, variance_epsilon: float = 1e-5,
                        axis: int = 1, name: str | None = None) -> Blob:
    """Inference-style batch normalization with given statistics.

    Computes ``(x - mean) / sqrt(variance + variance_epsilon) * scale + offset`` along
    ``axis``. ``mean``, ``variance``, ``offset`` and ``scale`` have ``x.shape[axis]``
    elements (a keepdims shape such as ``(1, C, 1, 1)`` is accepted); ``offset``/``scale``
    default to zeros/ones. Differentiable in every blob input.
    """
    return batch_norm_infer(x, scale, offset, mean, variance, axis, variance_epsilon, name)
