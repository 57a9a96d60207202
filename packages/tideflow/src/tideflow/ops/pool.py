"""``flow.nn.max_pool2d`` and ``flow.nn.avg_pool2d``.

Output sizes follow OneFlow's ``GetWindowedOutputSize``: SAME gives ``ceil(in / stride)``
(SAME = SAME_LOWER puts the odd extra pad before), VALID gives
``(in - k + stride) // stride`` and explicit ("customized") pads give
``(in + before + after - k + stride) // stride``, plus ``stride - 1`` in the numerator when
``ceil_mode`` (which only applies to explicit pads). Average pooling divides by the number
of in-bounds elements of each window (padding excluded), as OneFlow's CPU kernel does.

The kernels loop over the KH*KW window offsets (never over the batch): each offset is one
strided view of the (padded, if needed) input, combined with vectorized ufuncs. Max
pooling emits the argmax offset within each window (int32) as a second output, which the
backward op uses to route each gradient to its window's maximum.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tideflow import dtypes
from tideflow.errors import UnsupportedError
from tideflow.framework.blob import Blob
from tideflow.framework.build import add_op
from tideflow.ops._util import check, meta
from tideflow.ops.conv import check_format, int_pair, resolve_padding, window_out
from tideflow.plugins.records import OpSpec

__all__ = ["avg_pool1d", "avg_pool2d", "max_pool1d", "max_pool2d"]


class PoolGeometry:
    """Sizes of one pooling op from its attributes and the input shape (any layout).

    Shared by every backend's pooling kernels (the numba backend extends it).
    """

    def __init__(self, attrs: dict, x_shape: Any) -> None:
        self.nhwc = attrs["data_format"] == "NHWC"
        if self.nhwc:
            self.n, self.h, self.w, self.c = x_shape
        else:
            self.n, self.c, self.h, self.w = x_shape
        self.kh, self.kw = attrs["ksize"]
        self.sh, self.sw = attrs["strides"]
        (self.pt, self.pb), (self.pl, self.pr) = attrs["pads"]
        ceil = attrs["ceil_mode"]
        self.oh = window_out(self.h, self.kh, self.sh, (self.pt, self.pb), ceil)
        self.ow = window_out(self.w, self.kw, self.sw, (self.pl, self.pr), ceil)
        # rows/cols of the buffer that windows read (input plus padding plus ceil overhang)
        self.hb = max(self.pt + self.h, (self.oh - 1) * self.sh + self.kh)
        self.wb = max(self.pl + self.w, (self.ow - 1) * self.sw + self.kw)
        self.padded = bool(self.pt or self.pl or self.hb > self.h or self.wb > self.w)
        self.tiled = (self.kh == self.sh and self.kw == self.sw and not self.padded
                      and self.oh * self.sh == self.h and self.ow * self.sw == self.w)

    def canon(self, a: np.ndarray) -> np.ndarray:
        """An input/output array as an NCHW view."""
        return a.transpose(0, 3, 1, 2) if self.nhwc else a

    def offset(self, buf: np.ndarray, i: int, j: int) -> np.ndarray:
        """Positions of an NCHW (padded) buffer read by window offset ``(i, j)``."""
        return buf[:, :, i:i + (self.oh - 1) * self.sh + 1:self.sh,
                   j:j + (self.ow - 1) * self.sw + 1:self.sw]

    def interior(self, buf: np.ndarray) -> np.ndarray:
        """The input region of a padded NCHW buffer."""
        return buf[:, :, self.pt:self.pt + self.h, self.pl:self.pl + self.w]

    def padded_buffer(self, dtype: Any, fill: float) -> np.ndarray | None:
        """A preallocated padded NCHW buffer with ``fill`` outside the input, if needed."""
        if not self.padded:
            return None
        return np.full((self.n, self.c, self.hb, self.wb), fill, dtype)


def _infer_pool(attrs: dict, x: Any) -> Any:
    check(len(x.shape) == 4, f"input must be rank 4 ({attrs['data_format']}); got {x.shape}")
    check(x.dtype.is_floating, f"pooling needs a floating-point blob; received {x.dtype.name}")
    g = PoolGeometry(attrs, x.shape)
    check(g.oh >= 1 and g.ow >= 1, f"window ({g.kh}, {g.kw}) with pads {attrs['pads']} does "
          f"not fit the input ({g.h}, {g.w})")
    shape = (g.n, g.oh, g.ow, g.c) if g.nhwc else (g.n, g.c, g.oh, g.ow)
    return meta(shape, x.dtype)


def _infer_max(attrs: dict, x: Any) -> Any:
    y = _infer_pool(attrs, x)
    return y, meta(y.shape, dtypes.int32)


def _max_kernel(attrs: dict, ins: list, outs: list) -> Any:
    g = PoolGeometry(attrs, ins[0].shape)
    dt = outs[0].dtype.np_dtype
    xp = g.padded_buffer(dt, -np.inf)
    better = np.empty((g.n, g.c, g.oh, g.ow), bool)
    step = np.empty((g.n, g.c, g.oh, g.ow), np.int32)

    def run(i: list, o: list) -> None:
        src = g.canon(i[0])
        if xp is not None:
            g.interior(xp)[...] = src
            src = xp
        y, idx = g.canon(o[0]), g.canon(o[1])
        np.copyto(y, g.offset(src, 0, 0))
        idx.fill(0)
        for t in range(1, g.kh * g.kw):
            v = g.offset(src, *divmod(t, g.kw))
            np.greater(v, y, out=better)  # strict: ties keep the first offset
            np.maximum(y, v, out=y)
            # idx = t where better (arithmetic: masked copies are much slower in NumPy)
            np.subtract(t, idx, out=step)
            np.multiply(step, better, out=step)
            np.add(idx, step, out=idx)

    return run


def _infer_pool_grad(attrs: dict, dy: Any, *rest: Any) -> Any:
    return meta(attrs["x_shape"], dy.dtype)


def _max_grad_kernel(attrs: dict, ins: list, outs: list) -> Any:
    g = PoolGeometry(attrs, attrs["x_shape"])
    dt = outs[0].dtype.np_dtype
    acc = g.padded_buffer(dt, 0.0)
    hit = np.empty((g.n, g.c, g.oh, g.ow), bool)
    tmp = np.empty((g.n, g.c, g.oh, g.ow), dt)

    def run(i: list, o: list) -> None:
        dy, idx = g.canon(i[0]), g.canon(i[1])
        dst = g.canon(o[0]) if acc is None else acc
        if not g.tiled:
            dst.fill(0)
        for t in range(g.kh * g.kw):
            np.equal(idx, t, out=hit)
            if g.tiled:  # windows tile the input: each position is written exactly once
                np.multiply(dy, hit, out=g.offset(dst, *divmod(t, g.kw)))
            else:
                np.multiply(dy, hit, out=tmp)
                g.offset(dst, *divmod(t, g.kw))[...] += tmp
        if acc is not None:
            g.canon(o[0])[...] = g.interior(acc)

    return run


def _grad_max(ctx: Any, dys: list) -> list:
    (x,) = ctx.inputs
    idx = ctx.outputs[1]
    return [ctx.op("max_pool2d_grad", dys[0], idx, x_shape=tuple(x.shape), **ctx.attrs)]


def inv_count(g: PoolGeometry, dtype: Any) -> np.ndarray:
    """``1 / (number of in-bounds elements)`` of every window, shape (OH, OW); 0 if none."""

    def count(out: int, stride: int, k: int, before: int, size: int) -> np.ndarray:
        start = np.arange(out) * stride - before
        return np.clip(start + k, 0, size) - np.clip(start, 0, size)

    cnt = np.outer(count(g.oh, g.sh, g.kh, g.pt, g.h), count(g.ow, g.sw, g.kw, g.pl, g.w))
    inv = np.zeros(cnt.shape, np.float64)
    np.divide(1.0, cnt, out=inv, where=cnt > 0)
    return inv.astype(dtype)


def _avg_kernel(attrs: dict, ins: list, outs: list) -> Any:
    g = PoolGeometry(attrs, ins[0].shape)
    dt = outs[0].dtype.np_dtype
    xp = g.padded_buffer(dt, 0.0)
    inv = inv_count(g, dt)

    def run(i: list, o: list) -> None:
        src = g.canon(i[0])
        if xp is not None:
            g.interior(xp)[...] = src
            src = xp
        y = g.canon(o[0])
        np.copyto(y, g.offset(src, 0, 0))
        for t in range(1, g.kh * g.kw):
            y += g.offset(src, *divmod(t, g.kw))
        y *= inv

    return run


def _avg_grad_kernel(attrs: dict, ins: list, outs: list) -> Any:
    g = PoolGeometry(attrs, attrs["x_shape"])
    dt = outs[0].dtype.np_dtype
    acc = g.padded_buffer(dt, 0.0)
    inv = inv_count(g, dt)
    share = np.empty((g.n, g.c, g.oh, g.ow), dt)

    def run(i: list, o: list) -> None:
        np.multiply(g.canon(i[0]), inv, out=share)
        dst = g.canon(o[0]) if acc is None else acc
        if g.tiled:
            for t in range(g.kh * g.kw):
                g.offset(dst, *divmod(t, g.kw))[...] = share
            return
        dst.fill(0)
        for t in range(g.kh * g.kw):
            g.offset(dst, *divmod(t, g.kw))[...] += share
        if acc is not None:
            g.canon(o[0])[...] = g.interior(acc)

    return run


def _grad_avg(ctx: Any, dys: list) -> list:
    (x,) = ctx.inputs
    return [ctx.op("avg_pool2d_grad", dys[0], x_shape=tuple(x.shape), **ctx.attrs)]


SPECS = [
    OpSpec("max_pool2d", _infer_max, _max_kernel, _grad_max,
           summary="2-D max pooling; 2nd output: argmax offset in each window"),
    OpSpec("max_pool2d_grad", _infer_pool_grad, _max_grad_kernel,
           summary="route gradients to each window's maximum"),
    OpSpec("avg_pool2d", _infer_pool, _avg_kernel, _grad_avg,
           summary="2-D average pooling over in-bounds elements"),
    OpSpec("avg_pool2d_grad", _infer_pool_grad, _avg_grad_kernel,
           summary="gradient of avg_pool2d"),
]


def _pool(func: str, input: Blob, ksize: Any, strides: Any, padding: Any,  # noqa: A002
          data_format: str, ceil_mode: bool, name: str | None) -> Any:
    nhwc = check_format(func, data_format, ("NCHW", "NHWC", "NCHW_VECT_C"))
    k = int_pair(func, "ksize", ksize)
    st = int_pair(func, "strides", strides)
    check(len(input.shape) == 4, f"{func}: input must be rank 4; received {input.shape}")
    spatial = input.shape[1:3] if nhwc else input.shape[2:4]
    pads, custom = resolve_padding(func, padding, spatial, k, st, (1, 1), nhwc)
    attrs = {"ksize": k, "strides": st, "pads": pads, "ceil_mode": bool(ceil_mode) and custom,
             "data_format": "NHWC" if nhwc else "NCHW"}
    return add_op(func, [input], attrs, name)


def max_pool2d(input: Blob, ksize: Any, strides: Any, padding: Any,  # noqa: A002
               data_format: str = "NCHW", ceil_mode: bool = False,
               name: str | None = None) -> Blob:
    """2-D max pooling.

    Args:
        input: ``(N, C, H, W)`` for NCHW (any format starting with ``"NC"``) or
            ``(N, H, W, C)`` for NHWC.
        ksize: window size, an int or a pair.
        strides: an int or a pair.
        padding: ``"VALID"``, ``"SAME"`` (= ``"SAME_LOWER"``), ``"SAME_UPPER"`` or 4
            ``(before, after)`` pairs in layout order (padding never wins the max).
        data_format: the layout.
        ceil_mode: round the output size up (explicit pads only).
        name: op name.
    """
    return _pool("max_pool2d", input, ksize, strides, padding, data_format, ceil_mode,
                 name)[0]


def avg_pool2d(input: Blob, ksize: Any, strides: Any, padding: Any,  # noqa: A002
               data_format: str = "NCHW", ceil_mode: bool = False,
               name: str | None = None) -> Blob:
    """2-D average pooling; each window is divided by its number of in-bounds elements.

    Arguments are those of :func:`max_pool2d`.
    """
    return _pool("avg_pool2d", input, ksize, strides, padding, data_format, ceil_mode, name)


def max_pool1d(*args: Any, **kwargs: Any) -> Blob:
    """Not implemented, as in OneFlow's legacy API.

    Raises:
        UnsupportedError: always (a NotImplementedError).
    """
    raise UnsupportedError("max_pool1d is not implemented (as in OneFlow); use "
                              "max_pool2d on an (N, C, 1, W) blob")


def avg_pool1d(*args: Any, **kwargs: Any) -> Blob:
    """Not implemented, as in OneFlow's legacy API.

    Raises:
        UnsupportedError: always (a NotImplementedError).
    """
    raise UnsupportedError("avg_pool1d is not implemented (as in OneFlow); use "
                              "avg_pool2d on an (N, C, 1, W) blob")
