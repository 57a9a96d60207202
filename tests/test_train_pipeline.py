"""The train pipeline of spec §1 on small problems with hand-derived closed forms.

Each test builds a one-variable job, runs a few steps and compares the variable with a
float64 formula written here: averaging by the loss's element count, the static loss
scale, L1/L2 regularizers, clipping by global norm, the step counter and the schedule.
"""

from __future__ import annotations

import numpy as np
import pytest

import tideflow as flow
import tideflow.typing as tp
from tideflow.errors import HyperparameterError

RTOL = 1e-6  # float32 arithmetic on O(1) values


def _job(opt_factory, reg=None, loss_kind="vector"):
    @flow.global_function(type="train")
    def train(mask: tp.Numpy.Placeholder((4,))) -> tp.Numpy:
        w = flow.get_variable("w", shape=(4,), initializer=flow.constant_initializer(0.0),
                              regularizer=reg)
        per_elem = w * mask
        loss = per_elem if loss_kind == "vector" else flow.math.reduce_sum(per_elem)
        opt_factory().minimize(loss)
        return w

    return train



def _run(train, masks):
    outs = [train(m.astype(np.float32)) for m in masks]
    return outs


def _w():
    return flow.get_all_variables()["w"].numpy()


@pytest.fixture
def masks():
    rng = np.random.default_rng(0)
    return [rng.uniform(0, 1, 4) for _ in range(3)]


def test_vector_loss_is_averaged_and_sgd_is_exact(masks):
    lr = 0.5
    train = _job(lambda: flow.optimizer.SGD(
        flow.optimizer.PiecewiseConstantScheduler([], [lr]), momentum=0))
    outs = _run(train, masks)
    w = np.zeros(4)
    for m, out in zip(masks, outs, strict=True):
        np.testing.assert_allclose(out, w, rtol=RTOL)  # returned value: before the update
        w = w - lr * m / 4  # d mean(w*m)/dw = m/4
    np.testing.assert_allclose(_w(), w, rtol=RTOL)


def test_scalar_loss_is_not_averaged(masks):
    train = _job(lambda: flow.optimizer.SGD(
        flow.optimizer.PiecewiseConstantScheduler([], [0.1]), momentum=0), loss_kind="sum")
    _run(train, masks)
    np.testing.assert_allclose(_w(), -0.1 * sum(masks), rtol=RTOL)


def test_momentum_tf_convention_with_changing_lr(masks):
    sched = flow.optimizer.PiecewiseConstantScheduler([0, 1], [0.3, 0.2, 0.1])
    train = _job(lambda: flow.optimizer.SGD(sched, momentum=0.9))
    _run(train, masks)
    w, u = np.zeros(4), np.zeros(4)
    for step, m in enumerate(masks):
        lr = [0.3, 0.2, 0.1][min(step, 2)]  # step <= boundary keeps the earlier value
        u = 0.9 * u - lr * m / 4
        w = w + u
    np.testing.assert_allclose(_w(), w, rtol=RTOL)
    np.testing.assert_allclose(flow.get_all_variables()["w-momentum"].numpy(), u, rtol=RTOL)
    assert flow.get_all_variables()["System-Train-TrainStep-train"].numpy()[0] == 3


def test_sgdw_decoupled_weight_decay_and_l1_l2_regularizer(masks):
    reg = flow.regularizers.l1_l2(l1=0.01, l2=0.1)
    train = _job(lambda: flow.optimizer.SGDW(
        flow.optimizer.PiecewiseConstantScheduler([], [0.5]), momentum=0.9, weight_decay=0.2),
        reg=reg)
    w, u = np.zeros(4), np.zeros(4)
    for m in masks:
        train(m.astype(np.float32))
        g = m / 4 + 0.01 * np.where(w >= 0, 1.0, -1.0) + 0.1 * w  # sign(0) = +1
        u = 0.9 * u - 0.5 * g
        w = w + u - 0.5 * 0.2 * w
    np.testing.assert_allclose(_w(), w, rtol=1e-5)


def test_static_loss_scale_cancels(masks):
    train = _job(lambda: flow.optimizer.SGD(
        flow.optimizer.PiecewiseConstantScheduler([], [0.5]), momentum=0,
        loss_scale_factor=1024.0))
    _run(train, masks)
    np.testing.assert_allclose(_w(), -0.5 * sum(masks) / 4, rtol=RTOL)


@pytest.mark.parametrize("clip", [0.05, 1.0, 2.0])
def test_clip_by_global_norm_clips_to_norm_c(clip):
    @flow.global_function(type="train")
    def train(x: tp.Numpy.Placeholder((3,))) -> tp.Numpy:
        a = flow.get_variable("a", shape=(3,), initializer=flow.zeros_initializer())
        b = flow.get_variable("b", shape=(1,), initializer=flow.zeros_initializer())
        loss = flow.math.reduce_sum(a * x) + flow.math.reduce_sum(b * 2.0)
        flow.optimizer.SGD(flow.optimizer.PiecewiseConstantScheduler([], [1.0]), momentum=0,
                           grad_clipping=flow.optimizer.grad_clipping.by_global_norm(clip)
                           ).minimize(loss)
        return loss

    x = np.array([0.3, -0.4, 1.2], np.float32)
    train(x)
    g = np.concatenate([x, [2.0]]).astype(np.float64)
    g = g * clip / max(np.linalg.norm(g), clip)
    got = np.concatenate([flow.get_all_variables()[n].numpy() for n in ("a", "b")])
    np.testing.assert_allclose(got, -g, rtol=1e-6)


