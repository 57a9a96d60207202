"""Wall time of one demo epoch (LeNet on MNIST, 600 steps of batch 100) per CPU backend.

Runs ``examples/lenet_mnist.py --epochs 1`` in a fresh process per backend
(``TIDEFLOW_CPU_BACKEND``) and reads the epoch time it prints. The numba backend runs once
before the timed runs so that its kernels come from numba's on-disk cache, as they do for a
user after the first run; the backends alternate ``--rounds`` times and the medians are
compared (NumPy reference time / numba time).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parent.parent / "examples" / "lenet_mnist.py"


def epoch_seconds(backend: str, limit: int = 0) -> float:
    """Run the demo for one epoch on ``backend``; return the epoch's wall time."""
    env = {**os.environ, "TIDEFLOW_CPU_BACKEND": backend}
    cmd = [sys.executable, str(DEMO), "--epochs", "1"] + (["--limit", str(limit)] if limit else [])
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    found = re.search(r"epoch 1: ([0-9.]+) s", out)
    if found is None:
        raise RuntimeError(f"no epoch time in the demo's output:\n{out}")
    return float(found.group(1))


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Print the epoch time per backend and the speed-up of numba over the reference."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="steps per epoch (0: all 600)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating runs per backend")
    args = parser.parse_args(argv)
    epoch_seconds("numba", 5)  # fill numba's cache
    runs: dict[str, list[float]] = {"numba": [], "numpy": []}
    for _ in range(args.rounds):  # alternate, so both see the same machine state
        for b in runs:
            runs[b].append(epoch_seconds(b, args.limit))
    times = {b: statistics.median(v) for b, v in runs.items()}
    print(f"\n== demo epoch (LeNet/MNIST, {args.limit or 600} steps, median of "
          f"{args.rounds} alternating runs) ==")
    for b, t in times.items():
        print(f"  {b:<6} {t:6.1f} s")
    print(f"  numba is {times['numpy'] / times['numba']:.2f}x faster than the NumPy reference")
    return times


if __name__ == "__main__":
    main()
