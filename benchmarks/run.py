"""Run every benchmark in this folder (``nox -s bench``); each prints its own table.

Order: the fused optimizer step against torch.optim and the roofline, LeNet against PyTorch
CPU (both orders), the per-call overhead, the demo's epoch per backend, checkpoint I/O.
"""

from __future__ import annotations

import checkpoint_io
import demo_epoch
import lenet_vs_torch
import optimizer_step
import overhead

if __name__ == "__main__":
    optimizer_step.main([])
    lenet_vs_torch.main(["--order", "interleaved"])
    lenet_vs_torch.main(["--order", "blocks"])
    overhead.main([])
    demo_epoch.main([])
    checkpoint_io.main([])
