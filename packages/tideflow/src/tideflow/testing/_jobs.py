"""The small train job every optimizer check runs, its data, and float comparisons."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

import tideflow as flow
import tideflow.typing as tp

#: The job's variables and their shapes (also the shapes of the fed ``x`` and ``y``).
SHAPES: dict[str, tuple[int, ...]] = {"w": (3, 4), "b": (5,)}
_SW, _SB = SHAPES.values()  # module globals: the job's annotations are evaluated here
#: Absolute tolerance added to the case's rtol (for values that cross zero).
ATOL = 1e-6


def const(lr: float) -> Any:
    """A constant learning-rate schedule."""
    return flow.optimizer.PiecewiseConstantScheduler([], [lr])


def initial() -> dict[str, np.ndarray]:
    """Fixed parameters with magnitudes in [0.5, 1.5] and both signs."""
    rng = np.random.default_rng(1234)
    return {n: (rng.uniform(0.5, 1.5, s) * rng.choice([-1.0, 1.0], s)).astype(np.float32)
            for n, s in SHAPES.items()}


def feeds(seed: int) -> list[np.ndarray]:
    """Random ``x`` and ``y`` (the gradients of the linear loss) for one step."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(np.float32) for s in SHAPES.values()]


def start(cls: type, kwargs: Mapping[str, Any], sched: Any, quadratic: bool = False,
          backend: str | None = None) -> Callable[..., Any]:
    """Open a fresh session, define the job and set its parameters; return the job.

    The job minimizes with ``cls(sched, **kwargs)``; setting the parameters to
    :func:`initial` starts the session.

    The loss is ``sum(w * x) + sum(b * y)``, or ``sum((w - x)^2) + sum((b - y)^2)`` when
    ``quadratic``. ``backend`` is selected for the ``cpu`` device tag.
    """
    flow.clear_default_session()
    config = flow.function_config()
    if backend is not None:
        flow.config.backend(cpu=backend)
        # A backend need not cover every op: ops it has no kernel for run the NumPy
        # reference, so the comparison exercises exactly the kernels it does have.
        config.allow_reference_fallback(True)

    @flow.global_function(type="train", function_config=config)
    def conformance_job(x: tp.Numpy.Placeholder(_SW), y: tp.Numpy.Placeholder(_SB)) -> tp.Numpy:
        w = flow.get_variable("w", shape=_SW, initializer=flow.zeros_initializer())
        b = flow.get_variable("b", shape=_SB, initializer=flow.zeros_initializer())
        if quadratic:
            loss = flow.math.reduce_sum((w - x) * (w - x)) + flow.math.reduce_sum(
                (b - y) * (b - y))
        else:
            loss = flow.math.reduce_sum(w * x) + flow.math.reduce_sum(b * y)
        cls(sched, **kwargs).minimize(loss)
        return loss

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*running the NumPy reference kernel")
        flow.load_variables(initial())
    return conformance_job


def state() -> dict[str, np.ndarray]:
    """A copy of every variable of the session (parameters, slots, step counter)."""
    return {n: v.numpy() for n, v in flow.get_all_variables().items()}


def close(what: str, actual: np.ndarray, expected: np.ndarray, rtol: float) -> None:
    """Raise AssertionError naming ``what`` unless the arrays agree at ``rtol`` / :data:`ATOL`."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    if actual.shape != expected.shape:
        raise AssertionError(f"{what}: shape {actual.shape}, expected {expected.shape}")
    bad = ~np.isclose(actual, expected, rtol=rtol, atol=ATOL)
    if bad.any():
        i = np.unravel_index(int(np.argmax(bad)), bad.shape)
        rel = np.abs(actual - expected) / np.maximum(np.abs(expected), 1e-300)
        raise AssertionError(
            f"{what}: {int(bad.sum())}/{bad.size} elements differ (rtol={rtol}, atol={ATOL}); "
            f"at {tuple(int(k) for k in i)}: got {float(actual[i])!r}, expected "
            f"{float(expected[i])!r}; "
            f"max relative error {float(np.max(rel)):.3g}")


def step_counter(state: Mapping[str, Any]) -> str:
    """The name of the job's train-step counter variable."""
    names = [n for n in state if n.startswith("System-Train-TrainStep-")]
    if len(names) != 1:
        raise AssertionError(f"expected one train-step counter variable; found {names}")
    return names[0]
