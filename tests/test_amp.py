"""enable_auto_mixed_precision: GPU ops on the white list compute in float16, CPU ops unchanged.

A fake ``fakegpu`` backend (a reference backend serving the ``gpu`` tag with
``supports_float16``) stands in for a GPU, so the pass's rewriting is checked here; the real
GPU kernels are the GPU backend's business. Tolerances: float16 matmuls (11-bit mantissa) on
this small MLP keep the loss within 1e-2 relative of the float32 run.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest

import tideflow as flow
import tideflow.typing as tp
from tideflow.plugins import registry as reg
from tideflow.testing.distributions import write_distribution

PLUGIN = '''
from tideflow.plugins import BackendSpec, hookimpl

@hookimpl
def tideflow_backends():
    return [BackendSpec(name="fakegpu", device="gpu", priority=100, reference=True,
                        probe="tf_fakegpu.plugin:probe", supports_float16=True,
                        dtypes=("float16", "float32", "float64", "int32", "int64"))]

def probe():
    return True, "a reference backend posing as a GPU"
'''


@pytest.fixture
def fakegpu(tmp_path, monkeypatch):
    write_distribution(tmp_path, "tf-fakegpu", "tf_fakegpu", "fakegpu", {"plugin.py": PLUGIN})
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("TIDEFLOW_PLUGINS", "fakegpu,sgd")
    monkeypatch.delenv("TIDEFLOW_GPU_BACKEND", raising=False)
    monkeypatch.delenv("TIDEFLOW_CPU_BACKEND", raising=False)  # a backend session sets it
    reg.refresh()
    yield
    reg.refresh()
    for name in [m for m in sys.modules if m.startswith("tf_fakegpu")]:
        del sys.modules[name]


def _run(device: str, amp: bool, steps: int = 3):
    """Train a 2-layer MLP on ``device``; return losses, variables and the graph's op types."""
    flow.clear_default_session()
    np.random.seed(0)
    config = flow.FunctionConfig()
    if amp:
        config.enable_auto_mixed_precision(True)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 8)).astype(np.float32)
    y = rng.integers(0, 4, 16).astype(np.int32)

    @flow.global_function(type="train", function_config=config)
    def job(a: tp.Numpy.Placeholder((16, 8)),
            b: tp.Numpy.Placeholder((16,), dtype=flow.int32)) -> tp.Numpy:
        with flow.scope.placement(device, "0:0"):
            init = flow.random_normal_initializer(0.0, 0.5)
            h = flow.layers.dense(a, 32, activation=flow.nn.relu, name="d1",
                                  kernel_initializer=init)
            logits = flow.layers.dense(h, 4, name="d2", kernel_initializer=init)
            loss = flow.nn.sparse_softmax_cross_entropy_with_logits(b, logits)
        flow.optimizer.SGD(flow.optimizer.PiecewiseConstantScheduler([], [0.1]),
                           momentum=0.9).minimize(loss)
        return loss

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        losses = [job(x, y).copy() for _ in range(steps)]
    values = {k: v.numpy().copy() for k, v in flow.get_all_variables().items()}
    session = flow.session.default_session()
    plan = session.compiled["job"].plan
    return losses, values, plan.names, [str(w.message) for w in caught]


def test_cpu_job_is_unchanged_and_says_so_once(monkeypatch):
    monkeypatch.delenv("TIDEFLOW_CPU_BACKEND", raising=False)
    plain, v_plain, names_plain, _ = _run("cpu", amp=False)
    mixed, v_mixed, names_mixed, said = _run("cpu", amp=True)
    amp_lines = [m for m in said if "enable_auto_mixed_precision" in m]
    assert len(amp_lines) == 1 and "computes in float32, unchanged" in amp_lines[0]
    assert names_mixed == names_plain
    for a, b in zip(plain, mixed, strict=True):
        np.testing.assert_array_equal(a, b)
    for k in v_plain:
        np.testing.assert_array_equal(v_plain[k], v_mixed[k])


def test_gpu_ops_compute_in_float16_with_float32_master_weights(fakegpu):
    plain, v_plain, names_plain, _ = _run("gpu", amp=False)
    mixed, v_mixed, names_mixed, said = _run("gpu", amp=True)
    assert not any("enable_auto_mixed_precision" in m for m in said)
    casts = [n for n in names_mixed if "-amp_in" in n or "-amp_out" in n]
    assert casts and not any("-amp_" in n for n in names_plain)
    # forward matmuls and the matmuls of their gradients all read float16 casts
    assert sum(n.endswith("-amp_out0") for n in names_mixed) >= 4
    for k, v in v_mixed.items():
        assert v.dtype == v_plain[k].dtype, k  # master weights (and slots) stay float32
    assert v_mixed["d1-weight"].dtype == np.float32
    np.testing.assert_allclose(np.concatenate(mixed), np.concatenate(plain), rtol=1e-2,
                               atol=1e-3)
    assert any(not np.array_equal(a, b) for a, b in zip(mixed, plain, strict=True))


def test_amp_off_changes_nothing_on_a_gpu_backend(fakegpu):
    _, _, names, said = _run("gpu", amp=False)
    assert not any("-amp_" in n for n in names)
    assert not any("enable_auto_mixed_precision" in m for m in said)
