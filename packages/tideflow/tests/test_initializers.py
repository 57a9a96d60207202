"""Initializers and regularizers: shapes, dtypes, statistics, fans, errors.

Statistical checks draw N = 400_000 samples with fixed seeds and accept a sample mean within
6 standard errors (sigma / sqrt(N)) and a sample std within 6 standard errors of the std
(sigma * sqrt((kurtosis - 1) / (4 N)), kurtosis 3 as an upper bound for the shapes used).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tideflow import initializers as init
from tideflow import regularizers
from tideflow.dtypes import float32, float64, int8, int32, int64, uint8
from tideflow.errors import HyperparameterError, ShapeError

N = 400_000
K = 6.0
# std of a standard normal truncated to [-2, 2], in closed form
_PHI2 = math.exp(-2.0) / math.sqrt(2 * math.pi)
_MASS = math.erf(2 / math.sqrt(2))
TRUNC_STD = math.sqrt(1 - 2 * 2 * _PHI2 / _MASS)


def draw(initializer, shape=(N,), dtype=np.float64, seed=0):
    return initializer.generate(shape, np.dtype(dtype), np.random.default_rng(seed))


def check_stats(x, mean, std):
    n = x.size
    x = x.astype(np.float64)
    assert abs(x.mean() - mean) <= K * std / math.sqrt(n), (x.mean(), mean)
    assert abs(x.std() - std) <= K * std * math.sqrt(2 / (4 * n)) + 1e-12, (x.std(), std)


# ---------------------------------------------------------------- shapes and dtypes

ALL = [
    init.constant_initializer(2.5), init.zeros_initializer(), init.ones_initializer(),
    init.random_uniform_initializer(-1, 1), init.random_normal_initializer(),
    init.truncated_normal_initializer(), init.truncated_normal(0.1),
    init.glorot_uniform_initializer(), init.glorot_normal_initializer(),
    init.xavier_uniform_initializer("NCHW"), init.xavier_normal_initializer("NHWC"),
    init.variance_scaling_initializer(), init.kaiming_initializer((4, 3, 2, 2)),
]


@pytest.mark.parametrize("initializer", ALL, ids=repr)
@pytest.mark.parametrize("shape", [(4, 3, 2, 2), (5, 7), (6,), (0, 3)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_generate_shape_dtype_contiguous(initializer, shape, dtype):
    a = draw(initializer, shape, dtype)
    assert a.shape == shape and a.dtype == np.dtype(dtype)
    assert a.flags.c_contiguous and a.flags.owndata and a.flags.writeable
    assert np.all(np.isfinite(a))


def test_generate_accepts_tideflow_dtype_and_scalar_shape():
    a = init.constant_initializer(3.0).generate((), float32, np.random.default_rng(0))
    assert a.shape == () and a.dtype == np.float32 and a == 3.0
    assert draw(init.random_normal_initializer(), (), np.float32).shape == ()


def test_generate_bad_shape():
    with pytest.raises(ShapeError, match=r"shape=\(2, -1\)"):
        draw(init.zeros_initializer(), (2, -1))
    with pytest.raises(ShapeError, match="rank >= 1"):
        draw(init.variance_scaling_initializer(), ())


def test_reprs_are_readable():
    assert repr(init.constant_initializer(2)) == \
        "ConstantInitializer(value=2.0, dtype=tideflow.float32)"
    assert repr(init.xavier_uniform_initializer("NCHW")) == (
        "VarianceScalingInitializer(scale=1.0, mode='fan_avg', distribution='random_uniform', "
        "data_format='channels_first')")
    assert init.truncated_normal(0.1) == init.truncated_normal_initializer(0.0, 0.1)


def test_all_names_exported():
    for name in init.__all__:
        assert callable(getattr(init, name))
    assert init.xavier_uniform_initializer is init.glorot_uniform_initializer
    assert init.xavier_normal_initializer is init.glorot_normal_initializer


# ---------------------------------------------------------------- constants

@pytest.mark.parametrize("dtype", [int8, int32, int64])
def test_constant_int_dtypes(dtype):
    a = draw(init.constant_initializer(7.9, dtype), (3, 2), dtype.np_dtype)
    assert a.dtype == dtype.np_dtype and np.all(a == 7)  # OneFlow: int(value)
    assert np.all(draw(init.zeros_initializer(dtype), (4,), dtype.np_dtype) == 0)
    assert np.all(draw(init.ones_initializer(dtype), (4,), dtype.np_dtype) == 1)


def test_constant_large_int64_exact():
    v = 2**62 + 1
    a = draw(init.constant_initializer(v, int64), (2,), np.int64)
    assert a.tolist() == [v, v]


def test_constant_float_values():
    assert np.all(draw(init.constant_initializer(2.5), (3,), np.float32) == 2.5)
    assert np.all(draw(init.constant_initializer(0.1, float64), (3,)) == 0.1)
    assert np.all(draw(init.ones_initializer(), (2, 2), np.float32) == 1)


@pytest.mark.parametrize("dtype", [uint8, "float16", None])
def test_constant_unsupported_dtype(dtype):
    with pytest.raises(HyperparameterError, match="constant_initializer: `dtype`"):
        init.constant_initializer(1, dtype)


def test_constant_int_out_of_range():
    with pytest.raises(HyperparameterError, match="`value` does not fit int8.*value=300"):
        init.constant_initializer(300, int8)


# ---------------------------------------------------------------- uniform

@pytest.mark.parametrize("lo,hi", [(0, 1), (-3.0, 0.5), (0.1, 0.3)])
def test_uniform_bounds_and_moments(lo, hi):
    a = draw(init.random_uniform_initializer(lo, hi), dtype=np.float32)
    assert a.min() >= np.float32(lo) and a.max() <= np.float32(hi)
    check_stats(a, (lo + hi) / 2, (hi - lo) / math.sqrt(12))


def test_uniform_degenerate_range_is_constant():
    a = draw(init.random_uniform_initializer(0.25, 0.25), (100,))
    assert np.all(a == 0.25)  # high = nextafter(max, inf), clipped: max itself is drawn
    b = draw(init.random_uniform_initializer(0.1, 0.1), (100,), np.float32)
    assert np.all(b == np.float32(0.1))


@pytest.mark.parametrize("dtype", [int8, int32, int64])
def test_uniform_int_dtypes_include_max(dtype):
    a = draw(init.random_uniform_initializer(-2, 3, dtype), (10_000,), dtype.np_dtype)
    assert a.dtype == dtype.np_dtype
    assert set(np.unique(a).tolist()) == {-2, -1, 0, 1, 2, 3}
    b = draw(init.random_uniform_initializer(5, 5, dtype), (10,), dtype.np_dtype)
    assert np.all(b == 5)


def test_uniform_min_gt_max():
    with pytest.raises(HyperparameterError) as e:
        init.random_uniform_initializer(2, 1)
    assert str(e.value) == ("random_uniform_initializer: `minval` must be <= `maxval`; "
                            "received minval=2, maxval=1")


# ---------------------------------------------------------------- normal, truncated

def test_random_normal_moments():
    check_stats(draw(init.random_normal_initializer(1.5, 0.2)), 1.5, 0.2)


def test_random_normal_seed_and_dtype_must_be_none():
    with pytest.raises(ValueError, match="`seed` must be None.*seed=3"):
        init.random_normal_initializer(seed=3)
    with pytest.raises(HyperparameterError, match="`dtype` must be None"):
        init.random_normal_initializer(dtype=float32)


@pytest.mark.parametrize("mean,std", [(0.0, 1.0), (1.0, 0.1), (-2.0, 3.0)])
def test_truncated_normal_bounds_and_std(mean, std):
    a = draw(init.truncated_normal_initializer(mean, std))
    assert np.all(np.abs(a - mean) < 2 * std)
    check_stats(a, mean, std * TRUNC_STD)


def test_truncated_normal_alias_and_closed_form_constant():
    assert math.isclose(TRUNC_STD, 0.87962566103423978, rel_tol=1e-12)
    a = draw(init.truncated_normal(0.1))
    assert np.all(np.abs(a) < 0.2)
    check_stats(a, 0.0, 0.1 * TRUNC_STD)


def test_zero_stddev_gives_mean():
    assert np.all(draw(init.truncated_normal_initializer(0.5, 0.0), (7,)) == 0.5)
    assert np.all(draw(init.random_normal_initializer(0.5, 0.0), (7,)) == 0.5)


@pytest.mark.parametrize("factory", [init.random_normal_initializer,
                                     init.truncated_normal_initializer])
def test_negative_stddev(factory):
    with pytest.raises(HyperparameterError, match=r"`stddev` must be >= 0; received stddev=-1"):
        factory(0.0, -1)


def test_non_finite_and_non_number_args():
    with pytest.raises(HyperparameterError, match="`mean` must be finite; received mean=nan"):
        init.random_normal_initializer(float("nan"))
    with pytest.raises(HyperparameterError, match="`maxval` must be a real number"):
        init.random_uniform_initializer(0, "1")


# ---------------------------------------------------------------- variance scaling and fans

@pytest.mark.parametrize("shape,fmt,fan_in,fan_out", [
    ((10, 20), "", 20, 10),
    ((10, 20), "NCHW", 20, 10),
    ((7,), "", 1, 7),
    # NCHW weight (out=8, in=3, 5, 5): in = 3*5*5, out = 8*5*5
    ((8, 3, 5, 5), "NCHW", 75, 200),
    ((8, 3, 5, 5), "channels_first", 75, 200),
    ((8, 3, 5, 5), "", 75, 200),  # "" with rank > 2: channels-first (documented choice)
    # NHWC weight (out=8, 5, 5, in=3): in = 5*5*3, out = 8*5*5
    ((8, 5, 5, 3), "NHWC", 75, 200),
    ((8, 5, 5, 3), "channels_last", 75, 200),
    # NHWC rule on an asymmetric kernel (8, 2, 4, 3): in = 24, out = 8*2*4 = 64
    ((8, 2, 4, 3), "NHWC", 24, 64),
    # NCHW rule on (8, 2, 4, 3): in = 24, out = 8*4*3 = 96
    ((8, 2, 4, 3), "NCHW", 24, 96),
])
def test_variance_scaling_fans(shape, fmt, fan_in, fan_out):
    fans = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}
    for mode, fan in fans.items():
        vs = init.variance_scaling_initializer(2.0, mode, "random_normal", fmt)
        assert vs.fan(shape) == fan


@pytest.mark.parametrize("distribution", ["truncated_normal", "random_normal",
                                          "random_uniform"])
def test_variance_scaling_distributions(distribution):
    shape = (400, 250, 2, 2)  # NCHW: fan_in 1000, fan_out 1600, fan_avg 1300
    vs = init.variance_scaling_initializer(3.0, "fan_avg", distribution, "NCHW")
    a = draw(vs, shape)
    s = 3.0 / 1300
    if distribution == "truncated_normal":  # std sqrt(s)/0.8796..., truncated at 2 std
        wide = math.sqrt(s) / 0.87962566103423978
        assert np.all(np.abs(a) < 2 * wide)
        check_stats(a, 0.0, wide * TRUNC_STD)
    elif distribution == "random_normal":
        check_stats(a, 0.0, math.sqrt(s))
    else:
        limit = math.sqrt(3 * s)
        assert np.all(np.abs(a) <= limit)
        check_stats(a, 0.0, limit / math.sqrt(3))


def test_glorot_is_variance_scaling_fan_avg():
    assert init.glorot_uniform_initializer("NHWC") == init.variance_scaling_initializer(
        1.0, "fan_avg", "random_uniform", "NHWC")
    assert init.glorot_normal_initializer() == init.variance_scaling_initializer(
        1.0, "fan_avg", "random_normal", "")
    a = draw(init.xavier_uniform_initializer(), (300, 500))  # limit sqrt(6 / 800)
    limit = math.sqrt(6 / 800)
    assert a.min() >= -limit and a.max() <= limit
    check_stats(a, 0.0, limit / math.sqrt(3))


@pytest.mark.parametrize("kwargs,match", [
    ({"mode": "fan_sum"}, "`mode` must be one of .*received mode='fan_sum'"),
    ({"distribution": "gamma"}, "`distribution` must be one of.*distribution='gamma'"),
    ({"data_format": "HWCN"}, "`data_format` must be.*data_format='HWCN'"),
    ({"scale": 0.0}, r"`scale` must be > 0; received scale=0.0"),
])
def test_variance_scaling_bad_args(kwargs, match):
    with pytest.raises(HyperparameterError, match="variance_scaling_initializer: " + match):
        init.variance_scaling_initializer(**kwargs)


# ---------------------------------------------------------------- kaiming

@pytest.mark.parametrize("nonlinearity,slope,gain", [
    (None, 0.0, 1.0), ("sigmoid", 0.0, 1.0), ("tanh", 0.0, 5 / 3), ("relu", 0.0, math.sqrt(2)),
    ("leaky_relu", 0.0, math.sqrt(2)), ("leaky_relu", 0.2, math.sqrt(2 / 1.04)),
])
def test_kaiming_gains(nonlinearity, slope, gain):
    k = init.kaiming_initializer((16, 3, 3, 3), nonlinearity=nonlinearity,
                                 negative_slope=slope)  # NCHW fan_in = 27
    assert isinstance(k, init.RandomNormalInitializer)
    assert k.mean == 0.0 and k.stddev == pytest.approx(gain / math.sqrt(27), rel=1e-15)


def test_kaiming_modes_formats_and_uniform():
    assert init.kaiming_initializer((3, 5), mode="fan_out").stddev == pytest.approx(
        math.sqrt(2 / 3))
    # NHWC (8, 2, 4, 3): fan_out = 8*2*4 = 64; fan_avg with fan_in 24 = 44
    k = init.kaiming_initializer((8, 2, 4, 3), mode="fan_avg", data_format="NHWC")
    assert k.stddev == pytest.approx(math.sqrt(2 / 44))
    u = init.kaiming_initializer((8, 2, 4, 3), "random_uniform", "fan_out", "relu",
                                 data_format="NCHW")  # fan_out 96
    bound = math.sqrt(3) * math.sqrt(2) / math.sqrt(96)
    assert isinstance(u, init.RandomUniformInitializer) and u.dtype == float32
    assert u.minval == pytest.approx(-bound, rel=1e-15) and u.maxval == pytest.approx(bound)
    a = draw(u, (8, 2, 4, 3 * 4000))
    assert np.abs(a).max() <= u.maxval
    check_stats(a, 0.0, math.sqrt(2 / 96))


@pytest.mark.parametrize("kwargs,match", [
    ({"shape": (5,)}, r"`shape` must have rank >= 2.*shape=\(5,\)"),
    ({"shape": (0, 3)}, "`shape` must have rank >= 2"),
    ({"distribution": "truncated_normal"}, "`distribution` must be.*'truncated_normal'"),
    ({"mode": "avg"}, "`mode` must be one of.*mode='avg'"),
    ({"nonlinearity": "gelu"}, "`nonlinearity` must be one of.*nonlinearity='gelu'"),
    ({"data_format": ""}, "`data_format` must be.*data_format=''"),
    ({"negative_slope": float("inf")}, "`negative_slope` must be finite"),
])
def test_kaiming_bad_args(kwargs, match):
    kwargs = {"shape": (4, 4), **kwargs}
    with pytest.raises(HyperparameterError, match="kaiming_initializer: " + match):
        init.kaiming_initializer(**kwargs)


# ---------------------------------------------------------------- determinism

@pytest.mark.parametrize("initializer", ALL[3:], ids=repr)
def test_same_seed_same_values(initializer):
    shape = (4, 3, 2, 2)
    a, b = draw(initializer, shape, seed=42), draw(initializer, shape, seed=42)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, draw(initializer, shape, seed=43))


def test_matches_oneflow_numpy_path():
    # OneFlow's new model I/O: rng.uniform(min, nextafter(max, inf), size) on the flat slice
    rng = np.random.default_rng(7)
    expected = rng.uniform(0.0, np.nextafter(0.5, np.inf), size=6).reshape(2, 3)
    got = draw(init.random_uniform_initializer(0, 0.5), (2, 3), seed=7)
    np.testing.assert_array_equal(got, expected)


# ---------------------------------------------------------------- regularizers

def test_regularizer_factories():
    assert regularizers.l1_l2() == regularizers.Regularizer(0.01, 0.01)
    assert regularizers.l1(0.5) == regularizers.Regularizer(0.5, 0.0)
    assert regularizers.l2(0.25) == regularizers.Regularizer(0.0, 0.25)
    assert regularizers.l1_l2(l1=1, l2=2).l2 == 2.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_regularizer_gradient_closed_form(dtype):
    w = np.array([[-2.0, -0.0, 0.0], [0.5, 3.0, -1e-3]], dtype=dtype)
    reg = regularizers.l1_l2(0.1, 0.2)
    g = reg.gradient(w)
    sign = np.array([[-1, 1, 1], [1, 1, -1]], dtype=np.float64)  # sign(0) = sign(-0) = +1
    np.testing.assert_allclose(g, 0.1 * sign + 0.2 * w.astype(np.float64), rtol=1e-6)
    assert g.dtype == dtype and g.shape == w.shape
    assert regularizers.l1(1.0).gradient(np.zeros(3, dtype)).tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("call,match", [
    (lambda: regularizers.l1_l2(l1=-0.1), r"l1_l2: `l1` must be finite and >= 0; received l1=-0.1"),
    (lambda: regularizers.l2(l=float("inf")), r"l2: `l` must be finite and >= 0; received l=inf"),
    (lambda: regularizers.l1(l="0.1"), r"l1: `l` must be a non-negative real number"),
    (lambda: regularizers.Regularizer(0.1, -1), r"Regularizer: `l2` must be finite"),
])
def test_regularizer_bad_args(call, match):
    with pytest.raises(HyperparameterError, match=match):
        call()
