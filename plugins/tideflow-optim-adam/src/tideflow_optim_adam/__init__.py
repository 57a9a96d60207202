"""Adam family for tideflow: ``Adam``, ``AdamW``, ``LazyAdam`` and ``LAMB``."""

__version__ = "0.1.0"
