"""The documentation programs run with only the import changed."""

from __future__ import annotations

import importlib.util
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_seed_lenet_runs_on_cpu_with_one_gpu_warning(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.random.seed(0)
    seed = _load(ROOT / "docs" / "examples" / "seed_lenet.py", "seed_lenet")
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        losses = seed.main(steps=12)
    gpu = [w for w in rec if "placement 'gpu' runs on the CPU backend" in str(w.message)]
    assert len(gpu) == 1, [str(w.message) for w in rec]
    assert "no GPU backend" in str(gpu[0].message)
    assert all(np.isfinite(losses))
    assert np.mean(losses[-4:]) < np.mean(losses[:4])  # it learns


@pytest.mark.slow
def test_lenet_demo_learns_mnist_quickly(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    demo = _load(ROOT / "examples" / "lenet_mnist.py", "lenet_mnist")
    accuracy = demo.main(["--epochs", "1", "--limit", "150"])
    assert accuracy > 0.93  # 150 steps of the demo recipe; 3 full epochs reach >= 98.5%
    assert "test accuracy" in capsys.readouterr().out
