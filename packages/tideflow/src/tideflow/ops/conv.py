"""``flow.nn.conv2d`` and ``flow.nn.bias_add``.

The reference kernels compute in a channels-last layout whatever the ``data_format``: the
input is copied once into a preallocated zero-padded NHWC buffer, its windows (a strided
view) are copied into a preallocated im2col buffer of shape ``(N, OH, OW, G, KH, KW, C/G)``
and one BLAS matmul per call (batch folded into the rows, groups as a matmul batch) gives
the output. The data gradient runs one matmul per kernel offset and adds it into a padded
buffer (col2im without materializing the columns); the filter gradient is one matmul.

Padding follows OneFlow: ``"SAME"`` is ``"SAME_LOWER"`` (the odd extra pad goes *before*),
``"SAME_UPPER"`` puts it after, ``"VALID"`` pads nothing, and explicit padding is four
``(before, after)`` pairs in layout order with the N and C pairs equal to ``(0, 0)``.
Public functions resolve padding to explicit ``pads=((top, bottom), (left, right))`` so
kernels of other backends read plain numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from tideflow.framework.blob import Blob
from tideflow.framework.build import add_op
from tideflow.ops._util import check, meta, same_dtype
from tideflow.plugins.records import OpSpec

__all__ = ["bias_add", "conv2d"]

Pads = tuple[tuple[int, int], tuple[int, int]]

# ---------------------------------------------------------------- shared geometry helpers


def channels_last(data_format: str | None) -> bool:
    """Whether ``data_format`` puts channels last (anything not starting with ``"NC"``)."""
    return data_format is not None and not str(data_format).upper().startswith("NC")


def check_format(func: str, data_format: Any, allowed: Sequence[str]) -> bool:
    """Validate ``data_format`` (case-insensitive) and return whether it is channels-last."""
    if not isinstance(data_format, str) or data_format.upper() not in allowed:
        raise ValueError(f"{func}: data_format must be one of {', '.join(allowed)}; received "
                         f"data_format={data_format!r}")
    return channels_last(data_format)


def int_pair(func: str, what: str, value: Any) -> tuple[int, int]:
    """Normalize an int or a pair of ints to a pair of positive ints, or raise naming it."""
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        pair = (int(value), int(value))
    elif isinstance(value, Sequence) and len(value) == 2 and all(
            isinstance(v, int | np.integer) and not isinstance(v, bool) for v in value):
        pair = (int(value[0]), int(value[1]))
    else:
        raise ValueError(f"{func}: {what} must be an int or a pair of ints; received "
                         f"{what}={value!r}")
    if min(pair) < 1:
        raise ValueError(f"{func}: {what} must be positive; received {what}={value!r}")
    return pair


def resolve_padding(func: str, padding: Any, spatial: Sequence[int], kernel: Sequence[int],
                    strides: Sequence[int], dilations: Sequence[int],
                    nhwc: bool) -> tuple[Pads, bool]:
    """Turn OneFlow's ``padding`` argument into explicit ``((top, bottom), (left, right))``.

    Args:
        func: public function name for messages.
        padding: ``"VALID"``, ``"SAME"`` (= ``"SAME_LOWER"``), ``"SAME_UPPER"`` (any case)
            or four ``(before, after)`` pairs in layout order.
        spatial: input (H, W).
        kernel: window (KH, KW).
        strides: (SH, SW).
        dilations: (DH, DW).
        nhwc: whether the layout is channels-last (for explicit pairs).

    Returns:
        The pads and whether they were given explicitly ("customized").
    """
    if isinstance(padding, str):
        mode = padding.upper()
        if mode == "VALID":
            return ((0, 0), (0, 0)), False
        if mode in ("SAME", "SAME_LOWER", "SAME_UPPER"):
            pads = []
            for size, k, s, d in zip(spatial, kernel, strides, dilations, strict=True):
                out = -(-size // s)
                need = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
                small, large = need // 2, need - need // 2
                pads.append((small, large) if mode == "SAME_UPPER" else (large, small))
            return (pads[0], pads[1]), False
        raise ValueError(f"{func}: padding must be 'VALID', 'SAME', 'SAME_LOWER', "
                         f"'SAME_UPPER' or 4 (before, after) pairs; received {padding!r}")
    try:
        pairs = [(int(a), int(b)) for a, b in padding]
    except (TypeError, ValueError):
        pairs = []
    if len(pairs) != 4:
        raise ValueError(f"{func}: explicit padding must be 4 (before, after) pairs in layout "
                         f"order; received padding={padding!r}")
    n_pair, c_pair = pairs[0], pairs[3] if nhwc else pairs[1]
    hw = pairs[1:3] if nhwc else pairs[2:4]
    if n_pair != (0, 0) or c_pair != (0, 0):
        raise ValueError(f"{func}: the N and C padding pairs must be (0, 0); received "
                         f"padding={padding!r}")
    if min(min(p) for p in hw) < 0:
        raise ValueError(f"{func}: padding must be non-negative; received padding={padding!r}")
    return (hw[0], hw[1]), True


def window_out(size: int, eff_k: int, stride: int, pads: tuple[int, int],
               ceil_mode: bool = False) -> int:
    """Output length of a sliding window: ``(size + pads - eff_k [+ s - 1]) // s + 1``."""
    span = size + pads[0] + pads[1] - eff_k
    return (span + (stride - 1 if ceil_mode else 0)) // stride + 1


