"""Pure NumPy update rule of TemplateSGD, and its op: the oracle for every other kernel.

Symbols: w parameter, g gradient (already averaged, unscaled, regularized and clipped by
the core), eta the learning rate. ``hyper`` holds the optimizer's ``hyperparams()`` plus
``weight_decay`` (0 here: TemplateSGD has no weight decay).
"""

from __future__ import annotations

import numpy as np

from tideflow.optimizer import update_op_spec


def template_sgd_update(param: np.ndarray, grad: np.ndarray, slots: tuple[np.ndarray, ...],
                        lr: float, step: int, hyper: dict
                        ) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Plain SGD: ``w <- w - eta * g``.

    Args:
        param: the variable's value.
        grad: its gradient, same shape.
        slots: the slot values, in ``slot_defaults()`` order (none here).
        lr: the scheduled learning rate of this step.
        step: the train step read before its increment (0 at the first update).
        hyper: the op's attributes.

    Returns:
        The new parameter and the new slots (same order).
    """
    return param - lr * grad, ()


SPECS = [
    update_op_spec("template_sgd_update", template_sgd_update, 0, "w <- w - lr*g"),
]