def test_bad_hyperparameter_names_argument_and_changes_nothing(masks):
    lr = flow.optimizer.PiecewiseConstantScheduler([], [0.1])
    calls = []

    @flow.global_function(type="train")
    def train(mask: tp.Numpy.Placeholder((4,))) -> tp.Numpy:
        w = flow.get_variable("w", shape=(4,), initializer=flow.constant_initializer(1.0))
        if calls:
            with pytest.raises(HyperparameterError, match=r"momentum=1.5"):
                flow.optimizer.SGD(lr, momentum=1.5)
        calls.append(1)
        flow.optimizer.SGD(lr, momentum=0).minimize(flow.math.reduce_sum(w * mask))
        return w

    with pytest.raises(HyperparameterError, match=r"`momentum` must be a number in \[0, 1\); "
                       r"received momentum=1.5"):
        flow.optimizer.SGD(lr, momentum=1.5)
    with pytest.raises(HyperparameterError, match="received weight_decay=-1"):
        flow.optimizer.SGDW(lr, weight_decay=-1)
    with pytest.raises(HyperparameterError, match="lr_scheduler"):
        flow.optimizer.SGD(0.1)
    train(masks[0].astype(np.float32))
    before = _w().copy()
    with pytest.raises(TypeError, match="dtype float32; received float64"):
        train(masks[0].astype(np.float64))
    np.testing.assert_array_equal(_w(), before)


def test_weight_decay_filters():
    lr = flow.optimizer.PiecewiseConstantScheduler([], [0.1])
    opt = flow.optimizer.SGDW(lr, weight_decay=0.5, weight_decay_excludes=["bias"])
    assert opt.weight_decay_for("dense1-weight") == 0.5
    assert opt.weight_decay_for("dense1-bias") == 0.0
    opt = flow.optimizer.SGDW(lr, weight_decay=0.5, weight_decay_includes="conv")
    assert opt.weight_decay_for("conv1-weight") == 0.5
    assert opt.weight_decay_for("dense1-weight") == 0.0
    with pytest.raises(HyperparameterError, match="at most one"):
        flow.optimizer.SGDW(lr, weight_decay=0.5, weight_decay_includes="a",
                            weight_decay_excludes="b")


def test_parameters_and_gradients_live_in_flat_buffers(masks):
    @flow.global_function(type="train")
    def train(x: tp.Numpy.Placeholder((4,))) -> tp.Numpy:
        a = flow.get_variable("a", shape=(2, 2), initializer=flow.ones_initializer())
        b = flow.get_variable("b", shape=(3,), initializer=flow.ones_initializer())
        loss = flow.math.reduce_sum(flow.reshape(a, (4,)) * x) + flow.math.reduce_sum(b * 3.0)
        flow.optimizer.SGD(flow.optimizer.PiecewiseConstantScheduler([], [0.5]),
                           momentum=0.9).minimize(loss)
        return loss

    x = masks[0].astype(np.float32)
    train(x)
    sess = flow.session.default_session()
    store = sess.variables
    flat = store.flat[("param", "float32")]
    assert np.shares_memory(flat, store.arrays["a"]) and np.shares_memory(flat, store.arrays["b"])
    slots = store.flat[("slot:momentum", "float32")]
    assert np.shares_memory(slots, store.arrays["a-momentum"])
    grads = sess.compiled["train"].flat_grads["float32"]
    start_a, _ = store.offsets["a"]
    start_b, _ = store.offsets["b"]
    np.testing.assert_allclose(grads[start_a:start_a + 4], x, rtol=1e-6)
    np.testing.assert_allclose(grads[start_b:start_b + 3], [3.0, 3.0, 3.0], rtol=1e-6)
    np.testing.assert_allclose(flat[start_b:start_b + 3], 1 - 0.5 * 3.0, rtol=1e-6)