# ---------------------------------------------------------------- conv2d


class _Geom:
    """Every size a conv kernel needs, from the attributes and the input/filter shapes."""

    def __init__(self, attrs: dict, x_shape: Sequence[int], w_shape: Sequence[int]) -> None:
        self.nhwc = attrs["data_format"] == "NHWC"
        if self.nhwc:
            self.n, self.h, self.w, self.c = x_shape
            self.o, self.kh, self.kw, self.cg = w_shape
        else:
            self.n, self.c, self.h, self.w = x_shape
            self.o, self.cg, self.kh, self.kw = w_shape
        self.g = attrs["groups"]
        self.og = self.o // self.g
        self.sh, self.sw = attrs["strides"]
        self.dh, self.dw = attrs["dilations"]
        (self.pt, self.pb), (self.pl, self.pr) = attrs["pads"]
        self.oh = window_out(self.h, (self.kh - 1) * self.dh + 1, self.sh, (self.pt, self.pb))
        self.ow = window_out(self.w, (self.kw - 1) * self.dw + 1, self.sw, (self.pl, self.pr))
        self.m = self.n * self.oh * self.ow
        self.hp, self.wp = self.h + self.pt + self.pb, self.w + self.pl + self.pr
        self.padded = self.pt or self.pb or self.pl or self.pr

    def nhwc_x(self, x: np.ndarray) -> np.ndarray:
        """The input as an NHWC view."""
        return x if self.nhwc else x.transpose(0, 2, 3, 1)

    def canon_w(self, w: np.ndarray) -> np.ndarray:
        """The filter as a ``(G, O/G, KH, KW, C/G)`` view."""
        wc = w if self.nhwc else w.transpose(0, 2, 3, 1)
        return wc.reshape(self.g, self.og, self.kh, self.kw, self.cg)

    def out_nhwc(self, y: np.ndarray) -> np.ndarray:
        """An NCHW/NHWC output (or output gradient) as an NHWC view."""
        return y if self.nhwc else y.transpose(0, 2, 3, 1)

    def interior(self, xp: np.ndarray) -> np.ndarray:
        """The unpadded region of a padded NHWC buffer."""
        return xp[:, self.pt:self.pt + self.h, self.pl:self.pl + self.w, :]

    def offset(self, xp: np.ndarray, i: int, j: int) -> np.ndarray:
        """Positions of a padded NHWC buffer read by kernel offset ``(i, j)``."""
        r0, c0 = i * self.dh, j * self.dw
        return xp[:, r0:r0 + (self.oh - 1) * self.sh + 1:self.sh,
                  c0:c0 + (self.ow - 1) * self.sw + 1:self.sw, :]


