"""Kernel samples of the elementwise ops (see :mod:`tideflow.testing.samples`).

Covers the broadcasting binary ops (several broadcast patterns: scalar operands, rows,
columns, interleaved dims), the scalar-attribute ops, comparisons (with ties), the unary
math functions and the activations with their gradients. Samples stay away from the
points where an op's gradient jumps (0 for reciprocal, halves for round ...) because the
gradient checks take finite differences on them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tideflow.testing.samples._common import SampleFn, _binary, _n, _pos, _unary, sample

_COMPARE = ("equal", "not_equal", "less", "less_equal", "greater", "greater_equal")


def _signed(rng: np.random.Generator, *shape: int) -> np.ndarray:
    """Magnitudes in [0.5, 2] with random signs (safe divisors)."""
    return rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def _wide(rng: np.random.Generator, *shape: int) -> np.ndarray:
    """Values in [-6, 7) at least 0.1 away from the integers and the half-integers."""
    frac = rng.uniform(0.1, 0.4, shape) + rng.choice([0.0, 0.5], shape)
    return rng.integers(-6, 7, shape) + frac


def _ties(rng: np.random.Generator, *shape: int) -> np.ndarray:
    """Small integers as floats, so that comparisons and max/min see ties."""
    return rng.integers(-2, 3, shape).astype(np.float64)


def _ints(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.integers(-2, 3, shape)


def _two(op: str, x: Any, dy: Any = _n, shape: tuple = (3, 5, 7),
         attrs: dict | None = None) -> SampleFn:
    """A same-shape ``(x or y, dy)`` gradient op."""
    return lambda rng: sample(op, attrs or {}, [x(rng, *shape), dy(rng, *shape)])


def _minmax_masks(rng: np.random.Generator) -> Any:
    a, b = _ties(rng, 3, 1, 5), _ties(rng, 4, 5)
    return sample("minmax_grad_masks", {}, [a, b, np.maximum(a, b)])


def _pow_grad(rng: np.random.Generator) -> Any:
    x, y = _n(rng, 3, 1, 5), _n(rng, 4, 5)  # x <= 0 too: NaN powers, 0 log-gradients
    with np.errstate(all="ignore"):
        z = np.power(x, y)
    return sample("pow_grad", {}, [x, y, z, _n(rng, 3, 4, 5)])


def _softmax_like(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.uniform(0.01, 1.0, shape)


def _log_softmax_like(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return -rng.uniform(0.1, 4.0, shape)


def _softmax(op: str, axis: int, *shape: int, x: Any = _n, dy: Any = None) -> SampleFn:
    if dy is None:
        return lambda rng: sample(op, {"axis": axis}, [x(rng, *shape)])
    return lambda rng: sample(op, {"axis": axis}, [x(rng, *shape), dy(rng, *shape)])


#: op name -> ``fn(rng) -> (attrs, inputs, output metas)``: float64 inputs with odd sizes.
SAMPLES: dict[str, SampleFn] = {
    "add": _binary("add"),  # rows and columns: (3,1,5) + (4,5)
    "subtract": _binary("subtract", shapes=((3, 5, 7), (1,))),  # scalar right operand
    "multiply": _binary("multiply", shapes=((1,), (3, 5, 7))),  # scalar left operand
    "divide": _binary("divide", _signed, shapes=((3, 5, 7), (5, 1))),
    "maximum": _binary("maximum", shapes=((2, 1, 4, 1, 3), (3, 1, 5, 3))),  # rank 5 pattern
    "minimum": _binary("minimum", shapes=((3, 5, 7), (3, 5, 7))),
    "minmax_grad_masks": _minmax_masks,
    "scalar_add": lambda rng: sample("scalar_add", {"value": 0.7}, [_n(rng, 3, 5, 7)]),
    "scalar_mul": lambda rng: sample("scalar_mul", {"value": -1.3}, [_n(rng, 3, 5, 7)]),
    "add_n": lambda rng: sample("add_n", {}, [_n(rng, 3, 5, 7) for _ in range(3)]),
    "pow": lambda rng: sample("pow", {}, [_pos(rng, 3, 1, 5), _n(rng, 4, 5)]),
    "pow_grad": _pow_grad,
    "scalar_pow": lambda rng: sample("scalar_pow", {"exponent": 2.5}, [_pos(rng, 3, 5, 7)]),
    "scalar_rpow": lambda rng: sample("scalar_rpow", {"base": 1.7}, [_n(rng, 3, 5, 7)]),
    "mod": lambda rng: sample("mod", {}, [_wide(rng, 3, 1, 5), _signed(rng, 4, 5)]),
    "scalar_mod": lambda rng: sample("scalar_mod", {"value": -0.7}, [_wide(rng, 3, 5, 7)]),
    "clip_by_value": lambda rng: sample("clip_by_value", {"min": -0.5, "max": 0.8},
                                        [_n(rng, 3, 5, 7)]),
    "clip_by_value_grad": _two("clip_by_value_grad", _n, attrs={"min": -0.5, "max": None}),
    # int64 operands: comparisons pass no gradient, and a gradient check on floating
    # operands fails with "no gradient reaches inputs"; with integer operands it has
    # nothing to probe. Float comparisons: the zero-size samples below, and the ops' own
    # tests (test_ops_math_array) run on every backend.
    **{op: (lambda rng, op=op: sample(op, {}, [_ints(rng, 3, 1, 5), _ints(rng, 4, 5)]))
       for op in _COMPARE},
    **{op: _unary(op, _wide) for op in ("abs", "sign", "floor", "ceil", "round")},
    "reciprocal_no_nan": _unary("reciprocal_no_nan", _signed),
    "log1p": _unary("log1p", lambda rng, *s: rng.uniform(-0.5, 2.0, s)),
    "expm1": _unary("expm1"),
    "relu_grad": _two("relu_grad", lambda rng, *s: np.maximum(_n(rng, *s), 0)),
    "sigmoid_grad": _two("sigmoid_grad", _softmax_like),
    "tanh_grad": _two("tanh_grad", lambda rng, *s: rng.uniform(-1.0, 1.0, s)),
    "softmax": _softmax("softmax", 1, 3, 5, 4),  # a middle axis: (outer, n, inner)
    "softmax_grad": _softmax("softmax_grad", 1, 3, 5, 4, x=_softmax_like, dy=_n),
    "log_softmax_grad": _softmax("log_softmax_grad", -1, 4, 7, x=_log_softmax_like, dy=_n),
    "leaky_relu": lambda rng: sample("leaky_relu", {"alpha": 0.2}, [_n(rng, 3, 5, 7)]),
    "leaky_relu_grad": _two("leaky_relu_grad", _n, attrs={"alpha": 0.3}),
    "relu6": _unary("relu6", lambda rng, *s: 4 * rng.standard_normal(s)),
    "relu6_grad": _two("relu6_grad", lambda rng, *s: np.clip(4 * _n(rng, *s), 0, 6)),
}

_EMPTY = (0, 3)

#: op name -> a sample with empty arrays, for the ops that allow them.
ZERO_SIZE: dict[str, SampleFn] = {
    **{op: _binary(op, shapes=((0, 5), (5,)))
       for op in ("divide", "maximum", "minimum", "mod", *_COMPARE)},
    "pow": _binary("pow", _pos, shapes=((0, 5), (1,))),
    "minmax_grad_masks": lambda rng: sample("minmax_grad_masks", {},
                                            [_n(rng, 0, 5), _n(rng, 5), _n(rng, 0, 5)]),
    "pow_grad": lambda rng: sample("pow_grad", {}, [_n(rng, 0, 5), _n(rng, 1), _n(rng, 0, 5),
                                                    _n(rng, 0, 5)]),
    "add_n": lambda rng: sample("add_n", {}, [_n(rng, *_EMPTY), _n(rng, *_EMPTY)]),
    **{op: (lambda rng, op=op, attrs=attrs: sample(op, attrs, [_n(rng, *_EMPTY)]))
       for op, attrs in (("scalar_add", {"value": 1.0}), ("scalar_mul", {"value": 2.0}),
                         ("scalar_pow", {"exponent": 2}), ("scalar_rpow", {"base": 2.0}),
                         ("scalar_mod", {"value": 3.0}),
                         ("clip_by_value", {"min": 0.0, "max": None}),
                         ("leaky_relu", {"alpha": 0.1}))},
    **{op: _unary(op, shape=_EMPTY) for op in (
        "log", "sqrt", "rsqrt", "square", "abs", "sign", "reciprocal", "reciprocal_no_nan",
        "floor", "ceil", "round", "sin", "cos", "log1p", "expm1", "relu6")},
    **{op: _two(op, _n, shape=_EMPTY) for op in (
        "relu_grad", "sigmoid_grad", "tanh_grad", "relu6_grad")},
    "clip_by_value_grad": _two("clip_by_value_grad", _n, shape=_EMPTY,
                               attrs={"min": None, "max": 1.0}),
    "leaky_relu_grad": _two("leaky_relu_grad", _n, shape=_EMPTY, attrs={"alpha": 0.1}),
    "log_softmax": _softmax("log_softmax", 1, 0, 4),
    "softmax_grad": _softmax("softmax_grad", 0, 3, 0, dy=_n),
    "log_softmax_grad": _softmax("log_softmax_grad", -1, 0, 7, dy=_n),
}
