"""Pre-v0.3 programs: ``train.primary_lr`` + ``train.model_update_conf`` + ``add_loss``."""

from __future__ import annotations

import numpy as np
import pytest

import tideflow as flow
from tideflow.errors import HyperparameterError, JobDefinitionError


def _legacy_job(update_conf, lr=0.1, loss_scale=None):
    cfg = flow.function_config()
    cfg.default_data_type(flow.float)
    with pytest.warns(DeprecationWarning):
        cfg.train.primary_lr(lr)
        cfg.train.model_update_conf(update_conf)
        if loss_scale is not None:
            cfg.train.loss_scale_factor(loss_scale)

    with pytest.warns(DeprecationWarning):
        @flow.global_function(cfg)
        def train_job(x=flow.FixedTensorDef((4,), dtype=flow.float)):  # noqa: B008
            w = flow.get_variable("w", shape=(4,), initializer=flow.zeros_initializer())
            loss = w * x
            flow.losses.add_loss(loss)
            return loss

    return train_job


@pytest.mark.parametrize("conf,beta", [({"naive_conf": {}}, 0.0),
                                       ({"momentum_conf": {"beta": 0.875}}, 0.875)])
def test_naive_and_momentum_conf(conf, beta):
    job = _legacy_job(conf, loss_scale=4.0)
    rng = np.random.default_rng(0)
    w, u = np.zeros(4), np.zeros(4)
    for _ in range(3):
        x = rng.uniform(0, 1, 4)
        out = job(x.astype(np.float32)).get()  # no annotation: a future
        np.testing.assert_allclose(out.numpy(), w * x, rtol=1e-6, atol=1e-7)
        u = beta * u - 0.1 * x / 4
        w = w + u
    np.testing.assert_allclose(flow.get_all_variables()["w"].numpy(), w, rtol=1e-5)


def test_clip_and_weight_decay_conf():
    job = _legacy_job({"naive_conf": {},
                       "clip_conf": {"clip_by_global_norm": {"clip_norm": 0.1}},
                       "weight_decay_conf": {"weight_decay_rate": 0.5}})
    x = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    flow.load_variables({})
    job(x)
    g = x / 4
    g = g * 0.1 / max(np.linalg.norm(g), 0.1)
    np.testing.assert_allclose(flow.get_all_variables()["w"].numpy(), -0.1 * g, rtol=1e-5)


def test_bad_legacy_conf_is_named():
    with pytest.raises(HyperparameterError, match="expected exactly one of"):
        _legacy_job({"sgd_conf": {}})(np.ones(4, np.float32))


def test_add_loss_in_predict_job_and_mixing_are_errors():
    @flow.global_function(type="predict")
    def p(x: flow.typing.Numpy.Placeholder((2,))) -> flow.typing.Numpy:
        flow.losses.add_loss(x)
        return x

    with pytest.raises(JobDefinitionError, match="only allowed in train jobs"):
        p(np.ones(2, np.float32))
