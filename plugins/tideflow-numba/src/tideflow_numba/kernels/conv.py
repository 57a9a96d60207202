"""Numba kernels of ``conv2d`` (and its two gradients), ``bias_add`` and ``bias_add_grad``.

Convolution is im2col + one BLAS matmul per chunk of images: the factory allocates a
column buffer for a chunk of images sized to stay in the cache (:data:`CHUNK_BYTES`);
``run`` fills it with a compiled loop (:mod:`._nn_im2col`) and multiplies it by the filter
as stored (``(O/G, K/G)`` per group, no filter copy). NCHW uses K-major columns: the
product is ``(O, chunk*OH*OW)`` and a compiled swap writes it to ``(chunk, O, OH*OW)``;
NHWC uses row-major columns and the product lands in the output directly.
``conv2d_grad_data`` multiplies the output gradient by the filter into the column buffer
and adds the columns back (col2im); ``conv2d_grad_filter`` multiplies the output gradient
by the columns and sums the chunks. Padding follows the reference's resolved ``pads``
attribute and is never materialized.

The compiled loops are single-threaded on purpose: BLAS already uses every core for the
matmuls, and a numba OpenMP pool that spins between the matmuls (GNU OpenMP's default wait
policy) delays BLAS's own threads by whole scheduler slices on a small machine.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tideflow.ops.conv import window_out
from tideflow_numba.kernels import _nn_conv_impl as impl
from tideflow_numba.kernels import _nn_im2col as cols_impl
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
        # stride 1 with OW == W (e.g. SAME), NCHW: every column row is a shifted input plane
        self.s1 = not self.nhwc and self.sh == self.sw == 1 and self.ow == self.w
        if self.s1:
            self.geo = (self.c, self.h, self.w, self.oh, self.kh, self.kw, self.dh, self.dw,
                        self.pt, self.pl)
        else:
            self.geo = (self.c, self.h, self.w, self.oh, self.ow, self.kh, self.kw, self.sh,
                        self.sw, self.dh, self.dw, self.pt, self.pl)
        if self.nhwc:
            self.geo += (self.g,)
        self._im2col = (cols_impl.im2col_rm if self.nhwc else
                        cols_impl.im2col_cm_s1 if self.s1 else cols_impl.im2col_cm)
        self._col2im = (cols_impl.col2im_rm if self.nhwc else
                        cols_impl.col2im_cm_s1 if self.s1 else cols_impl.col2im_cm)

    def chunks(self) -> list[tuple[int, int]]:
        """``(first image, number of images)`` of every chunk."""
        return [(n0, min(self.nb, self.n - n0)) for n0 in range(0, self.n, self.nb)]

    def buffer(self, rows: int) -> np.ndarray:
        """A flat workspace for ``rows`` values per output position of one chunk."""
        return np.empty(rows * self.nb * self.p, self.dtype)

    def im2col(self, x: np.ndarray, buf: np.ndarray, n0: int, b: int) -> np.ndarray:
        """Fill ``buf`` with the columns of images ``n0 .. n0 + b``; return them.

        The result is a view of ``buf``: ``(G, K/G, b*OH*OW)`` for NCHW and
        ``(G, b*OH*OW, K/G)`` for NHWC.
        """
        self._im2col(x.reshape(-1), buf, n0, b, *self.geo)
        return self.colmat(buf, b)

    def col2im(self, buf: np.ndarray, dx: np.ndarray, n0: int, b: int) -> None:
        """Overwrite images ``n0 .. n0 + b`` of ``dx`` with the sums of the columns."""
        self._col2im(buf, dx.reshape(-1), n0, b, *self.geo)

    def colmat(self, buf: np.ndarray, b: int) -> np.ndarray:
        """The column workspace of ``b`` images as the matmul operand (see :meth:`im2col`)."""
        cols = buf[:self.g * self.kg * b * self.p]
        if self.nhwc:
            return cols.reshape(b * self.p, self.g, self.kg).transpose(1, 0, 2)
        return cols.reshape(self.g, self.kg, b * self.p)

    def rows(self, buf: np.ndarray, b: int) -> np.ndarray:
        """An NCHW chunk workspace as ``(O, b, OH*OW)``."""
        return buf[:self.o * b * self.p].reshape(self.o, b, self.p)

    def filters(self, w: np.ndarray) -> np.ndarray:
        """The filter as ``(G, O/G, K/G)`` (a view: its columns are in the column order)."""
        return w.reshape(self.g, self.og, self.kg)

    def out_rows(self, y: np.ndarray, n0: int, b: int) -> np.ndarray:
        """An NHWC output (gradient) chunk as ``(G, b*OH*OW, O/G)``."""
        return y[n0:n0 + b].reshape(b * self.p, self.g, self.og).transpose(1, 0, 2)

    def dy_t(self, dy: np.ndarray, n0: int, b: int, buf: np.ndarray) -> np.ndarray:
        """An NCHW output gradient chunk as ``(G, O/G, b*OH*OW)``, swapped into ``buf``."""
        dst = self.rows(buf, b)
        impl.swap01(dy[n0:n0 + b].reshape(b, self.o, self.p), dst)
        return dst.reshape(self.g, self.og, b * self.p)


def conv2d(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """2-D convolution: im2col per chunk of images + one BLAS matmul."""
    cv = _Conv(attrs, in_metas[0].shape, in_metas[1].shape, out_metas[0].dtype.np_dtype)
    cbuf = cv.buffer(cv.g * cv.kg)
    ybuf = None if cv.nhwc else cv.buffer(cv.o)

    def fast(ins: list, outs: list) -> None:
        x, w, y = ins[0], cv.filters(ins[1]), outs[0]
        for n0, b in cv.chunks():
            cols = cv.im2col(x, cbuf, n0, b)
            if cv.nhwc:  # (G, bP, K/G) @ (G, K/G, O/G)
                np.matmul(cols, w.transpose(0, 2, 1), out=cv.out_rows(y, n0, b))
            else:  # (G, O/G, K/G) @ (G, K/G, bP), then (O, b, P) -> (b, O, P)
                yt = cv.rows(ybuf, b)
                np.matmul(w, cols, out=yt.reshape(cv.g, cv.og, b * cv.p))
                impl.swap01(yt, y[n0:n0 + b].reshape(b, cv.o, cv.p))

    return contiguous(fast)


def conv2d_grad_data(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Gradient of conv2d w.r.t. its input: filter matmul + col2im."""
    cv = _Conv(attrs, attrs["x_shape"], in_metas[1].shape, out_metas[0].dtype.np_dtype)
    cbuf = cv.buffer(cv.g * cv.kg)
    dbuf = None if cv.nhwc else cv.buffer(cv.o)

    def fast(ins: list, outs: list) -> None:
        dy, w, dx = ins[0], cv.filters(ins[1]), outs[0]
        for n0, b in cv.chunks():
            if cv.nhwc:  # (G, bP, O/G) @ (G, O/G, K/G)
                np.matmul(cv.out_rows(dy, n0, b), w, out=cv.colmat(cbuf, b))
            else:  # (G, K/G, O/G) @ (G, O/G, bP)
                np.matmul(w.transpose(0, 2, 1), cv.dy_t(dy, n0, b, dbuf),
                          out=cv.colmat(cbuf, b))
            cv.col2im(cbuf, dx, n0, b)

    return contiguous(fast)


