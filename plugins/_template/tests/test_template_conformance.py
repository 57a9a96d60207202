"""tideflow-optim-template through the tideflow conformance kit.

Rename this file after your plugin (``test_<name>_conformance.py``: test modules need
distinct names when several plugins are tested in one pytest run), then describe each
configuration of each class with an ``OptimizerCase``.
"""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from tideflow.plugins.registry import get_registry
from tideflow.testing import OptimizerCase, kernel_checks, optimizer_checks, plugin_checks
from tideflow.testing.kernel_checks import sample


def sgd_one_step(w, g, lr, step, kwargs):
    """The parameter after one update from the initial slots, float64, from the formula."""
    return w - lr * g


CASE = OptimizerCase(
    name="TemplateSGD",
    kwargs={},
    slots={},  # e.g. {"momentum": 0.0}: suffix -> initial value
    closed_form=sgd_one_step,
    bad_hyperparams=[
        ({"loss_scale_factor": 0}, r"TemplateSGD: `loss_scale_factor` must be a positive "
                                   r"number or None; received loss_scale_factor=0"),
        ({"variables": "w"}, r"received variables='w'"),
    ],
)


@pytest.mark.parametrize("check", optimizer_checks(CASE))
def test_optimizer(check):
    check()


@pytest.mark.parametrize("check", plugin_checks("tideflow-optim-template"))
def test_plugin(check):
    check()


def update_sample(rng):
    """Inputs of ``template_sgd_update`` for the kernel checks: (param, grad, lr, step)."""
    ins = [rng.standard_normal((3, 5)), rng.standard_normal((3, 5)),
           np.array([0.1], np.float32), np.array([0], np.int64)]
    return sample("template_sgd_update", {"weight_decay": 0.0}, ins)


if "numba" in get_registry().backends:  # runs once a numba backend plugin is installed
    @pytest.mark.parametrize(
        "check", kernel_checks("numba", samples={"template_sgd_update": update_sample}))
    def test_numba_kernels(check):
        check()


def test_numba_kernel_logic_without_numba(monkeypatch):
    """The Numba kernel's Python logic against the reference, with a stand-in ``njit``."""
    fake = types.ModuleType("numba")
    fake.njit = lambda **options: (lambda fn: fn)
    monkeypatch.setitem(sys.modules, "numba", fake)
    monkeypatch.delitem(sys.modules, "tideflow_optim_template.numba_kernels", raising=False)
    from tideflow_optim_template import reference
    from tideflow_optim_template.numba_kernels import template_sgd_update

    rng = np.random.default_rng(0)
    attrs, (w, g, lr, step), _ = update_sample(rng)
    strided = np.zeros((3, 10))[:, ::2]
    strided[...] = w
    template_sgd_update(attrs, [], [])([strided, g, lr, step], [])
    want, _ = reference.template_sgd_update(w, g, (), float(lr[0]), 0, attrs)
    np.testing.assert_allclose(strided, want, rtol=1e-12)
    monkeypatch.delitem(sys.modules, "tideflow_optim_template.numba_kernels")
