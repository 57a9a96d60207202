"""Kernel samples of the structure ops (see :mod:`tideflow.testing.samples`).

Reductions, index ops, array and selection ops, matmul and the losses. Ops that pass no
gradient (``reduce_any``, ``argmax``, ``top_k``, ``constant_like``, ...) take integer inputs,
so that their gradient check has nothing to differentiate; ties and repeated indices are
built in where the op defines how they resolve.
"""

from __future__ import annotations

import numpy as np

from tideflow import dtypes
from tideflow.testing.samples._common import Sample, SampleFn, _n, _pos, sample


def _ints(rng: np.random.Generator, lo: int, hi: int, *shape: int,
          dtype: type = np.int32) -> np.ndarray:
    return rng.integers(lo, hi, shape).astype(dtype)


def _ties(rng: np.random.Generator, *shape: int) -> np.ndarray:
    """Float64 small integers: many equal values."""
    return rng.integers(-2, 3, shape).astype(np.float64)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _reduce(op: str, axis: object, keepdims: bool, x: SampleFn) -> SampleFn:
    return lambda rng: sample(op, {"axis": axis, "keepdims": keepdims}, [x(rng)])


def _extremum_grad(rng: np.random.Generator, shape: tuple[int, ...] = (3, 4, 5)) -> Sample:
    x = _ties(rng, *shape)
    y = x.max(axis=(1, 2)) if x.size else np.zeros(shape[0])
    return sample("reduce_extremum_grad", {"axis": (1, 2)}, [x, y, _n(rng, *y.shape)])


def _prod_grad(rng: np.random.Generator) -> Sample:
    x = _pos(rng, 3, 4, 5)
    x[0, 1, 2] = 0.0  # one zero in a group
    x[1, 0, 3] = x[1, 2, 3] = 0.0  # two zeros in a group
    return sample("reduce_prod_grad", {"axis": (1,)}, [x, _n(rng, 3, 5)])


def _slice_attrs(shape: tuple[int, ...] | None = None) -> dict:
    attrs: dict = {"begin": (1, None, -3), "size": (2, -1, 2)}
    return attrs if shape is None else {**attrs, "shape": shape}


def _labels(rng: np.random.Generator, m: int, classes: int) -> np.ndarray:
    return _ints(rng, 0, classes, m)


def _gather_idx(rng: np.random.Generator) -> np.ndarray:
    return np.array([[2, -1, 0], [2, 4, 2]], np.int32)  # out of range: -1, 4; repeats: 2


