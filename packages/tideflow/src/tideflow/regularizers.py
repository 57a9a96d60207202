"""L1/L2 regularizers (``flow.regularizers``), as in OneFlow's ``regularizer_util.py``.

A regularizer is passed as ``regularizer=`` to ``get_variable`` or as ``kernel_regularizer=``
/ ``bias_regularizer=`` to layers. In train jobs it adds ``l1 * sign(w) + l2 * w`` to the
variable's gradient (no factor 2 on ``l2``), after loss scaling and before the optimizer.
Like OneFlow's CPU kernel (``l1_l2_regularize_gradient``), ``sign(0)`` is ``+1``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from tideflow.errors import HyperparameterError

__all__ = ["Regularizer", "l1_l2", "l1", "l2"]


def _coefficient(fn: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise HyperparameterError(
            f"{fn}: `{name}` must be a non-negative real number; received {name}={value!r}")
    if not math.isfinite(float(value)) or value < 0:
        raise HyperparameterError(
            f"{fn}: `{name}` must be finite and >= 0; received {name}={value!r}")
    return float(value)


@dataclass(frozen=True)
class Regularizer:
    """An L1/L2 regularizer (OneFlow's ``RegularizerConf.l1_l2_conf``).

    Attributes:
        l1: coefficient of ``sign(w)``.
        l2: coefficient of ``w``.
    """

    l1: float
    l2: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "l1", _coefficient("Regularizer", "l1", self.l1))
        object.__setattr__(self, "l2", _coefficient("Regularizer", "l2", self.l2))

    def gradient(self, w: np.ndarray) -> np.ndarray:
        """Return the term added to the gradient of ``w``: ``l1 * sign(w) + l2 * w``.

        ``sign(0)`` is ``+1`` (OneFlow's CPU kernel). The result has ``w``'s shape and dtype.
        """
        w = np.asarray(w)
        sign = np.where(w >= 0, 1, -1).astype(w.dtype)
        return (self.l1 * sign + self.l2 * w).astype(w.dtype, copy=False)


def l1_l2(l1: float = 0.01, l2: float = 0.01) -> Regularizer:
    """L1 and L2 regularization: gradient += ``l1 * sign(w) + l2 * w``."""
    return Regularizer(_coefficient("l1_l2", "l1", l1), _coefficient("l1_l2", "l2", l2))


def l1(l: float = 0.01) -> Regularizer:  # noqa: E741 - OneFlow's parameter name
    """L1 regularization: gradient += ``l * sign(w)``."""
    return Regularizer(_coefficient("l1", "l", l), 0.0)


def l2(l: float = 0.01) -> Regularizer:  # noqa: E741 - OneFlow's parameter name
    """L2 regularization: gradient += ``l * w``."""
    return Regularizer(0.0, _coefficient("l2", "l", l))
