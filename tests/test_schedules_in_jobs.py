"""Every learning-rate schedule inside a real train job (spec §4-5).

SGD(momentum=0) on ``loss = reduce_sum(w * x)`` with a constant ``x``: the gradient is ``x``,
so after the update at train step ``s`` the variable is ``w_prev - lr(s) * x``. The rate comes
from an independent float64 formula written here; ``w_prev`` is read from the variable
before each step. Steps 0..11 with D = 5 cross the decay boundaries at 5 and 10.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import tideflow as flow
import tideflow.typing as tp
from tideflow.errors import JobDefinitionError

RTOL = 2e-5
STEPS = 12
D = 5
B = 0.3
X = np.array([1.0, 2.0, 0.5, 3.0], np.float32)


def _job(make_scheduler):
    @flow.global_function(type="train")
    def train(x: tp.Numpy.Placeholder((4,)), r: tp.Numpy.Placeholder((1,))) -> tp.Numpy:
        w = flow.get_variable("w", shape=(4,), initializer=flow.constant_initializer(0.0))
        loss = flow.math.reduce_sum(w * x)
        flow.optimizer.SGD(make_scheduler(r), momentum=0).minimize(loss)
        return w

    return train


def _w():
    return flow.get_all_variables()["w"].numpy().astype(np.float64)


def _check(make_scheduler, expected_lr, feeds=None):
    train = _job(make_scheduler)
    x64 = X.astype(np.float64)
    w_prev = np.zeros(4)
    for s in range(STEPS):
        r = np.array([0.0 if feeds is None else feeds[s]], np.float32)
        out = train(X, r)
        np.testing.assert_array_equal(out, w_prev)  # the job returns w before the update
        w = _w()
        np.testing.assert_allclose(w, w_prev - expected_lr(s) * x64, rtol=RTOL,
                                   err_msg=f"train step {s}")
        w_prev = w
    assert flow.get_all_variables()["System-Train-TrainStep-train"].numpy()[0] == STEPS


def _p(s, staircase):
    return math.floor(s / D) if staircase else s / D


def _poly(s, end, power, cycle):
    if cycle:
        c = 1.0 if s == 0 else float(s)
        d = D * math.ceil(c / D)
    else:
        c, d = min(s, D), D
    return (B - end) * (1 - c / d) ** power + end


SCHEDULES = {
    "piecewise-constant": (
        lambda: flow.optimizer.PiecewiseConstantScheduler([4, 8], [B, 0.1, 0.02]),
        lambda s: B if s <= 4 else 0.1 if s <= 8 else 0.02),
    "piecewise-scaling": (
        lambda: flow.optimizer.PiecewiseScalingScheduler(B, [4, 8], [0.5, 0.1]),
        lambda s: B * (1 if s <= 4 else 0.5 if s <= 8 else 0.1)),
    "piecewise-scaling-scalar": (  # a scalar scale is repeated, not compounded
        lambda: flow.optimizer.PiecewiseScalingScheduler(B, [4, 8], 0.5),
        lambda s: B * (1 if s <= 4 else 0.5)),
    "cosine": (lambda: flow.optimizer.CosineScheduler(B, D, alpha=0.1),
               lambda s: B * (0.9 * 0.5 * (1 + math.cos(math.pi * min(s, D) / D)) + 0.1)),
    "linear-cosine": (
        lambda: flow.optimizer.LinearCosineScheduler(B, D, num_periods=1.5, alpha=0.1,
                                                     beta=0.05),
        lambda s: B * ((0.1 + (D - min(s, D)) / D)
                       * 0.5 * (1 + math.cos(3 * math.pi * min(s, D) / D)) + 0.05)),
    "polynomial": (
        lambda: flow.optimizer.PolynomialScheduler(B, D, end_learning_rate=0.01, power=2.0),
        lambda s: _poly(s, 0.01, 2.0, False)),
    "polynomial-cycle": (
        lambda: flow.optimizer.PolynomialScheduler(B, D, end_learning_rate=0.01, power=0.5,
                                                   cycle=True),
        lambda s: _poly(s, 0.01, 0.5, True)),
    "exponential": (lambda: flow.optimizer.ExponentialScheduler(B, D, 0.5),
                    lambda s: B * 0.5 ** _p(s, False)),
    "exponential-staircase": (
        lambda: flow.optimizer.ExponentialScheduler(B, D, 0.5, staircase=True),
        lambda s: B * 0.5 ** _p(s, True)),
    "inverse-time": (lambda: flow.optimizer.InverseTimeScheduler(B, D, 2.0),
                     lambda s: B / (1 + 2.0 * _p(s, False))),
    "inverse-time-staircase": (
        lambda: flow.optimizer.InverseTimeScheduler(B, D, 2.0, staircase=True),
        lambda s: B / (1 + 2.0 * _p(s, True))),
    "natural-exp": (lambda: flow.optimizer.NaturalExpScheduler(B, D, 0.8),
                    lambda s: B * math.exp(-0.8 * _p(s, False))),
    "natural-exp-staircase": (
        lambda: flow.optimizer.NaturalExpScheduler(B, D, 0.8, staircase=True),
        lambda s: B * math.exp(-0.8 * _p(s, True))),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedule_drives_the_update(name):
    make, lr = SCHEDULES[name]
    _check(lambda r: make(), lr)


def test_linear_warmup_then_absolute_cosine_decay():
    W = 3
    warm = flow.optimizer.warmup.linear(W, 0.2)

    def lr(s):
        if s < W:
            return B * (0.2 + 0.8 * s / W)
        return B * 0.5 * (1 + math.cos(math.pi * min(s, 8) / 8))  # no offset by W

    _check(lambda r: flow.optimizer.CosineScheduler(B, 8, warmup=warm), lr)


def test_constant_warmup_then_exponential_decay():
    W = 4
    warm = flow.optimizer.warmup.constant(W, 0.1)
    _check(lambda r: flow.optimizer.ExponentialScheduler(B, D, 0.5, warmup=warm),
           lambda s: B * 0.1 if s < W else B * 0.5 ** (s / D))


def test_custom_scheduler_rate_from_a_constant_blob():
    # a float64 (1, 1) blob computed by two ops: cast to float32 and reshaped to (1,)
    _check(lambda r: flow.optimizer.CustomScheduler(
        flow.constant(0.25, flow.float64, shape=(1, 1)) * 0.5), lambda s: 0.125)


def test_custom_scheduler_rate_computed_from_a_fed_blob_each_step():
    feeds = [0.4 / (1 + s) for s in range(STEPS)]
    _check(lambda r: flow.optimizer.CustomScheduler(flow.math.reduce_sum(r * 0.5)),
           lambda s: 0.5 * np.float32(feeds[s]), feeds)


def test_custom_scheduler_blob_must_hold_one_element():
    train = _job(lambda r: flow.optimizer.CustomScheduler(flow.constant(0.1, flow.float,
                                                                        shape=(2,))))
    with pytest.raises(JobDefinitionError, match=r"exactly one element; its shape is \(2,\)"):
        train(X, np.zeros(1, np.float32))
