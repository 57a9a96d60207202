"""Checkpoints in whole training runs: exact resume, shared variables, fine-tuning, legacy API.

Resume must be bit-exact: train n steps, save, train m more and record every variable; in a
fresh session (other initial values), load the checkpoint and train the same m steps: every
weight, optimizer slot and step counter is identical (``np.array_equal``), for SGD with
momentum, Adam with bias correction, LAMB and RMSProp, each under a schedule whose
boundaries fall inside the run (so the restored step counter must drive it).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import tideflow as flow
import tideflow.typing as tp

N, M = 4, 6  # steps before the save, steps after it (schedule boundaries at 2 and 6)
BATCH, IN, HIDDEN, CLASSES = 8, 5, 7, 3


def _schedule():
    return flow.optimizer.PiecewiseScalingScheduler(
        0.05, [2, 6], [0.5, 0.1], warmup=flow.optimizer.warmup.linear(3, 0.2))


OPTIMIZERS = {
    "sgd_momentum": lambda: flow.optimizer.SGD(_schedule(), momentum=0.9),
    "adam_bias_correction": lambda: flow.optimizer.Adam(_schedule(), do_bias_correction=True),
    "lamb": lambda: flow.optimizer.LAMB(_schedule(), weight_decay=0.01),
    "rmsprop_centered": lambda: flow.optimizer.RMSProp(_schedule(), centered=True),
    "rmsprop": lambda: flow.optimizer.RMSProp(_schedule(), decay_rate=0.9),
}
SLOTS = {
    "sgd_momentum": ["momentum"],
    "adam_bias_correction": ["m", "v"],
    "lamb": ["m", "v", "beta1_t", "beta2_t"],
    "rmsprop_centered": ["mean_square", "mean_gradient"],
    "rmsprop": ["mean_square"],
}


def _mlp(images, extra_layer=False):
    init = flow.truncated_normal(0.1)
    hidden = flow.layers.dense(images, HIDDEN, activation=flow.nn.relu, name="dense1",
                               kernel_initializer=init)
    logits = flow.layers.dense(hidden, CLASSES, name="dense2", kernel_initializer=init)
    if extra_layer:
        logits = flow.layers.dense(logits, CLASSES, name="dense3", kernel_initializer=init)
    return logits


def _define(make_opt, extra_layer=False, with_predict=False):
    @flow.global_function(type="train")
    def train_job(images: tp.Numpy.Placeholder((BATCH, IN)),
                  labels: tp.Numpy.Placeholder((BATCH,), dtype=flow.int32)) -> tp.Numpy:
        logits = _mlp(images, extra_layer)
        loss = flow.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)
        make_opt().minimize(loss)
        return loss

    if not with_predict:
        return train_job, None

    @flow.global_function(type="predict")
    def predict_job(images: tp.Numpy.Placeholder((BATCH, IN))) -> tp.Numpy:
        return _mlp(images, extra_layer)

    return train_job, predict_job


def _batches(count, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.normal(size=(BATCH, IN)).astype(np.float32),
             rng.integers(0, CLASSES, BATCH).astype(np.int32)) for _ in range(count)]


def _snapshot():
    return {name: blob.numpy() for name, blob in flow.get_all_variables().items()}


def _assert_identical(a, b):
    assert sorted(a) == sorted(b)
    for name in a:
        assert a[name].dtype == b[name].dtype and np.array_equal(a[name], b[name]), name


@pytest.mark.parametrize("opt", list(OPTIMIZERS))
def test_resume_is_bit_exact(tmp_path, opt):
    batches = _batches(N + M)
    np.random.seed(0)
    train_job, _ = _define(OPTIMIZERS[opt])
    for images, labels in batches[:N]:
        train_job(images, labels)
    ckpt = tmp_path / "ckpt"
    flow.checkpoint.save(ckpt)
    losses = [train_job(images, labels) for images, labels in batches[N:]]
    reference = _snapshot()

    saved = sorted(os.listdir(ckpt))
    params = ["dense1-bias", "dense1-weight", "dense2-bias", "dense2-weight"]
    slots = [f"{p}-{s}" for p in params for s in SLOTS[opt]]
    assert saved == sorted([*params, *slots, "System-Train-TrainStep-train_job",
                            "snapshot_done"])
    step = flow.checkpoint.get(ckpt)["System-Train-TrainStep-train_job"]
    assert step.dtype == flow.int64 and step.shape == (1,) and step.numpy()[0] == N

    flow.clear_default_session()
    np.random.seed(123)  # other initial values: only the checkpoint can make them agree
    train_job, _ = _define(OPTIMIZERS[opt])
    assert not np.array_equal(_snapshot()["dense1-weight"], reference["dense1-weight"])
    flow.load_variables(flow.checkpoint.get(ckpt))
    resumed = [train_job(images, labels) for images, labels in batches[N:]]
    _assert_identical(_snapshot(), reference)
    for a, b in zip(losses, resumed, strict=True):
        assert np.array_equal(a, b)
    assert _snapshot()["System-Train-TrainStep-train_job"][0] == N + M


def test_get_all_variables_lists_weights_slots_and_step():
    train_job, _ = _define(OPTIMIZERS["lamb"])
    images, labels = _batches(1)[0]
    train_job(images, labels)
    variables = flow.get_all_variables()
    assert variables["System-Train-TrainStep-train_job"].numpy().tolist() == [1]
    assert variables["System-Train-TrainStep-train_job"].dtype == flow.int64
    for param in ["dense1-weight", "dense1-bias", "dense2-weight", "dense2-bias"]:
        shape = variables[param].shape
        assert variables[f"{param}-m"].shape == shape and variables[f"{param}-v"].shape == shape
        assert variables[f"{param}-beta1_t"].dtype == flow.float32
    assert len(variables) == 4 * 5 + 1


def test_train_and_predict_jobs_share_variables(tmp_path):
    train_job, predict_job = _define(OPTIMIZERS["sgd_momentum"], with_predict=True)
    batches = _batches(5)
    before = predict_job(batches[0][0])
    for images, labels in batches:
        train_job(images, labels)
    after = predict_job(batches[0][0])
    assert not np.array_equal(before, after)  # the predict job sees the trained weights
    flow.checkpoint.save(tmp_path / "ckpt")

    flow.clear_default_session()

    @flow.global_function(type="predict")
    def eval_job(images: tp.Numpy.Placeholder((BATCH, IN))) -> tp.Numpy:
        return _mlp(images)

    flow.load_variables(flow.checkpoint.get(tmp_path / "ckpt"))  # slots and step: skipped
    assert np.array_equal(eval_job(batches[0][0]), after)
    assert sorted(flow.get_all_variables()) == ["dense1-bias", "dense1-weight", "dense2-bias",
                                                "dense2-weight"]


def _plain_sgd():
    return flow.optimizer.SGD(flow.optimizer.PiecewiseConstantScheduler([], [0.1]), momentum=0)


def test_finetune_loads_a_partial_checkpoint(tmp_path):
    """OneFlow's mlp_mnist_finetune pattern: dense3 is new and keeps its initial values."""
    train_job, _ = _define(_plain_sgd)
    for images, labels in _batches(3):
        train_job(images, labels)
    flow.checkpoint.save(tmp_path / "mlp_models_1")
    trained = _snapshot()

    flow.clear_default_session()
    train_job, _ = _define(_plain_sgd, extra_layer=True)
    initial = _snapshot()
    flow.load_variables(flow.checkpoint.get(tmp_path / "mlp_models_1"))
    loaded = _snapshot()
    for name in trained:  # dense1-*, dense2-* and the step counter (same job name)
        assert np.array_equal(loaded[name], trained[name]), name
    for name in ["dense3-weight", "dense3-bias"]:
        assert np.array_equal(loaded[name], initial[name]), name
    for images, labels in _batches(2, seed=1):
        train_job(images, labels)
    flow.checkpoint.save(tmp_path / "mlp_ext_models_1")
    ext = flow.checkpoint.get(tmp_path / "mlp_ext_models_1")
    assert "dense3-weight" in ext and ext["System-Train-TrainStep-train_job"].numpy()[0] == 5