#: op name -> ``fn(rng) -> (attrs, inputs, output metas)``: float64 inputs with odd sizes.
SAMPLES: dict[str, SampleFn] = {
    # ---------------------------------------------------------------- reductions
    "reduce_sum_to": lambda rng: sample("reduce_sum_to", {"shape": (4, 1, 3)},
                                        [_n(rng, 2, 4, 5, 3)]),
    "reduce_min": _reduce("reduce_min", (0, 2), False, lambda r: _n(r, 3, 4, 5)),
    "reduce_prod": _reduce("reduce_prod", (0, 2), True, lambda r: _pos(r, 3, 5, 2)),
    "reduce_any": _reduce("reduce_any", 2, True, lambda r: _ints(r, 0, 4, 3, 4, 5)),
    "reduce_all": _reduce("reduce_all", (0, 2), False, lambda r: _ints(r, 0, 9, 3, 4, 5)),
    "reduce_logsumexp": _reduce("reduce_logsumexp", (1,), False,
                                lambda r: 3 * _n(r, 3, 4, 5)),
    "reduce_extremum_grad": _extremum_grad,
    "reduce_prod_grad": _prod_grad,
    "argmax": lambda rng: sample("argmax", {"axis": 1}, [_ints(rng, -2, 3, 3, 4, 5)]),
    "argmin": lambda rng: sample("argmin", {"axis": -1}, [_ints(rng, -2, 3, 3, 4, 5)]),
    "top_k": lambda rng: sample("top_k", {"k": 4, "sorted": True},
                                [_ints(rng, -2, 3, 3, 4, 9)]),
    # ---------------------------------------------------------------- array
    "reshape": lambda rng: sample("reshape", {"shape": (5, -1)}, [_n(rng, 3, 5, 2)]),
    "broadcast_to": lambda rng: sample("broadcast_to", {"shape": (3, 4, 5)}, [_n(rng, 4, 1)]),
    "transpose": lambda rng: sample("transpose", {"perm": (2, 0, 1)}, [_n(rng, 3, 4, 5)]),
    "concat": lambda rng: sample("concat", {"axis": 1},
                                 [_n(rng, 3, 2, 5), _n(rng, 3, 4, 5), _n(rng, 3, 1, 5)]),
    "split": lambda rng: sample("split", {"axis": 1, "sizes": (2, 3, 1)}, [_n(rng, 3, 6, 5)]),
    "slice": lambda rng: sample("slice", _slice_attrs(), [_n(rng, 4, 5, 7)]),
    "slice_grad": lambda rng: sample("slice_grad", _slice_attrs((4, 5, 7)), [_n(rng, 2, 5, 2)]),
    "cast": lambda rng: sample("cast", {"dtype": dtypes.float64}, [_n(rng, 3, 5)]),
    "constant": lambda rng: sample("constant", {"value": 2.5, "dtype": dtypes.float32,
                                                "shape": (3, 5)}, []),
    "constant_like": lambda rng: sample("constant_like", {"value": 1.5, "dtype": dtypes.float64},
                                        [_ints(rng, 0, 5, 3, 5)]),
    "identity": lambda rng: sample("identity", {}, [_n(rng, 3, 5, 7)]),
    "copy": lambda rng: sample("copy", {}, [_n(rng, 3, 5, 7)]),
    "where": lambda rng: sample("where", {}, [_ints(rng, 0, 2, 3, 1, 5, dtype=np.int8),
                                              _n(rng, 4, 5), _n(rng, 3, 4, 1)]),
    "where_grad": lambda rng: sample("where_grad", {}, [_ints(rng, 0, 2, 3, 1, 5, dtype=np.int8),
                                                        _n(rng, 3, 4, 5)]),
    "one_hot": lambda rng: sample("one_hot", {"depth": 4, "axis": 1, "dtype": dtypes.float32,
                                              "on_value": 2.0, "off_value": -1.0},
                                  [_ints(rng, -1, 5, 3, 5)]),  # -1 and 4 are out of range
    "gather": lambda rng: sample("gather", {"axis": 1}, [_n(rng, 5, 4, 3), _gather_idx(rng)]),
    "gather_grad": lambda rng: sample("gather_grad", {"axis": 1, "shape": (5, 4, 3)},
                                      [_n(rng, 5, 2, 3, 3), _gather_idx(rng)]),
    # ---------------------------------------------------------------- losses
    "sparse_softmax_cross_entropy": lambda rng: sample(
        "sparse_softmax_cross_entropy", {}, [_labels(rng, 7, 5), 3 * _n(rng, 7, 5)]),
    "sparse_softmax_cross_entropy_grad": lambda rng: sample(
        "sparse_softmax_cross_entropy_grad", {},
        [_softmax(_n(rng, 7, 5)), _labels(rng, 7, 5), _n(rng, 7)]),
    "softmax_cross_entropy": lambda rng: sample(
        "softmax_cross_entropy", {}, [_pos(rng, 3, 2, 5), 3 * _n(rng, 3, 2, 5)]),
    "softmax_cross_entropy_grad": lambda rng: sample(
        "softmax_cross_entropy_grad", {},
        [_softmax(_n(rng, 7, 5)), _pos(rng, 7, 5), _n(rng, 7)]),
    "softmax_cross_entropy_label_grad": lambda rng: sample(
        "softmax_cross_entropy_label_grad", {}, [3 * _n(rng, 7, 5), _n(rng, 7)]),
    "sigmoid_cross_entropy": lambda rng: sample(
        "sigmoid_cross_entropy", {}, [rng.uniform(0, 1, (3, 5, 7)), 4 * _n(rng, 3, 5, 7)]),
    "sigmoid_cross_entropy_grad": lambda rng: sample(
        "sigmoid_cross_entropy_grad", {},
        [rng.uniform(0, 1, (3, 5, 7)), 4 * _n(rng, 3, 5, 7), _n(rng, 3, 5, 7)]),
}

