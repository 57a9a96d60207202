"""tideflow-optim-template through the tideflow conformance kit.

Rename this file after your plugin (``test_<name>_conformance.py``: test modules need
distinct names when several plugins are tested in one pytest run), then describe each
configuration of each class with an ``OptimizerCase``.
"""

from __future__ import annotations

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


#: this plugin's update ops, and their kernel-check samples.
SAMPLES = {"template_sgd_update": update_sample}


def _own(check_id: str) -> bool:
    """Whether a kernel check is one of this plugin's (default or fused variant)."""
    op = check_id.removeprefix("check_kernel_").removesuffix("_fused")
    return check_id.startswith("check_kernel_") and op in SAMPLES


if "numba" in get_registry().backends:  # once the numba backend (tideflow-numba) is installed
    @pytest.mark.parametrize(
        "check", [p for p in kernel_checks("numba", samples=SAMPLES) if _own(p.id)])
    def test_numba_kernels(check):
        """Each numba kernel (per variable, and fused) against the NumPy reference."""
        check()
