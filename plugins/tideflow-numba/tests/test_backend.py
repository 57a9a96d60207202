"""The numba backend as a user meets it: default choice, fallback switch, hot path, cache."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import tideflow as flow
import tideflow.typing as tp
from tideflow.errors import UnknownNameError
from tideflow.plugins import registry as reg
from tideflow.testing.distributions import write_distribution


@pytest.fixture(autouse=True)
def _default_backend(monkeypatch):
    monkeypatch.delenv("TIDEFLOW_CPU_BACKEND", raising=False)
    flow.clear_default_session()
    yield
    flow.clear_default_session()


def test_numba_is_the_default_cpu_backend():
    spec = reg.get_registry().select_backend("cpu")
    assert spec.name == "numba" and spec.priority > reg.get_registry().backends["numpy"].priority
    ok, reason = reg.get_registry().backend_available("numba")
    assert ok and reason.startswith("numba 0.") and "cache" in reason


def _lenet_like():
    @flow.global_function(type="train")
    def train(x: tp.Numpy.Placeholder((16, 1, 12, 12)),
              y: tp.Numpy.Placeholder((16,), dtype=flow.int32)) -> tp.Numpy:
        h = flow.layers.conv2d(x, 4, 3, padding="SAME", activation=flow.nn.relu, name="c1")
        h = flow.nn.max_pool2d(h, ksize=2, strides=2, padding="SAME", data_format="NCHW")
        h = flow.reshape(h, [16, -1])
        h = flow.layers.dense(h, 8, activation=flow.nn.relu, name="d1")
        logits = flow.layers.dense(h, 10, name="d2")
        loss = flow.nn.sparse_softmax_cross_entropy_with_logits(y, logits)
        flow.optimizer.Adam(flow.optimizer.PiecewiseConstantScheduler([], [1e-3]),
                            grad_clipping=flow.optimizer.grad_clipping.by_global_norm(1.0)
                            ).minimize(loss)
        return loss

    rng = np.random.default_rng(0)
    return train, rng.random((16, 1, 12, 12), np.float32), rng.integers(0, 10, 16,
                                                                          dtype=np.int32)


def test_train_step_matches_numpy_backend():
    """A conv/dense/Adam step on numba equals the NumPy reference (rtol 1e-4 after 5 steps)."""
    results = {}
    for backend in ("numba", "numpy"):
        flow.clear_default_session()
        flow.config.backend(cpu=backend)
        np.random.seed(0)  # the variables' initializer seeds are drawn from np.random
        train, x, y = _lenet_like()
        losses = [train(x, y).copy() for _ in range(5)]
        results[backend] = (losses, {k: v.numpy().copy()
                                     for k, v in flow.get_all_variables().items()})
    (l1, v1), (l2, v2) = results["numba"], results["numpy"]
    np.testing.assert_allclose(np.concatenate(l1), np.concatenate(l2), rtol=1e-4, atol=1e-6)
    for k in v1:
        np.testing.assert_allclose(v1[k], v2[k], rtol=1e-4, atol=1e-5, err_msg=k)


def test_optimizer_update_is_one_fused_call():
    train, x, y = _lenet_like()
    train(x, y)
    names = flow.session.default_session().compiled["train"].plan.names
    assert sum(n.endswith("-fused_optimizer") for n in names) == 1
    assert not any(n.endswith("_optimizer") and "fused" not in n for n in names)
    assert "clip" not in names  # folded into the fused kernel


def test_hot_path_allocates_no_buffers():
    """After the first call, a train step allocates no array memory (tracemalloc < 16 KiB).

    One convolution output of this job alone is 36 KiB (16x4x12x12 float32), so allocating
    activations per step would break the bound; what it leaves room for is the per-call
    Python bookkeeping (argument checks, the returned loss array).
    """
    train, x, y = _lenet_like()
    for _ in range(2):
        train(x, y)
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for _ in range(5):
            train(x, y)
        after = tracemalloc.take_snapshot()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    grown = sum(s.size_diff for s in after.compare_to(before, "filename") if s.size_diff > 0)
    assert grown < 16 * 1024, grown
    assert peak < 64 * 1024, peak


REFONLY_PLUGIN = textwrap.dedent('''
        from tideflow.plugins import OpSpec, hookimpl
        from tideflow.ops.math import SPECS as _MATH

        @hookimpl
        def tideflow_ops():
            base = next(s for s in _MATH if s.name == "negative")
            return [OpSpec("refonly_negative", base.infer, base.reference, None)]
    ''')


@pytest.fixture
def reference_only_op(tmp_path, monkeypatch):
    """A third-party plugin whose update op has only a NumPy reference kernel."""
    write_distribution(tmp_path, "tf-refonly", "tf_refonly", "refonly",
                       {"plugin.py": REFONLY_PLUGIN})
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("TIDEFLOW_PLUGINS", "refonly,numba")
    reg.refresh()
    yield
    reg.refresh()
    for name in [m for m in sys.modules if m.startswith("tf_refonly")]:
        del sys.modules[name]


def _refonly_job(config: flow.FunctionConfig | None = None):
    from tideflow.framework.build import add_op

    @flow.global_function(function_config=config)
    def job(x: tp.Numpy.Placeholder((3,))) -> tp.Numpy:
        return add_op("refonly_negative", [x], {})

    return job


def test_missing_kernel_is_a_clear_error(reference_only_op):
    job = _refonly_job()
    with pytest.raises(UnknownNameError, match=r"op 'refonly_negative' has no kernel for "
                                               r"backend 'numba'.*allow_reference_fallback"):
        job(np.ones(3, np.float32))


def test_reference_fallback_is_opt_in(reference_only_op):
    config = flow.FunctionConfig()
    config.allow_reference_fallback(True)
    job = _refonly_job(config)
    with pytest.warns(UserWarning, match="running the NumPy reference kernel"):
        out = job(np.arange(3, dtype=np.float32))
    np.testing.assert_array_equal(out, -np.arange(3, dtype=np.float32))


def test_numba_cache_dir_is_respected(tmp_path):
    """Kernels compiled in a fresh process land in ``NUMBA_CACHE_DIR``."""
    code = textwrap.dedent('''
        import numpy as np
        import tideflow as flow
        import tideflow.typing as tp

        @flow.global_function()
        def job(x: tp.Numpy.Placeholder((5,))) -> tp.Numpy:
            return flow.math.relu(x)

        print(job(np.arange(-2, 3, dtype=np.float32)).tolist())
        ''')
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache"),
           "TIDEFLOW_PLUGINS": "numba"}
    env.pop("TIDEFLOW_CPU_BACKEND", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=300, check=True)
    assert out.stdout.strip() == "[0.0, 0.0, 0.0, 1.0, 2.0]"
    assert list(Path(tmp_path / "cache").rglob("*.nbi")), "no numba cache index written"
