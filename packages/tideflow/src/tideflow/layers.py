"""``flow.layers``: dense, conv2d and batch_normalization with OneFlow's variable names.

``dense(name=N)`` creates ``N-weight`` of shape (units, in_features) and ``N-bias``;
``conv2d(name=N)`` creates ``N-weight`` (filters, C_in/groups, kh, kw) for NCHW and
``N-bias``; ``batch_normalization(name=N)`` creates ``N-gamma``, ``N-beta`` and the
non-trainable ``N-moving_mean`` / ``N-moving_variance``. Layers pass ``reuse=False``: one
name per layer per job.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tideflow import initializers as init
from tideflow.framework import build
from tideflow.framework.blob import Blob
from tideflow.ops.array import reshape
from tideflow.ops.conv import bias_add
from tideflow.ops.conv import conv2d as _conv2d
from tideflow.ops.linalg import matmul
from tideflow.variables import get_variable


def _activate(out: Blob, activation: Callable[..., Blob] | None) -> Blob:
    return activation(out, name="activation") if activation is not None else out


def dense(
    inputs: Blob,
    units: int,
    activation: Callable[..., Blob] | None = None,
    use_bias: bool = True,
    kernel_initializer: Any = None,
    bias_initializer: Any = None,
    kernel_regularizer: Any = None,
    bias_regularizer: Any = None,
    trainable: bool = True,
    name: str = "Dense",
    model_distribute: Any = None,
) -> Blob:
    """Fully connected layer: ``activation(inputs @ weight^T + bias)``.

    A rank > 2 input is reshaped to (-1, last dim) and back. The kernel defaults to
    ``constant_initializer(0)`` as in OneFlow; pass an initializer.
    """
    if not isinstance(units, int) or units <= 0:
        raise ValueError(f"dense: units must be a positive int; received units={units!r}")
    if len(inputs.shape) < 2:
        raise ValueError(f"dense: inputs must have rank >= 2; received shape {inputs.shape}")
    in_shape = inputs.shape
    x = reshape(inputs, (-1, in_shape[-1])) if len(in_shape) > 2 else inputs
    with _Scope(name):
        weight = get_variable(
            "weight", shape=(units, in_shape[-1]), dtype=inputs.dtype,
            initializer=kernel_initializer or init.constant_initializer(0, inputs.dtype),
            regularizer=kernel_regularizer, trainable=trainable, model_name="weight",
            reuse=False)
        out = matmul(x, weight, transpose_b=True, name="matmul")
        if use_bias:
            bias = get_variable(
                "bias", shape=(units,), dtype=inputs.dtype,
                initializer=bias_initializer or init.constant_initializer(0, inputs.dtype),
                regularizer=bias_regularizer, trainable=trainable, model_name="bias",
                reuse=False)
            out = bias_add(out, bias, name="bias_add")
        out = _activate(out, activation)
    if len(in_shape) > 2:
        out = reshape(out, (*in_shape[:-1], units))
    return out


class _Scope:
    """Namespace ``name`` for variables and ops of one layer."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> None:
        build.current().namespaces.append(self.name)

    def __exit__(self, *exc: Any) -> None:
        build.current().namespaces.pop()


