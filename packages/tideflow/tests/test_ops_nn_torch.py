"""Cross-checks of the NN ops against PyTorch (CPU), skipped when torch is not installed.

The main suite (``test_ops_nn.py``) never needs torch; this file adds a second, independent
oracle for forward values and gradients (float64, rtol 1e-10 unless stated).
"""

from __future__ import annotations

import numpy as np
import pytest

from tideflow.compiler.autodiff import gradients
from tideflow.framework.build import add_op
from tideflow.ops import conv, loss, normalization, pool
from tideflow.ops.math import multiply, reduce_sum
from tideflow.testing.ops import run_graph

torch = pytest.importorskip("torch")
F = torch.nn.functional
RNG = np.random.default_rng(99)


def value_and_grads(fn, arrays, wrt, seed):
    """Run ``fn`` and the gradients of ``sum(fn(...) * seed)`` w.r.t. inputs ``wrt``."""

    def graph(*xs):
        y = fn(*xs[:-1])
        total = reduce_sum(multiply(y, xs[-1]))
        one = add_op("fill", [], {"shape": total.shape, "dtype": total.dtype, "value": 1.0})
        return (y, *gradients([total], [one], [xs[i] for i in wrt]))

    return run_graph(graph, [*arrays, seed])


def torch_value_and_grads(fn, arrays, wrt, seed):
    ts = [torch.tensor(a, requires_grad=i in wrt) for i, a in enumerate(arrays)]
    y = fn(*ts)
    y.backward(torch.tensor(seed))
    return [y.detach().numpy(), *[ts[i].grad.numpy() for i in wrt]]


def assert_all_close(got, want, rtol=1e-10, atol=1e-12):
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


@pytest.mark.parametrize("stride,dil,groups,padding,tpad", [
    (1, 1, 1, "SAME", (2, 1, 2, 2)),  # (left, right, top, bottom): SAME_LOWER 5x4 kernel
    (2, 1, 1, "VALID", (0, 0, 0, 0)),
    (1, 2, 3, "SAME_UPPER", (3, 3, 4, 4)),
    (2, 1, 3, "SAME", (1, 1, 2, 2)),
])
def test_conv2d_matches_torch(stride, dil, groups, padding, tpad):
    x, w = RNG.standard_normal((3, 6, 9, 8)), RNG.standard_normal((9, 6 // groups, 5, 4))
    fn = lambda a, b: conv.conv2d(a, b, stride, padding, dilations=dil, groups=groups)  # noqa: E731
    (y,) = run_graph(fn, [x, w])
    seed = RNG.standard_normal(y.shape)
    got = value_and_grads(fn, [x, w], [0, 1], seed)
    want = torch_value_and_grads(
        lambda a, b: F.conv2d(F.pad(a, tpad), b, stride=stride, dilation=dil, groups=groups),
        [x, w], [0, 1], seed)
    assert_all_close(got, want)


def test_conv2d_float32_lenet_shapes_match_torch():
    x = RNG.standard_normal((16, 32, 14, 14)).astype(np.float32)
    w = (RNG.standard_normal((64, 32, 5, 5)) * 0.1).astype(np.float32)
    fn = lambda a, b: conv.conv2d(a, b, 1, "SAME")  # noqa: E731
    seed = RNG.standard_normal((16, 64, 14, 14)).astype(np.float32)
    got = value_and_grads(fn, [x, w], [0, 1], seed)
    want = torch_value_and_grads(lambda a, b: F.conv2d(a, b, padding=2), [x, w], [0, 1], seed)
    for g, t in zip(got, want, strict=True):
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, t, rtol=1e-3, atol=1e-3 * np.abs(t).max())


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("k,s,pad", [(2, 2, 0), (3, 2, 1), (3, 1, 1)])
def test_pool_matches_torch(mode, k, s, pad):
    x = RNG.permutation(np.arange(2 * 3 * 8 * 7.0)).reshape(2, 3, 8, 7) * 0.01
    padding = [(0, 0), (0, 0), (pad, pad), (pad, pad)]
    fn = (lambda a: pool.max_pool2d(a, k, s, padding)) if mode == "max" else (
        lambda a: pool.avg_pool2d(a, k, s, padding))
    (y,) = run_graph(fn, [x])
    seed = RNG.standard_normal(y.shape)
    got = value_and_grads(fn, [x], [0], seed)
    tfn = (lambda a: F.max_pool2d(a, k, s, pad)) if mode == "max" else (
        lambda a: F.avg_pool2d(a, k, s, pad, count_include_pad=False))
    assert_all_close(got, torch_value_and_grads(tfn, [x], [0], seed))


def test_sparse_softmax_ce_matches_torch():
    logits, labels = RNG.standard_normal((7, 5)) * 3, RNG.integers(0, 5, 7)
    seed = RNG.standard_normal(7)
    got = value_and_grads(loss.sparse_softmax_cross_entropy_with_logits,
                          [labels.astype(np.int64), logits], [1], seed)
    want = torch_value_and_grads(
        lambda lg: F.cross_entropy(lg, torch.tensor(labels), reduction="none"), [logits], [0],
        seed)
    assert_all_close(got, want)


def test_batch_norm_train_matches_torch():
    x, g, b = RNG.standard_normal((6, 4, 3, 2)), RNG.standard_normal(4), RNG.standard_normal(4)
    fn = lambda a, gg, bb: normalization.batch_norm_train(a, gg, bb, 1, 1e-3)[0]  # noqa: E731
    seed = RNG.standard_normal(x.shape)
    got = value_and_grads(fn, [x, g, b], [0, 1, 2], seed)
    want = torch_value_and_grads(
        lambda a, gg, bb: F.batch_norm(a, None, None, gg, bb, training=True, eps=1e-3),
        [x, g, b], [0, 1, 2], seed)
    assert_all_close(got, want, rtol=1e-9)
