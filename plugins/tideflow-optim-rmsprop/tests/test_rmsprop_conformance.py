"""tideflow-optim-rmsprop through the conformance kit (``tideflow.testing``).

Closed forms (one update from zero slots, spec §3.7): ``s = (1-rho)*g^2``; plain
``w - lr*g/sqrt(s + eps)``; centered ``gbar = (1-rho)*g``, ``w - lr*g/sqrt(s - gbar^2 + eps)``.
"""

from __future__ import annotations

import numpy as np
import pytest

from tideflow.testing import OptimizerCase, optimizer_checks, plugin_checks


def rmsprop_one_step(w, g, lr, step, kwargs):
    rho, eps = kwargs.get("decay_rate", 0.99), kwargs.get("epsilon", 1e-8)
    s = (1 - rho) * g * g
    gbar = (1 - rho) * g if kwargs.get("centered", False) else 0.0
    return w - lr * g / np.sqrt(s - gbar * gbar + eps)


BAD = [
    ({"decay_rate": 1.0}, r"^RMSProp: `decay_rate` must be a number in \(0, 1\); received "
                          r"decay_rate=1.0$"),
    ({"decay_rate": 0}, r"received decay_rate=0"),
    ({"epsilon": -1.0}, r"received epsilon=-1.0"),
    ({"centered": "yes"}, r"`centered` must be a bool; received centered='yes'"),
]

PLAIN = OptimizerCase(name="RMSProp", kwargs={}, slots={"mean_square": 0.0},
                      closed_form=rmsprop_one_step, bad_hyperparams=BAD, converge_lr=0.01,
                      converge_steps=300)
CENTERED = OptimizerCase(name="RMSProp", kwargs={"centered": True, "decay_rate": 0.9},
                         slots={"mean_square": 0.0, "mean_gradient": 0.0},
                         closed_form=rmsprop_one_step, bad_hyperparams=BAD, converge_lr=0.01,
                         converge_steps=300)


@pytest.mark.parametrize("check", optimizer_checks(PLAIN))
def test_rmsprop(check):
    check()


@pytest.mark.parametrize("check", optimizer_checks(CENTERED))
def test_rmsprop_centered(check):
    check()


@pytest.mark.parametrize("check", plugin_checks("tideflow-optim-rmsprop"))
def test_plugin(check):
    check()
