"""The core on its own: imports light, runs predict jobs, explains missing optimizers."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import tideflow as flow
import tideflow.typing as tp
from tideflow.plugins.registry import refresh


def test_import_does_not_load_numba_or_cupy():
    code = ("import sys, tideflow as flow; flow.optimizer.PiecewiseConstantScheduler([], [1.0]);"
            "from tideflow.plugins.registry import get_registry; get_registry();"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('numba', 'cupy', 'llvmlite', 'torch')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_predict_job_runs_with_no_plugins(monkeypatch):
    monkeypatch.setenv("TIDEFLOW_PLUGINS", "")
    monkeypatch.delenv("TIDEFLOW_CPU_BACKEND", raising=False)  # a backend session may set it
    refresh()
    try:
        @flow.global_function(type="predict")
        def mlp(x: tp.Numpy.Placeholder((4, 3))) -> tp.Numpy:
            h = flow.layers.dense(x, 5, activation=flow.nn.relu, name="h",
                                  kernel_initializer=flow.constant_initializer(0.5))
            return flow.nn.softmax(flow.layers.dense(
                h, 2, name="o", kernel_initializer=flow.constant_initializer(0.1)))

        x = np.arange(12, dtype=np.float32).reshape(4, 3)
        h = np.maximum(x @ np.full((3, 5), 0.5), 0)
        logits = h @ np.full((5, 2), 0.1)
        expect = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
        np.testing.assert_allclose(mlp(x), expect, rtol=1e-6)
    finally:
        monkeypatch.delenv("TIDEFLOW_PLUGINS")
        refresh()


def test_missing_optimizer_names_its_distribution(monkeypatch):
    monkeypatch.setenv("TIDEFLOW_PLUGINS", "")
    refresh()
    try:
        with pytest.raises(AttributeError) as info:
            flow.optimizer.SGD  # noqa: B018
        msg = str(info.value)
        assert "tideflow-optim-sgd" in msg
        assert "pip install" in msg or "TIDEFLOW_PLUGINS" in msg
        assert not hasattr(flow.optimizer, "NoSuchOptimizer")
        with pytest.raises(AttributeError, match="NoSuchOptimizer"):
            flow.optimizer.NoSuchOptimizer  # noqa: B018
    finally:
        monkeypatch.delenv("TIDEFLOW_PLUGINS")
        refresh()


def test_oneflow_v05_import_path():
    from tideflow.compatible import single_client as sc
    from tideflow.compatible.single_client import typing as sc_tp

    assert sc is flow and sc_tp is tp
