"""The job API: decoration, calls, argument checks, return annotations, session rules."""

from __future__ import annotations

import numpy as np
import pytest

import tideflow as flow
import tideflow.typing as tp
from tideflow.errors import (
    FeedError,
    FeedTypeError,
    JobDefinitionError,
    SessionStateError,
    ShapeError,
    UnknownNameError,
)


def _double_job():
    @flow.global_function(type="predict")
    def double(x: tp.Numpy.Placeholder((2, 3), dtype=flow.float)) -> tp.Numpy:
        return x * 2.0

    return double


def test_predict_job_numpy_in_numpy_out():
    job = _double_job()
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    out = job(x)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    np.testing.assert_array_equal(out, x * 2)
    out[...] = -1  # results are fresh copies
    np.testing.assert_array_equal(job(x), x * 2)


def test_inputs_are_copied_at_call_time():
    job = _double_job()
    x = np.ones((2, 3), np.float32)
    first = job(x)
    x[...] = 5
    np.testing.assert_array_equal(first, np.full((2, 3), 2, np.float32))


@pytest.mark.parametrize(
    ("args", "err", "needle"),
    [
        ((np.ones((3, 2), np.float32),), FeedError, "shape (2, 3); received shape (3, 2)"),
        ((np.ones((2, 3), np.float64),), FeedTypeError, "dtype float32; received float64"),
        (([[1.0] * 3] * 2,), FeedTypeError, "must be a numpy.ndarray; received list"),
        ((), FeedError, "takes 1 arguments (x); received 0"),
        ((np.ones((2, 3), np.float32),) * 2, FeedError, "received 2"),
    ],
)
def test_bad_arguments_raise_before_running(args, err, needle):
    job = _double_job()
    with pytest.raises(err) as info:
        job(*args)
    assert needle in str(info.value)
    assert "'x'" in str(info.value) or "arguments" in str(info.value)


def test_keyword_arguments_are_rejected():
    job = _double_job()
    with pytest.raises(TypeError, match="positional arguments only"):
        job(x=np.ones((2, 3), np.float32))


def test_return_annotations():
    @flow.global_function()
    def tup(x: tp.Numpy.Placeholder((2,))) -> tuple[tp.Numpy, tp.ListNumpy]:
        return x + 1.0, x * 3.0

    @flow.global_function()
    def dct(x: tp.Numpy.Placeholder((2,))) -> dict[str, tp.Numpy]:
        return {"a": x, "b": x - 1.0}

    @flow.global_function()
    def lst(x: tp.Numpy.Placeholder((2,))) -> list[tp.Numpy]:
        return [x, x]

    @flow.global_function()
    def bundle(x: tp.Numpy.Placeholder((2,))) -> tp.Bundle[tp.Numpy]:
        return {"x": {256: x}, "y": [x * 2.0, (x,)]}

    @flow.global_function()
    def cb(x: tp.Numpy.Placeholder((2,))) -> tp.Callback[tp.Numpy]:
        return x * 10.0

    @flow.global_function()
    def fut(x: tp.Numpy.Placeholder((2,))):
        return x + 0.5

    @flow.global_function()
    def nothing(x: tp.Numpy.Placeholder((2,))) -> None:
        flow.watch(x, lambda v: None)

    x = np.array([1.0, 2.0], np.float32)
    a, b = tup(x)
    np.testing.assert_array_equal(a, x + 1)
    assert isinstance(b, list) and len(b) == 1
    np.testing.assert_array_equal(b[0], x * 3)
    d = dct(x)
    assert set(d) == {"a", "b"}
    np.testing.assert_array_equal(d["b"], x - 1)
    assert len(lst(x)) == 2
    bb = bundle(x)
    np.testing.assert_array_equal(bb["x"][256], x)
    np.testing.assert_array_equal(bb["y"][1][0], x)
    got = []
    cb(x)(got.append)
    np.testing.assert_array_equal(got[0], x * 10)
    f = fut(x)
    np.testing.assert_array_equal(f.get().numpy(), x + 0.5)
    assert float(f.get().mean()) == pytest.approx(float((x + 0.5).mean()))
    seen = []
    f.async_get(seen.append)
    assert seen[0].numpy_list()[0].shape == (2,)
    assert nothing(x) is None


