"""Numba kernels of ``conv2d`` (and its two gradients), ``bias_add`` and ``bias_add_grad``.

Convolution is im2col + one BLAS matmul per chunk of images: the factory allocates a
K-major column buffer (see :mod:`._nn_conv_impl`) for a chunk of images sized to stay in
the last-level cache; ``run`` fills it with a parallel compiled loop and multiplies it by
the filter as stored (``(O/G, K/G)`` per group, no filter copy). For NCHW the product is
``(O, chunk*OH*OW)`` and a parallel swap writes it to ``(chunk, O, OH*OW)``; for NHWC the
transposed product lands in the output directly. ``conv2d_grad_data`` multiplies the
transposed filter by the output gradient and scatters the columns back (col2im, each
image plane owned by one thread); ``conv2d_grad_filter`` multiplies the output gradient by
the transposed columns and sums the chunks. Padding follows the reference's resolved
``pads`` attribute and is never materialized.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tideflow.ops.conv import window_out
from tideflow_numba.kernels import _nn_conv_impl as impl
from tideflow_numba.kernels._nn_util import Run, contiguous, prod

__all__ = ["bias_add", "bias_add_grad", "conv2d", "conv2d_grad_data", "conv2d_grad_filter"]

#: Target size of one chunk's column buffer (fits the last-level cache with the operands).
CHUNK_BYTES = 4 << 20


class _Conv:
    """Geometry, workspaces and the per-chunk steps shared by the three conv kernels."""

    def __init__(self, attrs: dict, x_shape: Any, w_shape: Any, dtype: Any) -> None:
        self.nhwc = attrs["data_format"] == "NHWC"
        if self.nhwc:
            self.n, self.h, self.w, self.c = (int(d) for d in x_shape)
            self.o, self.kh, self.kw, self.cg = (int(d) for d in w_shape)
        else:
            self.n, self.c, self.h, self.w = (int(d) for d in x_shape)
            self.o, self.cg, self.kh, self.kw = (int(d) for d in w_shape)
        self.g = int(attrs["groups"])
        self.og = self.o // self.g
        self.kg = self.cg * self.kh * self.kw
        self.sh, self.sw = attrs["strides"]
        self.dh, self.dw = attrs["dilations"]
        (self.pt, self.pb), (self.pl, self.pr) = attrs["pads"]
        self.oh = window_out(self.h, (self.kh - 1) * self.dh + 1, self.sh, (self.pt, self.pb))
        self.ow = window_out(self.w, (self.kw - 1) * self.dw + 1, self.sw, (self.pl, self.pr))
        self.p = self.oh * self.ow
        per_image = max(1, self.g * self.kg * self.p * np.dtype(dtype).itemsize)
        self.nb = max(1, min(self.n, CHUNK_BYTES // per_image))
        self.dtype = dtype
        self.geo = (self.cg, self.kh, self.kw, self.sh, self.sw, self.dh, self.dw, self.pt,
                    self.pl, not self.nhwc)
        # stride 1 with OW == W (e.g. SAME): every column row is a shifted input plane
        self.s1 = not self.nhwc and self.sh == self.sw == 1 and self.ow == self.w
        self.geo_s1 = (self.c, self.h, self.w, self.oh, self.cg, self.kh, self.kw, self.dh,
                       self.dw, self.pt, self.pl, True)

    def im2col(self, x: np.ndarray, cols: np.ndarray, n0: int) -> None:
        """Fill ``cols`` (K, b, OH, OW) from images ``n0...`` of ``x`` (input layout)."""
        if self.s1:
            impl.im2col_s1(x.reshape(-1), cols.reshape(-1), n0, cols.shape[1], *self.geo_s1)
        else:
            impl.im2col(self.nchw(x), cols, n0, *self.geo)

    def col2im(self, cols: np.ndarray, dx: np.ndarray, n0: int) -> None:
        """Overwrite images ``n0...`` of ``dx`` (input layout) with the sums of ``cols``."""
        if self.s1:
            impl.col2im_s1(cols.reshape(-1), dx.reshape(-1), n0, cols.shape[1], *self.geo_s1)
        else:
            impl.col2im(cols, self.nchw(dx), n0, *self.geo)

    def chunks(self) -> list[tuple[int, int]]:
        """``(first image, number of images)`` of every chunk."""
        return [(n0, min(self.nb, self.n - n0)) for n0 in range(0, self.n, self.nb)]

    def buffer(self, rows: int) -> np.ndarray:
        """A flat workspace for ``rows`` rows of one chunk."""
        return np.empty(rows * self.nb * self.p, self.dtype)

    def cols(self, buf: np.ndarray, b: int) -> np.ndarray:
        """The first ``b`` images of a column workspace as ``(K, b, OH, OW)``."""
        return buf[:self.g * self.kg * b * self.p].reshape(self.g * self.kg, b, self.oh,
                                                            self.ow)

    def rows(self, buf: np.ndarray, rows: int, b: int) -> np.ndarray:
        """The first ``b`` images of an ``rows``-row workspace as ``(rows, b * OH * OW)``."""
        return buf[:rows * b * self.p].reshape(rows, b * self.p)

    def nchw(self, a: np.ndarray) -> np.ndarray:
        """An input-shaped array as an (N, C, H, W) view."""
        return a.transpose(0, 3, 1, 2) if self.nhwc else a

    def filters(self, w: np.ndarray) -> np.ndarray:
        """The filter as ``(G, O/G, K/G)`` (a view: rows are ordered as stored)."""
        return w.reshape(self.g, self.og, self.kg)

    def dy_t(self, dy: np.ndarray, n0: int, b: int, buf: np.ndarray) -> np.ndarray:
        """The output gradient of a chunk as ``(G, O/G, b * OH * OW)`` (a view for NHWC)."""
        if self.nhwc:
            return dy[n0:n0 + b].reshape(b * self.p, self.g, self.og).transpose(1, 2, 0)
        dst = self.rows(buf, self.o, b)
        impl.swap01(dy[n0:n0 + b].reshape(b, self.o, self.p), dst.reshape(self.o, b, self.p))
        return dst.reshape(self.g, self.og, b * self.p)


def conv2d(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """2-D convolution: im2col per chunk of images + one BLAS matmul."""
    cv = _Conv(attrs, in_metas[0].shape, in_metas[1].shape, out_metas[0].dtype.np_dtype)
    cbuf = cv.buffer(cv.g * cv.kg)
    ybuf = None if cv.nhwc else cv.buffer(cv.o)

    def fast(ins: list, outs: list) -> None:
        x, w, y = ins[0], cv.filters(ins[1]), outs[0]
        for n0, b in cv.chunks():
            cols = cv.cols(cbuf, b)
            cv.im2col(x, cols, n0)
            cm = cols.reshape(cv.g, cv.kg, b * cv.p)
            if cv.nhwc:
                out = y[n0:n0 + b].reshape(b * cv.p, cv.g, cv.og).transpose(1, 0, 2)
                np.matmul(cm.transpose(0, 2, 1), w.transpose(0, 2, 1), out=out)
            else:
                yt = cv.rows(ybuf, cv.o, b)
                np.matmul(w, cm, out=yt.reshape(cv.g, cv.og, b * cv.p))
                impl.swap01(yt.reshape(cv.o, b, cv.p), y[n0:n0 + b].reshape(b, cv.o, cv.p))

    return contiguous(fast)


def conv2d_grad_data(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Gradient of conv2d w.r.t. its input: transposed-filter matmul + col2im."""
    cv = _Conv(attrs, attrs["x_shape"], in_metas[1].shape, out_metas[0].dtype.np_dtype)
    cbuf = cv.buffer(cv.g * cv.kg)
    dbuf = None if cv.nhwc else cv.buffer(cv.o)

    def fast(ins: list, outs: list) -> None:
        dy, w, dx = ins[0], cv.filters(ins[1]), outs[0]
        for n0, b in cv.chunks():
            cols = cv.cols(cbuf, b)
            np.matmul(w.transpose(0, 2, 1), cv.dy_t(dy, n0, b, dbuf),
                      out=cols.reshape(cv.g, cv.kg, b * cv.p))
            cv.col2im(cols, dx, n0)

    return contiguous(fast)


