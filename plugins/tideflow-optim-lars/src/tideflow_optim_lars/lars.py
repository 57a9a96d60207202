"""``flow.optimizer.LARS``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tideflow.optimizer import Optimizer
from tideflow.optimizer.base import check_hyper, is_real, weight_decay_config


class LARS(Optimizer):
    """Layer-wise adaptive rate scaling with momentum (OneFlow v0.4.0+ numerics).

    Per variable, with learning rate eta (from ``lr_scheduler``), beta = ``momentum_beta``,
    eps = ``epsilon``, coeff = ``lars_coefficient`` and lambda = ``weight_decay`` (after
    the include/exclude filters), and L2 norms over the whole variable:

    * ``trust = coeff * ||w|| / (eps + ||g|| + lambda * ||w||)`` if ``||w|| > 0`` and
      ``||g|| > 0``, else ``trust = 1``
    * ``eta_loc = eta * trust``
    * ``u <- beta * u - eta_loc * g`` (slot ``<var>-momentum``, starting at 0)
    * ``w <- w + u - eta_loc * lambda * w``

    g is the gradient after the core's pipeline (averaged, unscaled, L1/L2-regularized,
    clipped), so the trust ratio uses the norm of the regularized gradient, as in OneFlow.
    Weight decay is decoupled: it does not enter the momentum buffer.

    OneFlow differences: this is the formula of OneFlow v0.4.0 and v0.5.0 (commit
    ccefd510 "fix LARS"). v0.3.4 used RMS norms on CPU, no zero guard, no weight decay and
    put lambda*w inside the momentum; tideflow does not reproduce it. OneFlow's GPU kernel
    computes the norms per local shard under model parallelism; tideflow always uses the
    norm of the whole variable. The norms and the trust ratio are computed in float64 (OneFlow
    accumulates in the parameter dtype), a difference of float32 rounding only.

    Args:
        lr_scheduler: learning-rate schedule.
        momentum_beta: beta in [0, 1); default 0.9.
        epsilon: eps >= 0 in the trust-ratio denominator; default 1e-9.
        lars_coefficient: coeff > 0; default 0.0001.
        loss_scale_factor: static loss scale.
        weight_decay: lambda >= 0 (None: no decay).
        weight_decay_includes: decay only variables matching these regexes (unanchored).
        weight_decay_excludes: decay all variables but those matching these regexes.
        grad_clipping: e.g. ``flow.optimizer.grad_clipping.by_global_norm(1.0)``.
        train_step_lbn: a user step blob (or its logical blob name) instead of the counter.
        loss_scale_policy: e.g. ``flow.optimizer.loss_scale.static_loss_scale(1024.0)``.
        variables: names of the variables to update (default: all trainable ones).

    Example::

        lr = flow.optimizer.PiecewiseConstantScheduler([], [0.1])
        flow.optimizer.LARS(lr, momentum_beta=0.9, lars_coefficient=0.001,
                            weight_decay=1e-4, weight_decay_excludes=["bias"]).minimize(loss)

    Reference: OneFlow v0.4.0 ``oneflow/python/ops/optimizer.py`` (LARS),
    ``oneflow/core/job_rewriter/lars_optm.cpp`` and
    ``oneflow/user/kernels/model_update_kernel_util.{cpp,cu}`` (``LarsUpdateKernelUtil``).
    """

    update_op = "lars_update"

    def __init__(
        self,
        lr_scheduler: Any,
        momentum_beta: float = 0.9,
        epsilon: float = 1e-9,
        lars_coefficient: float = 0.0001,
        loss_scale_factor: float | None = None,
        weight_decay: float | None = None,
        weight_decay_includes: str | Sequence[str] | None = None,
        weight_decay_excludes: str | Sequence[str] | None = None,
        grad_clipping: Any = None,
        train_step_lbn: str | None = None,
        loss_scale_policy: Any = None,
        variables: Sequence[str] | Callable[[], Sequence[str]] | None = None,
    ) -> None:
        cls = type(self).__name__
        check_hyper(cls, "momentum_beta", momentum_beta,
                    is_real(momentum_beta) and 0 <= momentum_beta < 1, "a number in [0, 1)")
        check_hyper(cls, "epsilon", epsilon, is_real(epsilon) and epsilon >= 0,
                    "a finite number >= 0")
        check_hyper(cls, "lars_coefficient", lars_coefficient,
                    is_real(lars_coefficient) and lars_coefficient > 0,
                    "a finite number > 0")
        decay = weight_decay_config(cls, weight_decay, weight_decay_includes,
                                    weight_decay_excludes)
        super().__init__(lr_scheduler, loss_scale_factor, grad_clipping, train_step_lbn,
                         loss_scale_policy, variables)
        self.momentum_beta = float(momentum_beta)
        self.epsilon = float(epsilon)
        self.lars_coefficient = float(lars_coefficient)
        self._set_weight_decay(decay)

    def slot_defaults(self) -> dict[str, float]:
        """``<var>-momentum`` starting at 0."""
        return {"momentum": 0.0}

    def hyperparams(self) -> dict[str, Any]:
        """``beta``, ``epsilon`` and ``lars_coefficient`` for ``lars_update``."""
        return {"beta": self.momentum_beta, "epsilon": self.epsilon,
                "lars_coefficient": self.lars_coefficient}
