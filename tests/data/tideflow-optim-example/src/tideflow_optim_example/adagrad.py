"""``flow.optimizer.Adagrad``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tideflow.optimizer import Optimizer
from tideflow.optimizer.base import check_hyper, is_real


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011): per-element rates from accumulated squared gradients.

    Update, with eta from ``lr_scheduler`` and eps = ``epsilon``::

        s <- s + g^2                          (slot <var>-sum, starts at
                                               initial_accumulator_value)
        w <- w - eta * g / (sqrt(s) + eps)

    OneFlow's legacy API has no Adagrad; this follows ``torch.optim.Adagrad`` (eps outside
    the square root, no learning-rate decay) with TensorFlow's ``initial_accumulator_value``
    (default 0.1, as in ``tf.compat.v1.train.AdagradOptimizer``). There is no weight decay.

    Args:
        lr_scheduler: learning-rate schedule.
        initial_accumulator_value: s at the start, >= 0; default 0.1.
        epsilon: eps >= 0; default 1e-10. With ``initial_accumulator_value=0`` and
            ``epsilon=0``, an element whose gradients have all been 0 becomes NaN.
        loss_scale_factor: static loss scale.
        grad_clipping: e.g. ``flow.optimizer.grad_clipping.by_global_norm(1.0)``.
        train_step_lbn: a user step blob (or its logical blob name) instead of the counter.
        loss_scale_policy: e.g. ``flow.optimizer.loss_scale.static_loss_scale(1024.0)``.
        variables: names of the variables to update (default: all trainable ones).

    Example::

        lr = flow.optimizer.PiecewiseConstantScheduler([], [0.1])
        flow.optimizer.Adagrad(lr, initial_accumulator_value=0.1).minimize(loss)

    Reference: ``torch/optim/adagrad.py`` and TensorFlow's ``training/adagrad.py``.
    """

    update_op = "adagrad_update"

    def __init__(
        self,
        lr_scheduler: Any,
        initial_accumulator_value: float = 0.1,
        epsilon: float = 1e-10,
        loss_scale_factor: float | None = None,
        grad_clipping: Any = None,
        train_step_lbn: str | None = None,
        loss_scale_policy: Any = None,
        variables: Sequence[str] | Callable[[], Sequence[str]] | None = None,
    ) -> None:
        cls = type(self).__name__
        check_hyper(cls, "initial_accumulator_value", initial_accumulator_value,
                    is_real(initial_accumulator_value) and initial_accumulator_value >= 0,
                    "a number >= 0")
        check_hyper(cls, "epsilon", epsilon, is_real(epsilon) and epsilon >= 0,
                    "a number >= 0")
        super().__init__(lr_scheduler, loss_scale_factor, grad_clipping, train_step_lbn,
                         loss_scale_policy, variables)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.epsilon = float(epsilon)

    def slot_defaults(self) -> dict[str, float]:
        """``<var>-sum`` starting at ``initial_accumulator_value``."""
        return {"sum": self.initial_accumulator_value}

    def hyperparams(self) -> dict[str, Any]:
        """``epsilon`` for ``adagrad_update``."""
        return {"epsilon": self.epsilon}