def test_legacy_checkpoint_api_resumes_exactly(tmp_path):
    batches = _batches(N + M)
    flow.config.enable_legacy_model_io(True)
    np.random.seed(0)
    train_job, _ = _define(OPTIMIZERS["adam_bias_correction"])
    check_point = flow.train.CheckPoint()
    check_point.init()
    for images, labels in batches[:N]:
        train_job(images, labels)
    check_point.save(str(tmp_path / "legacy"))
    for images, labels in batches[N:]:
        train_job(images, labels)
    reference = _snapshot()
    assert os.listdir(tmp_path / "legacy" / "dense1-weight-m") == ["out"]  # no meta

    flow.clear_default_session()
    flow.config.enable_legacy_model_io(True)
    np.random.seed(7)
    train_job, _ = _define(OPTIMIZERS["adam_bias_correction"])
    check_point = flow.train.CheckPoint()
    check_point.load(str(tmp_path / "legacy"))
    for images, labels in batches[N:]:
        train_job(images, labels)
    _assert_identical(_snapshot(), reference)

    flow.clear_default_session()  # the new API reads the legacy (meta-less) layout too
    np.random.seed(7)
    train_job, _ = _define(OPTIMIZERS["adam_bias_correction"])
    flow.load_variables(flow.checkpoint.get(tmp_path / "legacy"))
    for images, labels in batches[N:]:
        train_job(images, labels)
    _assert_identical(_snapshot(), reference)


def test_legacy_checkpoint_class_with_new_model_io(tmp_path):
    train_job, _ = _define(_plain_sgd)
    for images, labels in _batches(2):
        train_job(images, labels)
    with pytest.deprecated_call():
        flow.train.CheckPoint().save(str(tmp_path / "c"))
    assert sorted(os.listdir(tmp_path / "c" / "dense1-weight")) == ["meta", "out"]
    trained = _snapshot()
    flow.clear_default_session()
    _define(_plain_sgd)
    with pytest.deprecated_call():
        flow.train.CheckPoint().load(str(tmp_path / "c"))
    _assert_identical(_snapshot(), trained)
