"""Pure NumPy update rule of Adagrad, and its op.

Symbols: w parameter, g gradient (already averaged, unscaled, regularized and clipped by
the core), eta the learning rate, eps ``hyper["epsilon"]``, s the ``sum`` slot.
"""

from __future__ import annotations

import numpy as np

from tideflow.optimizer import update_op_spec


def adagrad_update(param: np.ndarray, grad: np.ndarray, slots: tuple[np.ndarray, ...],
                   lr: float, step: int, hyper: dict
                   ) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Adagrad: ``s <- s + g^2``; ``w <- w - eta * g / (sqrt(s) + eps)``."""
    (s,) = slots
    s_new = s + grad * grad
    return param - lr * grad / (np.sqrt(s_new) + hyper["epsilon"]), (s_new,)


SPECS = [
    update_op_spec("adagrad_update", adagrad_update, 1,
                   "s <- s + g^2; w <- w - lr*g/(sqrt(s) + eps)"),
]
