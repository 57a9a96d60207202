"""``flow.optimizer.TemplateSGD``: the family module (rename it after your family)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tideflow.optimizer import Optimizer


class TemplateSGD(Optimizer):
    """Plain stochastic gradient descent, as a template.

    Update, with learning rate eta from ``lr_scheduler``: ``w <- w - eta * g``.

    The core runs the pipeline (loss scaling, averaging, regularizers, clipping, the
    schedule, the step counter); a family only says which op updates each variable
    (:attr:`update_op`), which slots it needs (:meth:`slot_defaults`) and which attributes
    the op gets (:meth:`hyperparams`). Validate every hyperparameter *before*
    ``super().__init__``, so that a bad call changes nothing, with
    ``tideflow.optimizer.base.check_hyper``::

        check_hyper(type(self).__name__, "beta", beta, is_real(beta) and 0 <= beta < 1,
                    "a number in [0, 1)")

    Args:
        lr_scheduler: learning-rate schedule.
        loss_scale_factor: static loss scale.
        grad_clipping: e.g. ``flow.optimizer.grad_clipping.by_global_norm(1.0)``.
        train_step_lbn: a user step blob (or its logical blob name) instead of the counter.
        loss_scale_policy: e.g. ``flow.optimizer.loss_scale.static_loss_scale(1024.0)``.
        variables: names of the variables to update (default: all trainable ones).

    Example::

        lr = flow.optimizer.PiecewiseConstantScheduler([], [0.1])
        flow.optimizer.TemplateSGD(lr).minimize(loss)
    """

    update_op = "template_sgd_update"

    def __init__(
        self,
        lr_scheduler: Any,
        loss_scale_factor: float | None = None,
        grad_clipping: Any = None,
        train_step_lbn: str | None = None,
        loss_scale_policy: Any = None,
        variables: Sequence[str] | Callable[[], Sequence[str]] | None = None,
    ) -> None:
        # Validate your own hyperparameters here (check_hyper), then call the base class.
        super().__init__(lr_scheduler, loss_scale_factor, grad_clipping, train_step_lbn,
                         loss_scale_policy, variables)

    def slot_defaults(self) -> dict[str, float]:
        """Slot suffix -> initial value; ``<var>-<suffix>`` is created per variable. None."""
        return {}

    def hyperparams(self) -> dict[str, Any]:
        """Attributes passed to the update op (``hyper`` in the reference rule). None."""
        return {}
