"""Pure NumPy update rule of LARS, and its op.

The rule is OneFlow's v0.4.0/v0.5.0 ``LarsUpdateKernelUtil`` (CPU) and
``LarsGetLocalLearningRateGpu`` (GPU), as fixed by OneFlow commit ccefd510 ("fix LARS").

Symbols: w parameter, g gradient (already averaged, unscaled, regularized and clipped by
the core), eta the learning rate, lambda ``hyper["weight_decay"]``, beta ``hyper["beta"]``,
eps ``hyper["epsilon"]``, coeff ``hyper["lars_coefficient"]``, u the momentum slot.
"""

from __future__ import annotations

import numpy as np

from tideflow.optimizer import update_op_spec


def _l2(x: np.ndarray) -> float:
    """L2 norm over every element, accumulated in float64."""
    return float(np.sqrt(np.sum(np.square(x, dtype=np.float64))))


def trust_ratio(param: np.ndarray, grad: np.ndarray, hyper: dict) -> float:
    """``coeff*||w|| / (eps + ||g|| + lambda*||w||)`` if both norms are > 0, else 1."""
    w_norm, g_norm = _l2(param), _l2(grad)
    if w_norm > 0 and g_norm > 0:
        return hyper["lars_coefficient"] * w_norm / (
            hyper["epsilon"] + g_norm + hyper["weight_decay"] * w_norm)
    return 1.0


def lars_update(param: np.ndarray, grad: np.ndarray, slots: tuple[np.ndarray, ...], lr: float,
                step: int, hyper: dict) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """LARS: ``u <- beta*u - eta_loc*g``; ``w <- w + u - eta_loc*lambda*w``.

    ``eta_loc = eta * trust`` with :func:`trust_ratio`. The norms and the trust ratio are
    computed in float64; the element-wise update runs in the parameter's dtype.
    """
    (u,) = slots
    beta, wd = hyper["beta"], hyper["weight_decay"]
    eta_loc = float(lr * trust_ratio(param, grad, hyper))
    u_new = beta * u - eta_loc * grad
    return param + u_new - eta_loc * wd * param, (u_new,)


SPECS = [
    update_op_spec("lars_update", lars_update, 1,
                   "trust = coeff*|w|/(eps+|g|+wd*|w|) (1 if a norm is 0); "
                   "u <- beta*u - lr*trust*g; w <- w + u - lr*trust*wd*w"),
]
