"""NN ops: conv2d, bias_add, pooling, activations, losses, dropout and normalization.

Forward results are compared with independent float64 references written here (direct
loops for conv and pooling on tiny inputs, closed forms elsewhere); every gradient rule is
checked against central finite differences in float64 (``check_grad`` defaults: rtol=1e-5,
atol=1e-7, eps=1e-6, unless a test states otherwise).
"""

from __future__ import annotations

import numpy as np
import pytest

from tideflow.compiler.autodiff import gradients
from tideflow.errors import ShapeError
from tideflow.framework.build import add_op
from tideflow.ops import activation as act
from tideflow.ops import conv, dropout, loss, normalization, pool
from tideflow.ops.math import add, multiply
from tideflow.testing.ops import check_grad, run_graph

RNG = np.random.default_rng(1234)


def randn(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape)


# ---------------------------------------------------------------- references


def conv_ref(x, w, strides, pads, dil=(1, 1), groups=1):
    """Direct-loop NCHW convolution (cross-correlation), float64."""
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), pads[0], pads[1]))
    oh = (h + sum(pads[0]) - (dil[0] * (kh - 1) + 1)) // strides[0] + 1
    ow = (wd + sum(pads[1]) - (dil[1] * (kw - 1) + 1)) // strides[1] + 1
    og = o // groups
    y = np.zeros((n, o, oh, ow))
    for oc in range(o):
        g = oc // og
        for i in range(oh):
            for j in range(ow):
                for ci in range(cg):
                    for p in range(kh):
                        for q in range(kw):
                            y[:, oc, i, j] += (xp[:, g * cg + ci, i * strides[0] + p * dil[0],
                                                  j * strides[1] + q * dil[1]] * w[oc, ci, p, q])
    return y


def pool_ref(x, k, s, pads, out_hw, mode):
    """Direct-loop NCHW pooling; padding never wins the max and is not counted in avg."""
    n, c, h, w = x.shape
    y = np.zeros((n, c, *out_hw))
    for i in range(out_hw[0]):
        for j in range(out_hw[1]):
            r0, c0 = i * s[0] - pads[0][0], j * s[1] - pads[1][0]
            rows = [r for r in range(r0, r0 + k[0]) if 0 <= r < h]
            cols = [q for q in range(c0, c0 + k[1]) if 0 <= q < w]
            win = x[:, :, rows][:, :, :, cols].reshape(n, c, -1)
            y[:, :, i, j] = win.max(-1) if mode == "max" else win.mean(-1)
    return y


def to_nhwc(a):
    return a.transpose(0, 2, 3, 1)


def distinct(*shape: int) -> np.ndarray:
    """Values at least 0.01 apart (no ties or kinks within finite-difference steps)."""
    return RNG.permutation(np.arange(int(np.prod(shape)))).reshape(shape) * 0.01 - 0.3


# ---------------------------------------------------------------- conv2d

CONV_CASES = [
    # (strides, padding, dilations, groups, expected pads)
    (1, "SAME", 1, 1, ((2, 1), (1, 1))),  # SAME_LOWER: the odd extra pad goes first
    (1, "SAME_LOWER", 1, 1, ((2, 1), (1, 1))),
    (1, "SAME_UPPER", 1, 1, ((1, 2), (1, 1))),
    (1, "VALID", 1, 1, ((0, 0), (0, 0))),
    (2, "SAME", 1, 1, ((1, 1), (1, 1))),
    ((2, 1), "VALID", (1, 2), 1, ((0, 0), (0, 0))),
    (1, "SAME", 2, 2, ((3, 3), (2, 2))),
    (1, [(0, 0), (0, 0), (0, 2), (1, 0)], 1, 2, ((0, 2), (1, 0))),
]


