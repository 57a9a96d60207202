"""tideflow-optim-sgd: update rules against closed forms, registration, validation."""

from __future__ import annotations

import numpy as np
import pytest

import tideflow as flow
import tideflow.typing as tp
from tideflow.errors import HyperparameterError
from tideflow.plugins.registry import get_registry
from tideflow_optim_sgd import reference

LR = flow.optimizer.PiecewiseConstantScheduler([], [0.1])


def test_registered_through_entry_point():
    reg = get_registry()
    assert reg.optimizer_class("SGD") is flow.optimizer.SGD
    assert "tideflow-optim-sgd" in reg.provider("optimizer", "SGD")
    assert {"sgd_update", "momentum_update"} <= set(reg.ops)


def test_reference_rules_closed_form():
    w, g, u = np.array([1.0, -2.0]), np.array([0.5, 0.25]), np.array([0.1, 0.0])
    new_w, slots = reference.sgd_update(w, g, (), 0.1, 0, {"weight_decay": 0.2})
    np.testing.assert_allclose(new_w, w - 0.1 * (g + 0.2 * w))
    assert slots == ()
    new_w, (new_u,) = reference.momentum_update(w, g, (u,), 0.1, 3,
                                                {"beta": 0.9, "weight_decay": 0.2})
    np.testing.assert_allclose(new_u, 0.9 * u - 0.1 * g)
    np.testing.assert_allclose(new_w, w + new_u - 0.1 * 0.2 * w)


@pytest.mark.parametrize("kwargs,needle", [
    ({"momentum": 1.0}, "received momentum=1.0"),
    ({"momentum": -0.1}, "received momentum=-0.1"),
    ({"momentum": "0.9"}, "received momentum='0.9'"),
    ({"loss_scale_factor": 0}, "received loss_scale_factor=0"),
    ({"grad_clipping": 1.0}, "received grad_clipping=1.0"),
    ({"train_step_lbn": "x"}, "received train_step_lbn='x'"),
    ({"variables": "w"}, "received variables='w'"),
    ({"loss_scale_factor": 2.0,
      "loss_scale_policy": flow.optimizer.loss_scale.static_loss_scale(2.0)}, "exclusive"),
])
def test_sgd_rejects_bad_hyperparameters(kwargs, needle):
    with pytest.raises(HyperparameterError, match="SGD: .*" + needle.replace("(", r"\(")):
        flow.optimizer.SGD(LR, **kwargs)


@pytest.mark.parametrize("kwargs,needle", [
    ({"weight_decay": -0.5}, "received weight_decay=-0.5"),
    ({"weight_decay": 0.1, "weight_decay_includes": ["("]}, "invalid regex"),
    ({"weight_decay": 0.1, "weight_decay_excludes": 3}, "received weight_decay_excludes=3"),
])
def test_sgdw_rejects_bad_hyperparameters(kwargs, needle):
    with pytest.raises(HyperparameterError, match=needle.replace("(", r"\(")):
        flow.optimizer.SGDW(LR, **kwargs)


def test_momentum_zero_selects_plain_kernel_and_no_slot():
    assert flow.optimizer.SGD(LR, momentum=0).update_op == "sgd_update"
    assert flow.optimizer.SGD(LR).update_op == "momentum_update"  # OneFlow's default 0.9
    assert flow.optimizer.SGD(LR, momentum=0).slot_defaults() == {}


def test_variables_argument_limits_the_update():
    @flow.global_function(type="train")
    def train(x: tp.Numpy.Placeholder((2,))) -> tp.Numpy:
        a = flow.get_variable("a", shape=(2,), initializer=flow.ones_initializer())
        b = flow.get_variable("b", shape=(2,), initializer=flow.ones_initializer())
        loss = flow.math.reduce_sum(a * x + b * x)
        flow.optimizer.SGD(LR, momentum=0, variables=["a"]).minimize(loss)
        return loss

    train(np.array([1.0, 2.0], np.float32))
    v = flow.get_all_variables()
    np.testing.assert_allclose(v["a"].numpy(), [0.9, 0.8], rtol=1e-6)
    np.testing.assert_array_equal(v["b"].numpy(), [1.0, 1.0])


def test_later_minimize_replaces_earlier():
    @flow.global_function(type="train")
    def train(x: tp.Numpy.Placeholder((2,))) -> tp.Numpy:
        a = flow.get_variable("a", shape=(2,), initializer=flow.ones_initializer())
        loss = flow.math.reduce_sum(a * x)
        flow.optimizer.SGD(flow.optimizer.PiecewiseConstantScheduler([], [100.0]),
                           momentum=0).minimize(loss)
        flow.optimizer.SGD(LR, momentum=0).minimize(loss)
        return loss

    train(np.array([1.0, 2.0], np.float32))
    np.testing.assert_allclose(flow.get_all_variables()["a"].numpy(), [0.9, 0.8], rtol=1e-6)