#: op name -> a sample with empty arrays, for the ops that allow them.
ZERO_SIZE: dict[str, SampleFn] = {
    "reduce_sum_to": lambda rng: sample("reduce_sum_to", {"shape": (4, 1)}, [_n(rng, 0, 4, 3)]),
    "reduce_max": _reduce("reduce_max", 1, False, lambda r: _n(r, 0, 4)),
    "reduce_min": _reduce("reduce_min", 1, True, lambda r: _n(r, 0, 4)),
    "reduce_prod": _reduce("reduce_prod", 1, False, lambda r: _n(r, 4, 0)),  # empty -> 1
    "reduce_any": _reduce("reduce_any", 1, False, lambda r: _ints(r, 0, 2, 3, 0)),
    "reduce_all": _reduce("reduce_all", 1, False, lambda r: _ints(r, 0, 2, 3, 0)),
    "reduce_logsumexp": _reduce("reduce_logsumexp", 1, False, lambda r: _n(r, 0, 4)),
    "reduce_extremum_grad": lambda rng: _extremum_grad(rng, (0, 4, 5)),
    "reduce_prod_grad": lambda rng: sample("reduce_prod_grad", {"axis": (1,)},
                                           [_n(rng, 4, 0), _n(rng, 4)]),
    "argmax": lambda rng: sample("argmax", {"axis": 1}, [_ints(rng, 0, 3, 0, 4)]),
    "argmin": lambda rng: sample("argmin", {"axis": 0}, [_ints(rng, 0, 3, 4, 0)]),
    "top_k": lambda rng: sample("top_k", {"k": 2, "sorted": True}, [_ints(rng, 0, 3, 0, 5)]),
    "reshape": lambda rng: sample("reshape", {"shape": (3, 0)}, [_n(rng, 0, 3)]),
    "broadcast_to": lambda rng: sample("broadcast_to", {"shape": (0, 5)}, [_n(rng, 0, 1)]),
    "transpose": lambda rng: sample("transpose", {"perm": (1, 2, 0)}, [_n(rng, 0, 3, 2)]),
    "concat": lambda rng: sample("concat", {"axis": 1}, [_n(rng, 3, 0), _n(rng, 3, 2)]),
    "split": lambda rng: sample("split", {"axis": 1, "sizes": (0, 4)}, [_n(rng, 3, 4)]),
    "cast": lambda rng: sample("cast", {"dtype": dtypes.int32}, [_n(rng, 0, 3)]),
    "constant": lambda rng: sample("constant", {"value": 1.0, "dtype": dtypes.float64,
                                                "shape": (0, 3)}, []),
    "constant_like": lambda rng: sample("constant_like", {"value": 3, "dtype": dtypes.int32},
                                        [_n(rng, 0, 3)]),
    "identity": lambda rng: sample("identity", {}, [_n(rng, 0, 3)]),
    "copy": lambda rng: sample("copy", {}, [_n(rng, 0, 3)]),
    "where": lambda rng: sample("where", {}, [_ints(rng, 0, 2, 0, 1, dtype=np.int8),
                                              _n(rng, 0, 5), _n(rng, 5)]),
    "where_grad": lambda rng: sample("where_grad", {}, [_ints(rng, 0, 2, 0, 1, dtype=np.int8),
                                                        _n(rng, 0, 5)]),
    "one_hot": lambda rng: sample("one_hot", {"depth": 4, "axis": -1, "dtype": dtypes.float64,
                                              "on_value": 1.0, "off_value": 0.0},
                                  [_ints(rng, 0, 4, 0, 3)]),
    "gather": lambda rng: sample("gather", {"axis": 0}, [_n(rng, 4, 3),
                                                         np.zeros(0, np.int32)]),
    "gather_grad": lambda rng: sample("gather_grad", {"axis": 0, "shape": (4, 3)},
                                      [_n(rng, 0, 3), np.zeros(0, np.int32)]),
    "sparse_softmax_cross_entropy_grad": lambda rng: sample(
        "sparse_softmax_cross_entropy_grad", {},
        [_n(rng, 0, 5), np.zeros(0, np.int32), _n(rng, 0)]),
    "softmax_cross_entropy": lambda rng: sample(
        "softmax_cross_entropy", {}, [_n(rng, 0, 5), _n(rng, 0, 5)]),
    "softmax_cross_entropy_grad": lambda rng: sample(
        "softmax_cross_entropy_grad", {}, [_n(rng, 0, 5), _n(rng, 0, 5), _n(rng, 0)]),
    "softmax_cross_entropy_label_grad": lambda rng: sample(
        "softmax_cross_entropy_label_grad", {}, [_n(rng, 0, 5), _n(rng, 0)]),
    "sigmoid_cross_entropy": lambda rng: sample(
        "sigmoid_cross_entropy", {}, [_n(rng, 0, 3), _n(rng, 0, 3)]),
    "sigmoid_cross_entropy_grad": lambda rng: sample(
        "sigmoid_cross_entropy_grad", {}, [_n(rng, 0, 3), _n(rng, 0, 3), _n(rng, 0, 3)]),
}