def conv2d_grad_filter(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Gradient of conv2d w.r.t. its filters: output gradient times the columns."""
    cv = _Conv(attrs, in_metas[1].shape, attrs["w_shape"], out_metas[0].dtype.np_dtype)
    cbuf = cv.buffer(cv.g * cv.kg)
    dbuf = None if cv.nhwc else cv.buffer(cv.o)
    part = np.empty((cv.g, cv.og, cv.kg), cv.dtype)

    def fast(ins: list, outs: list) -> None:
        dy, x, dw = ins[0], ins[1], cv.filters(outs[0])
        if cv.n == 0:
            dw.fill(0)
        for k, (n0, b) in enumerate(cv.chunks()):
            cols = cv.im2col(x, cbuf, n0, b)
            target = dw if k == 0 else part
            if cv.nhwc:  # (G, O/G, bP) @ (G, bP, K/G)
                np.matmul(cv.out_rows(dy, n0, b).transpose(0, 2, 1), cols, out=target)
            else:  # (G, O/G, bP) @ (G, bP, K/G)
                np.matmul(cv.dy_t(dy, n0, b, dbuf), cols.transpose(0, 2, 1), out=target)
            if k:
                impl.accumulate(dw.reshape(-1), part.reshape(-1))

    return contiguous(fast)


def _bias_shape(shape: Any, axis: int) -> tuple[int, int, int]:
    return prod(shape[:axis]), int(shape[axis]), prod(shape[axis + 1:])


def bias_add(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Add a 1-D bias along ``axis``."""
    shape = _bias_shape(in_metas[0].shape, attrs["axis"])

    def fast(ins: list, outs: list) -> None:
        impl.bias_add(ins[0].reshape(shape), ins[1], outs[0].reshape(shape))

    return contiguous(fast)


def bias_add_grad(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Sum a gradient over every axis but ``axis`` (float64 / int64 accumulation)."""
    shape = _bias_shape(in_metas[0].shape, attrs["axis"])
    dt = np.dtype(out_metas[0].dtype.np_dtype)
    acc = np.zeros(shape[1], np.float64 if dt.kind == "f" else np.int64)
    part = np.zeros(shape[2], acc.dtype)
    zero = acc.dtype.type(0)

    def fast(ins: list, outs: list) -> None:
        impl.bias_add_grad(ins[0].reshape(-1), *shape, acc, part, zero, outs[0])

    return contiguous(fast)
