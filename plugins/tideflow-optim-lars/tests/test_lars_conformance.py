"""tideflow-optim-lars through the conformance kit (``tideflow.testing``).

Closed form (one update from a zero momentum, spec §3.3, OneFlow commit ccefd510):
``trust = coeff*||w|| / (eps + ||g|| + lambda*||w||)``, ``eta = lr*trust``,
``u = -eta*g``, ``w + u - eta*lambda*w``.
"""

from __future__ import annotations

import numpy as np
import pytest

from tideflow.testing import OptimizerCase, optimizer_checks, plugin_checks


def lars_one_step(w, g, lr, step, kwargs):
    coeff, eps = kwargs.get("lars_coefficient", 1e-4), kwargs.get("epsilon", 1e-9)
    wd = kwargs.get("weight_decay") or 0.0
    w_norm, g_norm = np.linalg.norm(w), np.linalg.norm(g)
    eta = lr * coeff * w_norm / (eps + g_norm + wd * w_norm)
    return w - eta * g - eta * wd * w


BAD = [
    ({"momentum_beta": 1.0}, r"^LARS: `momentum_beta` must be a number in \[0, 1\); received "
                             r"momentum_beta=1.0$"),
    ({"epsilon": -1e-9}, r"received epsilon=-1e-09"),
    ({"lars_coefficient": 0.0}, r"`lars_coefficient` must be a finite number > 0; received "
                                r"lars_coefficient=0.0"),
    ({"weight_decay": -0.1}, r"received weight_decay=-0.1"),
]

LARS_DEFAULT = OptimizerCase(name="LARS", kwargs={}, slots={"momentum": 0.0},
                             closed_form=lars_one_step, bad_hyperparams=BAD,
                             converge_lr=100.0, converge_steps=300)
LARS_DECAY = OptimizerCase(name="LARS", kwargs={"lars_coefficient": 0.01, "weight_decay": 0.001,
                                                "momentum_beta": 0.8},
                           slots={"momentum": 0.0}, closed_form=lars_one_step,
                           bad_hyperparams=BAD, converge_lr=1.0, converge_steps=300)


@pytest.mark.parametrize("check", optimizer_checks(LARS_DEFAULT))
def test_lars_default(check):
    check()


@pytest.mark.parametrize("check", optimizer_checks(LARS_DECAY))
def test_lars_weight_decay(check):
    check()


@pytest.mark.parametrize("check", plugin_checks("tideflow-optim-lars"))
def test_plugin(check):
    check()