@pytest.mark.parametrize("strides,padding,dil,groups,pads", CONV_CASES)
@pytest.mark.parametrize("nhwc", [False, True])
def test_conv2d_forward_matches_loops(strides, padding, dil, groups, pads, nhwc):
    x, w = randn(2, 4, 6, 7), randn(6, 4 // groups, 4, 3)
    st = (strides, strides) if isinstance(strides, int) else strides
    di = (dil, dil) if isinstance(dil, int) else dil
    want = conv_ref(x, w, st, pads, di, groups)
    if nhwc:
        if isinstance(padding, list):
            padding = [padding[0], padding[2], padding[3], padding[1]]
        (got,) = run_graph(lambda a, b: conv.conv2d(a, b, strides, padding, "NHWC", dil, groups),
                           [to_nhwc(x), to_nhwc(w)])
        got = got.transpose(0, 3, 1, 2)
    else:
        (got,) = run_graph(lambda a, b: conv.conv2d(a, b, strides, padding, dilations=dil,
                                                    groups=groups), [x, w])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_conv2d_same_lower_places_extra_pad_first():
    # 1x4 input, 1x2 kernel [0, 1] picks the right neighbour: SAME_LOWER pads (1, 0) so
    # output j reads x[j]; SAME_UPPER pads (0, 1) so output j reads x[j + 1] (0 past the end).
    x = np.arange(1.0, 5.0).reshape(1, 1, 1, 4)
    w = np.array([0.0, 1.0]).reshape(1, 1, 1, 2)
    (lower,) = run_graph(lambda a, b: conv.conv2d(a, b, 1, "SAME"), [x, w])
    (upper,) = run_graph(lambda a, b: conv.conv2d(a, b, 1, "SAME_UPPER"), [x, w])
    np.testing.assert_array_equal(lower.ravel(), [1, 2, 3, 4])
    np.testing.assert_array_equal(upper.ravel(), [2, 3, 4, 0])


def test_conv2d_float32_layouts_agree():
    x, w = randn(3, 5, 9, 8).astype(np.float32), randn(4, 5, 3, 3).astype(np.float32)
    (a,) = run_graph(lambda p, q: conv.conv2d(p, q, 2, "SAME"), [x, w])
    (b,) = run_graph(lambda p, q: conv.conv2d(p, q, 2, "SAME", "NHWC"), [to_nhwc(x), to_nhwc(w)])
    assert a.dtype == np.float32
    np.testing.assert_allclose(to_nhwc(a), b, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(a, conv_ref(x.astype(np.float64), w.astype(np.float64), (2, 2),
                                           ((1, 1), (1, 0))), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("strides,padding,dil,groups,pads", CONV_CASES)
@pytest.mark.parametrize("nhwc", [False, True])
def test_conv2d_grad(strides, padding, dil, groups, pads, nhwc):
    x, w = randn(2, 4, 6, 7), randn(6, 4 // groups, 4, 3)
    fmt = "NHWC" if nhwc else "NCHW"
    if nhwc:
        x, w = to_nhwc(x), to_nhwc(w)
        if isinstance(padding, list):
            padding = [padding[0], padding[2], padding[3], padding[1]]
    check_grad(lambda a, b: conv.conv2d(a, b, strides, padding, fmt, dil, groups), [x, w])


def test_conv2d_shape_errors_name_op_and_shapes():
    x, w = np.zeros((1, 3, 5, 5)), np.zeros((4, 2, 3, 3))
    with pytest.raises(ShapeError, match=r"conv2d.*\(4, 2, 3, 3\).*\(1, 3, 5, 5\)"):
        run_graph(lambda a, b: conv.conv2d(a, b, 1, "SAME"), [x, w])
    with pytest.raises(ShapeError, match=r"conv2d.*does not fit"):
        run_graph(lambda a, b: conv.conv2d(a, b, 1, "VALID"),
                  [np.zeros((1, 2, 2, 2)), np.zeros((1, 2, 3, 3))])
    with pytest.raises(ShapeError, match="int32"):
        run_graph(lambda a, b: conv.conv2d(a, b, 1, "SAME"),
                  [np.zeros((1, 2, 4, 4), np.int32), np.zeros((1, 2, 3, 3), np.int32)])


@pytest.mark.parametrize("kwargs,match", [
    ({"padding": "FULL"}, "padding"),
    ({"padding": [(0, 0), (1, 1), (1, 1), (0, 0)]}, "N and C padding"),
    ({"padding": [(1, 1), (1, 1)]}, "4 \\(before, after\\) pairs"),
    ({"strides": 0}, "strides"),
    ({"strides": (1, 2, 3)}, "strides"),
    ({"dilations": -1}, "dilations"),
    ({"groups": 0}, "groups"),
    ({"data_format": "CHWN"}, "data_format"),
])
def test_conv2d_argument_errors(kwargs, match):
    args = {"strides": 1, "padding": "SAME", **kwargs}
    with pytest.raises(ValueError, match=match):
        run_graph(lambda a, b: conv.conv2d(a, b, **args),
                  [np.zeros((1, 2, 4, 4)), np.zeros((2, 2, 3, 3))])


# ---------------------------------------------------------------- bias_add


@pytest.mark.parametrize("fmt,shape,axis", [
    (None, (2, 3, 4, 5), 1), ("NCHW", (2, 3, 4), 1), ("NHWC", (2, 4, 5, 3), 3),
    ("NC", (4, 3), 1), ("NHWC", (4, 3), 1),
])
def test_bias_add_forward_and_grad(fmt, shape, axis):
    x, b = randn(*shape), randn(shape[axis])
    bshape = [1] * len(shape)
    bshape[axis] = shape[axis]
    (y,) = run_graph(lambda p, q: conv.bias_add(p, q, fmt), [x, b])
    np.testing.assert_allclose(y, x + b.reshape(bshape), rtol=1e-14)
    check_grad(lambda p, q: conv.bias_add(p, q, fmt), [x, b])


def test_bias_add_shape_error():
    with pytest.raises(ShapeError, match=r"bias_add.*\(3,\).*\(2, 4, 5\)"):
        run_graph(lambda p, q: conv.bias_add(p, q), [np.zeros((2, 4, 5)), np.zeros(3)])


# ---------------------------------------------------------------- pooling

POOL_CASES = [
    # (ksize, strides, padding, ceil_mode, expected pads, expected out (H, W)) on 7x6 input
    (2, 2, "VALID", False, ((0, 0), (0, 0)), (3, 3)),
    (2, 2, "SAME", False, ((1, 0), (0, 0)), (4, 3)),  # SAME_LOWER: extra row pad first
    (2, 2, "SAME_UPPER", False, ((0, 1), (0, 0)), (4, 3)),
    (3, 2, "SAME", False, ((1, 1), (1, 0)), (4, 3)),
    (3, 1, "SAME", False, ((1, 1), (1, 1)), (7, 6)),
    ((3, 2), (2, 1), "VALID", False, ((0, 0), (0, 0)), (3, 5)),
    (3, 2, [(0, 0), (0, 0), (1, 0), (0, 1)], False, ((1, 0), (0, 1)), (3, 3)),
    (3, 2, [(0, 0), (0, 0), (1, 0), (0, 1)], True, ((1, 0), (0, 1)), (4, 3)),
    (2, 2, "VALID", True, ((0, 0), (0, 0)), (3, 3)),  # ceil_mode only for explicit pads
]


@pytest.mark.parametrize("k,s,padding,ceil,pads,out_hw", POOL_CASES)
@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("nhwc", [False, True])
def test_pool_forward_matches_loops(k, s, padding, ceil, pads, out_hw, mode, nhwc):
    x = distinct(2, 3, 7, 6)
    kk = (k, k) if isinstance(k, int) else k
    ss = (s, s) if isinstance(s, int) else s
    want = pool_ref(x, kk, ss, pads, out_hw, mode)
    fn = pool.max_pool2d if mode == "max" else pool.avg_pool2d
    if nhwc:
        if isinstance(padding, list):
            padding = [padding[0], padding[2], padding[3], padding[1]]
        (got,) = run_graph(lambda a: fn(a, k, s, padding, "NHWC", ceil), [to_nhwc(x)])
        got = got.transpose(0, 3, 1, 2)
    else:
        (got,) = run_graph(lambda a: fn(a, k, s, padding, ceil_mode=ceil), [x])
    assert got.shape == (2, 3, *out_hw)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("k,s,padding,ceil,pads,out_hw", POOL_CASES)
@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("nhwc", [False, True])
def test_pool_grad(k, s, padding, ceil, pads, out_hw, mode, nhwc):
    x = distinct(2, 3, 7, 6)
    fn = pool.max_pool2d if mode == "max" else pool.avg_pool2d
    fmt = "NHWC" if nhwc else "NCHW"
    if nhwc:
        x = to_nhwc(x)
        if isinstance(padding, list):
            padding = [padding[0], padding[2], padding[3], padding[1]]
    check_grad(lambda a: fn(a, k, s, padding, fmt, ceil), [x], max_points=128)


def test_max_pool_ties_route_to_first_and_argmax_output():
    x = np.zeros((1, 1, 2, 2))
    y, idx = run_graph(lambda a: add_op("max_pool2d", [a], {
        "ksize": (2, 2), "strides": (2, 2), "pads": ((0, 0), (0, 0)), "ceil_mode": False,
        "data_format": "NCHW"}), [x])
    assert idx.dtype == np.int32 and idx.ravel().tolist() == [0]
    x = np.array([[[[1.0, 5.0], [7.0, 2.0]]]])
    _, idx = run_graph(lambda a: add_op("max_pool2d", [a], {
        "ksize": (2, 2), "strides": (2, 2), "pads": ((0, 0), (0, 0)), "ceil_mode": False,
        "data_format": "NCHW"}), [x])
    assert idx.ravel().tolist() == [2]


def test_pool_errors():
    with pytest.raises(ShapeError, match=r"max_pool2d.*rank 4"):
        run_graph(lambda a: pool.max_pool2d(a, 2, 2, "VALID"), [np.zeros((2, 3, 4))])
    with pytest.raises(ShapeError, match=r"avg_pool2d.*does not fit"):
        run_graph(lambda a: pool.avg_pool2d(a, 5, 1, "VALID"), [np.zeros((1, 1, 4, 4))])
    with pytest.raises(ValueError, match="ksize"):
        run_graph(lambda a: pool.max_pool2d(a, 0, 1, "VALID"), [np.zeros((1, 1, 4, 4))])
    with pytest.raises(ValueError, match="data_format"):
        run_graph(lambda a: pool.avg_pool2d(a, 2, 2, "VALID", "HWCN"), [np.zeros((1, 1, 4, 4))])
    with pytest.raises(NotImplementedError):
        pool.max_pool1d(None, 2, 2, "VALID")
    with pytest.raises(NotImplementedError):
        pool.avg_pool1d(None, 2, 2, "VALID")


# ---------------------------------------------------------------- activations


def _softmax(x, axis):
    e = np.exp(x - x.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


ACTIVATIONS = [
    ("sigmoid", act.sigmoid, lambda x: 1 / (1 + np.exp(-x))),
    ("tanh", act.tanh, np.tanh),
    ("relu", act.relu, lambda x: np.maximum(x, 0)),
    ("softmax", act.softmax, lambda x: _softmax(x, -1)),
    ("softmax_axis1", lambda x: act.softmax(x, axis=1), lambda x: _softmax(x, 1)),
    ("log_softmax", act.log_softmax, lambda x: np.log(_softmax(x, -1))),
    ("log_softmax_axis0", lambda x: act.log_softmax(x, 0), lambda x: np.log(_softmax(x, 0))),
    ("leaky_relu", act.leaky_relu, lambda x: np.where(x > 0, x, 0.2 * x)),
    ("leaky_relu_0.05", lambda x: act.leaky_relu(x, alpha=0.05),
     lambda x: np.where(x > 0, x, 0.05 * x)),
    ("relu6", act.relu6, lambda x: np.clip(x, 0, 6)),
]


@pytest.mark.parametrize("name,fn,ref", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_forward_and_grad(name, fn, ref):
    x = distinct(3, 4, 5) * 3 + 0.005  # away from the kinks at 0 and 6
    (y,) = run_graph(fn, [x])
    np.testing.assert_allclose(y, ref(x), rtol=1e-12, atol=1e-15)
    check_grad(fn, [x])


def test_softmax_is_stable_for_large_logits():
    x = np.array([[1000.0, 1001.0, 999.0], [-1000.0, -1000.0, -1000.0]], np.float32)
    (y,) = run_graph(act.softmax, [x])
    assert np.isfinite(y).all()
    np.testing.assert_allclose(y.sum(-1), 1.0, rtol=1e-6)
    (ls,) = run_graph(act.log_softmax, [x])
    np.testing.assert_allclose(ls[1], np.log(1 / 3), rtol=1e-6)
    (s,) = run_graph(act.sigmoid, [np.array([-1000.0, 0.0, 1000.0], np.float32)])
    np.testing.assert_allclose(s, [0.0, 0.5, 1.0])


def test_activation_rejects_integers():
    with pytest.raises(ShapeError, match=r"sigmoid.*int32"):
        run_graph(act.sigmoid, [np.zeros(3, np.int32)])
    with pytest.raises(ShapeError, match="axis=2"):
        run_graph(lambda x: act.softmax(x, 2), [np.zeros((2, 3))])


# ---------------------------------------------------------------- losses


def _log_softmax(x):
    m = x.max(-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


@pytest.mark.parametrize("label_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("lead,squeeze", [((5,), False), ((5,), True), ((2, 3), False)])
def test_sparse_softmax_ce_forward_and_grad(label_dtype, lead, squeeze):
    logits = randn(*lead, 4) * 3
    labels = RNG.integers(0, 4, size=lead).astype(label_dtype)
    fed = labels[..., None] if squeeze else labels
    fn = loss.sparse_softmax_cross_entropy_with_logits
    (got,) = run_graph(fn, [fed, logits])
    want = -np.take_along_axis(_log_softmax(logits), labels[..., None].astype(int), -1)[..., 0]
    assert got.shape == lead
    np.testing.assert_allclose(got, want, rtol=1e-12)
    check_grad(fn, [fed, logits], wrt=[1])


def test_sparse_softmax_ce_grad_is_softmax_minus_onehot():
    logits, labels = randn(6, 5), np.array([0, 4, 2, 2, 1, 3], np.int32)

    def fn(lab, lg):
        y = loss.sparse_softmax_cross_entropy_with_logits(lab, lg)
        seed = add_op("fill", [], {"shape": y.shape, "dtype": y.dtype, "value": 2.0})
        (g,) = gradients([y], [seed], [lg])
        return g

    (g,) = run_graph(fn, [labels, logits])
    np.testing.assert_allclose(g, 2 * (_softmax(logits, -1) - np.eye(5)[labels]), rtol=1e-12)


def test_sparse_softmax_ce_is_stable():
    logits = np.array([[1e4, 0.0, -1e4]], np.float32)
    (got,) = run_graph(loss.sparse_softmax_cross_entropy_with_logits,
                       [np.array([1], np.int32), logits])
    np.testing.assert_allclose(got, [1e4], rtol=1e-6)


def test_sparse_softmax_ce_label_out_of_range_raises_at_run_time():
    fn = loss.sparse_softmax_cross_entropy_with_logits
    with pytest.raises(ValueError, match=r"labels must be in \[0, 4\); received 4 at index \(2,\)"):
        run_graph(fn, [np.array([0, 1, 4], np.int32), randn(3, 4)])
    with pytest.raises(ValueError, match=r"received -1"):
        run_graph(fn, [np.array([0, -1, 3], np.int64), randn(3, 4)])


def test_sparse_softmax_ce_build_errors():
    fn = loss.sparse_softmax_cross_entropy_with_logits
    with pytest.raises(ShapeError, match=r"sparse_softmax_cross_entropy.*\(3, 2\).*\(3, 4\)"):
        run_graph(fn, [np.zeros((3, 2), np.int32), randn(3, 4)])
    with pytest.raises(ShapeError, match="float64"):
        run_graph(fn, [np.zeros(3), randn(3, 4)])


def test_softmax_ce_dense_forward_and_grad():
    logits = randn(4, 5)
    labels = _softmax(randn(4, 5), -1)
    (got,) = run_graph(loss.softmax_cross_entropy_with_logits, [labels, logits])
    np.testing.assert_allclose(got, -(labels * _log_softmax(logits)).sum(-1), rtol=1e-12)
    check_grad(loss.softmax_cross_entropy_with_logits, [labels, logits])
    check_grad(loss.softmax_cross_entropy_with_logits, [labels * 1.7, logits])  # sum != 1
    with pytest.raises(ShapeError, match="same shape"):
        run_graph(loss.softmax_cross_entropy_with_logits, [randn(4, 4), logits])


def test_sigmoid_ce_forward_and_grad():
    logits = randn(3, 4) * 4
    labels = RNG.random((3, 4))
    (got,) = run_graph(loss.sigmoid_cross_entropy_with_logits, [labels, logits])
    p = 1 / (1 + np.exp(-logits))
    np.testing.assert_allclose(got, -labels * np.log(p) - (1 - labels) * np.log(1 - p),
                               rtol=1e-10)
    check_grad(loss.sigmoid_cross_entropy_with_logits, [labels, logits])
    (big,) = run_graph(loss.sigmoid_cross_entropy_with_logits,
                       [np.array([0.0, 1.0]), np.array([1000.0, -1000.0])])
    np.testing.assert_allclose(big, [1000.0, 1000.0])


# ---------------------------------------------------------------- dropout


def test_dropout_statistics_scaling_and_grad():
    rate, n = 0.3, 200_000
    x = RNG.random(n) + 0.5  # nonzero everywhere

    def fn(a):
        y = dropout.dropout(a, rate, seed=7)
        seed = add_op("fill", [], {"shape": y.shape, "dtype": y.dtype, "value": 1.0})
        (g,) = gradients([y], [seed], [a])
        return y, g

    y, g = run_graph(fn, [x])
    kept = y != 0
    sigma = np.sqrt(rate * (1 - rate) / n)
    assert abs((1 - kept.mean()) - rate) < 5 * sigma
    np.testing.assert_array_equal(y[kept], x[kept] * np.float64(1 / (1 - rate)))
    np.testing.assert_array_equal(g, kept / (1 - rate))


def test_dropout_draws_a_fresh_mask_each_run_and_seed_repeats():
    from tideflow.compiler.lower import lower
    from tideflow.framework.build import BuildContext, building
    from tideflow.framework.graph import Graph
    from tideflow.testing.ops import _backend

    def masks(seed):
        ctx = BuildContext(Graph())
        with building(ctx):
            (x,) = [add_op("input", [], {"shape": (1000,), "dtype": __import__(
                "tideflow").float32}, "x")]
            y = dropout.dropout(x, 0.5, seed=seed)
        be = _backend("numpy")
        plan = lower(ctx.graph, {"cpu": be, "gpu": be}, {}, [y.value], [x.value])
        plan.feeds[0][...] = 1.0
        out = []
        for _ in range(2):
            plan.run()
            out.append(plan.fetches[0].copy())
        return out

    a1, a2 = masks(3)
    b1, _ = masks(3)
    assert not np.array_equal(a1, a2)
    np.testing.assert_array_equal(a1, b1)
    assert set(np.unique(a1)) <= {0.0, 2.0}


def test_dropout_noise_shape_broadcasts():
    x = np.ones((64, 8))
    (y,) = run_graph(lambda a: dropout.dropout(a, 0.5, noise_shape=(64, 1), seed=1), [x])
    assert (y == y[:, :1]).all()  # one draw per row
    with pytest.raises(ShapeError, match="noise_shape"):
        run_graph(lambda a: dropout.dropout(a, 0.5, noise_shape=(3, 1)), [x])


def test_dropout_identity_in_predict_jobs_and_rate_zero():
    seen = []

    def fn(a):
        seen.append(dropout.dropout(a, 0.5) is a)
        seen.append(dropout.dropout(a, 0.0) is a)
        return a

    run_graph(fn, [np.ones(3)], trainable=False)
    assert seen == [True, True]
    seen.clear()
    run_graph(fn, [np.ones(3)], trainable=True)
    assert seen == [False, True]


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5, "0.5", None, True])
def test_dropout_rate_errors(rate):
    with pytest.raises(ValueError, match="rate"):
        run_graph(lambda a: dropout.dropout(a, rate), [np.ones(3)])


# ---------------------------------------------------------------- normalization


@pytest.mark.parametrize("axes,keepdims", [((0,), False), ((0, 2, 3), True), ((1, 3), False),
                                           (-1, False)])
def test_moments_forward_and_grad(axes, keepdims):
    x = randn(3, 4, 2, 5)
    mean, var = run_graph(lambda a: normalization.moments(a, axes, keepdims), [x])
    np.testing.assert_allclose(mean, x.mean(axes, keepdims=keepdims), rtol=1e-12)
    np.testing.assert_allclose(var, x.var(axes, keepdims=keepdims), rtol=1e-12)
    check_grad(lambda a: normalization.moments(a, axes, keepdims)[0], [x])
    check_grad(lambda a: normalization.moments(a, axes, keepdims)[1], [x])
    check_grad(lambda a: add(*normalization.moments(a, axes, keepdims)), [x])


def _bn_ref(x, gamma, beta, mean, var, axis, eps):
    shape = [1] * x.ndim
    shape[axis] = -1
    r = lambda v: v.reshape(shape)  # noqa: E731
    return (x - r(mean)) / np.sqrt(r(var) + eps) * r(gamma) + r(beta)


@pytest.mark.parametrize("axis", [1, -1])
def test_batch_norm_train_forward_and_grads(axis):
    x, gamma, beta = randn(4, 3, 2, 5) * 2 + 1, randn(3 if axis == 1 else 5), None
    c = x.shape[axis]
    gamma, beta = randn(c), randn(c)
    axes = tuple(k for k in range(4) if k != axis % 4)
    y, mean, var = run_graph(
        lambda a, g, b: normalization.batch_norm_train(a, g, b, axis, 1e-3), [x, gamma, beta])
    np.testing.assert_allclose(mean, x.mean(axes), rtol=1e-12)
    np.testing.assert_allclose(var, x.var(axes), rtol=1e-12)
    np.testing.assert_allclose(y, _bn_ref(x, gamma, beta, x.mean(axes), x.var(axes), axis % 4,
                                          1e-3), rtol=1e-11, atol=1e-12)
    for k in range(3):  # y, mean and variance all differentiate back to x
        check_grad(lambda a, g, b, k=k: normalization.batch_norm_train(a, g, b, axis, 1e-3)[k],
                   [x, gamma, beta], wrt=[0, 1, 2] if k == 0 else [0])
    attrs = {"axis": axis % 4, "epsilon": 1e-3}
    check_grad(lambda a, g, b: add_op("batch_norm_train", [a, g, b], attrs)[2],  # 1/std
               [x, gamma, beta], wrt=[0])
    check_grad(lambda a, g, b: add(multiply(normalization.batch_norm_train(
        a, g, b, axis, 1e-3)[0], a), a), [x, gamma, beta])


def test_batch_norm_train_without_gamma_beta():
    x = randn(6, 3)
    y, _, _ = run_graph(lambda a: normalization.batch_norm_train(a, None, None, 1, 1e-5), [x])
    np.testing.assert_allclose(y, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5), rtol=1e-11)
    check_grad(lambda a: normalization.batch_norm_train(a, None, None, -1, 1e-5)[0], [x])


def test_batch_normalization_nn_forward_and_grads():
    x = randn(2, 3, 4)
    mean, var, off, sc = randn(3), RNG.random(3) + 0.5, randn(3), randn(3)
    fn = lambda a, m, v, o, s: normalization.batch_normalization(  # noqa: E731
        a, m, v, o, s, variance_epsilon=1e-3, axis=1)
    (y,) = run_graph(fn, [x, mean, var, off, sc])
    np.testing.assert_allclose(y, _bn_ref(x, sc, off, mean, var, 1, 1e-3), rtol=1e-12)
    check_grad(fn, [x, mean, var, off, sc])
    # keepdims-shaped statistics and missing offset/scale
    (y2,) = run_graph(lambda a, m, v: normalization.batch_normalization(a, m, v, axis=1),
                      [x, mean.reshape(1, 3, 1), var.reshape(1, 3, 1)])
    np.testing.assert_allclose(y2, (x - mean[:, None]) / np.sqrt(var[:, None] + 1e-5),
                               rtol=1e-12)


def test_batch_norm_infer_helper_matches_reference():
    x = randn(5, 4, 3)
    g, b, m, v = randn(3), randn(3), randn(3), RNG.random(3) + 0.1
    (y,) = run_graph(lambda *a: normalization.batch_norm_infer(*a, -1, 1e-3), [x, g, b, m, v])
    np.testing.assert_allclose(y, _bn_ref(x, g, b, m, v, 2, 1e-3), rtol=1e-12)


def test_batch_norm_shape_errors():
    with pytest.raises(ShapeError, match=r"batch_norm.*\(4,\)"):
        run_graph(lambda a, g: normalization.batch_norm_train(a, g, None, 1, 1e-3),
                  [randn(2, 3), randn(4)])


def test_assign_moving_average_updates_in_place_with_no_outputs():
    moving, batch = randn(4), randn(4)

    def fn(m, b):
        out = normalization.assign_moving_average(m, b, 0.9)
        assert out is None
        return m

    (got,) = run_graph(fn, [moving, batch])
    np.testing.assert_allclose(got, 0.9 * moving + 0.1 * batch, rtol=1e-14)
