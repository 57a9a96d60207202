"""``flow.optimizer.RMSProp``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tideflow.optimizer import Optimizer
from tideflow.optimizer.base import check_hyper, is_real


class RMSProp(Optimizer):
    """RMSProp, plain or centered, without momentum (OneFlow's legacy numerics).

    Update, with learning rate eta (from ``lr_scheduler``), rho = ``decay_rate`` and
    eps = ``epsilon``:

    * ``s <- (1 - rho) * g**2 + rho * s`` (slot ``<var>-mean_square``, starting at 0)
    * ``centered=True``: ``gbar <- (1 - rho) * g + rho * gbar`` (slot
      ``<var>-mean_gradient``, starting at 0) and ``d = s - gbar**2``; else ``d = s``
    * ``w <- w - eta * g / sqrt(d + eps)``

    Epsilon sits **inside** the square root, as in OneFlow; TensorFlow/Keras and PyTorch put
    it outside, so they agree with this update only for ``epsilon=0``. There is no momentum
    and no bias correction. There is no weight decay either: OneFlow's Python class has no
    ``weight_decay`` argument and its kernel ignores the attribute, so use a regularizer
    (``flow.regularizers.l2``) for L2 penalties.

    tideflow requires ``0 < decay_rate < 1`` (OneFlow does not check it): ``decay_rate=1``
    freezes the statistics at 0, and ``decay_rate=0`` makes the centered variance
    ``g**2 - g**2`` identically 0. ``epsilon`` may be 0 (OneFlow's own tests use it); an
    element whose gradient has always been exactly 0 then divides 0 by 0.

    Args:
        lr_scheduler: learning-rate schedule.
        decay_rate: rho in (0, 1); default 0.99.
        epsilon: eps >= 0 added under the square root; default 1e-8.
        centered: whether to subtract the squared mean gradient (a bool); default False.
        loss_scale_factor: static loss scale.
        grad_clipping: e.g. ``flow.optimizer.grad_clipping.by_global_norm(1.0)``.
        train_step_lbn: a user step blob (or its logical blob name) instead of the counter.
        loss_scale_policy: e.g. ``flow.optimizer.loss_scale.static_loss_scale(1024.0)``.
        variables: names of the variables to update (default: all trainable ones).

    Example::

        lr = flow.optimizer.PiecewiseConstantScheduler([], [0.001])
        flow.optimizer.RMSProp(lr, decay_rate=0.9, centered=True).minimize(loss)

    Reference: OneFlow v0.4.0 ``oneflow/python/ops/optimizer.py`` (RMSProp),
    ``oneflow/core/job_rewriter/rmsprop_optm.cpp`` and
    ``oneflow/user/kernels/model_update_kernel_util.h`` (``RmsPropUpdateFunctor``).
    """

    def __init__(
        self,
        lr_scheduler: Any,
        decay_rate: float = 0.99,
        epsilon: float = 1e-8,
        centered: bool = False,
        loss_scale_factor: float | None = None,
        grad_clipping: Any = None,
        train_step_lbn: str | None = None,
        loss_scale_policy: Any = None,
        variables: Sequence[str] | Callable[[], Sequence[str]] | None = None,
    ) -> None:
        cls = type(self).__name__
        check_hyper(cls, "decay_rate", decay_rate,
                    is_real(decay_rate) and 0 < decay_rate < 1, "a number in (0, 1)")
        check_hyper(cls, "epsilon", epsilon, is_real(epsilon) and epsilon >= 0,
                    "a finite number >= 0")
        check_hyper(cls, "centered", centered, isinstance(centered, bool | np.bool_),
                    "a bool")
        super().__init__(lr_scheduler, loss_scale_factor, grad_clipping, train_step_lbn,
                         loss_scale_policy, variables)
        self.decay_rate = float(decay_rate)
        self.epsilon = float(epsilon)
        self.centered = bool(centered)

    @property
    def update_op(self) -> str:  # type: ignore[override]
        """``rmsprop_centered_update`` when centered, else ``rmsprop_update``."""
        return "rmsprop_centered_update" if self.centered else "rmsprop_update"

    def slot_defaults(self) -> dict[str, float]:
        """``<var>-mean_square`` and, when centered, ``<var>-mean_gradient``, both at 0."""
        if self.centered:
            return {"mean_square": 0.0, "mean_gradient": 0.0}
        return {"mean_square": 0.0}

    def hyperparams(self) -> dict[str, Any]:
        """``decay_rate`` and ``epsilon`` for the update op."""
        return {"decay_rate": self.decay_rate, "epsilon": self.epsilon}