class _Im2col:
    """Preallocated padded buffer and column buffer; ``__call__`` fills and returns columns."""

    def __init__(self, g: _Geom, dtype: Any) -> None:
        self.g = g
        self.xp = np.zeros((g.n, g.hp, g.wp, g.c), dtype) if g.padded or not g.nhwc else None
        self.cols = np.empty((g.n, g.oh, g.ow, g.g, g.kh, g.kw, g.cg), dtype)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        g = self.g
        src = x
        if self.xp is not None:
            g.interior(self.xp)[...] = g.nhwc_x(x)
            src = self.xp
        s0, s1, s2, s3 = src.strides
        win = as_strided(src, self.cols.shape,
                         (s0, s1 * g.sh, s2 * g.sw, s3 * g.cg, s1 * g.dh, s2 * g.dw, s3),
                         writeable=False)
        np.copyto(self.cols, win)
        # rows: (n, oh, ow); per group: (kh, kw, c) -> (G, M, KKCg)
        return self.cols.reshape(g.m, g.g, -1).transpose(1, 0, 2)


def _conv_infer(attrs: dict, x: Any, w: Any) -> Any:
    check(len(x.shape) == 4, f"input must be rank 4 ({attrs['data_format']}); got {x.shape}")
    check(len(w.shape) == 4, f"filters must be rank 4; got {w.shape}")
    dtype = same_dtype(x, w)
    check(dtype.is_floating, f"conv2d needs floating-point blobs; received {dtype.name}")
    g = _Geom(attrs, x.shape, w.shape)
    check(g.g >= 1 and g.c % g.g == 0 and g.o % g.g == 0,
          f"groups={g.g} must divide input channels {g.c} and filters {g.o}")
    check(g.cg * g.g == g.c, f"filters {w.shape} expect {g.cg * g.g} input channels "
          f"(C/groups={g.cg}, groups={g.g}) but the input {x.shape} has {g.c}")
    check(g.oh >= 1 and g.ow >= 1, f"kernel ({g.kh}, {g.kw}) with dilations ({g.dh}, {g.dw}) "
          f"does not fit the padded input ({g.hp}, {g.wp})")
    shape = (g.n, g.oh, g.ow, g.o) if g.nhwc else (g.n, g.o, g.oh, g.ow)
    return meta(shape, dtype)


def _conv_kernel(attrs: dict, ins: list, outs: list) -> Any:
    g = _Geom(attrs, ins[0].shape, ins[1].shape)
    dt = outs[0].dtype.np_dtype
    im2col = _Im2col(g, dt)
    wbuf = np.empty((g.g, g.og, g.kh, g.kw, g.cg), dt)
    ybuf = None if g.nhwc else np.empty((g.n, g.oh, g.ow, g.o), dt)

    def run(i: list, o: list) -> None:
        cols = im2col(i[0])
        np.copyto(wbuf, g.canon_w(i[1]))
        y = o[0] if ybuf is None else ybuf
        np.matmul(cols, wbuf.reshape(g.g, g.og, -1).transpose(0, 2, 1),
                  out=y.reshape(g.m, g.g, g.og).transpose(1, 0, 2))
        if ybuf is not None:
            o[0][...] = ybuf.transpose(0, 3, 1, 2)

    return run


def _infer_grad_data(attrs: dict, dy: Any, w: Any) -> Any:
    return meta(attrs["x_shape"], dy.dtype)


def _grad_data_kernel(attrs: dict, ins: list, outs: list) -> Any:
    g = _Geom(attrs, attrs["x_shape"], ins[1].shape)
    dt = outs[0].dtype.np_dtype
    wk = np.empty((g.kh, g.kw, g.g, g.og, g.cg), dt)
    dybuf = None if g.nhwc else np.empty((g.n, g.oh, g.ow, g.o), dt)
    tmp = np.empty((g.m, g.g, g.cg), dt)
    direct = g.nhwc and not g.padded
    dxp = None if direct else np.empty((g.n, g.hp, g.wp, g.c), dt)
    tmp4 = tmp.reshape(g.n, g.oh, g.ow, g.c)
    tmp_t = tmp.transpose(1, 0, 2)

    def run(i: list, o: list) -> None:
        dy = i[0]
        if dybuf is not None:
            np.copyto(dybuf, dy.transpose(0, 2, 3, 1))
            dy = dybuf
        dy_t = dy.reshape(g.m, g.g, g.og).transpose(1, 0, 2)  # (G, M, Og)
        np.copyto(wk, g.canon_w(i[1]).transpose(2, 3, 0, 1, 4))
        acc = o[0] if dxp is None else dxp
        acc.fill(0)
        for r in range(g.kh):
            for c in range(g.kw):
                np.matmul(dy_t, wk[r, c], out=tmp_t)
                g.offset(acc, r, c)[...] += tmp4
        if dxp is not None:
            o[0][...] = g.interior(dxp) if g.nhwc else g.interior(dxp).transpose(0, 3, 1, 2)

    return run


