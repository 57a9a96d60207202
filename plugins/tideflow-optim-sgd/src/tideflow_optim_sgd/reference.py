"""Pure NumPy update rules of the SGD family, and their ops.

The rules are OneFlow's ``SGDUpdateFunctor`` and ``MomentumUpdateFunctor``.

Symbols: w parameter, g gradient (already averaged, unscaled, regularized and clipped by
the core), eta the learning rate, lambda ``hyper["weight_decay"]``, beta
``hyper["beta"]``, u the momentum slot.
"""

from __future__ import annotations

import numpy as np

from tideflow.optimizer import indexed_slices_op_spec, update_op_spec


def sgd_update(param: np.ndarray, grad: np.ndarray, slots: tuple[np.ndarray, ...], lr: float,
               step: int, hyper: dict) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Plain SGD: ``w <- w - eta * (g + lambda * w)``."""
    wd = hyper["weight_decay"]
    return param - lr * (grad + wd * param), ()


def momentum_update(param: np.ndarray, grad: np.ndarray, slots: tuple[np.ndarray, ...],
                    lr: float, step: int, hyper: dict
                    ) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Momentum (TF/Keras): ``u <- beta*u - eta*g``; ``w <- w + u - eta*lambda*w``."""
    (u,) = slots
    beta, wd = hyper["beta"], hyper["weight_decay"]
    u_new = beta * u - lr * grad
    return param + u_new - lr * wd * param, (u_new,)


SPECS = [
    update_op_spec("sgd_update", sgd_update, 0, "w <- w - lr*(g + wd*w)"),
    update_op_spec("momentum_update", momentum_update, 1,
                   "u <- beta*u - lr*g; w <- w + u - lr*wd*w"),
    indexed_slices_op_spec("indexed_slices_sgd_update", sgd_update, 0,
                           "sgd_update on the rows of an indexed-slices gradient"),
    indexed_slices_op_spec("indexed_slices_momentum_update", momentum_update, 1,
                           "momentum_update on the rows present (absent rows keep u)"),
]
