"""Shared fixtures: a fresh session per test and a small two-variable train job."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tideflow as flow
import tideflow.typing as tp

#: Shapes of the job's two variables.
W_SHAPE, B_SHAPE = (10,), (2, 3)


@pytest.fixture(autouse=True)
def fresh_session():
    """Clear the default session before and after each test."""
    flow.clear_default_session()
    yield
    flow.clear_default_session()


def snapshot() -> dict[str, np.ndarray]:
    """Every variable, slot and counter of the session, copied as float64."""
    return {name: np.array(v.numpy(), dtype=np.float64)
            for name, v in flow.get_all_variables().items()}


def run_job(make_optimizer: Callable[[], Any], steps: int = 12, feed_scale: float = 1.0,
            b_regularizer: Any = None, seed: int = 0
            ) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[dict[str, np.ndarray]]]:
    """Train ``loss = mean(w * mask) + mean(b * b * x)`` for ``steps`` steps.

    ``w`` (10,) and ``b`` (2, 3) start uniform in [-1, 1]; ``mask`` and ``x`` are fresh
    U(0, feed_scale) draws each step (all seeded by ``seed``), so dloss/dw = mask/10 and
    dloss/db = 2*b*x/6.

    Returns:
        The feeds as float64 (rounded through float32, as fed), and ``steps + 1`` snapshots
        of every variable: before the first step, then after each step.
    """

    @flow.global_function(type="train")
    def train(mask: tp.Numpy.Placeholder(W_SHAPE), x: tp.Numpy.Placeholder(B_SHAPE)
              ) -> tp.Numpy:
        w = flow.get_variable("w", shape=W_SHAPE,
                              initializer=flow.random_uniform_initializer(-1, 1),
                              random_seed=seed)
        b = flow.get_variable("b", shape=B_SHAPE,
                              initializer=flow.random_uniform_initializer(-1, 1),
                              regularizer=b_regularizer, random_seed=seed + 1)
        loss = flow.math.reduce_mean(w * mask) + flow.math.reduce_mean(b * b * x)
        make_optimizer().minimize(loss)
        return loss

    rng = np.random.default_rng(seed)
    feeds = [(rng.uniform(0, feed_scale, W_SHAPE).astype(np.float32),
              rng.uniform(0, feed_scale, B_SHAPE).astype(np.float32)) for _ in range(steps)]
    snaps = [snapshot()]
    for mask, x in feeds:
        train(mask, x)
        snaps.append(snapshot())
    return [(m.astype(np.float64), x.astype(np.float64)) for m, x in feeds], snaps


@pytest.fixture
def train_job() -> Callable[..., Any]:
    """:func:`run_job`, as a fixture (test modules do not import conftest)."""
    return run_job


@pytest.fixture
def variables_now() -> Callable[[], dict[str, np.ndarray]]:
    """:func:`snapshot`, as a fixture."""
    return snapshot
