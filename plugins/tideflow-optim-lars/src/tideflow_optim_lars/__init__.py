"""LARS family for tideflow: ``LARS`` (layer-wise adaptive rate scaling with momentum)."""

__version__ = "0.1.0"
