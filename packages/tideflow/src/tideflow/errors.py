"""Error types raised by tideflow.

Every error derives from :class:`TideflowError` and from the built-in type that matches
its meaning, so ``except ValueError`` keeps working for callers that do not know tideflow.
Messages follow one style: what was asked, what was found, what to do.
"""

from __future__ import annotations


class TideflowError(Exception):
    """Base class of every error raised by tideflow."""


class JobDefinitionError(TideflowError, RuntimeError):
    """A job is defined or built incorrectly (bad decorator use, bad annotations)."""


class ShapeError(TideflowError, ValueError):
    """Shapes or dtypes of an op's inputs do not fit together."""


class FeedError(TideflowError, ValueError):
    """A job was called with arguments that do not match its placeholders."""


class FeedTypeError(TideflowError, TypeError):
    """A job argument has the wrong type or dtype."""


class PluginError(TideflowError, RuntimeError):
    """A plugin is missing, failed to load, or conflicts with another plugin."""


class PluginConflictError(PluginError):
    """Two plugins register the same name."""


class UnknownNameError(TideflowError, LookupError):
    """An optimizer, backend, op or device tag is not known."""


class UnknownAttributeError(UnknownNameError, AttributeError):
    """A ``flow.<namespace>.<name>`` attribute resolved through the registry is unknown."""


class BackendUnavailableError(TideflowError, RuntimeError):
    """A backend was requested explicitly but cannot run here."""


class UnsupportedError(TideflowError, NotImplementedError):
    """A OneFlow API that tideflow (like OneFlow itself, for some) does not provide."""


class HyperparameterError(TideflowError, ValueError):
    """An optimizer or scheduler hyperparameter is out of range or of the wrong type."""


class SessionStateError(TideflowError, RuntimeError):
    """An API was used in the wrong session state (e.g. defining a job after the first call)."""


class DataError(TideflowError, RuntimeError):
    """A data set cannot be obtained, read, or fails its integrity check."""


class CheckpointError(TideflowError, ValueError):
    """A checkpoint is incomplete, malformed, or does not fit the variables it is loaded into."""
