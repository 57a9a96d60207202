"""Shared helpers for kernel samples: random inputs and :func:`sample`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tideflow.dtypes import as_dtype
from tideflow.framework.graph import TensorMeta
from tideflow.plugins.registry import get_registry

#: ``(attrs, input arrays, output metas)`` of one call of an op.
Sample = tuple[dict[str, Any], list[np.ndarray], list[TensorMeta]]
SampleFn = Callable[[np.random.Generator], Sample]

def out_metas(op: str, attrs: dict[str, Any], ins: list[np.ndarray]) -> list[TensorMeta]:
    """The output metas of ``op`` on ``ins``, from the op's own shape inference."""
    metas = [TensorMeta(tuple(a.shape), as_dtype(a.dtype)) for a in ins]
    out = get_registry().op(op).infer(attrs, *metas)
    return list(out) if isinstance(out, tuple) else [out]


def sample(op: str, attrs: dict[str, Any], ins: list[np.ndarray]) -> Sample:
    """Build a :data:`Sample` (the output metas come from the op's inference)."""
    return attrs, ins, out_metas(op, attrs, ins)


def _n(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape)


def _pos(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.uniform(0.5, 2.0, shape)


def _lr_step(step: int = 3) -> list[np.ndarray]:
    return [np.array([0.1], np.float32), np.array([step], np.int64)]


def _binary(op: str, b: Callable[..., np.ndarray] = _n, shapes: Any = ((3, 1, 5), (4, 5))
            ) -> SampleFn:
    return lambda rng: sample(op, {}, [_n(rng, *shapes[0]), b(rng, *shapes[1])])


def _unary(op: str, x: Callable[..., np.ndarray] = _n, shape: Any = (3, 5, 7)) -> SampleFn:
    return lambda rng: sample(op, {}, [x(rng, *shape)])


def _update(op: str, attrs: dict[str, Any], slots: Any, shape: Any = (3, 5)) -> SampleFn:
    """An update op: ``(param, grad, *slots, lr, step)``; ``slots(rng, shape)`` -> arrays."""
    return lambda rng: sample(op, attrs, [_n(rng, *shape), _n(rng, *shape),
                                          *slots(rng, shape), *_lr_step()])
