"""SGD family for tideflow: ``SGD`` (plain and momentum) and ``SGDW``."""

__version__ = "0.1.0"