def test_returned_structure_must_match_annotation():
    @flow.global_function()
    def bad(x: tp.Numpy.Placeholder((2,))) -> tuple[tp.Numpy, tp.Numpy]:
        return x

    with pytest.raises(JobDefinitionError, match="does not match its return annotation"):
        bad(np.zeros(2, np.float32))


def test_tuple_placeholder_and_zero_arg_job():
    @flow.global_function()
    def pair(xs: tuple[tp.Numpy.Placeholder((2,)), tp.Numpy.Placeholder((2,))]) -> tp.Numpy:
        return xs[0] - xs[1]

    np.testing.assert_array_equal(
        pair((np.ones(2, np.float32), np.full(2, 3, np.float32))), [-2, -2])


def test_job_type_validation_and_test_alias():
    with pytest.raises(ValueError, match="received type='evaluate'"):
        flow.global_function(type="evaluate")

    @flow.global_function(type="test")
    def t(x: tp.Numpy.Placeholder((1,))) -> tp.Numpy:
        return x

    np.testing.assert_array_equal(t(np.ones(1, np.float32)), [1])


def test_bad_annotations():
    with pytest.raises(JobDefinitionError, match="must be annotated"):
        @flow.global_function()
        def f(x: int) -> tp.Numpy:
            return x

    with pytest.raises(JobDefinitionError, match="plain positional"):
        @flow.global_function()
        def g(*xs: tp.Numpy.Placeholder((1,))) -> tp.Numpy:
            return xs[0]

    with pytest.raises(JobDefinitionError, match="shape should be a tuple"):
        tp.Numpy.Placeholder([2, 3])


def test_no_job_defined_after_first_call():
    job = _double_job()
    job(np.zeros((2, 3), np.float32))
    with pytest.raises(SessionStateError, match="already running"):
        _double_job()


def test_clear_default_session_invalidates_old_jobs():
    job = _double_job()
    job(np.zeros((2, 3), np.float32))
    flow.clear_default_session()
    with pytest.raises(SessionStateError, match="decorate it again"):
        job(np.zeros((2, 3), np.float32))
    job2 = _double_job()
    np.testing.assert_array_equal(job2(np.ones((2, 3), np.float32)), np.full((2, 3), 2))


def test_config_after_start_does_nothing():
    job = _double_job()
    job(np.zeros((2, 3), np.float32))
    with pytest.warns(UserWarning, match="nothing happened because the session is running"):
        assert flow.config.cpu_device_num(2) is False


def test_shape_mismatch_in_body_names_op_shapes_and_line():
    @flow.global_function()
    def bad(x: tp.Numpy.Placeholder((2, 3)), y: tp.Numpy.Placeholder((4, 5))) -> tp.Numpy:
        return flow.matmul(x, y, name="my_matmul")

    with pytest.raises(ShapeError) as info:
        bad(np.zeros((2, 3), np.float32), np.zeros((4, 5), np.float32))
    msg = str(info.value)
    assert "my_matmul" in msg and "(2, 3)" in msg and "(4, 5)" in msg
    assert "test_job_api.py:" in msg


def test_failed_build_leaves_session_open():
    @flow.global_function()
    def bad(x: tp.Numpy.Placeholder((2,))) -> tp.Numpy:
        return flow.reshape(x, (3,))

    with pytest.raises(ShapeError):
        bad(np.zeros(2, np.float32))
    assert flow.session.default_session().status == "open"


def test_unknown_device_tag():
    with pytest.raises(UnknownNameError, match="received 'tpu'"):
        flow.scope.placement("tpu", "0:0")
    with pytest.raises(ValueError, match="machine_device_ids"):
        flow.scope.placement("cpu", "zero")


def test_unknown_backend_is_an_error():
    flow.config.backend(cpu="nonexistent")
    job = _double_job()
    with pytest.raises(UnknownNameError, match="nonexistent"):
        job(np.zeros((2, 3), np.float32))


def test_gpu_placement_falls_back_to_cpu_with_one_warning():
    @flow.global_function()
    def g(x: tp.Numpy.Placeholder((2,))) -> tp.Numpy:
        with flow.scope.placement("gpu", "0:0"):
            return flow.math.relu(x)

    with pytest.warns(RuntimeWarning, match="runs on the CPU backend") as rec:
        out = g(np.array([-1, 2], np.float32))
        g(np.array([-1, 2], np.float32))
    assert len([w for w in rec if "CPU backend" in str(w.message)]) == 1
    np.testing.assert_array_equal(out, [0, 2])