def _infer_grad_filter(attrs: dict, dy: Any, x: Any) -> Any:
    return meta(attrs["w_shape"], dy.dtype)


def _grad_filter_kernel(attrs: dict, ins: list, outs: list) -> Any:
    g = _Geom(attrs, ins[1].shape, attrs["w_shape"])
    dt = outs[0].dtype.np_dtype
    im2col = _Im2col(g, dt)
    dybuf = None if g.nhwc else np.empty((g.n, g.oh, g.ow, g.o), dt)
    dwbuf = np.empty((g.g, g.og, g.kh, g.kw, g.cg), dt)

    def run(i: list, o: list) -> None:
        dy = i[0]
        if dybuf is not None:
            np.copyto(dybuf, dy.transpose(0, 2, 3, 1))
            dy = dybuf
        cols = im2col(i[1])  # (G, M, KKCg)
        np.matmul(dy.reshape(g.m, g.g, g.og).transpose(1, 2, 0), cols,
                  out=dwbuf.reshape(g.g, g.og, -1))
        if g.nhwc:
            o[0].reshape(dwbuf.shape)[...] = dwbuf
        else:
            o[0].reshape(g.g, g.og, g.cg, g.kh, g.kw)[...] = dwbuf.transpose(0, 1, 4, 2, 3)

    return run


def _grad_conv(ctx: Any, dys: list) -> list:
    x, w = ctx.inputs
    attrs = dict(ctx.attrs)
    dx = ctx.op("conv2d_grad_data", dys[0], w, x_shape=tuple(x.shape), **attrs)
    dw = ctx.op("conv2d_grad_filter", dys[0], x, w_shape=tuple(w.shape), **attrs)
    return [dx, dw]


# ---------------------------------------------------------------- bias_add


def _bias_infer(attrs: dict, x: Any, b: Any) -> Any:
    dtype = same_dtype(x, b)
    rank = len(x.shape)
    axis = attrs["axis"]
    check(rank >= 2, f"value must have rank >= 2; got {x.shape}")
    check(0 <= axis < rank, f"bias axis {axis} is out of range for value {x.shape}")
    check(tuple(b.shape) == (x.shape[axis],),
          f"bias must have shape ({x.shape[axis]},) to match axis {axis} of value {x.shape}; "
          f"got {b.shape}")
    return meta(x.shape, dtype)


def _bias_view_shape(shape: Sequence[int], axis: int) -> tuple[int, int, int]:
    pre = int(np.prod(shape[:axis], dtype=np.int64))
    post = int(np.prod(shape[axis + 1:], dtype=np.int64))
    return pre, int(shape[axis]), post


def _bias_kernel(attrs: dict, ins: list, outs: list) -> Any:
    pre, c, post = _bias_view_shape(ins[0].shape, attrs["axis"])

    def run(i: list, o: list) -> None:
        np.add(i[0].reshape(pre, c, post), i[1].reshape(c, 1),
               out=o[0].reshape(pre, c, post))

    return run


def _infer_bias_grad(attrs: dict, dy: Any) -> Any:
    return meta((dy.shape[attrs["axis"]],), dy.dtype)


