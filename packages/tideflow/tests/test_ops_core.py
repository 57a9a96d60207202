"""Core arithmetic, matmul and train-pass ops: forward vs float64 NumPy, gradients vs
central finite differences (float64, rtol 1e-5, atol 1e-7)."""

from __future__ import annotations

import numpy as np
import pytest

import tideflow as flow
from tideflow.framework.build import add_op
from tideflow.testing import check_grad, run_graph

rng = np.random.default_rng(7)


def r(*shape):
    return rng.standard_normal(shape)


BINARY = [
    ("add", flow.math.add, np.add),
    ("subtract", flow.math.subtract, np.subtract),
    ("multiply", flow.math.multiply, np.multiply),
    ("divide", flow.math.divide, np.divide),
    ("maximum", flow.math.maximum, np.maximum),
    ("minimum", flow.math.minimum, np.minimum),
]
SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((1,), (2, 3))]


@pytest.mark.parametrize("name,fn,ref", BINARY, ids=[b[0] for b in BINARY])
@pytest.mark.parametrize("sa,sb", SHAPES)
def test_binary_broadcast(name, fn, ref, sa, sb):
    a, b = r(*sa), r(*sb)
    if name == "divide":
        b = np.sign(b) * (np.abs(b) + 0.5)
    (out,) = run_graph(fn, [a, b])
    np.testing.assert_allclose(out, ref(a, b), rtol=1e-12)
    check_grad(fn, [a, b])


@pytest.mark.parametrize("op,scalar,ref", [
    ("+", 2.5, lambda x: x + 2.5), ("r-", 2.5, lambda x: 2.5 - x),
    ("*", -1.5, lambda x: x * -1.5), ("/", 4.0, lambda x: x / 4.0),
    ("r/", 3.0, lambda x: 3.0 / x), ("neg", None, lambda x: -x),
])
def test_scalar_ops(op, scalar, ref):
    fns = {"+": lambda x: x + scalar, "r-": lambda x: scalar - x, "*": lambda x: x * scalar,
           "/": lambda x: x / scalar, "r/": lambda x: scalar / x, "neg": lambda x: -x}
    x = np.abs(r(2, 3)) + 0.5
    (out,) = run_graph(fns[op], [x])
    np.testing.assert_allclose(out, ref(x), rtol=1e-12)
    check_grad(fns[op], [x])


def test_divide_by_zero_scalar_multiplies_by_zero_like_oneflow():
    (out,) = run_graph(lambda x: x / 0, [np.ones(3)])
    np.testing.assert_array_equal(out, np.zeros(3))


@pytest.mark.parametrize("axis,keepdims", [(None, False), (0, False), (1, True), ((0, 2), False),
                                           (-1, True)])
def test_reduce_sum_and_mean(axis, keepdims):
    x = r(2, 3, 4)
    (s,) = run_graph(lambda b: flow.math.reduce_sum(b, axis, keepdims), [x])
    expect = np.sum(x, axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(s, np.reshape(expect, s.shape), rtol=1e-12)
    if axis is None:
        assert s.shape == (1,)  # OneFlow has no 0-d tensors
    (m,) = run_graph(lambda b: flow.math.reduce_mean(b, axis, keepdims), [x])
    np.testing.assert_allclose(m.ravel(), np.mean(x, axis=axis, keepdims=keepdims).ravel(),
                               rtol=1e-12)
    check_grad(lambda b: flow.math.reduce_sum(b, axis, keepdims), [x])
    check_grad(lambda b: flow.math.reduce_mean(b, axis, keepdims), [x])


def test_add_n_broadcast_to_reshape_copy():
    a, b, c = r(2, 3), r(2, 3), r(2, 3)
    (out,) = run_graph(lambda *xs: flow.math.add_n(list(xs)), [a, b, c])
    np.testing.assert_allclose(out, a + b + c, rtol=1e-12)
    check_grad(lambda *xs: flow.math.add_n(list(xs)), [a, b, c])
    check_grad(lambda x: flow.math.broadcast_to(x, (4, 2, 3)), [r(2, 1)])
    check_grad(lambda x: flow.reshape(x, (3, -1)), [r(2, 3, 2)])
    check_grad(lambda x: add_op("copy", [x], {}), [r(5)])
    check_grad(lambda x: add_op("reduce_sum_to", [x], {"shape": (1, 3)}), [r(4, 3)])


@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
@pytest.mark.parametrize("batch", [(), (2,)])
def test_matmul(ta, tb, batch):
    a = r(*batch, *((4, 3) if ta else (3, 4)))
    b = r(*batch, *((5, 4) if tb else (4, 5)))

    def fn(x, y):
        return flow.matmul(x, y, transpose_a=ta, transpose_b=tb)

    (out,) = run_graph(fn, [a, b])
    ea = np.swapaxes(a, -1, -2) if ta else a
    eb = np.swapaxes(b, -1, -2) if tb else b
    np.testing.assert_allclose(out, ea @ eb, rtol=1e-12)
    check_grad(fn, [a, b])


def test_relu_gradient_away_from_kink():
    x = r(4, 5)
    x[np.abs(x) < 0.05] = 0.3
    check_grad(flow.nn.relu, [x])


def test_l1_l2_regularize_and_global_norm_clip_forward():
    g, w = r(6), r(6)
    w[0] = 0.0
    (out,) = run_graph(lambda a, b: add_op("l1_l2_regularize", [a, b], {"l1": 0.1, "l2": 0.2}),
                       [g, w])
    np.testing.assert_allclose(out, g + 0.1 * np.where(w >= 0, 1, -1) + 0.2 * w, rtol=1e-12)
    a, b = r(3), r(2, 2)
    norm = np.sqrt((a**2).sum() + (b**2).sum())
    for c in (0.5 * norm, 2 * norm):
        outs = run_graph(lambda x, y, c=c: add_op("clip_by_global_norm", [x, y],
                                                  {"clip_norm": c}),
                         [a, b])
        f = c / max(norm, c)
        np.testing.assert_allclose(outs[0], a * f, rtol=1e-12)
        np.testing.assert_allclose(outs[1], b * f, rtol=1e-12)


def test_dtype_mismatch_is_an_error_not_a_cast():
    with pytest.raises(flow.errors.ShapeError, match="dtypes differ: float64 and float32"):
        run_graph(lambda a, b: a + b, [np.ones(2), np.ones(2, np.float32)])


def test_split_gradient_including_unused_parts():
    x = r(2, 7)

    def first_two(b):
        a, _, c = add_op("split", [b], {"axis": 1, "sizes": (2, 1, 4)})
        return a * 2.0 + flow.math.reduce_sum(c, axis=1, keepdims=True)

    (out,) = run_graph(first_two, [x])
    np.testing.assert_allclose(out, x[:, :2] * 2 + x[:, 3:].sum(1, keepdims=True), rtol=1e-12)
    check_grad(first_two, [x])
