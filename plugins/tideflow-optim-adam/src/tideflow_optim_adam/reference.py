"""Pure NumPy update rules of the Adam family and LAMB, and their ops.

``adam_update`` is OneFlow v0.5.0's ``AdamUpdateFunctor`` (amsgrad off, the only mode the
legacy Python API reaches); ``lamb_update`` is OneFlow's ``LambGradFunctor``,
``LambLRFunctor`` and ``LambUpdateFunctor`` in one function.

Symbols: w parameter, g gradient (already averaged, unscaled, regularized and clipped by
the core), eta the learning rate, t the train step read before its increment (0 at the
first update), lambda ``hyper["weight_decay"]``, beta1/beta2/eps ``hyper["beta1"]``,
``hyper["beta2"]``, ``hyper["epsilon"]``; m and v the moment slots, beta1_t and beta2_t
LAMB's per-variable power slots of shape (1,). Arithmetic runs in the parameter's dtype;
the bias-correction powers are computed in double, as OneFlow's GPU kernel does.
"""

from __future__ import annotations

import math

import numpy as np

from tideflow.optimizer import indexed_slices_op_spec, update_op_spec


def adam_update(param: np.ndarray, grad: np.ndarray, slots: tuple[np.ndarray, ...], lr: float,
                step: int, hyper: dict) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Adam (OneFlow v0.5.0 kernel, PyTorch placement of eps).

    ``m <- beta1*m + (1-beta1)*g``; ``v <- beta2*v + (1-beta2)*g^2``; with bias correction
    ``bc1 = 1 - beta1^(t+1)``, ``bc2 = 1 - beta2^(t+1)``, else ``bc1 = bc2 = 1``;
    ``w <- w - (eta/bc1) * m / (sqrt(v)/sqrt(bc2) + eps) - eta*lambda*w``.
    """
    m, v = slots
    b1, b2, eps = hyper["beta1"], hyper["beta2"], hyper["epsilon"]
    wd = hyper["weight_decay"]
    if hyper["do_bias_correction"]:
        bc1, bc2 = 1.0 - b1 ** (step + 1), 1.0 - b2 ** (step + 1)
    else:
        bc1 = bc2 = 1.0
    m_new = b1 * m + (1.0 - b1) * grad
    v_new = b2 * v + (1.0 - b2) * grad * grad
    denom = np.sqrt(v_new) / math.sqrt(bc2) + eps
    new_param = param - (lr / bc1) * m_new / denom - (lr * wd) * param
    return new_param, (m_new, v_new)


def lamb_update(param: np.ndarray, grad: np.ndarray, slots: tuple[np.ndarray, ...], lr: float,
                step: int, hyper: dict) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """LAMB (OneFlow v0.4.0/v0.5.0 kernel).

    ``beta1_t <- beta1_t*beta1``; ``beta2_t <- beta2_t*beta2`` (before use, so the k-th
    update sees beta^(k+1)); ``m``, ``v`` as in Adam;
    ``r = (m/(1-beta1_t)) / (sqrt(v/(1-beta2_t)) + eps)``;
    ``trust = ||w||/||r||`` if both norms are > 0 else 1 (weight decay left out of the norm);
    ``w <- w - eta*trust*(r + lambda*w)``. ``step`` is unused: the powers live in the slots.
    """
    m, v, beta1_t, beta2_t = slots
    b1, b2, eps = hyper["beta1"], hyper["beta2"], hyper["epsilon"]
    wd = hyper["weight_decay"]
    b1t = beta1_t * b1  # shape (1,), the parameter's dtype
    b2t = beta2_t * b2
    m_new = b1 * m + (1.0 - b1) * grad
    v_new = b2 * v + (1.0 - b2) * grad * grad
    c1, c2 = (1 - b1t)[0], (1 - b2t)[0]  # scalars, so that any parameter shape broadcasts
    r = (m_new / c1) / (np.sqrt(v_new / c2) + eps)
    w_norm = np.sqrt(np.sum(param * param))
    r_norm = np.sqrt(np.sum(r * r))
    trust = w_norm / r_norm if w_norm > 0 and r_norm > 0 else 1.0
    new_param = param - (lr * trust) * (r + wd * param)
    return new_param, (m_new, v_new, b1t, b2t)


SPECS = [
    update_op_spec("adam_update", adam_update, 2,
                   "m <- b1*m + (1-b1)*g; v <- b2*v + (1-b2)*g^2; "
                   "w <- w - (lr/bc1)*m/(sqrt(v)/sqrt(bc2) + eps) - lr*wd*w"),
    indexed_slices_op_spec("indexed_slices_adam_update", adam_update, 2,
                           "adam_update on the rows present (LazyAdam's lazy update)"),
    update_op_spec("lamb_update", lamb_update, 4,
                   "b_t <- b_t*b; m, v as Adam; r = m_hat/(sqrt(v_hat) + eps); "
                   "w <- w - lr*(||w||/||r||)*(r + wd*w)"),
]
