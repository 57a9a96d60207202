"""tideflow-optim-adam through the conformance kit (``tideflow.testing``).

Closed forms (one update from the initial slots at train step t; spec §3.4-3.6, design §5):

* Adam/AdamW/LazyAdam: ``m = (1-b1)*g``, ``v = (1-b2)*g^2``; ``bc1 = 1 - b1^(t+1)``,
  ``bc2 = 1 - b2^(t+1)`` with bias correction (else 1);
  ``w - (lr/bc1)*m/(sqrt(v)/sqrt(bc2) + eps) - lr*lambda*w``.
* LAMB: the power slots start at b1, b2 and are multiplied before use, so the first update
  sees ``b1^2``, ``b2^2``: ``r = (m/(1-b1^2)) / (sqrt(v/(1-b2^2)) + eps)``;
  ``w - lr*(||w||/||r||)*(r + lambda*w)``.
"""

from __future__ import annotations

import numpy as np
import pytest

from tideflow.testing import OptimizerCase, optimizer_checks, plugin_checks


def adam_one_step(w, g, lr, step, kwargs, bias_correction=None):
    b1, b2 = kwargs.get("beta1", 0.9), kwargs.get("beta2", 0.999)
    eps, wd = kwargs.get("epsilon", 1e-8), kwargs.get("weight_decay") or 0.0
    if bias_correction is None:
        bias_correction = kwargs.get("do_bias_correction", False)
    m, v = (1 - b1) * g, (1 - b2) * g * g
    bc1, bc2 = (1 - b1 ** (step + 1), 1 - b2 ** (step + 1)) if bias_correction else (1.0, 1.0)
    return w - (lr / bc1) * m / (np.sqrt(v) / np.sqrt(bc2) + eps) - lr * wd * w


def lazy_adam_one_step(w, g, lr, step, kwargs):
    return adam_one_step(w, g, lr, step, kwargs, bias_correction=True)


def lamb_one_step(w, g, lr, step, kwargs):
    b1, b2 = kwargs.get("beta1", 0.9), kwargs.get("beta2", 0.999)
    eps, wd = kwargs.get("epsilon", 1e-6), kwargs.get("weight_decay") or 0.0
    m, v = (1 - b1) * g, (1 - b2) * g * g
    r = (m / (1 - b1 ** 2)) / (np.sqrt(v / (1 - b2 ** 2)) + eps)
    trust = np.linalg.norm(w) / np.linalg.norm(r)
    return w - lr * trust * (r + wd * w)


def bad(cls):
    return [
        ({"beta1": 1.0}, rf"^{cls}: `beta1` must be a number in \[0, 1\); received beta1=1.0$"),
        ({"beta2": -0.5}, r"received beta2=-0.5"),
        ({"epsilon": -1.0}, r"`epsilon` must be a number >= 0; received epsilon=-1.0"),
        ({"loss_scale_factor": -2.0}, r"received loss_scale_factor=-2.0"),
    ]


ADAM_SLOTS = {"m": 0.0, "v": 0.0}
ADAM = OptimizerCase(name="Adam", kwargs={}, slots=ADAM_SLOTS, closed_form=adam_one_step,
                     bad_hyperparams=[*bad("Adam"), ({"do_bias_correction": 1},
                                                     r"received do_bias_correction=1")])
ADAM_BC = OptimizerCase(name="Adam", kwargs={"do_bias_correction": True, "beta2": 0.99},
                        slots=ADAM_SLOTS, closed_form=adam_one_step,
                        bad_hyperparams=bad("Adam"))
ADAMW = OptimizerCase(name="AdamW", kwargs={"do_bias_correction": True, "weight_decay": 0.01},
                      slots=ADAM_SLOTS, closed_form=adam_one_step,
                      bad_hyperparams=[*bad("AdamW"), ({"weight_decay": -1.0},
                                                       r"received weight_decay=-1.0")])
LAZY_ADAM = OptimizerCase(name="LazyAdam", kwargs={"epsilon": 1e-6}, slots=ADAM_SLOTS,
                          closed_form=lazy_adam_one_step, bad_hyperparams=bad("LazyAdam"))
LAMB = OptimizerCase(name="LAMB", kwargs={"weight_decay": 0.01},
                     slots={"m": 0.0, "v": 0.0, "beta1_t": 0.9, "beta2_t": 0.999},
                     scalar_slots=("beta1_t", "beta2_t"), closed_form=lamb_one_step,
                     bad_hyperparams=[({"epsilon": 0.0}, r"^LAMB: `epsilon` must be a number > "
                                                         r"0; received epsilon=0.0$"),
                                      ({"beta1": 2}, r"received beta1=2")],
                     converge_lr=0.02, converge_steps=400)


@pytest.mark.parametrize("check", optimizer_checks(ADAM))
def test_adam(check):
    check()


@pytest.mark.parametrize("check", optimizer_checks(ADAM_BC))
def test_adam_bias_corrected(check):
    check()


@pytest.mark.parametrize("check", optimizer_checks(ADAMW))
def test_adamw(check):
    check()


@pytest.mark.parametrize("check", optimizer_checks(LAZY_ADAM))
def test_lazy_adam(check):
    check()


@pytest.mark.parametrize("check", optimizer_checks(LAMB))
def test_lamb(check):
    check()


@pytest.mark.parametrize("check", plugin_checks("tideflow-optim-adam"))
def test_plugin(check):
    check()