def test_calls_from_several_threads_run_one_at_a_time():
    import threading

    @flow.global_function(type="train")
    def train(x: tp.Numpy.Placeholder((3,))) -> tp.Numpy:
        w = flow.get_variable("w", shape=(3,), initializer=flow.zeros_initializer())
        loss = flow.math.reduce_sum(w * x)
        flow.optimizer.SGD(flow.optimizer.PiecewiseConstantScheduler([], [0.01]),
                           momentum=0).minimize(loss)
        return loss

    x = np.array([1.0, 2.0, -1.0], np.float32)
    train(x)
    threads = [threading.Thread(target=lambda: [train(x) for _ in range(50)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    v = flow.get_all_variables()
    assert v["System-Train-TrainStep-train"].numpy()[0] == 201
    np.testing.assert_allclose(v["w"].numpy(), -201 * 0.01 * x, rtol=1e-4)


def test_combined_optimizer_updates_disjoint_sets_with_their_own_rates(masks):
    @flow.global_function(type="train")
    def train(x: tp.Numpy.Placeholder((4,))) -> tp.Numpy:
        a = flow.get_variable("a", shape=(4,), initializer=flow.zeros_initializer())
        b = flow.get_variable("b", shape=(4,), initializer=flow.zeros_initializer())
        loss = flow.math.reduce_sum(a * x) + flow.math.reduce_sum(b * x * 2.0)
        flow.optimizer.CombinedOptimizer([
            flow.optimizer.SGD(flow.optimizer.PiecewiseConstantScheduler([], [0.1]),
                               momentum=0, variables=["a"]),
            flow.optimizer.SGD(flow.optimizer.PiecewiseConstantScheduler([0], [0.5, 0.2]),
                               momentum=0.9, variables=["b"],
                               grad_clipping=flow.optimizer.grad_clipping.by_global_norm(1.0)),
        ], loss_scale_factor=8.0).minimize(loss)
        return loss

    a, b, u = np.zeros(4), np.zeros(4), np.zeros(4)
    for step, m in enumerate(masks):
        train(m.astype(np.float32))
        a = a - 0.1 * m
        g = 2 * m * 1.0 / max(np.linalg.norm(2 * m), 1.0)
        u = 0.9 * u - (0.5 if step == 0 else 0.2) * g
        b = b + u
    v = flow.get_all_variables()
    np.testing.assert_allclose(v["a"].numpy(), a, rtol=1e-5)
    np.testing.assert_allclose(v["b"].numpy(), b, rtol=1e-5)
    assert "a-momentum" not in v and "b-momentum" in v


def test_combined_optimizer_validation_and_overlap():
    lr = flow.optimizer.PiecewiseConstantScheduler([], [0.1])
    with pytest.raises(HyperparameterError, match="cannot be nested"):
        flow.optimizer.CombinedOptimizer(
            [flow.optimizer.CombinedOptimizer([flow.optimizer.SGD(lr)])])
    with pytest.raises(HyperparameterError, match="without their own loss_scale"):
        flow.optimizer.CombinedOptimizer([flow.optimizer.SGD(lr, loss_scale_factor=2.0)])

    @flow.global_function(type="train")
    def train(x: tp.Numpy.Placeholder((2,))) -> tp.Numpy:
        a = flow.get_variable("a", shape=(2,), initializer=flow.zeros_initializer())
        loss = flow.math.reduce_sum(a * x)
        flow.optimizer.CombinedOptimizer([flow.optimizer.SGD(lr, variables=["a"]),
                                          flow.optimizer.SGD(lr, variables=["a"])]
                                         ).minimize(loss)
        return loss

    with pytest.raises(flow.errors.JobDefinitionError, match="updated by two optimizers"):
        train(np.ones(2, np.float32))


@pytest.mark.parametrize("by_name", [False, True])
def test_train_step_lbn_drives_the_schedule_and_no_counter_is_made(by_name):
    sched = flow.optimizer.PiecewiseConstantScheduler([4], [1.0, 0.1])

    @flow.global_function(type="train")
    def train(x: tp.Numpy.Placeholder((2,)),
              step: tp.Numpy.Placeholder((1,), dtype=flow.int64)) -> tp.Numpy:
        w = flow.get_variable("w", shape=(2,), initializer=flow.zeros_initializer())
        s = flow.identity(step, name="my_step")
        loss = flow.math.reduce_sum(w * x)
        flow.optimizer.SGD(sched, momentum=0,
                           train_step_lbn="my_step/out" if by_name else s).minimize(loss)
        return loss

    x = np.array([1.0, -2.0], np.float32)
    for s in (9, 0, 5):  # the user's step, in any order
        train(x, np.array([s], np.int64))
    v = flow.get_all_variables()
    assert "System-Train-TrainStep-train" not in v
    np.testing.assert_allclose(v["w"].numpy(), -(0.1 + 1.0 + 0.1) * x, rtol=1e-6)


def test_missing_family_leaves_the_others_working(monkeypatch):
    from tideflow.plugins.registry import refresh

    monkeypatch.setenv("TIDEFLOW_DISABLE_PLUGINS", "adam")
    refresh()
    try:
        with pytest.raises(AttributeError, match="tideflow-optim-adam"):
            flow.optimizer.Adam  # noqa: B018
        train = _job(lambda: flow.optimizer.RMSProp(
            flow.optimizer.PiecewiseConstantScheduler([], [0.1])))
        train(np.ones(4, np.float32))
        assert np.all(np.isfinite(_w()))
    finally:
        monkeypatch.delenv("TIDEFLOW_DISABLE_PLUGINS")
        refresh()
