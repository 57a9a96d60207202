"""The checkpoint examples and the documentation's LeNet train + eval pair, with small limits."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import tideflow as flow

ROOT = Path(__file__).resolve().parents[1]


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_resume_training_example_continues_exactly(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    example = _load(ROOT / "examples" / "resume_training.py", "resume_training_example")
    assert example.main(["--steps", "24", "--save-at", "10", "--dir", str(tmp_path / "c")])
    out = capsys.readouterr().out
    assert "losses after resuming continue exactly: True (14 steps" in out
    assert "<- resumed here" in out
    assert (tmp_path / "c" / "dense1-weight-momentum" / "meta").is_file()


def test_finetune_example_keeps_dense3_initial_values(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    example = _load(ROOT / "examples" / "finetune.py", "finetune_example")
    base, ext = example.main(["--limit", "30", "--dir", str(tmp_path)])
    assert base > 0.5 and ext > 0.5
    out = capsys.readouterr().out
    assert "kept initial values: dense3-bias, dense3-weight" in out
    assert "dense3-weight" in flow.checkpoint.get(tmp_path / "mlp_ext_models_1")
    assert "dense3-weight" not in flow.checkpoint.get(tmp_path / "mlp_models_1")


@pytest.mark.slow
def test_lenet_train_then_eval_in_a_separate_process(tmp_path):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    train = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "examples" / "lenet_train.py"), "--epochs", "1",
         "--limit", "40"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert train.returncode == 0, train.stderr
    assert train.stdout.rstrip().endswith("model saved")
    saved = sorted(os.listdir(tmp_path / "lenet_models_1"))
    assert saved == ["System-Train-TrainStep-train_job", "conv1-bias", "conv1-weight",
                     "conv2-bias", "conv2-weight", "dense1-bias", "dense1-weight",
                     "dense2-bias", "dense2-weight", "snapshot_done"]
    evaluate = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "examples" / "lenet_eval.py")], cwd=tmp_path,
        env=env, capture_output=True, text=True, timeout=300)
    assert evaluate.returncode == 0, evaluate.stderr
    accuracy = float(re.search(r"accuracy: (\d+\.\d)%", evaluate.stdout).group(1))
    assert accuracy > 60.0  # 40 steps; the full 3-epoch pair reaches >= 98%
