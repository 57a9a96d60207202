"""RMSProp family for tideflow: ``RMSProp`` (plain and centered)."""

__version__ = "0.1.0"
