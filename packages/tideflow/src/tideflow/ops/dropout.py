"""``flow.nn.dropout``: inverted dropout, identity in predict jobs.

The ``dropout`` op has two outputs: ``y = x * mask / (1 - rate)`` and the ``uint8`` keep
mask (1 = kept), which the gradient op reuses: ``dx = dy * mask / (1 - rate)``. Its kernel
owns a ``numpy.random.Generator`` created once from ``seed`` (drawn from NumPy's global
generator when None), so every run draws a new mask; an element is kept iff its uniform
draw ``u >= rate``.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from tideflow import dtypes
from tideflow.framework.blob import Blob
from tideflow.framework.build import add_op, current
from tideflow.ops._util import check, meta
from tideflow.plugins.records import OpSpec

__all__ = ["dropout"]


def _infer_dropout(attrs: dict, x: Any) -> Any:
    check(x.dtype.is_floating, f"dropout needs a floating-point blob; received {x.dtype.name}")
    noise = tuple(attrs["noise_shape"] or x.shape)
    fits = len(noise) == len(x.shape) and all(n in (1, d) for n, d in zip(noise, x.shape))
    check(fits, f"noise_shape={noise} must have the rank of x {x.shape} and broadcast to it")
    return meta(x.shape, x.dtype), meta(noise, dtypes.uint8)


def _dropout_kernel(attrs: dict, ins: list, outs: list) -> Any:
    rate = attrs["rate"]
    rng = np.random.default_rng(attrs["seed"])
    dt = outs[0].dtype.np_dtype
    draw_dtype = dt if dt in (np.float32, np.float64) else np.float64
    u = np.empty(outs[1].shape, draw_dtype)
    scale = np.asarray(1.0 / (1.0 - rate), dt)

    def run(i: list, o: list) -> None:
        y, mask = o
        rng.random(out=u, dtype=draw_dtype)
        np.greater_equal(u, rate, out=mask.view(np.bool_))
        np.multiply(i[0], mask, out=y)
        y *= scale

    return run


def _infer_dropout_grad(attrs: dict, dy: Any, mask: Any) -> Any:
    return meta(dy.shape, dy.dtype)


def _dropout_grad_kernel(attrs: dict, ins: list, outs: list) -> Any:
    scale = np.asarray(1.0 / (1.0 - attrs["rate"]), outs[0].dtype.np_dtype)

    def run(i: list, o: list) -> None:
        np.multiply(i[0], i[1], out=o[0])
        o[0] *= scale

    return run


def _grad_dropout(ctx: Any, dys: list) -> list:
    return [ctx.op("dropout_grad", dys[0], ctx.outputs[1], rate=ctx.attrs["rate"])]


SPECS = [
    OpSpec("dropout", _infer_dropout, _dropout_kernel, _grad_dropout,
           summary="inverted dropout; 2nd output: the uint8 keep mask"),
    OpSpec("dropout_grad", _infer_dropout_grad, _dropout_grad_kernel,
           summary="dy * mask / (1 - rate)"),
]


def dropout(x: Blob, rate: float, noise_shape: Sequence[int] | None = None,
            seed: int | None = None, name: str | None = None) -> Blob:
    """Inverted dropout: zero each element with probability ``rate``, scale the rest.

    Returns ``x`` itself (no op) in predict jobs or when ``rate == 0``.

    Args:
        x: a floating-point blob.
        rate: drop probability, ``0 <= rate < 1``.
        noise_shape: shape of the random mask (same rank as ``x``, broadcast to it); None
            draws one value per element.
        seed: seed of the op's random generator; None for fresh entropy.
        name: op name.

    Raises:
        ValueError: ``rate`` out of range, or a bad ``seed`` / ``noise_shape``.
    """
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate < 1:
        raise ValueError(f"dropout: rate must be a number in [0, 1); received rate={rate!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)
                             or seed < 0):
        raise ValueError(f"dropout: seed must be a non-negative int or None; received "
                         f"seed={seed!r}")
    if noise_shape is not None:
        try:
            noise_shape = tuple(int(d) for d in noise_shape)
        except (TypeError, ValueError):
            raise ValueError(f"dropout: noise_shape must be a sequence of ints; received "
                             f"noise_shape={noise_shape!r}") from None
    if not current().trainable or rate == 0:
        return x
    # Without a seed, draw one from NumPy's global generator (as variables do), so
    # np.random.seed(...) before the first job call makes dropout masks repeatable.
    seed = int(np.random.randint(0, 2**31 - 1)) if seed is None else int(seed)
    attrs = {"rate": float(rate), "seed": seed,
             "noise_shape": noise_shape}
    return add_op("dropout", [x], attrs, name)[0]
