"""Per-call overhead of a trivial predict job (``x + 1`` on shape (1,)), per CPU backend.

A call validates the argument, copies it into the feed buffer, runs the plan (one kernel)
and returns a fresh NumPy array, so this is the fixed cost a job call adds to its kernels.
PyTorch's eager ``x + 1`` on a 1-element tensor (a new tensor per call) is measured in the
same process for scale. Median of ``--repeat`` rounds of ``--calls`` calls each.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import numpy as np

import tideflow as flow
import tideflow.typing as tp


def _per_call(fn: Any, arg: Any, calls: int) -> float:
    t0 = time.perf_counter()
    for _ in range(calls):
        fn(arg)
    return (time.perf_counter() - t0) / calls


def job_for(backend: str) -> Any:
    """The trivial predict job on ``backend`` (its own session), built and warmed up."""
    from tideflow import session as _session

    sess = _session.Session()
    old = _session._default
    _session._default = sess
    try:
        flow.config.backend(cpu=backend)

        @flow.global_function(type="predict")
        def plus_one(x: tp.Numpy.Placeholder((1,))) -> tp.Numpy:
            return x + 1

        plus_one(np.zeros(1, np.float32))
    finally:
        _session._default = old

    def call(x: np.ndarray) -> np.ndarray:
        prev = _session._default
        _session._default = sess
        try:
            return plus_one(x)
        finally:
            _session._default = prev

    return call


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Print microseconds per call for each backend and for torch; return them."""
    import torch

    from tideflow.plugins.registry import get_registry

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    reg = get_registry()
    backends = [n for n, s in sorted(reg.backends.items())
                if s.device == "cpu" and reg.backend_available(n)[0]]
    calls = {b: job_for(b) for b in backends}
    x = np.zeros(1, np.float32)
    tx = torch.zeros(1)
    results: dict[str, list[float]] = {b: [] for b in backends}
    results["torch x + 1"] = []
    for _ in range(args.repeat):
        for b in backends:
            results[b].append(_per_call(calls[b], x, args.calls))
        results["torch x + 1"].append(_per_call(lambda t: t + 1, tx, args.calls))
    med = {k: statistics.median(v) * 1e6 for k, v in results.items()}
    print(f"\n== per-call overhead of a trivial predict job (x + 1, shape (1,)), median of "
          f"{args.repeat} x {args.calls} calls ==")
    for k, us in med.items():
        print(f"  {k:<12} {us:7.2f} us per call")
    return med


if __name__ == "__main__":
    main()
