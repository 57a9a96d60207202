"""Kernel samples of the train ops and of the update ops' extra forms.

See :mod:`tideflow.testing.samples`. The train ops (seed, regularization, clipping,
schedule, step, non-finite count, loss-scale schedule), the row-sparse ``indexed_slices_*``
update ops, and zero-size samples of the dense update ops (the dense samples themselves are
in ``_base``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tideflow import dtypes
from tideflow.optimizer.schedulers import PiecewiseConstantScheduler
from tideflow.testing.samples._common import SampleFn, _lr_step, _n, _pos, _update, sample

_ADAM = {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "weight_decay": 0.01}
_LAMB = {**_ADAM, "epsilon": 1e-6}
#: a large LARS coefficient (and weight decay), so that the trust ratio and the decay move
#: the parameters well above the float32 tolerance (``_base``'s sample uses 0.001).
_LARS = {"beta": 0.9, "epsilon": 1e-9, "weight_decay": 0.05, "lars_coefficient": 0.5}
_RMS = {"decay_rate": 0.99, "epsilon": 1e-8, "weight_decay": 0.0}
#: (rows, columns) of the row-sparse samples' variable; indices with duplicates (2) and
#: out-of-range rows (9, -1), shape (2, 3).
_ROWS = (7, 3)
_INDICES = np.array([[2, 0, 2], [9, -1, 5]], np.int64)


def _regularize(rng: np.random.Generator) -> Any:
    w = _n(rng, 3, 5, 7)
    w[0, 0, :3] = 0.0  # sign(0) = +1
    return sample("l1_l2_regularize", {"l1": 0.01, "l2": 0.005}, [_n(rng, 3, 5, 7), w])


def _not_finite(rng: np.random.Generator) -> Any:
    a, b = _n(rng, 3, 5), _n(rng, 7)
    a[1, 2], a[2, 4], b[3] = np.nan, np.inf, -np.inf
    return sample("count_not_finite", {}, [a, b])


def _schedule(rng: np.random.Generator) -> Any:
    ins = [np.array([0], np.int64), np.array([1024.0]), np.array([4], np.int64),
           np.array([2], np.int64)]  # a good step that completes the period: the scale grows
    return sample("dynamic_loss_scale_schedule", {"increment_period": 5, "multiplier": 2.0},
                  ins)


def _sparse(op: str, attrs: dict[str, Any], slots: Callable[..., list[np.ndarray]],
            indices: np.ndarray = _INDICES) -> SampleFn:
    """A row-sparse update: ``(param, indices, values, *slots, lr, step)``."""
    return lambda rng: sample(op, attrs, [
        _n(rng, *_ROWS), indices.copy(), _n(rng, *indices.shape, _ROWS[1]),
        *slots(rng, _ROWS), *_lr_step()])


_SPARSE: dict[str, tuple[dict[str, Any], Callable[..., list[np.ndarray]]]] = {
    "indexed_slices_sgd_update": ({"weight_decay": 0.01}, lambda r, s: []),
    "indexed_slices_momentum_update": ({"beta": 0.9, "weight_decay": 0.01},
                                       lambda r, s: [_n(r, *s)]),
    "indexed_slices_adam_update": ({**_ADAM, "do_bias_correction": True},
                                   lambda r, s: [_n(r, *s), _pos(r, *s)]),
}

#: op name -> ``fn(rng) -> (attrs, inputs, output metas)``: float64 inputs with odd sizes.
SAMPLES: dict[str, SampleFn] = {
    "fill": lambda rng: sample("fill", {"shape": (3, 5), "dtype": dtypes.float32,
                                        "value": 2.5}, []),
    "l1_l2_regularize": _regularize,
    "clip_by_global_norm": lambda rng: sample("clip_by_global_norm", {"clip_norm": 1.5},
                                              [_n(rng, 3, 5), _n(rng, 7), _n(rng, 2, 3, 3)]),
    "lr_schedule": lambda rng: sample(
        "lr_schedule", {"scheduler": PiecewiseConstantScheduler([2, 5], [0.1, 0.05, 0.01])},
        [np.array([3], np.int64)]),
    "step_increment": lambda rng: sample("step_increment", {},
                                         [np.array([5], np.int64), np.array([0], np.int64)]),
    "count_not_finite": _not_finite,
    "dynamic_loss_scale_schedule": _schedule,
    "lars_update": _update("lars_update", _LARS, lambda r, s: [_n(r, *s)]),
    **{op: _sparse(op, attrs, slots) for op, (attrs, slots) in _SPARSE.items()},
}

#: op name -> a sample with empty arrays, for the ops that allow them.
ZERO_SIZE: dict[str, SampleFn] = {
    "fill": lambda rng: sample("fill", {"shape": (0, 4), "dtype": dtypes.float64,
                                        "value": 1.0}, []),
    "l1_l2_regularize": lambda rng: sample("l1_l2_regularize", {"l1": 0.01, "l2": 0.005},
                                           [_n(rng, 0, 3), _n(rng, 0, 3)]),
    "clip_by_global_norm": lambda rng: sample("clip_by_global_norm", {"clip_norm": 1.5},
                                              [_n(rng, 0, 5), _n(rng, 3)]),
    "count_not_finite": lambda rng: sample("count_not_finite", {}, [_n(rng, 0, 5)]),
    "adam_update": _update("adam_update", {**_ADAM, "do_bias_correction": True},
                           lambda r, s: [_n(r, *s), _pos(r, *s)], (0, 5)),
    "lamb_update": _update("lamb_update", _LAMB, lambda r, s: [
        _n(r, *s), _pos(r, *s), np.array([0.9 ** 3]), np.array([0.999 ** 3])], (0, 5)),
    "lars_update": _update("lars_update", _LARS, lambda r, s: [_n(r, *s)], (0, 5)),
    "rmsprop_update": _update("rmsprop_update", _RMS, lambda r, s: [_pos(r, *s)], (0, 5)),
    "rmsprop_centered_update": _update("rmsprop_centered_update", _RMS,
                                       lambda r, s: [_pos(r, *s), 0.1 * _n(r, *s)], (0, 5)),
    **{op: _sparse(op, attrs, slots, np.zeros((0,), np.int64))
       for op, (attrs, slots) in _SPARSE.items()},
}
