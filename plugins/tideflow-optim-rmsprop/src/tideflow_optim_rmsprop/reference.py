"""Pure NumPy update rules of RMSProp, and their ops.

The rules are OneFlow's ``RmsPropUpdateFunctor`` (``centered`` false and true).

Symbols: w parameter, g gradient (already averaged, unscaled, regularized and clipped by
the core), eta the learning rate, rho ``hyper["decay_rate"]``, eps ``hyper["epsilon"]``,
s the ``mean_square`` slot, gbar the ``mean_gradient`` slot. ``hyper["weight_decay"]`` is
ignored, as in OneFlow's kernel.
"""

from __future__ import annotations

import numpy as np

from tideflow.optimizer import update_op_spec


def rmsprop_update(param: np.ndarray, grad: np.ndarray, slots: tuple[np.ndarray, ...],
                   lr: float, step: int, hyper: dict
                   ) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Plain RMSProp: ``s <- (1-rho)*g^2 + rho*s``; ``w <- w - eta*g/sqrt(s + eps)``."""
    (s,) = slots
    rho, eps = hyper["decay_rate"], hyper["epsilon"]
    s_new = (1 - rho) * np.square(grad) + rho * s
    return param - lr * grad / np.sqrt(s_new + eps), (s_new,)


def rmsprop_centered_update(param: np.ndarray, grad: np.ndarray,
                            slots: tuple[np.ndarray, ...], lr: float, step: int, hyper: dict
                            ) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Centered RMSProp: s and ``gbar <- (1-rho)*g + rho*gbar``; ``d = s - gbar^2``.

    Then ``w <- w - eta*g/sqrt(d + eps)``. Slots in order: ``(s, gbar)``.
    """
    s, gbar = slots
    rho, eps = hyper["decay_rate"], hyper["epsilon"]
    s_new = (1 - rho) * np.square(grad) + rho * s
    gbar_new = (1 - rho) * grad + rho * gbar
    d = s_new - np.square(gbar_new)
    return param - lr * grad / np.sqrt(d + eps), (s_new, gbar_new)


SPECS = [
    update_op_spec("rmsprop_update", rmsprop_update, 1,
                   "s <- (1-rho)*g^2 + rho*s; w <- w - lr*g/sqrt(s + eps)"),
    update_op_spec("rmsprop_centered_update", rmsprop_centered_update, 2,
                   "s <- (1-rho)*g^2 + rho*s; gbar <- (1-rho)*g + rho*gbar; "
                   "w <- w - lr*g/sqrt(s - gbar^2 + eps)"),
]
