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
    ({"train_step_lbn": 3}, "received train_step_lbn=3"),
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


@pytest.mark.parametrize("momentum,wd,mul", [(0.0, 0.0, 1.0), (0.9, 0.0, 2.0), (0.9, 0.3, 1.0),
                                             (0.0, 0.5, 2.0)])
def test_indexed_slices_lazy_update_matches_numpy(momentum, wd, mul):
    """OneFlow's indexed-slices test: table (200, 2), ids (10, 4), gather(table * mul)."""
    cfg = flow.function_config()
    cfg.indexed_slices_optimizer_conf(dict(include_op_names=dict(op_name=["table"])))
    lr = 0.5

    @flow.global_function(type="train", function_config=cfg)
    def train(ids: tp.Numpy.Placeholder((10, 4), dtype=flow.int32)) -> tp.Numpy:
        table = flow.get_variable("table", shape=(200, 2),
                                  initializer=flow.random_uniform_initializer(-1, 1),
                                  random_seed=3)
        emb = flow.gather(table * mul, ids)
        loss = flow.math.reduce_sum(emb * emb, axis=2)
        opt = flow.optimizer.SGDW(flow.optimizer.PiecewiseConstantScheduler([], [lr]),
                                  momentum=momentum, weight_decay=wd)
        opt.minimize(loss)
        return loss

    rng = np.random.default_rng(0)
    flow.load_variables({})
    w = flow.get_all_variables()["table"].numpy().astype(np.float64)
    u = np.zeros_like(w)
    for _ in range(10):
        ids = rng.integers(0, 20, (10, 4)).astype(np.int32)
        train(ids)
        dy = 2 * (w[ids] * mul) * mul / 40  # d/d(table rows) of mean(sum(emb^2)), N = 40
        rows = np.unique(ids)
        g = np.zeros_like(w)
        np.add.at(g, ids.reshape(-1), dy.reshape(-1, 2))
        if momentum:
            u[rows] = momentum * u[rows] - lr * g[rows]
            w[rows] = w[rows] + u[rows] - lr * wd * w[rows]
        else:
            w[rows] = w[rows] - lr * (g[rows] + wd * w[rows])
    got = flow.get_all_variables()
    np.testing.assert_allclose(got["table"].numpy(), w, rtol=1e-5, atol=1e-6)
    if momentum:
        np.testing.assert_allclose(got["table-momentum"].numpy(), u, rtol=1e-5, atol=1e-6)
