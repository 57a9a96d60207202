"""Adagrad for tideflow: ``flow.optimizer.Adagrad`` (an example third-party plugin)."""

__version__ = "0.1.0"
