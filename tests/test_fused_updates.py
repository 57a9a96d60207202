"""The fused-update pass: one multi-tensor call per optimizer, same numbers as per-variable ops.

A fake backend ``fusedref`` (a reference backend: every op runs its NumPy reference) adds
``"fused"`` kernels that are :func:`tideflow.optimizer.update.fused_reference_kernel`, so
these tests check the compiler pass (grouping, contiguity, folded clipping, skipped steps)
independently of any compiled kernel. Tolerance: rtol 1e-6 / atol 1e-7 in float32 (the
fused path only reorders the clipping factor's float64 norm).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import tideflow as flow
import tideflow.typing as tp
from tideflow.plugins import registry as reg
from tideflow.testing.distributions import write_distribution

OPS = ["sgd_update", "momentum_update", "adam_update", "lamb_update", "lars_update",
       "rmsprop_update", "rmsprop_centered_update"]

PLUGIN = '''
from tideflow.plugins import BackendSpec, KernelSpec, hookimpl

@hookimpl
def tideflow_backends():
    return [BackendSpec(name="fusedref", device="cpu", priority=100,
                        probe="tf_fusedref.plugin:probe", reference=True)]

@hookimpl
def tideflow_kernels():
    return [KernelSpec(op=op, backend="fusedref", impl=f"tf_fusedref.kernels:{op}",
                       variant="fused") for op in OPS_LIST]

def probe():
    return True, "test backend"
'''.replace("OPS_LIST", repr(OPS))

KERNELS = '''
from tideflow.optimizer.update import fused_reference_kernel

def __getattr__(name):
    return fused_reference_kernel(name)
'''


@pytest.fixture
def fusedref(tmp_path, monkeypatch):
    """Install the fake ``fusedref`` backend next to the first-party optimizer plugins."""
    write_distribution(tmp_path, "tf-fusedref", "tf_fusedref", "fusedref",
                       {"plugin.py": PLUGIN, "kernels.py": KERNELS})
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("TIDEFLOW_PLUGINS", "fusedref,sgd,adam,lars,rmsprop")
    monkeypatch.delenv("TIDEFLOW_CPU_BACKEND", raising=False)
    reg.refresh()
    yield
    reg.refresh()
    for name in [m for m in sys.modules if m.startswith("tf_fusedref")]:
        del sys.modules[name]


def _train(make_opt, backend: str, steps: int = 4, wd_filter: bool = False):
    """Train a 3-layer MLP for a few steps; return variables and the plan's op names."""
    flow.clear_default_session()
    flow.config.backend(cpu=backend)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 5)).astype(np.float32)
    y = rng.standard_normal((8, 3)).astype(np.float32)

    @flow.global_function(type="train")
    def job(a: tp.Numpy.Placeholder((8, 5)), b: tp.Numpy.Placeholder((8, 3))) -> tp.Numpy:
        h = flow.layers.dense(a, 7, activation=flow.math.tanh, name="d1")
        h = flow.layers.dense(h, 6, activation=flow.math.tanh, name="d2")
        out = flow.layers.dense(h, 3, name="d3")
        loss = flow.math.reduce_mean(flow.math.square(out - b))
        make_opt().minimize(loss)
        return loss

    losses = [float(job(x, y).reshape(-1)[0]) for _ in range(steps)]
    names = flow.session.default_session().compiled["job"].plan.names
    values = {k: np.array(v.numpy()) for k, v in flow.get_all_variables().items()}
    return values, names, losses


def _compare(make_opt, expect_fused: bool = True):
    fused, names, losses = _train(make_opt, "fusedref")
    plain, plain_names, plain_losses = _train(make_opt, "numpy")
    n_fused = sum(n.endswith("-fused_optimizer") for n in names)
    assert n_fused == (1 if expect_fused else 0), names
    if expect_fused:
        assert not any(n.endswith("_optimizer") and not n.endswith("-fused_optimizer")
                       for n in names)
        assert "clip" not in names
    assert any(n.endswith("_optimizer") for n in plain_names)
    np.testing.assert_allclose(losses, plain_losses, rtol=1e-6, atol=1e-7)
    assert fused.keys() == plain.keys()
    for k in fused:
        np.testing.assert_allclose(fused[k], plain[k], rtol=1e-6, atol=1e-7, err_msg=k)


CLIP = flow.optimizer.grad_clipping.by_global_norm


@pytest.mark.parametrize("make_opt", [
    lambda: flow.optimizer.SGD(flow.optimizer.PiecewiseConstantScheduler([], [0.1]),
                               momentum=0),
    lambda: flow.optimizer.SGD(flow.optimizer.PiecewiseConstantScheduler([], [0.1]),
                               momentum=0.9, grad_clipping=CLIP(0.05)),
    lambda: flow.optimizer.SGDW(flow.optimizer.PiecewiseConstantScheduler([], [0.1]),
                                weight_decay=0.01, weight_decay_excludes=["bias"]),
    lambda: flow.optimizer.Adam(flow.optimizer.CosineScheduler(0.01, 10),
                                do_bias_correction=True, grad_clipping=CLIP(0.1)),
    lambda: flow.optimizer.AdamW(flow.optimizer.PiecewiseConstantScheduler([], [0.01]),
                                 weight_decay=0.1, weight_decay_includes=["weight"]),
    lambda: flow.optimizer.LAMB(flow.optimizer.PiecewiseConstantScheduler([], [0.01]),
                                weight_decay=0.01),
    lambda: flow.optimizer.LARS(flow.optimizer.PiecewiseConstantScheduler([], [0.1]),
                                weight_decay=0.01),
    lambda: flow.optimizer.RMSProp(flow.optimizer.PiecewiseConstantScheduler([], [0.01])),
    lambda: flow.optimizer.RMSProp(flow.optimizer.PiecewiseConstantScheduler([], [0.01]),
                                   centered=True, grad_clipping=CLIP(0.2)),
], ids=["sgd", "momentum-clip", "sgdw-excludes", "adam-clip", "adamw-includes", "lamb", "lars",
        "rmsprop", "rmsprop-centered-clip"])
def test_fused_matches_per_variable(fusedref, make_opt):
    _compare(make_opt)


def test_subset_of_variables_is_fused_when_contiguous(fusedref):
    lr = flow.optimizer.PiecewiseConstantScheduler([], [0.1])
    _compare(lambda: flow.optimizer.SGD(lr, momentum=0.9, variables=[
        "d2-weight", "d2-bias", "d3-weight", "d3-bias"]))


def test_non_contiguous_variables_stay_per_variable(fusedref):
    lr = flow.optimizer.PiecewiseConstantScheduler([], [0.1])
    _compare(lambda: flow.optimizer.SGD(lr, momentum=0.9, variables=["d1-weight", "d3-weight"]),
             expect_fused=False)


def test_dynamic_loss_scale_skips_fused_steps(fusedref):
    def make():
        return flow.optimizer.Adam(
            flow.optimizer.PiecewiseConstantScheduler([], [0.01]),
            loss_scale_policy=flow.optimizer.loss_scale.dynamic_loss_scale(
                initial_loss_scale=2.0 ** 127, increment_period=2))
    # gradients scaled by 2**127 overflow float32: steps are skipped until the scale drops
    _compare(make)


def test_fused_kernel_reference_is_registered(fusedref):
    r = reg.get_registry()
    assert all(r.kernel(op, "fusedref", "fused") is not None for op in OPS)
    assert Path(r.kernels[("adam_update", "fusedref", "fused")].impl.split(":")[0]
                .replace(".", "/")).name == "kernels"
