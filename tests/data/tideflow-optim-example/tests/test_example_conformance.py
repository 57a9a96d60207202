"""tideflow-optim-example through the tideflow conformance kit."""

from __future__ import annotations

import numpy as np
import pytest

from tideflow.testing import OptimizerCase, optimizer_checks, plugin_checks


@pytest.fixture(autouse=True)
def reference_backend(monkeypatch):
    """Run on the NumPy reference backend.

    This example ships no numba kernel for ``adagrad_update``: on the numba backend its jobs
    raise a clear error unless ``function_config.allow_reference_fallback(True)`` is set (see
    ``plugins/tideflow-numba/tests/test_backend.py``), so its checks pin the reference backend.
    """
    monkeypatch.setenv("TIDEFLOW_CPU_BACKEND", "numpy")


def adagrad_one_step(w, g, lr, step, kwargs):
    """Adagrad from the initial accumulator: s = s0 + g^2; w - lr*g/(sqrt(s) + eps)."""
    s = kwargs.get("initial_accumulator_value", 0.1) + g * g
    return w - lr * g / (np.sqrt(s) + kwargs.get("epsilon", 1e-10))


BAD = [
    ({"initial_accumulator_value": -0.1},
     r"Adagrad: `initial_accumulator_value` must be a number >= 0; received "
     r"initial_accumulator_value=-0\.1"),
    ({"initial_accumulator_value": "0.1"}, r"received initial_accumulator_value='0\.1'"),
    ({"epsilon": -1e-10}, r"Adagrad: `epsilon` must be a number >= 0; received epsilon=-1e-10"),
    ({"epsilon": float("nan")}, r"received epsilon=nan"),
    ({"loss_scale_factor": 0}, r"Adagrad: `loss_scale_factor` must be a positive number"),
]

DEFAULTS = OptimizerCase(name="Adagrad", kwargs={}, slots={"sum": 0.1},
                         closed_form=adagrad_one_step, bad_hyperparams=BAD, converge_lr=0.5)
TUNED = OptimizerCase(name="Adagrad", kwargs={"initial_accumulator_value": 1.0, "epsilon": 1e-3},
                      slots={"sum": 1.0}, closed_form=adagrad_one_step, bad_hyperparams=BAD,
                      converge_lr=0.5)


@pytest.mark.parametrize("check", optimizer_checks(DEFAULTS))
def test_adagrad_defaults(check):
    check()


@pytest.mark.parametrize("check", optimizer_checks(TUNED))
def test_adagrad_tuned(check):
    check()


@pytest.mark.parametrize("check", plugin_checks("tideflow-optim-example"))
def test_plugin(check):
    check()
