"""Samples of the first ops covered by the kit (element-wise, nn, updates)."""

from __future__ import annotations

import numpy as np

from tideflow.testing.samples._common import (
    SampleFn,
    _binary,
    _lr_step,  # noqa: F401 - re-exported for area modules
    _n,
    _pos,
    _unary,
    _update,
    sample,
)

_CONV = {"strides": (2, 1), "pads": ((1, 1), (0, 1)), "dilations": (1, 1), "groups": 1,
         "data_format": "NCHW"}
_POOL = {"ksize": (3, 2), "strides": (2, 2), "pads": ((1, 0), (0, 1)), "ceil_mode": False,
         "data_format": "NCHW"}
_ADAM = {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "weight_decay": 0.01}

#: op name -> ``fn(rng) -> (attrs, inputs, output metas)``: float64 inputs with odd sizes.
SAMPLES: dict[str, SampleFn] = {
    **{op: _binary(op) for op in ("add", "subtract", "multiply", "maximum", "minimum")},
    "divide": _binary("divide", _pos),
    **{op: _unary(op) for op in ("negative", "relu", "sigmoid", "tanh", "exp", "square",
                                 "sin", "cos")},
    **{op: _unary(op, _pos) for op in ("log", "sqrt", "rsqrt", "reciprocal")},
    "softmax": lambda rng: sample("softmax", {"axis": -1}, [_n(rng, 3, 7)]),
    "log_softmax": lambda rng: sample("log_softmax", {"axis": 1}, [_n(rng, 5, 3)]),
    "matmul": lambda rng: sample("matmul", {"transpose_a": False, "transpose_b": True},
                                 [_n(rng, 3, 7).T, _n(rng, 5, 3)]),  # a is a transposed view
    "reduce_sum": lambda rng: sample("reduce_sum", {"axis": (0, 2), "keepdims": False},
                                     [_n(rng, 3, 4, 5)]),
    "reduce_max": lambda rng: sample("reduce_max", {"axis": 1, "keepdims": True},
                                     [_n(rng, 3, 4, 5)]),
    "conv2d": lambda rng: sample("conv2d", _CONV, [_n(rng, 2, 3, 7, 6), _n(rng, 4, 3, 3, 2)]),
    "max_pool2d": lambda rng: sample("max_pool2d", _POOL, [_n(rng, 2, 3, 7, 5)]),
    "avg_pool2d": lambda rng: sample("avg_pool2d", _POOL, [_n(rng, 2, 3, 7, 5)]),
    "bias_add": lambda rng: sample("bias_add", {"axis": 1}, [_n(rng, 2, 5, 3), _n(rng, 5)]),
    "sgd_update": _update("sgd_update", {"weight_decay": 0.01}, lambda r, s: []),
    "momentum_update": _update("momentum_update", {"beta": 0.9, "weight_decay": 0.01},
                               lambda r, s: [_n(r, *s)]),
    "adam_update": _update("adam_update", {**_ADAM, "do_bias_correction": True},
                           lambda r, s: [_n(r, *s), _pos(r, *s)]),
    "lamb_update": _update("lamb_update", {**_ADAM, "epsilon": 1e-6}, lambda r, s: [
        _n(r, *s), _pos(r, *s), np.array([0.9 ** 3]), np.array([0.999 ** 3])]),
    "lars_update": _update("lars_update", {"beta": 0.9, "epsilon": 1e-9, "weight_decay": 0.01,
                                           "lars_coefficient": 0.001}, lambda r, s: [_n(r, *s)]),
    "rmsprop_update": _update("rmsprop_update", {"decay_rate": 0.99, "epsilon": 1e-8,
                                                 "weight_decay": 0.0}, lambda r, s: [_pos(r, *s)]),
    "rmsprop_centered_update": _update(
        "rmsprop_centered_update", {"decay_rate": 0.99, "epsilon": 1e-8, "weight_decay": 0.0},
        lambda r, s: [_pos(r, *s), 0.1 * _n(r, *s)]),
}

#: op name -> a sample with empty arrays, for the ops that allow them.
ZERO_SIZE: dict[str, SampleFn] = {
    **{op: _binary(op, shapes=((0, 5), (5,))) for op in ("add", "subtract", "multiply")},
    **{op: _unary(op, shape=(0, 3)) for op in ("relu", "sigmoid", "tanh", "exp", "negative")},
    "softmax": lambda rng: sample("softmax", {"axis": -1}, [_n(rng, 0, 7)]),
    "matmul": lambda rng: sample("matmul", {"transpose_a": False, "transpose_b": False},
                                 [_n(rng, 4, 0), _n(rng, 0, 5)]),  # k = 0: zeros
    "reduce_sum": lambda rng: sample("reduce_sum", {"axis": 0, "keepdims": False},
                                     [_n(rng, 0, 4)]),
    "bias_add": lambda rng: sample("bias_add", {"axis": 1}, [_n(rng, 0, 5, 3), _n(rng, 5)]),
    "sgd_update": _update("sgd_update", {"weight_decay": 0.01}, lambda r, s: [], (0, 5)),
    "momentum_update": _update("momentum_update", {"beta": 0.9, "weight_decay": 0.01},
                               lambda r, s: [_n(r, *s)], (0, 5)),
}
