"""Layers in whole jobs: OneFlow's variable names and layouts, batch-norm statistics, and a
train job and a predict job sharing variables."""

from __future__ import annotations

import numpy as np

import tideflow as flow
import tideflow.typing as tp

LR = flow.optimizer.PiecewiseConstantScheduler([], [0.0])


def test_variable_names_shapes_and_layouts():
    @flow.global_function(type="predict")
    def net(x: tp.Numpy.Placeholder((2, 3, 8, 8))) -> tp.Numpy:
        c = flow.layers.conv2d(x, 4, (3, 2), padding="SAME", name="conv1")
        p = flow.nn.max_pool2d(c, 2, 2, "VALID")
        assert c.shape == (2, 4, 8, 8) and p.shape == (2, 4, 4, 4)
        h = flow.layers.dense(flow.reshape(p, (2, -1)), 5, name="fc")
        seq = flow.layers.dense(flow.reshape(p, (2, 4, 16)), 7, name="seq")
        assert seq.shape == (2, 4, 7)
        return flow.layers.batch_normalization(h, axis=-1, name="bn")

    net(np.zeros((2, 3, 8, 8), np.float32))
    shapes = {k: v.shape for k, v in flow.get_all_variables().items()}
    assert shapes == {
        "conv1-weight": (4, 3, 3, 2), "conv1-bias": (4,),
        "fc-weight": (5, 64), "fc-bias": (5,), "seq-weight": (7, 16), "seq-bias": (7,),
        "bn-gamma": (5,), "bn-beta": (5,), "bn-moving_mean": (5,), "bn-moving_variance": (5,),
    }


def test_dense_matches_x_wT_plus_b():
    w = np.arange(6, dtype=np.float32).reshape(2, 3) / 10

    @flow.global_function()
    def f(x: tp.Numpy.Placeholder((4, 3))) -> tp.Numpy:
        return flow.layers.dense(x, 2, name="d", kernel_initializer=flow.zeros_initializer(),
                                 bias_initializer=flow.constant_initializer(0.5))

    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    f(x)
    flow.load_variables({"d-weight": w})
    np.testing.assert_allclose(f(x), x @ w.T + 0.5, rtol=1e-6)


def test_batch_norm_train_updates_moving_stats_and_predict_uses_them():
    def model(x, training):
        return flow.layers.batch_normalization(x, axis=1, momentum=0.9, epsilon=1e-3,
                                               training=training, name="bn")

    @flow.global_function(type="train")
    def train(x: tp.Numpy.Placeholder((8, 3, 2, 2))) -> tp.Numpy:
        y = model(x, True)
        flow.optimizer.SGD(LR, momentum=0).minimize(flow.math.reduce_mean(y * y))
        return y

    @flow.global_function(type="predict")
    def predict(x: tp.Numpy.Placeholder((8, 3, 2, 2))) -> tp.Numpy:
        return model(x, False)

    x = np.random.default_rng(1).standard_normal((8, 3, 2, 2)).astype(np.float32) * 2 + 1
    y = train(x)
    mean = x.mean(axis=(0, 2, 3))
    var = x.var(axis=(0, 2, 3))
    expect = (x - mean[None, :, None, None]) / np.sqrt(var[None, :, None, None] + 1e-3)
    np.testing.assert_allclose(y, expect, rtol=1e-4, atol=1e-5)
    v = flow.get_all_variables()
    np.testing.assert_allclose(v["bn-moving_mean"].numpy(), 0.1 * mean, rtol=1e-5)
    np.testing.assert_allclose(v["bn-moving_variance"].numpy(), 0.9 + 0.1 * var, rtol=1e-5)
    mm, mv = v["bn-moving_mean"].numpy(), v["bn-moving_variance"].numpy()
    out = predict(x)
    expect = (x - mm[None, :, None, None]) / np.sqrt(mv[None, :, None, None] + 1e-3)
    np.testing.assert_allclose(out, expect, rtol=1e-4, atol=1e-5)


def test_train_and_predict_share_weights():
    def model(x):
        return flow.layers.dense(x, 1, name="lin", kernel_initializer=flow.zeros_initializer())

    @flow.global_function(type="train")
    def train(x: tp.Numpy.Placeholder((4, 2)), y: tp.Numpy.Placeholder((4, 1))) -> tp.Numpy:
        err = model(x) - y
        loss = err * err
        flow.optimizer.SGD(flow.optimizer.PiecewiseConstantScheduler([], [0.1]),
                           momentum=0).minimize(loss)
        return loss

    @flow.global_function(type="predict")
    def predict(x: tp.Numpy.Placeholder((4, 2))) -> tp.Numpy:
        return model(x)

    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 2)).astype(np.float32)
    y = (x @ np.array([[1.5], [-2.0]]) + 0.25).astype(np.float32)
    for _ in range(300):
        train(x, y)
    np.testing.assert_allclose(predict(x), y, atol=1e-3)


def test_watch_diff_gives_the_unaveraged_gradient_of_a_blob():
    seen = []

    @flow.global_function(type="train")
    def train(x: tp.Numpy.Placeholder((4, 3)),
              y: tp.Numpy.Placeholder((4,), dtype=flow.int32)) -> tp.Numpy:
        logits = flow.layers.dense(x, 5, name="d",
                                   kernel_initializer=flow.constant_initializer(0.1))
        flow.watch_diff(logits, lambda g: seen.append(g.numpy()))
        loss = flow.nn.sparse_softmax_cross_entropy_with_logits(y, logits)
        flow.optimizer.SGD(LR, momentum=0).minimize(loss)
        return logits

    x = np.random.default_rng(3).standard_normal((4, 3)).astype(np.float32)
    y = np.array([0, 4, 2, 2], np.int32)
    logits = train(x, y)
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    p[np.arange(4), y] -= 1.0  # d CE / d logits per sample (no 1/N: OneFlow scales model diffs)
    assert seen[0].shape == (4, 5)
    np.testing.assert_allclose(seen[0], p, rtol=1e-5, atol=1e-6)
