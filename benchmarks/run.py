"""Run every benchmark in this folder (``nox -s bench``)."""

from __future__ import annotations

import checkpoint_io
import lenet_vs_torch

if __name__ == "__main__":
    lenet_vs_torch.main()
    checkpoint_io.main([])