def test_variables_shared_between_jobs_and_namespaces():
    @flow.global_function()
    def a(x: tp.Numpy.Placeholder((3,))) -> tp.Numpy:
        with flow.scope.namespace("ns"):
            w = flow.get_variable("w", shape=(3,), initializer=flow.constant_initializer(2.0))
        return x * w

    @flow.global_function()
    def b(x: tp.Numpy.Placeholder((3,))) -> tp.Numpy:
        w = flow.get_variable("ns-w", shape=(3,), initializer=flow.constant_initializer(7.0))
        return x + w

    x = np.ones(3, np.float32)
    np.testing.assert_array_equal(a(x), [2, 2, 2])
    np.testing.assert_array_equal(b(x), [3, 3, 3])  # same storage: initialized once


def test_variable_shape_conflict_between_jobs():
    @flow.global_function()
    def a(x: tp.Numpy.Placeholder((3,))) -> tp.Numpy:
        return x * flow.get_variable("v", shape=(3,), initializer=flow.zeros_initializer())

    @flow.global_function()
    def b(x: tp.Numpy.Placeholder((3,))) -> tp.Numpy:
        return flow.get_variable("v", shape=(4,), initializer=flow.zeros_initializer())

    with pytest.raises(ShapeError, match="already exists with shape"):
        a(np.ones(3, np.float32))


def test_watch_calls_handler_every_run():
    seen = []

    def handler(v: tp.Numpy):
        seen.append(v)

    @flow.global_function()
    def w(x: tp.Numpy.Placeholder((2,))) -> tp.Numpy:
        y = flow.math.relu(x)
        flow.watch(y, handler)
        return y * 2.0

    w(np.array([-1, 1], np.float32))
    w(np.array([3, -3], np.float32))
    np.testing.assert_array_equal(seen[0], [0, 1])
    np.testing.assert_array_equal(seen[1], [3, 0])


def test_function_config_options():
    cfg = flow.function_config()
    cfg.default_data_type(flow.float)
    cfg.default_logical_view(flow.scope.consistent_view())
    cfg.allow_cpu_return_op(True)
    cfg.enable_fuse_model_update_ops(True)
    with pytest.raises(AttributeError, match="no option 'not_an_option'"):
        cfg.not_an_option(1)

    @flow.global_function(function_config=cfg)
    def f(x: tp.Numpy.Placeholder((1,))) -> tp.Numpy:
        assert flow.scope.consistent_view_enabled()
        return x

    cfg.default_logical_view(flow.scope.mirrored_view())  # later changes do not apply
    f(np.ones(1, np.float32))


def test_predict_job_cannot_minimize():
    lr = flow.optimizer.PiecewiseConstantScheduler([], [0.1])

    @flow.global_function(type="predict")
    def p(x: tp.Numpy.Placeholder((2,))) -> tp.Numpy:
        w = flow.get_variable("w", shape=(2,), initializer=flow.zeros_initializer())
        loss = flow.math.reduce_sum(x * w)
        flow.optimizer.Optimizer(lr).minimize(loss)
        return loss

    with pytest.raises(JobDefinitionError, match="predict job"):
        p(np.ones(2, np.float32))


def test_train_job_without_optimizer():
    @flow.global_function(type="train")
    def t(x: tp.Numpy.Placeholder((2,))) -> tp.Numpy:
        w = flow.get_variable("w", shape=(2,), initializer=flow.zeros_initializer())
        return flow.math.reduce_sum(x * w)

    with pytest.raises(JobDefinitionError, match="no optimizer was given"):
        t(np.ones(2, np.float32))


def test_mirrored_view_takes_and_returns_per_device_lists():
    cfg = flow.function_config()
    cfg.default_logical_view(flow.scope.mirrored_view())

    @flow.global_function(function_config=cfg)
    def m(x: tp.ListNumpy.Placeholder((2, 2))) -> tp.ListNumpy:
        assert flow.scope.mirrored_view_enabled()
        return flow.math.relu(x)

    out = m([np.array([[-1, 2], [3, -4]], np.float32)])
    assert isinstance(out, list) and len(out) == 1
    np.testing.assert_array_equal(out[0], [[0, 2], [3, 0]])
    with pytest.raises(FeedError, match="one array per device"):
        m(np.zeros((2, 2), np.float32))
