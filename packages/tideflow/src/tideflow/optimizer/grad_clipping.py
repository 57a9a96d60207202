"""``flow.optimizer.grad_clipping``: clipping by global norm.

tideflow clips to norm ``c``: ``g * c / max(||g||, c)`` (as TensorFlow and PyTorch do), a
documented deviation from OneFlow's ``g / max(||g||, c)``, which agrees only at c = 1.
The norm covers the variables of one optimizer.
"""

from __future__ import annotations

from dataclasses import dataclass

from tideflow.errors import HyperparameterError


@dataclass(frozen=True)
class ClipGradient:
    """Base of gradient-clipping configurations."""


@dataclass(frozen=True)
class ClipByGlobalNorm(ClipGradient):
    """Clip every gradient of one optimizer so that their joint L2 norm is <= clip_norm."""

    clip_norm: float


def by_global_norm(clip_norm: float) -> ClipByGlobalNorm:
    """Return a clip-by-global-norm configuration.

    Raises:
        HyperparameterError: ``clip_norm`` is not a positive finite number.
    """
    if (not isinstance(clip_norm, int | float) or isinstance(clip_norm, bool)
            or not clip_norm > 0 or clip_norm == float("inf")):
        raise HyperparameterError(
            f"by_global_norm: `clip_norm` must be a positive finite number; received "
            f"clip_norm={clip_norm!r}"
        )
    return ClipByGlobalNorm(float(clip_norm))
