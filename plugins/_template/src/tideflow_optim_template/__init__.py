"""A template optimizer plugin for tideflow: ``flow.optimizer.TemplateSGD``."""

__version__ = "0.1.0"
