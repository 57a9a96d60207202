"""Ops of ops/math_unary.py, ops/reduce.py and ops/array.py against NumPy formulas.

Forward results are compared with float64 NumPy expressions written here, gradients with
central finite differences (``check_grad``, float64, rtol 1e-5 unless stated), and bad
arguments must raise errors that name the op and the shapes.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from tideflow import dtypes
from tideflow.compiler.autodiff import gradients
from tideflow.errors import ShapeError
from tideflow.ops import array as arr
from tideflow.ops import math as tm
from tideflow.ops import math_unary as mu
from tideflow.ops import reduce as red
from tideflow.testing.ops import check_grad, run_graph


def rand(shape: tuple[int, ...], lo: float = -1.0, hi: float = 1.0, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(lo, hi, shape)


def run1(fn, *arrays):
    (out,) = run_graph(fn, list(arrays))
    return out


def grad_of(fn, x: np.ndarray) -> np.ndarray:
    """d(sum(fn(x)))/dx as computed by the gradient rules."""
    return run1(lambda b: gradients([fn(b)], [arr.ones_like(fn(b))], [b])[0], x)


def shapes_in(msg_parts: list[str]) -> str:
    return ".*".join(re.escape(p) for p in msg_parts)


# ---------------------------------------------------------------- unary

UNARY = [
    # name, fn, reference, (lo, hi) domain
    ("exp", mu.exp, np.exp, (-1, 1)),
    ("log", mu.log, np.log, (0.5, 2)),
    ("sqrt", mu.sqrt, np.sqrt, (0.5, 2)),
    ("rsqrt", mu.rsqrt, lambda x: 1 / np.sqrt(x), (0.5, 2)),
    ("square", mu.square, np.square, (-1, 1)),
    ("abs", mu.abs, np.abs, (-1, 1)),
    ("sign", mu.sign, np.sign, (-1, 1)),
    ("reciprocal", mu.reciprocal, lambda x: 1 / x, (0.5, 2)),
    ("reciprocal_no_nan", mu.reciprocal_no_nan, lambda x: 1 / x, (0.5, 2)),
    ("floor", mu.floor, np.floor, (-3, 3)),
    ("ceil", mu.ceil, np.ceil, (-3, 3)),
    ("round", mu.round, np.rint, (-3, 3)),
    ("sin", mu.sin, np.sin, (-3, 3)),
    ("cos", mu.cos, np.cos, (-3, 3)),
    ("log1p", mu.log1p, np.log1p, (-0.5, 1)),
    ("expm1", mu.expm1, np.expm1, (-1, 1)),
]


@pytest.mark.parametrize("name,fn,ref,dom", UNARY, ids=[u[0] for u in UNARY])
def test_unary_forward_and_grad(name, fn, ref, dom):
    x = rand((2, 3), *dom)
    out = run1(fn, x)
    assert out.shape == (2, 3) and out.dtype == np.float64
    np.testing.assert_allclose(out, ref(x), rtol=1e-12)
    out32 = run1(fn, x.astype(np.float32))
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, ref(x), rtol=1e-5, atol=1e-6)
    check_grad(fn, [x])


@pytest.mark.parametrize("name,fn", [(u[0], u[1]) for u in UNARY if u[0] not in
                                     ("square", "abs", "sign")])
def test_float_unary_rejects_integers(name, fn):
    with pytest.raises(ShapeError, match=shapes_in([f"({name})", "int32", "(2, 3) int32"])):
        run1(fn, np.ones((2, 3), np.int32))


def test_integer_friendly_unary():
    x = np.array([[-3, 0, 2]], np.int32)
    np.testing.assert_array_equal(run1(mu.abs, x), [[3, 0, 2]])
    np.testing.assert_array_equal(run1(mu.square, x), [[9, 0, 4]])
    np.testing.assert_array_equal(run1(mu.sign, x), [[-1, 0, 1]])


def test_reciprocal_no_nan_and_round_edges():
    x = np.array([0.0, 2.0, -4.0, 0.5, 1.5, 2.5, -0.5])
    np.testing.assert_array_equal(run1(mu.reciprocal_no_nan, x)[:3], [0.0, 0.5, -0.25])
    np.testing.assert_array_equal(run1(mu.round, x)[3:], [0.0, 2.0, 2.0, -0.0])  # half to even
    assert run1(mu.reciprocal, x)[0] == np.inf  # no warning escapes (warnings are errors)
    assert np.isnan(run1(mu.log, np.array([-1.0]))[0])


# ---------------------------------------------------------------- pow, mod, clip

BINARY = [
    # name, fn, reference, a (shape, domain), b (shape, domain)
    ("pow", mu.pow, np.power, ((2, 3), (0.5, 2)), ((3,), (-2, 2))),
    ("pow_bcast", mu.pow, np.power, ((2, 1), (0.5, 2)), ((1, 3), (-2, 2))),
    ("mod", mu.mod, np.mod, ((2, 3), (2.2, 2.8)), ((3,), (1.0, 1.05))),
    ("mod_negative", mu.mod, np.mod, ((2, 3), (-2.8, -2.2)), ((2, 3), (1.0, 1.05))),
]


@pytest.mark.parametrize("name,fn,ref,a,b", BINARY, ids=[b[0] for b in BINARY])
def test_binary_forward_and_grad(name, fn, ref, a, b):
    x, y = rand(a[0], *a[1], seed=1), rand(b[0], *b[1], seed=2)
    out = run1(fn, x, y)
    np.testing.assert_allclose(out, ref(x, y), rtol=1e-12)
    assert out.shape == np.broadcast_shapes(x.shape, y.shape)
    check_grad(fn, [x, y])


def test_pow_grad_of_exponent_is_zero_for_nonpositive_base():
    x, y = np.array([0.0, -1.0, 2.0]), np.array([2.0, 2.0, 2.0])
    g = run1(lambda a, b: gradients([mu.pow(a, b)], [arr.ones_like(a)], [b])[0], x, y)
    np.testing.assert_allclose(g, [0.0, 0.0, 4 * np.log(2.0)])


SCALAR = [
    # name, fn of one blob, reference, domain
    ("pow_2", lambda x: mu.pow(x, 2), lambda x: x**2, (-1, 1)),
    ("pow_half", lambda x: mu.pow(x, 0.5), np.sqrt, (0.5, 2)),
    ("pow_neg", lambda x: mu.pow(x, -1.5), lambda x: x**-1.5, (0.5, 2)),
    ("pow_0", lambda x: mu.pow(x, 0), np.ones_like, (0.5, 2)),
    ("rpow", lambda x: mu.pow(2.0, x), lambda x: 2.0**x, (-1, 1)),
    ("mod_scalar", lambda x: mu.mod(x, 1.5), lambda x: np.mod(x, 1.5), (0.1, 1.4)),
    ("mod_neg_scalar", lambda x: mu.mod(x, -1.5), lambda x: np.mod(x, -1.5), (0.1, 1.4)),
    ("rmod_scalar", lambda x: mu.mod(5.0, x), lambda x: np.mod(5.0, x), (2.1, 2.4)),
    ("clip", lambda x: mu.clip_by_value(x, -0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5), (-1, 1)),
    ("clip_min", lambda x: mu.clip_by_value(x, min_value=0.1), lambda x: np.maximum(x, 0.1),
     (-1, 1)),
    ("clip_max", lambda x: mu.clip_by_value(x, max_value=0.1), lambda x: np.minimum(x, 0.1),
     (-1, 1)),
]


@pytest.mark.parametrize("name,fn,ref,dom", SCALAR, ids=[s[0] for s in SCALAR])
def test_scalar_ops_forward_and_grad(name, fn, ref, dom):
    x = rand((3, 4), *dom, seed=3)
    x[np.abs(np.abs(x) - 0.5) < 1e-3] = 0.3  # keep clipping points away from the kinks
    x[np.abs(x - 0.1) < 1e-3] = 0.3
    np.testing.assert_allclose(run1(fn, x), ref(x), rtol=1e-12)
    check_grad(fn, [x])


def test_integer_scalar_ops():
    x = np.array([-3, -1, 0, 4, 7], np.int32)
    np.testing.assert_array_equal(run1(lambda b: mu.pow(b, 2), x), x**2)
    np.testing.assert_array_equal(run1(lambda b: mu.mod(b, 3), x), np.mod(x, 3))
    np.testing.assert_array_equal(run1(lambda b: mu.clip_by_value(b, 0, 5), x), np.clip(x, 0, 5))
    with pytest.raises(ShapeError, match=shapes_in(["(scalar_pow)", "exponent", "(5,) int32"])):
        run1(lambda b: mu.pow(b, -1), x)
    with pytest.raises(ShapeError, match=shapes_in(["(clip_by_value)", "0.5", "(5,) int32"])):
        run1(lambda b: mu.clip_by_value(b, 0.5), x)


@pytest.mark.parametrize("call,err,pattern", [
    (lambda x, y: mu.pow(x, y), ShapeError, ["(pow)", "(2, 3) and (4,)"]),
    (lambda x, y: mu.mod(x, y), ShapeError, ["(mod)", "(2, 3) and (4,)"]),
    (lambda x, y: mu.clip_by_value(x), ValueError, ["cannot both be None"]),
    (lambda x, y: mu.pow(2, 3), TypeError, ["math.pow", "int and int"]),
], ids=["pow_shapes", "mod_shapes", "clip_no_bounds", "pow_two_scalars"])
def test_binary_bad_arguments(call, err, pattern):
    with pytest.raises(err, match=shapes_in(pattern)):
        run1(call, np.ones((2, 3)), np.ones(4))


# ---------------------------------------------------------------- comparisons

CMP = [("equal", mu.equal, np.equal), ("not_equal", mu.not_equal, np.not_equal),
       ("less", mu.less, np.less), ("less_equal", mu.less_equal, np.less_equal),
       ("greater", mu.greater, np.greater), ("greater_equal", mu.greater_equal, np.greater_equal)]


@pytest.mark.parametrize("name,fn,ref", CMP, ids=[c[0] for c in CMP])
def test_comparisons(name, fn, ref):
    x = np.array([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]])
    y = np.array([1.0, 1.0, 1.0])
    for out, want in [(run1(fn, x, y), ref(x, y)),
                      (run1(lambda a: fn(a, 1), x), ref(x, 1.0)),
                      (run1(lambda a: fn(1.0, a), x), ref(1.0, x))]:
        assert out.dtype == np.int8 and out.shape == (2, 3)
        np.testing.assert_array_equal(out, want.astype(np.int8))
    xi = x.astype(np.int32)
    np.testing.assert_array_equal(run1(lambda a: fn(a, 1), xi), ref(xi, 1).astype(np.int8))
    with pytest.raises(ShapeError, match=shapes_in([f"({name})", "float64 and int32"])):
        run1(fn, x, xi)
    with pytest.raises(ShapeError, match=shapes_in([f"({name})", "(2, 3) and (2,)"])):
        run1(fn, x, np.ones(2))
    with pytest.raises(TypeError, match="does not fit the integer blob"):
        run1(lambda a: fn(a, 0.5), xi)


def test_comparison_mask_passes_no_gradient():
    x = rand((3, 4), seed=4)

    def fn(b):
        return tm.multiply(b, arr.cast(mu.greater(b, 0.0), dtypes.float64))

    np.testing.assert_allclose(run1(fn, x), x * (x > 0))
    check_grad(fn, [x])


# ---------------------------------------------------------------- reductions

REDUCE = [
    ("reduce_max", red.reduce_max, np.max),
    ("reduce_min", red.reduce_min, np.min),
    ("reduce_prod", red.reduce_prod, np.prod),
    ("reduce_logsumexp", red.reduce_logsumexp,
     lambda x, axis, keepdims: np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))),
    ("reduce_euclidean_norm", red.reduce_euclidean_norm,
     lambda x, axis, keepdims: np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims))),
    ("reduce_variance", red.reduce_variance, np.var),
    ("reduce_std", red.reduce_std, np.std),
]
AXES = [None, 1, -1, (0, 2), [0, 1, 2]]


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("name,fn,ref", REDUCE, ids=[r[0] for r in REDUCE])
def test_reductions(name, fn, ref, axis, keepdims):
    x = rand((2, 3, 4), 0.5, 1.5, seed=5)
    out = run1(lambda b: fn(b, axis=axis, keepdims=keepdims), x)
    npaxis = tuple(axis) if isinstance(axis, list) else axis
    want = np.asarray(ref(x, axis=npaxis, keepdims=keepdims))
    want = want.reshape(want.shape or (1,))  # no 0-d blobs
    assert out.shape == want.shape
    np.testing.assert_allclose(out, want, rtol=1e-12)
    check_grad(lambda b: fn(b, axis=axis, keepdims=keepdims), [x])


@pytest.mark.parametrize("fn,pos", [(red.reduce_max, 3.0), (red.reduce_min, -1.0)])
def test_extremum_gradient_splits_ties(fn, pos):
    x = np.array([[pos, 0.5, pos, pos], [1.0, 2.0, -0.5, 0.0]])
    g = grad_of(lambda b: fn(b, axis=1), x)
    want = np.zeros_like(x)
    want[0, [0, 2, 3]] = 1 / 3
    want[1, 1 if pos > 0 else 2] = 1.0
    np.testing.assert_allclose(g, want)


def test_reduce_prod_gradient_with_zeros():
    x = np.array([[0.0, 2.0, 3.0], [0.0, 0.0, 5.0], [1.5, -2.0, 0.5]])
    np.testing.assert_allclose(grad_of(lambda b: red.reduce_prod(b, axis=1), x),
                               [[6, 0, 0], [0, 0, 0], [-1, 0.75, -3]])
    check_grad(lambda b: red.reduce_prod(b, axis=1), [x])
    check_grad(lambda b: red.reduce_prod(b, axis=(0, 1)), [x[2:] + 1])


@pytest.mark.parametrize("fn,ref", [(red.reduce_any, np.any), (red.reduce_all, np.all)])
@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.float32])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_reduce_any_all(fn, ref, dtype, axis):
    x = np.array([[0, 1, 2], [0, 0, 3]], dtype)
    out = run1(lambda b: fn(b, axis=axis), x)
    assert out.dtype == np.int8
    np.testing.assert_array_equal(out, np.atleast_1d(ref(x, axis=axis)).astype(np.int8))


@pytest.mark.parametrize("fn,ref", [(red.argmax, np.argmax), (red.argmin, np.argmin)])
@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_arg_extremum(fn, ref, axis):
    x = np.array([[1.0, 3.0, 3.0], [2.0, -1.0, -1.0]])  # ties: the first index wins
    out = run1(lambda b: fn(b, axis=axis), x)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, ref(x, axis=axis))
    assert run1(lambda b: fn(b), np.array([1.0, 5.0, 2.0])).shape == (1,)


@pytest.mark.parametrize("k", [1, 2, 4, 9])
def test_top_k(k):
    x = np.array([[1.0, 3.0, 2.0, 3.0], [0.0, -1.0, 5.0, 4.0]])
    out = run1(lambda b: red.top_k(b, k=k), x)
    assert out.dtype == np.int32 and out.shape == (2, min(k, 4))
    order = np.array([sorted(range(4), key=lambda j, r=r: (-r[j], j)) for r in x])
    np.testing.assert_array_equal(out, order[:, :k])


@pytest.mark.parametrize("call,pattern", [
    (lambda b: red.reduce_max(b, axis=3),
     ["(reduce_max)", "axis=3", "rank 3", "(2, 3, 4) float64"]),
    (lambda b: red.reduce_prod(b, axis=(0, -4)), ["(reduce_prod)", "axis=-4"]),
    (lambda b: red.argmax(b, axis=5), ["(argmax)", "axis=5", "(2, 3, 4) float64"]),
    (lambda b: red.top_k(b, k=0), ["(top_k)", "k must be a positive int", "(2, 3, 4) float64"]),
    (lambda b: red.reduce_logsumexp(arr.cast(b, dtypes.int32)), ["(reduce_logsumexp)", "int32"]),
], ids=["max_axis", "prod_axis", "argmax_axis", "top_k_k", "logsumexp_int"])
def test_reduction_bad_arguments(call, pattern):
    with pytest.raises(ShapeError, match=shapes_in(pattern)):
        run1(call, np.ones((2, 3, 4)))


# ---------------------------------------------------------------- array ops

SHAPE_OPS = [
    # name, fn, reference, input shape
    ("reshape", lambda b: arr.reshape(b, (3, -1)), lambda x: x.reshape(3, -1), (2, 3, 2)),
    ("transpose", lambda b: arr.transpose(b, (2, 0, 1)), lambda x: x.transpose(2, 0, 1), (2, 3, 4)),
    ("transpose_neg", lambda b: arr.transpose(b, [-1, 0, 1]), lambda x: x.transpose(2, 0, 1),
     (2, 3, 4)),
    ("transpose_none", lambda b: arr.transpose(b), lambda x: x.T, (2, 3, 4)),
    ("flatten", arr.flatten, lambda x: x.reshape(-1), (2, 3, 4)),
    ("flatten_1", lambda b: arr.flatten(b, start_dim=1), lambda x: x.reshape(2, -1), (2, 3, 4)),
    ("flatten_mid", lambda b: arr.flatten(b, 1, -2), lambda x: x.reshape(2, 3, 2), (2, 3, 1, 2)),
    ("squeeze", arr.squeeze, lambda x: x.reshape(2, 3), (2, 1, 3, 1)),
    ("squeeze_1", lambda b: arr.squeeze(b, [1]), lambda x: x.reshape(2, 3, 1), (2, 1, 3, 1)),
    ("squeeze_all", arr.squeeze, lambda x: x.reshape(1), (1, 1)),
    ("expand_dims_0", lambda b: arr.expand_dims(b, 0), lambda x: x[None], (2, 3)),
    ("expand_dims_m1", lambda b: arr.expand_dims(b, -1), lambda x: x[..., None], (2, 3)),
    ("expand_dims_1", lambda b: arr.expand_dims(b, 1), lambda x: x[:, None], (2, 3)),
    ("identity", arr.identity, lambda x: x, (2, 3)),
    ("broadcast_like_axes", lambda b: arr.broadcast_like(b, arr.constant(0.0, dtypes.float64,
                                                                      (2, 3, 4)), [0, 2]),
     lambda x: np.broadcast_to(x[None, :, None], (2, 3, 4)), (3,)),
    ("broadcast_like_kept", lambda b: arr.broadcast_like(b, arr.constant(0.0, dtypes.float64,
                                                                      (2, 3)), [0]),
     lambda x: np.broadcast_to(x, (2, 3)), (1, 3)),
    ("broadcast_like_none", lambda b: arr.broadcast_like(b, arr.constant(0.0, dtypes.float64,
                                                                      (2, 3))),
     lambda x: np.broadcast_to(x, (2, 3)), (3,)),
    ("stack_0", lambda b: arr.stack([b, tm.scalar_mul(b, 2.0)], 0), lambda x: np.stack([x, 2 * x]),
     (2, 3)),
    ("stack_m1", lambda b: arr.stack([b, b, b], -1), lambda x: np.stack([x] * 3, -1), (2, 3)),
]


@pytest.mark.parametrize("name,fn,ref,shape", SHAPE_OPS, ids=[s[0] for s in SHAPE_OPS])
def test_shape_ops_forward_and_grad(name, fn, ref, shape):
    x = rand(shape, seed=6)
    out = run1(fn, x)
    want = ref(x)
    assert out.shape == want.shape
    np.testing.assert_array_equal(out, want)
    check_grad(fn, [x])


SLICES = [
    # begin, size, numpy index of a (4, 5) array
    ([0, 1], [2, 3], np.s_[0:2, 1:4]),
    ([None, 2], [None, -1], np.s_[:, 2:]),
    ([1, -2], [-1, 1], np.s_[1:, 3:4]),
    ([-3, -2], [2, 2], np.s_[1:3, 3:5]),  # OneFlow would compute an empty stop here
    ([2, 3], [4, 5], np.s_[2:, 3:]),  # sizes past the end are clipped
]


@pytest.mark.parametrize("begin,size,index", SLICES, ids=[str(s[:2]) for s in SLICES])
def test_slice(begin, size, index):
    x = rand((4, 5), seed=7)

    def fn(b):
        return arr.slice(b, begin, size)

    np.testing.assert_array_equal(run1(fn, x), x[index])
    check_grad(fn, [x])


@pytest.mark.parametrize("begin,size,pattern", [
    ([0], [1, 1], ["(slice)", "one entry per axis", "(4, 5)"]),
    ([4, 0], [1, 1], ["(slice)", "4 is out of range", "(4, 5) float64"]),
    ([0, -6], [1, 1], ["(slice)", "-6 is out of range"]),
    ([0, 0], [0, 1], ["(slice)", "0 is invalid", "(4, 5) float64"]),
    ([0, 0], [1, 6], ["(slice)", "6 is invalid"]),
])
def test_slice_bad_arguments(begin, size, pattern):
    with pytest.raises(ShapeError, match=shapes_in(pattern)):
        run1(lambda b: arr.slice(b, begin, size), np.ones((4, 5)))


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concat(axis):
    xs = [rand((2, 3), seed=8), rand((2, 3), seed=9), rand((2, 3), seed=10)]

    def fn(a, b, c):
        return arr.concat([a, b, c], axis=axis)

    np.testing.assert_array_equal(run1(fn, *xs), np.concatenate(xs, axis=axis))
    check_grad(fn, xs)


def test_split_gradient_fills_unused_parts():
    x = rand((2, 5), seed=11)

    def fn(b):  # only the middle part of a split reaches the output
        parts = arr.slice(b, [0, 0], [2, 2]), arr.slice(b, [0, 2], [2, 3])
        return arr.concat([parts[1], parts[0]], axis=1)

    check_grad(fn, [x])


@pytest.mark.parametrize("call,err,pattern", [
    (lambda a, b: arr.concat([a, b], axis=1), ShapeError,
     ["(concat)", "except on axis 1", "(3, 2) and (2, 3)", "(2, 3) float64", "(3, 2) float64"]),
    (lambda a, b: arr.concat([a, a], axis=2), ShapeError, ["(concat)", "axis=2", "rank 2"]),
    (lambda a, b: arr.concat([a, a], max_dim_size=3), ShapeError,
     ["concat at", "max_dim_size=3", "size 4"]),
    (lambda a, b: arr.concat([]), ValueError, ["non-empty"]),
    (lambda a, b: arr.transpose(a, (0, 0)), ShapeError,
     ["(transpose)", "perm=(0, 0)", "(2, 3)", "(2, 3) float64"]),
    (lambda a, b: arr.transpose(a, conjugate=True), ValueError,
     ["conjugate=True", "not supported by tideflow", "conjugate=False"]),
    (lambda a, b: arr.reshape(a, (4, 2)), ShapeError, ["(reshape)", "(2, 3)", "(4, 2)"]),
    (lambda a, b: arr.reshape(a, (0, 6)), ShapeError, ["reshape at", "positive or -1"]),
    (lambda a, b: arr.squeeze(a, 0), ShapeError, ["squeeze at", "axis=0", "(2, 3)"]),
    (lambda a, b: arr.expand_dims(a, 3), ShapeError, ["expand_dims at", "axis=3", "[-3, 2]"]),
    (lambda a, b: arr.flatten(a, 1, 0), ShapeError, ["flatten at", "start_dim=1, end_dim=0"]),
    (lambda a, b: arr.broadcast_like(b, a, [1]), ShapeError,
     ["broadcast_like at", "(3, 2)", "broadcast_axes=(1,)", "(3, 2) float64"]),
    (lambda a, b: arr.broadcast_like(b, a), ShapeError, ["cannot broadcast (3, 2) to (2, 3)"]),
], ids=["concat_shapes", "concat_axis", "concat_max_dim", "concat_empty", "perm", "conjugate",
        "reshape", "reshape_zero", "squeeze", "expand_dims", "flatten", "broadcast_like_axes",
        "broadcast_like"])
def test_array_bad_arguments(call, err, pattern):
    with pytest.raises(err, match=shapes_in(pattern)):
        run1(call, np.ones((2, 3)), np.ones((3, 2)))


def test_single_input_concat_and_same_dtype_cast_are_no_ops():
    def fn(b):
        assert arr.concat([b]) is b and arr.cast(b, np.float64) is b
        return arr.identity(b)

    run1(fn, np.ones(2))


@pytest.mark.parametrize("src,dst,values", [
    (np.float64, dtypes.float32, [1.5, -2.25, 3.0]),
    (np.float64, dtypes.int32, [1.7, -2.7, 3.0]),  # truncates toward zero
    (np.int32, dtypes.float64, [1, -2, 3]),
    (np.int32, dtypes.int8, [1, -2, 3]),
])
def test_cast_forward(src, dst, values):
    x = np.array(values, src)
    out = run1(lambda b: arr.cast(b, dst), x)
    assert out.dtype == dst.np_dtype
    np.testing.assert_array_equal(out, x.astype(dst.np_dtype))


def test_cast_gradients():
    x = rand((2, 3), seed=12)
    g = grad_of(lambda b: arr.cast(b, dtypes.float32), x)
    assert g.dtype == np.float64
    np.testing.assert_array_equal(g, np.ones((2, 3)))
    x = rand((2, 3), -3, 3, seed=13)

    def fn(b):  # the integer path passes no gradient: d/dx [x * trunc(x)] = trunc(x)
        return tm.multiply(b, arr.cast(arr.cast(b, dtypes.int32), dtypes.float64))

    check_grad(fn, [x])


@pytest.mark.parametrize("call,shape,dtype,value", [
    (lambda b: arr.constant(2.5, dtypes.float32), (1,), np.float32, 2.5),
    (lambda b: arr.constant(7, dtypes.int32, [2, 3]), (2, 3), np.int32, 7),
    (lambda b: arr.constant(1.9, np.int64, (2,)), (2,), np.int64, 1),
    (lambda b: arr.constant_like(b, 4), (2, 3), np.float64, 4.0),
    (lambda b: arr.constant_like(b, 4, dtypes.int8), (2, 3), np.int8, 4),
    (lambda b: arr.zeros_like(b), (2, 3), np.float64, 0.0),
    (lambda b: arr.ones_like(b, dtype=dtypes.int32), (2, 3), np.int32, 1),
])
def test_constants(call, shape, dtype, value):
    out = run1(call, np.full((2, 3), 9.0))
    assert out.shape == shape and out.dtype == dtype
    np.testing.assert_array_equal(out, np.full(shape, value, dtype))


def test_constant_bad_value():
    with pytest.raises(TypeError, match="constant: value must be a Python int or float"):
        run1(lambda b: arr.constant([1.0, 2.0], dtypes.float32), np.ones(1))


@pytest.mark.parametrize("axis,dtype,on,off", [(-1, None, 1, 0), (0, dtypes.int32, 5, -1),
                                               (1, dtypes.float64, 1.5, 0.5)])
def test_one_hot(axis, dtype, on, off):
    idx = np.array([[0, 3, 1], [2, 4, -1]], np.int32)  # 4 and -1 are out of range
    out = run1(lambda b: arr.one_hot(b, 4, on, off, axis=axis, dtype=dtype), idx)
    want = np.where(idx[..., None] == np.arange(4), on, off)
    want = np.moveaxis(want, -1, axis)
    assert out.dtype == (dtype or dtypes.float32).np_dtype and out.shape == want.shape
    np.testing.assert_array_equal(out, want)


@pytest.mark.parametrize("axis,idx", [
    (0, np.array([2, 0, 2, 1], np.int32)),
    (1, np.array([[1, 1], [0, 2]], np.int64)),
    (-1, np.array([2], np.int32)),
])
def test_gather(axis, idx):
    params = rand((3, 3, 2), seed=14) if axis != -1 else rand((3, 4), seed=14)
    ax = axis % params.ndim

    def fn(p, i):
        return arr.gather(p, i, axis=axis)

    np.testing.assert_array_equal(run1(fn, params, idx), np.take(params, idx, axis=ax))
    check_grad(fn, [params, idx], wrt=[0])  # repeated indices: the gradient scatter-adds


def test_gather_out_of_range_gives_zeros():
    params = rand((3, 2), seed=15)
    out = run1(lambda p, i: arr.gather(p, i), params, np.array([1, 3, -1], np.int32))
    np.testing.assert_array_equal(out, [params[1], [0, 0], [0, 0]])


@pytest.mark.parametrize("call,pattern", [
    (lambda p, i: arr.gather(p, p), ["(gather)", "indices must be an integer", "float64"]),
    (lambda p, i: arr.gather(p, i, axis=2), ["(gather)", "axis=2", "(3, 2) float64"]),
    (lambda p, i: arr.one_hot(p, 3), ["(one_hot)", "indices must be an integer", "(3, 2) float64"]),
    (lambda p, i: arr.where(p, p, p), ["(where)", "condition must be an integer"]),
    (lambda p, i: arr.where(i, arr.transpose(p), p), ["(where)", "(2,) and (2, 3)", "(2,) int32"]),
], ids=["gather_float_indices", "gather_axis", "one_hot_float", "where_float", "where_shapes"])
def test_index_bad_arguments(call, pattern):
    with pytest.raises(ShapeError, match=shapes_in(pattern)):
        run1(call, np.ones((3, 2)), np.ones(2, np.int32))


def test_gather_batch_dims_unsupported():
    with pytest.raises(ValueError, match=shapes_in(["batch_dims=1", "not supported by tideflow",
                                                    "batch_dims=0"])):
        run1(lambda p, i: arr.gather(p, i, batch_dims=1), np.ones((3, 2)), np.ones(2, np.int32))


@pytest.mark.parametrize("cshape,xshape,yshape", [((2, 3), (2, 3), (2, 3)),
                                                  ((2, 1), (2, 3), (3,)),
                                                  ((3,), (2, 1), (1,))])
def test_where(cshape, xshape, yshape):
    cond = (rand(cshape, seed=16) > 0).astype(np.int8)
    x, y = rand(xshape, seed=17), rand(yshape, seed=18)

    def fn(a, b, c):
        return arr.where(c, a, b)

    np.testing.assert_array_equal(run1(fn, x, y, cond), np.where(cond != 0, x, y))
    check_grad(fn, [x, y, cond], wrt=[0, 1])


def test_where_scalar_operand_and_argwhere():
    cond = np.array([1, 0, 2], np.int32)
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(run1(lambda c, a: arr.where(c, a, 0.0), cond, x), [1, 0, 3])
    with pytest.raises(ValueError, match=shapes_in(["x=None and y=None", "not supported by "
                                                    "tideflow", "argwhere", "Pass both"])):
        run1(lambda c, a: arr.where(c), cond, x)
    with pytest.raises(ValueError, match="both x and y"):
        run1(lambda c, a: arr.where(c, a), cond, x)


@pytest.mark.parametrize("alias,target", [
    ("broadcast_add", tm.add), ("broadcast_sub", tm.subtract), ("broadcast_mul", tm.multiply),
    ("broadcast_div", tm.divide), ("broadcast_maximum", tm.maximum),
    ("broadcast_minimum", tm.minimum), ("broadcast_floor_mod", mu.mod),
    ("broadcast_equal", mu.equal), ("broadcast_not_equal", mu.not_equal),
    ("broadcast_less", mu.less), ("broadcast_less_equal", mu.less_equal),
    ("broadcast_greater", mu.greater), ("broadcast_greater_equal", mu.greater_equal),
])
def test_broadcast_aliases(alias, target):
    assert getattr(arr, alias) is target and alias in arr.__all__


def test_blob_operators_dispatch_to_these_ops():
    x = np.array([[0.5, 1.0, 2.0]])
    y = np.array([[1.0], [2.0]])
    def ops(a, b):
        return (a < 1, 1 < a, a == b, a != 1, a >= b, a > b, a <= 2,  # noqa: SIM300
                a % 0.75, a**2, a**b, a % b)

    outs = run_graph(ops, [x, y])
    wants = [x < 1, x > 1, x == y, x != 1, x >= y, x > y, x <= 2,
             np.mod(x, 0.75), x**2, x**y, np.mod(x, y)]
    for out, want in zip(outs, wants):
        np.testing.assert_allclose(out, want.astype(out.dtype))


def test_module_all_lists_are_public_functions():
    for mod in (mu, red, arr):
        for name in mod.__all__:
            assert callable(getattr(mod, name)) and getattr(mod, name).__doc__, name
