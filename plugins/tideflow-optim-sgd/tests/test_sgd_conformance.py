"""tideflow-optim-sgd through the conformance kit (``tideflow.testing``).

Closed forms (one update from zero slots, spec §3.1-3.2; lambda = weight_decay):
plain ``w - lr*(g + lambda*w)``; momentum ``u = -lr*g``, ``w + u - lr*lambda*w``.
"""

from __future__ import annotations

import pytest

from tideflow.testing import OptimizerCase, optimizer_checks, plugin_checks


def sgd_one_step(w, g, lr, step, kwargs):
    wd = kwargs.get("weight_decay") or 0.0
    u = -lr * g  # the momentum slot after one update (plain SGD: the same step)
    return w + u - lr * wd * w


BAD_SGD = [
    ({"momentum": 1.0}, r"^SGD: `momentum` must be a number in \[0, 1\); received momentum=1.0$"),
    ({"momentum": -0.1}, r"received momentum=-0.1"),
    ({"momentum": "0.9"}, r"received momentum='0.9'"),
    ({"loss_scale_factor": 0}, r"received loss_scale_factor=0"),
    ({"grad_clipping": 1.0}, r"received grad_clipping=1.0"),
]
BAD_SGDW = [
    ({"weight_decay": -0.5}, r"^SGDW: `weight_decay` must be a number >= 0 or None; received "
                             r"weight_decay=-0.5$"),
    ({"weight_decay_includes": "w", "weight_decay_excludes": "b"}, r"set at most one"),
    ({"weight_decay_includes": ["("]}, r"invalid regex"),
    ({"momentum": 1.5}, r"^SGDW: .*received momentum=1.5"),
]

SGD_PLAIN = OptimizerCase(name="SGD", kwargs={"momentum": 0.0}, slots={},
                          closed_form=sgd_one_step, bad_hyperparams=BAD_SGD)
SGD_MOMENTUM = OptimizerCase(name="SGD", kwargs={"momentum": 0.9}, slots={"momentum": 0.0},
                             closed_form=sgd_one_step, bad_hyperparams=BAD_SGD,
                             converge_lr=0.05)
SGDW = OptimizerCase(name="SGDW", kwargs={"momentum": 0.9, "weight_decay": 0.05},
                     slots={"momentum": 0.0}, closed_form=sgd_one_step,
                     bad_hyperparams=BAD_SGDW, converge_lr=0.05)


@pytest.mark.parametrize("check", optimizer_checks(SGD_PLAIN))
def test_sgd_plain(check):
    check()


@pytest.mark.parametrize("check", optimizer_checks(SGD_MOMENTUM))
def test_sgd_momentum(check):
    check()


@pytest.mark.parametrize("check", optimizer_checks(SGDW))
def test_sgdw(check):
    check()


@pytest.mark.parametrize("check", plugin_checks("tideflow-optim-sgd"))
def test_plugin(check):
    check()
