"""Run every benchmark in this folder (``nox -s bench``); each prints its own table.

Order: the fused optimizer step against torch.optim and the roofline, LeNet against PyTorch
CPU (both orders), the per-call overhead, the demo's epoch per backend, checkpoint I/O.

Each runs in a fresh process, so that no benchmark inherits another's thread pools (numba's
threading layer is fixed by the first parallel kernel a process compiles).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

RUNS = [
    ["optimizer_step.py"],
    ["lenet_vs_torch.py", "--order", "interleaved"],
    ["lenet_vs_torch.py", "--order", "blocks"],
    ["overhead.py"],
    ["demo_epoch.py"],
    ["checkpoint_io.py"],
]

if __name__ == "__main__":
    for script, *args in RUNS:
        subprocess.run([sys.executable, str(HERE / script), *args], check=True)
