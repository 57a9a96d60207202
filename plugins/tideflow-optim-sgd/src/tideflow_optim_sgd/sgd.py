"""``flow.optimizer.SGD`` and ``flow.optimizer.SGDW``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tideflow.optimizer import Optimizer
from tideflow.optimizer.base import check_hyper, is_real, weight_decay_config


class SGD(Optimizer):
    """Stochastic gradient descent, plain or with momentum (OneFlow's legacy numerics).

    Update, with learning rate eta (from ``lr_scheduler``) and beta = ``momentum``:

    * ``momentum == 0``: ``w <- w - eta * g``
    * ``momentum > 0``: ``u <- beta * u - eta * g``; ``w <- w + u`` (slot ``<var>-momentum``)

    This is the TensorFlow/Keras convention (eta inside the buffer): with a changing
    learning rate it differs from PyTorch's SGD. As in OneFlow, ``momentum`` defaults to
    0.9 and ``momentum=0`` selects the plain kernel.

    Args:
        lr_scheduler: learning-rate schedule.
        loss_scale_factor: static loss scale.
        momentum: beta in [0, 1); default 0.9.
        grad_clipping: e.g. ``flow.optimizer.grad_clipping.by_global_norm(1.0)``.
        train_step_lbn: a user step blob (or its logical blob name) instead of the counter.
        loss_scale_policy: e.g. ``flow.optimizer.loss_scale.static_loss_scale(1024.0)``.
        variables: names of the variables to update (default: all trainable ones).

    Example::

        lr = flow.optimizer.PiecewiseConstantScheduler([], [0.1])
        flow.optimizer.SGD(lr, momentum=0).minimize(loss)

    Reference: OneFlow v0.4.0 ``oneflow/python/ops/optimizer.py`` (SGD) and
    ``oneflow/user/kernels/model_update_kernel_util.h`` (SGD/Momentum functors).
    """

    def __init__(
        self,
        lr_scheduler: Any,
        loss_scale_factor: float | None = None,
        momentum: float = 0.9,
        grad_clipping: Any = None,
        train_step_lbn: str | None = None,
        loss_scale_policy: Any = None,
        variables: Sequence[str] | Callable[[], Sequence[str]] | None = None,
    ) -> None:
        check_hyper(type(self).__name__, "momentum", momentum,
                    is_real(momentum) and 0 <= momentum < 1, "a number in [0, 1)")
        super().__init__(lr_scheduler, loss_scale_factor, grad_clipping, train_step_lbn,
                         loss_scale_policy, variables)
        self.momentum = float(momentum)

    @property
    def update_op(self) -> str:  # type: ignore[override]
        """``momentum_update`` when momentum > 0, else ``sgd_update``."""
        return "momentum_update" if self.momentum > 0 else "sgd_update"

    def sparse_update_op_for(self, var_name: str) -> str | None:
        """Lazy row update for gathered variables named in indexed_slices_optimizer_conf."""
        return "indexed_slices_" + self.update_op

    def slot_defaults(self) -> dict[str, float]:
        """``<var>-momentum`` starting at 0 when momentum > 0."""
        return {"momentum": 0.0} if self.momentum > 0 else {}

    def hyperparams(self) -> dict[str, Any]:
        """``beta`` for the momentum kernel."""
        return {"beta": self.momentum} if self.momentum > 0 else {}


class SGDW(SGD):
    """SGD with decoupled weight decay lambda = ``weight_decay``.

    * ``momentum == 0``: ``w <- w - eta * (g + lambda * w)``
    * ``momentum > 0``: ``u <- beta * u - eta * g``; ``w <- w + u - eta * lambda * w``

    ``weight_decay_includes`` / ``weight_decay_excludes`` (a regex or a list, at most one of
    them) select the variables decayed, by unanchored search in the variable name.

    Args:
        lr_scheduler: learning-rate schedule.
        loss_scale_factor: static loss scale.
        momentum: beta in [0, 1); default 0.9.
        weight_decay: lambda >= 0 (None: no decay).
        weight_decay_includes: decay only matching variables.
        weight_decay_excludes: decay all but matching variables.
        grad_clipping: gradient clipping.
        train_step_lbn: a user step blob (or its logical blob name) instead of the counter.
        loss_scale_policy: loss-scale policy.
        variables: names of the variables to update.

    Example::

        flow.optimizer.SGDW(lr, momentum=0.9, weight_decay=1e-4,
                            weight_decay_excludes=["bias"]).minimize(loss)
    """

    def __init__(
        self,
        lr_scheduler: Any,
        loss_scale_factor: float | None = None,
        momentum: float = 0.9,
        weight_decay: float | None = None,
        weight_decay_includes: str | Sequence[str] | None = None,
        weight_decay_excludes: str | Sequence[str] | None = None,
        grad_clipping: Any = None,
        train_step_lbn: str | None = None,
        loss_scale_policy: Any = None,
        variables: Sequence[str] | Callable[[], Sequence[str]] | None = None,
    ) -> None:
        decay = weight_decay_config(type(self).__name__, weight_decay, weight_decay_includes,
                                    weight_decay_excludes)
        super().__init__(lr_scheduler, loss_scale_factor, momentum, grad_clipping,
                         train_step_lbn, loss_scale_policy, variables)
        self._set_weight_decay(decay)