def _pair(name: str, value: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    if isinstance(value, list | tuple) and len(value) == 2:
        return (int(value[0]), int(value[1]))
    raise ValueError(f"conv2d: {name} must be an int or a pair; received {name}={value!r}")


def conv2d(
    inputs: Blob,
    filters: int,
    kernel_size: int | Sequence[int] = 1,
    strides: int | Sequence[int] = 1,
    padding: str | Sequence[Any] = "VALID",
    data_format: str = "NCHW",
    dilation_rate: int | Sequence[int] | None = None,
    groups: int = 1,
    activation: Callable[..., Blob] | None = None,
    use_bias: bool = True,
    kernel_initializer: Any = None,
    bias_initializer: Any = None,
    kernel_regularizer: Any = None,
    bias_regularizer: Any = None,
    trainable: bool = True,
    name: str = "Conv2d",
    weight_name: str | None = None,
    bias_name: str | None = None,
) -> Blob:
    """2-D convolution layer: ``activation(conv2d(inputs, weight) + bias)``."""
    kh, kw = _pair("kernel_size", kernel_size)
    channels_first = data_format.upper().startswith("NC")
    cin = inputs.shape[1] if channels_first else inputs.shape[-1]
    if not isinstance(filters, int) or filters <= 0:
        raise ValueError(f"conv2d: filters must be a positive int; received {filters!r}")
    if groups > filters or filters % groups or cin % groups:
        raise ValueError(f"conv2d: groups={groups} must divide filters={filters} and the "
                         f"input channels {cin}")
    shape = (filters, cin // groups, kh, kw) if channels_first else (filters, kh, kw, cin)
    w_name = weight_name if weight_name is not None else f"{name}-weight"
    b_name = bias_name if bias_name is not None else f"{name}-bias"
    weight = get_variable(
        w_name, shape=shape, dtype=inputs.dtype,
        initializer=kernel_initializer or init.xavier_uniform_initializer(
            "channels_first" if channels_first else "channels_last"),
        regularizer=kernel_regularizer, trainable=trainable, model_name="weight", reuse=False)
    dil = _pair("dilation_rate", dilation_rate) if dilation_rate is not None else None
    with _Scope(name):
        out = _conv2d(inputs, weight, strides=strides, padding=padding,
                      data_format=data_format, dilations=dil, groups=groups, name="conv2d")
    if use_bias:
        bias = get_variable(
            b_name, shape=(filters,), dtype=inputs.dtype,
            initializer=bias_initializer or init.constant_initializer(0, inputs.dtype),
            regularizer=bias_regularizer, trainable=trainable, model_name="bias", reuse=False)
        out = bias_add(out, bias, data_format=data_format, name=f"{name}-bias_add")
    with _Scope(name):
        return _activate(out, activation)


def batch_normalization(
    inputs: Blob,
    axis: int = -1,
    momentum: float = 0.99,
    epsilon: float = 0.001,
    center: bool = True,
    scale: bool = True,
    beta_initializer: Any = None,
    gamma_initializer: Any = None,
    beta_regularizer: Any = None,
    gamma_regularizer: Any = None,
    moving_mean_initializer: Any = None,
    moving_variance_initializer: Any = None,
    trainable: bool = True,
    training: bool = True,
    name: str = "BatchNorm",
) -> Blob:
    """Batch normalization over every axis but ``axis`` (default -1: pass 1 for NCHW).

    Training (a train job with ``training`` and ``trainable``) normalizes with the batch
    statistics and updates ``moving = momentum*moving + (1-momentum)*batch``; otherwise the
    moving statistics are used.
    """
    from tideflow.ops import normalization as bn

    rank = len(inputs.shape)
    if not -rank <= axis < rank:
        raise ValueError(f"batch_normalization: axis={axis} is out of range for rank {rank}")
    if not 0 <= momentum <= 1:
        raise ValueError(f"batch_normalization: momentum must be in [0, 1]; received "
                         f"momentum={momentum!r}")
    axis %= rank
    c = (inputs.shape[axis],)
    dt = inputs.dtype
    with _Scope(name):
        def var(n: str, initializer: Any, default: Any, reg: Any, train: bool) -> Blob:
            return get_variable(n, shape=c, dtype=dt, initializer=initializer or default,
                                regularizer=reg, trainable=train, model_name=n, reuse=False)

        one, zero = init.ones_initializer(dt), init.zeros_initializer(dt)
        gamma = var("gamma", gamma_initializer, one, gamma_regularizer, trainable) if scale \
            else None
        beta = var("beta", beta_initializer, zero, beta_regularizer, trainable) if center \
            else None
        mean = var("moving_mean", moving_mean_initializer, zero, None, False)
        variance = var("moving_variance", moving_variance_initializer, one, None, False)
        if build.current().trainable and training and trainable:
            y, batch_mean, batch_var = bn.batch_norm_train(inputs, gamma, beta, axis, epsilon)
            bn.assign_moving_average(mean, batch_mean, momentum)
            bn.assign_moving_average(variance, batch_var, momentum)
            return y
        return bn.batch_norm_infer(inputs, gamma, beta, mean, variance, axis, epsilon)
