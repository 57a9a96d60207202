"""The snippets of OneFlow's optimizer and hyperparameter guide (the seed), import changed only.

Each test puts one snippet, as written for OneFlow, inside a real train job on a tiny
problem (a dense layer, 4 -> 2, on fixed random data with a squared-error loss), runs three
steps and checks that the loss stays finite, that the variables moved, and, where it is
cheap, that the first update equals its closed form in float64. The brief's whole seed
program (``docs/examples/seed_lenet.py``) is tested in ``tests/test_examples.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

import tideflow as flow
import tideflow.typing as tp

STEPS = 3
RTOL = 1e-5  # for slots, which start at 0
_RNG = np.random.default_rng(7)
X = _RNG.normal(0, 1, (8, 4)).astype(np.float32)
Y = _RNG.normal(0, 1, (8, 2)).astype(np.float32)
W0 = _RNG.uniform(-1, 1, (2, 4)).astype(np.float32)
B0 = _RNG.uniform(-1, 1, (2,)).astype(np.float32)


def dense_loss(x, y):
    """The tiny model: ``mean((x @ W^T + b - y)^2)``, variables ``dense-weight``/``-bias``."""
    out = flow.layers.dense(x, 2, kernel_initializer=flow.zeros_initializer(), name="dense")
    return flow.math.reduce_mean(flow.math.square(out - y))


def grads(w, b, y_scale=1.0):
    """float64 gradient of ``dense_loss`` at (w, b): (dW, db)."""
    w, b = w.astype(np.float64), b.astype(np.float64)
    dout = 2 * (X @ w.T + b - y_scale * Y) / Y.size
    return dout.T @ X, dout.sum(axis=0)


def train(job, y_scale=1.0):
    """Run ``job`` STEPS times from (W0, B0); return the losses and every variable after step 1.

    Checks that every loss is finite and that both variables changed.
    """
    flow.load_variables({"dense-weight": W0, "dense-bias": B0})
    losses, first = [], {}
    for step in range(STEPS):
        losses.append(np.asarray(job(X, (y_scale * Y).astype(np.float32))).item())
        if step == 0:
            first = {n: v.numpy().copy() for n, v in flow.get_all_variables().items()}
    assert np.all(np.isfinite(losses)), losses
    v = flow.get_all_variables()
    assert not np.array_equal(v["dense-weight"].numpy(), W0)
    assert not np.array_equal(v["dense-bias"].numpy(), B0)
    return losses, first


def check_first(first, w1, b1):
    """Compare the first update ``w1 - W0`` (not ``w1``, where a small step would hide).

    The parameters are float32 values below 1, so the update is exact to about 6e-8.
    """
    for name, w0, want in (("dense-weight", W0, w1), ("dense-bias", B0, b1)):
        np.testing.assert_allclose(first[name].astype(np.float64) - w0, want - w0,
                                   rtol=1e-3, atol=1e-7, err_msg=name)


def test_sgd_piecewise_constant_no_momentum():
    @flow.global_function(type="train")
    def train_job(x: tp.Numpy.Placeholder((8, 4)), y: tp.Numpy.Placeholder((8, 2))
                  ) -> tp.Numpy:
        loss = dense_loss(x, y)
        lr_scheduler = flow.optimizer.PiecewiseConstantScheduler([], [0.1])
        flow.optimizer.SGD(lr_scheduler, momentum=0).minimize(loss)
        return loss

    losses, first = train(train_job)
    gw, gb = grads(W0, B0)
    check_first(first, W0 - 0.1 * gw, B0 - 0.1 * gb)
    assert losses[-1] < losses[0]
    assert "dense-weight-momentum" not in flow.get_all_variables()


def test_piecewise_scaling_with_momentum_sgd():
    @flow.global_function(type="train")
    def train_job(x: tp.Numpy.Placeholder((8, 4)), y: tp.Numpy.Placeholder((8, 2))
                  ) -> tp.Numpy:
        loss = dense_loss(x, y)
        lr_scheduler = flow.optimizer.PiecewiseScalingScheduler(0.001, [30, 60, 90], 0.1)
        flow.optimizer.SGD(lr_scheduler, momentum=0.9).minimize(loss)
        return loss

    _, first = train(train_job)
    gw, gb = grads(W0, B0)
    check_first(first, W0 - 0.001 * gw, B0 - 0.001 * gb)  # u = -lr*g; w = w + u
    np.testing.assert_allclose(first["dense-bias-momentum"], -0.001 * gb, rtol=RTOL)
    # OneFlow repeats a scalar scale and does not compound it: scales = [1, 0.1, 0.1, 0.1],
    # so the rate is 1e-4 from step 31 on (not 1e-5, 1e-6 after 60, 90); step <= boundary.
    sched = flow.optimizer.PiecewiseScalingScheduler(0.001, [30, 60, 90], 0.1)
    for step, want in [(0, 1e-3), (30, 1e-3), (31, 1e-4), (61, 1e-4), (91, 1e-4)]:
        assert sched.value(step) == pytest.approx(want, rel=1e-6), step


def test_cosine_with_linear_warmup():
    @flow.global_function(type="train")
    def train_job(x: tp.Numpy.Placeholder((8, 4)), y: tp.Numpy.Placeholder((8, 2))
                  ) -> tp.Numpy:
        loss = dense_loss(x, y)
        lr_scheduler = flow.optimizer.CosineScheduler(
            0.01, 10000, warmup=flow.optimizer.warmup.linear(100, 0.1))
        flow.optimizer.SGD(lr_scheduler, momentum=0.9).minimize(loss)
        return loss

    _, first = train(train_job)
    gw, gb = grads(W0, B0)
    check_first(first, W0 - 0.001 * gw, B0 - 0.001 * gb)  # 0.01 * 0.1 at step 0
    sched = flow.optimizer.CosineScheduler(
        0.01, 10000, warmup=flow.optimizer.warmup.linear(100, 0.1))
    assert sched.value(99) == pytest.approx(0.01 * (0.1 + 0.9 * 99 / 100), rel=1e-6)
    assert sched.value(100) == pytest.approx(0.01 * 0.5 * (1 + np.cos(np.pi * 0.01)), rel=1e-6)


def test_cosine_with_swapped_arguments_is_rejected_with_a_hint():
    with pytest.raises(ValueError, match=r"received steps=0\.01") as err:
        flow.optimizer.CosineScheduler(10000, 0.01,
                                       warmup=flow.optimizer.warmup.linear(100, 0.1))
    assert "CosineScheduler(0.01, 10000, ...)" in str(err.value)


def test_adam_with_bias_correction():
    @flow.global_function(type="train")
    def train_job(x: tp.Numpy.Placeholder((8, 4)), y: tp.Numpy.Placeholder((8, 2))
                  ) -> tp.Numpy:
        loss = dense_loss(x, y)
        lr = flow.optimizer.PiecewiseConstantScheduler([], [0.01])
        flow.optimizer.Adam(lr, do_bias_correction=True).minimize(loss)
        return loss

    _, first = train(train_job)
    gw, gb = grads(W0, B0)
    # step 0: m_hat = g, v_hat = g^2, so w <- w - lr * g / (|g| + eps)
    check_first(first, W0 - 0.01 * gw / (np.abs(gw) + 1e-8), B0 - 0.01 * gb / (np.abs(gb) + 1e-8))
    assert {"dense-weight-m", "dense-weight-v"} <= set(flow.get_all_variables())


def test_adamw_weight_decay_excludes_bias():
    @flow.global_function(type="train")
    def train_job(x: tp.Numpy.Placeholder((8, 4)), y: tp.Numpy.Placeholder((8, 2))
                  ) -> tp.Numpy:
        loss = dense_loss(x, y)
        lr = flow.optimizer.PiecewiseConstantScheduler([], [0.01])
        flow.optimizer.AdamW(lr, weight_decay=0.01,
                             weight_decay_excludes=["bias"]).minimize(loss)
        return loss

    _, first = train(train_job)
    gw, gb = grads(W0, B0)

    def step(g):  # do_bias_correction=False (OneFlow's default): m = 0.1 g, v = 0.001 g^2
        return 0.01 * (0.1 * g) / (np.sqrt(0.001 * g * g) + 1e-8)

    check_first(first, W0 - step(gw) - 0.01 * 0.01 * W0, B0 - step(gb))  # bias not decayed


def test_lazy_adam():
    @flow.global_function(type="train")
    def train_job(x: tp.Numpy.Placeholder((8, 4)), y: tp.Numpy.Placeholder((8, 2))
                  ) -> tp.Numpy:
        loss = dense_loss(x, y)
        lr = flow.optimizer.PiecewiseConstantScheduler([], [0.01])
        flow.optimizer.LazyAdam(lr).minimize(loss)
        return loss

    _, first = train(train_job)
    gw, gb = grads(W0, B0)
    check_first(first, W0 - 0.01 * gw / (np.abs(gw) + 1e-8), B0 - 0.01 * gb / (np.abs(gb) + 1e-8))


def test_lars_with_weight_decay():
    @flow.global_function(type="train")
    def train_job(x: tp.Numpy.Placeholder((8, 4)), y: tp.Numpy.Placeholder((8, 2))
                  ) -> tp.Numpy:
        loss = dense_loss(x, y)
        lr = flow.optimizer.PiecewiseConstantScheduler([], [0.1])
        flow.optimizer.LARS(lr, weight_decay=1e-4).minimize(loss)
        return loss

    _, first = train(train_job)
    want = []
    for w, g in zip((W0, B0), grads(W0, B0), strict=True):
        w = w.astype(np.float64)
        wn, gn = np.linalg.norm(w), np.linalg.norm(g)
        trust = 1e-4 * wn / (1e-9 + gn + 1e-4 * wn)  # defaults: lars_coefficient, epsilon
        u = -0.1 * trust * g  # the momentum slot at step 0
        want.append(w + u - 0.1 * trust * 1e-4 * w)
        name = "dense-weight" if w.shape == W0.shape else "dense-bias"
        np.testing.assert_allclose(first[f"{name}-momentum"], u, rtol=RTOL)
    check_first(first, *want)


def test_centered_rmsprop():
    @flow.global_function(type="train")
    def train_job(x: tp.Numpy.Placeholder((8, 4)), y: tp.Numpy.Placeholder((8, 2))
                  ) -> tp.Numpy:
        loss = dense_loss(x, y)
        lr = flow.optimizer.PiecewiseConstantScheduler([], [0.001])
        flow.optimizer.RMSProp(lr, decay_rate=0.9, centered=True).minimize(loss)
        return loss

    _, first = train(train_job)
    gw, gb = grads(W0, B0)

    def new(w, g):  # s = 0.1 g^2, gbar = 0.1 g, d = s - gbar^2 = 0.09 g^2; eps under the sqrt
        return w - 0.001 * g / np.sqrt(0.09 * g * g + 1e-8)

    check_first(first, new(W0, gw), new(B0, gb))
    assert {"dense-weight-mean_square", "dense-weight-mean_gradient"} <= set(
        flow.get_all_variables())


def test_grad_clipping_by_global_norm():
    @flow.global_function(type="train")
    def train_job(x: tp.Numpy.Placeholder((8, 4)), y: tp.Numpy.Placeholder((8, 2))
                  ) -> tp.Numpy:
        loss = dense_loss(x, y)
        lr = flow.optimizer.PiecewiseConstantScheduler([], [0.1])
        flow.optimizer.SGD(lr, momentum=0,
                           grad_clipping=flow.optimizer.grad_clipping.by_global_norm(1.0)
                           ).minimize(loss)
        return loss

    _, first = train(train_job, y_scale=10.0)
    gw, gb = grads(W0, B0, y_scale=10.0)
    norm = np.sqrt((gw ** 2).sum() + (gb ** 2).sum())
    assert norm > 1.0  # the clip acts
    check_first(first, W0 - 0.1 * gw / norm, B0 - 0.1 * gb / norm)


def test_loss_scale_factor():
    @flow.global_function(type="train")
    def train_job(x: tp.Numpy.Placeholder((8, 4)), y: tp.Numpy.Placeholder((8, 2))
                  ) -> tp.Numpy:
        loss = dense_loss(x, y)
        lr = flow.optimizer.PiecewiseConstantScheduler([], [0.1])
        flow.optimizer.SGD(lr, momentum=0, loss_scale_factor=1024.0).minimize(loss)
        return loss

    _, first = train(train_job)
    gw, gb = grads(W0, B0)
    check_first(first, W0 - 0.1 * gw, B0 - 0.1 * gb)  # the scale cancels


def test_static_loss_scale_policy():
    @flow.global_function(type="train")
    def train_job(x: tp.Numpy.Placeholder((8, 4)), y: tp.Numpy.Placeholder((8, 2))
                  ) -> tp.Numpy:
        loss = dense_loss(x, y)
        lr = flow.optimizer.PiecewiseConstantScheduler([], [0.1])
        flow.optimizer.SGD(
            lr, momentum=0,
            loss_scale_policy=flow.optimizer.loss_scale.static_loss_scale(1024.0)
        ).minimize(loss)
        return loss

    _, first = train(train_job)
    gw, gb = grads(W0, B0)
    check_first(first, W0 - 0.1 * gw, B0 - 0.1 * gb)


def test_test_job_type_is_predict():
    @flow.global_function(type="train")
    def train_job(x: tp.Numpy.Placeholder((8, 4)), y: tp.Numpy.Placeholder((8, 2))
                  ) -> tp.Numpy:
        loss = dense_loss(x, y)
        lr = flow.optimizer.PiecewiseConstantScheduler([], [0.1])
        flow.optimizer.SGD(lr, momentum=0).minimize(loss)
        return loss

    @flow.global_function(type="test")
    def eval_job(x: tp.Numpy.Placeholder((8, 4)), y: tp.Numpy.Placeholder((8, 2))
                 ) -> tp.Numpy:
        return dense_loss(x, y)

    losses, _ = train(train_job)
    v = flow.get_all_variables()
    w, b = v["dense-weight"].numpy().copy(), v["dense-bias"].numpy().copy()
    got = np.asarray(eval_job(X, Y)).item()
    want = np.mean((X.astype(np.float64) @ w.T + b - Y) ** 2)
    assert got == pytest.approx(want, rel=1e-5)  # shares the trained variables
    assert got < losses[0]
    v = flow.get_all_variables()
    np.testing.assert_array_equal(v["dense-weight"].numpy(), w)  # no update in a test job
    assert v["System-Train-TrainStep-train_job"].numpy()[0] == STEPS


def test_constant_warmup():
    @flow.global_function(type="train")
    def train_job(x: tp.Numpy.Placeholder((8, 4)), y: tp.Numpy.Placeholder((8, 2))
                  ) -> tp.Numpy:
        loss = dense_loss(x, y)
        lr_scheduler = flow.optimizer.PiecewiseScalingScheduler(
            0.1, [30, 60, 90], 0.1, warmup=flow.optimizer.warmup.constant(100, 0.5))
        flow.optimizer.SGD(lr_scheduler, momentum=0).minimize(loss)
        return loss

    _, first = train(train_job)
    gw, gb = grads(W0, B0)
    check_first(first, W0 - 0.05 * gw, B0 - 0.05 * gb)  # 0.1 * 0.5 while step < 100
    sched = flow.optimizer.PiecewiseScalingScheduler(
        0.1, [30, 60, 90], 0.1, warmup=flow.optimizer.warmup.constant(100, 0.5))
    assert sched.value(99) == pytest.approx(0.05, rel=1e-6)
    assert sched.value(100) == pytest.approx(0.1 * 0.1, rel=1e-6)  # the decay at step 100