def _bias_grad_kernel(attrs: dict, ins: list, outs: list) -> Any:
    pre, c, post = _bias_view_shape(ins[0].shape, attrs["axis"])
    dt = outs[0].dtype.np_dtype
    ones_post = np.ones(post, dt)
    ones_pre = np.ones(pre, dt)
    tmp = np.empty((pre, c), dt)

    def run(i: list, o: list) -> None:
        if post == 1:
            np.matmul(ones_pre, i[0].reshape(pre, c), out=o[0])
        else:
            np.matmul(i[0].reshape(pre * c, post), ones_post, out=tmp.reshape(-1))
            np.matmul(ones_pre, tmp, out=o[0])

    return run


def _grad_bias(ctx: Any, dys: list) -> list:
    return [dys[0], ctx.op("bias_add_grad", dys[0], axis=ctx.attrs["axis"])]


SPECS = [
    OpSpec("conv2d", _conv_infer, _conv_kernel, _grad_conv,
           summary="2-D convolution (im2col + one matmul)"),
    OpSpec("conv2d_grad_data", _infer_grad_data, _grad_data_kernel,
           summary="gradient of conv2d w.r.t. its input"),
    OpSpec("conv2d_grad_filter", _infer_grad_filter, _grad_filter_kernel,
           summary="gradient of conv2d w.r.t. its filters"),
    OpSpec("bias_add", _bias_infer, _bias_kernel, _grad_bias, summary="add a bias along an axis"),
    OpSpec("bias_add_grad", _infer_bias_grad, _bias_grad_kernel,
           summary="sum a gradient over every axis but one"),
]

# ---------------------------------------------------------------- public functions


def conv2d(input: Blob, filters: Blob, strides: Any, padding: Any,  # noqa: A002
           data_format: str = "NCHW", dilations: Any = None, groups: int = 1,
           name: str | None = None) -> Blob:
    """2-D convolution (cross-correlation) of ``input`` with the filter blob ``filters``.

    Args:
        input: ``(N, C, H, W)`` for NCHW or ``(N, H, W, C)`` for NHWC.
        filters: ``(O, C/groups, KH, KW)`` for NCHW, ``(O, KH, KW, C/groups)`` for NHWC.
        strides: an int or a pair.
        padding: ``"VALID"``, ``"SAME"`` (= ``"SAME_LOWER"``: the odd extra pad goes before),
            ``"SAME_UPPER"``, or 4 ``(before, after)`` pairs in layout order.
        data_format: ``"NCHW"`` (or any string starting with ``"NC"``) or ``"NHWC"``.
        dilations: None (1), an int or a pair.
        groups: number of channel groups; must divide C and O.
        name: op name.

    Returns:
        ``(N, O, OH, OW)`` for NCHW, ``(N, OH, OW, O)`` for NHWC.

    Raises:
        ValueError: a bad ``strides``, ``dilations``, ``groups`` or ``padding`` (named), or
            shapes that do not fit (a ShapeError naming the op and the shapes).
    """
    func = "conv2d"
    nhwc = check_format(func, data_format, ("NCHW", "NHWC"))
    st = int_pair(func, "strides", strides)
    dil = int_pair(func, "dilations", 1 if dilations is None else dilations)
    if not isinstance(groups, int | np.integer) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{func}: groups must be a positive int; received groups={groups!r}")
    check(len(input.shape) == 4 and len(filters.shape) == 4,
          f"{func}: input and filters must be rank 4; received input {input.shape} and "
          f"filters {filters.shape}")
    spatial = input.shape[1:3] if nhwc else input.shape[2:4]
    kernel = filters.shape[1:3] if nhwc else filters.shape[2:4]
    pads, _ = resolve_padding(func, padding, spatial, kernel, st, dil, nhwc)
    attrs = {"strides": st, "pads": pads, "dilations": dil, "groups": int(groups),
             "data_format": "NHWC" if nhwc else "NCHW"}
    return add_op("conv2d", [input, filters], attrs, name)


def bias_add(value: Blob, bias: Blob, data_format: str | None = None,
             name: str | None = None) -> Blob:
    """Add the 1-D ``bias`` along the channel axis of ``value``.

    The axis is 1 when ``data_format`` is None or starts with ``"NC"``, otherwise the last.
    """
    axis = len(value.shape) - 1 if channels_last(data_format) else 1
    return add_op("bias_add", [value, bias], {"axis": axis}, name)
