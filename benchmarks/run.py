"""Run every benchmark in this folder (``nox -s bench``)."""

from __future__ import annotations

import lenet_vs_torch

if __name__ == "__main__":
    lenet_vs_torch.main()