def conv2d_grad_filter(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Gradient of conv2d w.r.t. its filters: output gradient times transposed columns."""
    cv = _Conv(attrs, in_metas[1].shape, attrs["w_shape"], out_metas[0].dtype.np_dtype)
    cbuf = cv.buffer(cv.g * cv.kg)
    dbuf = None if cv.nhwc else cv.buffer(cv.o)
    part = np.empty((cv.g, cv.og, cv.kg), cv.dtype)

    def fast(ins: list, outs: list) -> None:
        dy, x, dw = ins[0], ins[1], cv.filters(outs[0])
        if cv.n == 0:
            dw.fill(0)
        for k, (n0, b) in enumerate(cv.chunks()):
            cols = cv.cols(cbuf, b)
            cv.im2col(x, cols, n0)
            cm = cols.reshape(cv.g, cv.kg, b * cv.p)
            np.matmul(cv.dy_t(dy, n0, b, dbuf), cm.transpose(0, 2, 1),
                      out=dw if k == 0 else part)
            if k:
                impl.accumulate(dw.reshape(-1), part.reshape(-1))

    return contiguous(fast)


def _bias_shape(shape: Any, axis: int) -> tuple[int, int, int]:
    return prod(shape[:axis]), int(shape[axis]), prod(shape[axis + 1:])


def bias_add(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Add a 1-D bias along ``axis`` (parallel over rows/channels)."""
    shape = _bias_shape(in_metas[0].shape, attrs["axis"])

    def fast(ins: list, outs: list) -> None:
        impl.bias_add(ins[0].reshape(shape), ins[1], outs[0].reshape(shape))

    return contiguous(fast)


def bias_add_grad(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Sum a gradient over every axis but ``axis`` (float64 / int64 accumulation)."""
    shape = _bias_shape(in_metas[0].shape, attrs["axis"])
    dt = np.dtype(out_metas[0].dtype.np_dtype)
    acc = np.zeros(shape[1], np.float64 if dt.kind == "f" else np.int64)
    zero = acc.dtype.type(0)

    def fast(ins: list, outs: list) -> None:
        impl.bias_add_grad(ins[0].reshape(-1), *shape, acc, zero, outs[0])

    return contiguous(fast)
