"""Dynamic loss scaling: OneFlow's schedule vectors, skipped steps change nothing."""

from __future__ import annotations

import numpy as np
import pytest

import tideflow as flow
import tideflow.typing as tp
from tideflow.errors import HyperparameterError, JobDefinitionError
from tideflow.optimizer.loss_scale import schedule_step

PREFIX = "System-Train-DynamicLossScale-train"


@pytest.mark.parametrize("count,good,scale,period,expect", [
    (1, 1, 100.0, 1, (0, 50.0)),   # OneFlow test_dynamic_loss_scale_schedule.py vectors
    (0, 1, 100.0, 1, (0, 200.0)),
    (0, 1, 100.0, 10, (2, 100.0)),
    (3, 5, 1.5, 4, (0, 1.0)),      # never below 1
    (0, 0, 3e38, 1, (0, float(np.finfo(np.float32).max))),  # capped at FLT_MAX
])
def test_schedule_step_vectors(count, good, scale, period, expect):
    assert schedule_step(count, good, scale, period, 2.0) == expect


@pytest.mark.parametrize("kwargs,needle", [
    ({"initial_loss_scale": 0.5}, "initial_loss_scale=0.5"),
    ({"increment_period": 0}, "increment_period=0"),
    ({"multiplier": 1.0}, "multiplier=1.0"),
])
def test_policy_validation(kwargs, needle):
    with pytest.raises(HyperparameterError, match=needle):
        flow.optimizer.loss_scale.dynamic_loss_scale(**kwargs)


@pytest.mark.parametrize("opt", ["Adam", "LAMB", "SGD"])
def test_skipped_steps_change_nothing_and_scale_follows_schedule(opt):
    policy = flow.optimizer.loss_scale.dynamic_loss_scale(initial_loss_scale=1024.0,
                                                          increment_period=2, multiplier=2.0)
    lr = flow.optimizer.PiecewiseScalingScheduler(0.1, [2], 0.5)

    @flow.global_function(type="train")
    def train(x: tp.Numpy.Placeholder((4,))) -> tp.Numpy:
        w = flow.get_variable("w", shape=(4,), initializer=flow.constant_initializer(0.5))
        loss = w * x
        kwargs = {"momentum": 0.9} if opt == "SGD" else {}
        getattr(flow.optimizer, opt)(lr, loss_scale_policy=policy, **kwargs).minimize(loss)
        return loss

    good = np.array([0.3, -0.2, 0.5, 0.1], np.float32)
    bad = good.copy()
    bad[2] = np.inf
    expect_scale = [1024.0, 2048.0, 1024.0, 1024.0, 2048.0]
    history = []
    for k, x in enumerate([good, good, bad, good, good]):
        before = {n: b.numpy() for n, b in flow.get_all_variables().items()} if k else None
        train(x)
        now = {n: b.numpy() for n, b in flow.get_all_variables().items()}
        if x is bad:
            for n, v in before.items():
                if not n.startswith(PREFIX):
                    np.testing.assert_array_equal(now[n], v, err_msg=f"{n} changed")
        history.append(now)
        assert now[f"{PREFIX}-LossScale"][0] == expect_scale[k]
    last = history[-1]
    assert last["System-Train-TrainStep-train"][0] == 4
    assert last[f"{PREFIX}-SkippedSteps"][0] == 1
    assert last[f"{PREFIX}-GoodStepCounter"][0] == 0


def test_dynamic_scale_cancels_on_good_steps():
    """With only finite gradients, training equals training without any scale."""
    runs = []
    for policy in (None, flow.optimizer.loss_scale.dynamic_loss_scale(2.0**10, 1)):
        flow.clear_default_session()

        @flow.global_function(type="train")
        def train(x: tp.Numpy.Placeholder((3,))) -> tp.Numpy:
            w = flow.get_variable("w", shape=(3,), initializer=flow.constant_initializer(1.0))
            loss = w * w * x
            flow.optimizer.Adam(flow.optimizer.PiecewiseConstantScheduler([], [0.05]),
                                do_bias_correction=True,
                                loss_scale_policy=policy,  # noqa: B023 - traced at once
                                ).minimize(loss)
            return loss

        for k in range(6):
            train(np.array([0.5, 1.0, -0.25], np.float32) * (k + 1))
        runs.append(flow.get_all_variables()["w"].numpy())
    np.testing.assert_allclose(runs[1], runs[0], rtol=1e-6)


def test_dynamic_scale_with_user_step_is_an_error():
    policy = flow.optimizer.loss_scale.dynamic_loss_scale()

    @flow.global_function(type="train")
    def train(x: tp.Numpy.Placeholder((2,)),
              s: tp.Numpy.Placeholder((1,), dtype=flow.int64)) -> tp.Numpy:
        w = flow.get_variable("w", shape=(2,), initializer=flow.zeros_initializer())
        loss = flow.math.reduce_sum(w * x)
        flow.optimizer.SGD(flow.optimizer.PiecewiseConstantScheduler([], [0.1]),
                           loss_scale_policy=policy, train_step_lbn=s).minimize(loss)
        return loss

    with pytest.raises(JobDefinitionError, match="train_step_lbn"):
        train(np.ones(2, np.float32), np.zeros(1, np.int64))


def test_loss_scale_state_survives_a_checkpoint(tmp_path):
    policy = flow.optimizer.loss_scale.dynamic_loss_scale(initial_loss_scale=64.0,
                                                          increment_period=1)

    def define():
        @flow.global_function(type="train")
        def train(x: tp.Numpy.Placeholder((2,))) -> tp.Numpy:
            w = flow.get_variable("w", shape=(2,), initializer=flow.ones_initializer())
            loss = flow.math.reduce_sum(w * x)
            flow.optimizer.SGD(flow.optimizer.PiecewiseConstantScheduler([], [0.1]),
                               momentum=0, loss_scale_policy=policy).minimize(loss)
            return loss

        return train

    train = define()
    train(np.ones(2, np.float32))
    train(np.array([np.nan, 1.0], np.float32))
    flow.checkpoint.save(str(tmp_path / "ckpt"))
    saved = {n: b.numpy() for n, b in flow.get_all_variables().items()}
    flow.clear_default_session()
    define()
    flow.load_variables(flow.checkpoint.get(str(tmp_path / "ckpt")))
    loaded = {n: b.numpy() for n, b in flow.get_all_variables().items()}
    assert loaded[f"{PREFIX}-LossScale"][0] == 64.0  # 64 -> 128 (good) -> 64 (skipped)
    assert loaded[f"{PREFIX}-SkippedSteps"][0] == 1
    for n, v in saved.items():
        np.testing.assert_array_equal(loaded[n], v)
