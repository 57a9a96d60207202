"""Data sets with OneFlow's ``flow.data`` API."""

from __future__ import annotations

from tideflow.data.mnist import load_mnist

__all__ = ["load_mnist"]
