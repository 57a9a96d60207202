"""``flow.optimizer.LAMB``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tideflow.optimizer import Optimizer
from tideflow.optimizer.base import weight_decay_config
from tideflow_optim_adam.adam import check_betas_epsilon


class LAMB(Optimizer):
    """LAMB (layer-wise adaptive moments), OneFlow v0.4.0/v0.5.0 numerics.

    Update, with eta from ``lr_scheduler``, beta1, beta2, eps = ``beta1``, ``beta2``,
    ``epsilon`` and lambda = ``weight_decay`` (after the include/exclude filters)::

        beta1_t <- beta1_t * beta1;  beta2_t <- beta2_t * beta2   (before use)
        m <- beta1 * m + (1 - beta1) * g;  v <- beta2 * v + (1 - beta2) * g^2
        r = (m / (1 - beta1_t)) / (sqrt(v / (1 - beta2_t)) + eps)
        trust = ||w|| / ||r||  if ||w|| > 0 and ||r|| > 0  else 1
        w <- w - eta * trust * (r + lambda * w)

    Slots: ``<var>-m``, ``<var>-v`` (start at 0) and ``<var>-beta1_t``, ``<var>-beta2_t`` of
    shape (1,), starting at beta1 and beta2.

    OneFlow differences and our choice: tideflow reproduces OneFlow exactly, including two
    departures from the LAMB paper and ``tfa.optimizers.LAMB``: the powers are multiplied
    once before use, so the k-th update is corrected with beta^(k+1) rather than beta^k, and
    the trust ratio uses ||r||, not ||r + lambda*w||. ``epsilon`` must be > 0 (Adam allows 0):
    with eps = 0 a single element whose gradient has always been 0 makes ``r`` NaN there and,
    through the norm, makes the whole variable NaN.

    Args:
        lr_scheduler: learning-rate schedule.
        beta1: first-moment decay in [0, 1); default 0.9.
        beta2: second-moment decay in [0, 1); default 0.999.
        epsilon: eps > 0; default 1e-6.
        loss_scale_factor: static loss scale.
        weight_decay: lambda >= 0 (None: no decay).
        weight_decay_includes: decay only matching variables.
        weight_decay_excludes: decay all but matching variables.
        grad_clipping: gradient clipping.
        train_step_lbn: a user step blob (or its logical blob name) instead of the counter.
        loss_scale_policy: loss-scale policy.
        variables: names of the variables to update.

    Example::

        lr = flow.optimizer.PiecewiseConstantScheduler([], [1e-3])
        flow.optimizer.LAMB(lr, weight_decay=0.01,
                            weight_decay_excludes=["bias", "LayerNorm"]).minimize(loss)

    Reference: OneFlow v0.4.0 ``oneflow/python/ops/optimizer.py`` (LAMB),
    ``oneflow/core/job_rewriter/lamb_optm.cpp`` and
    ``oneflow/user/kernels/model_update_kernel_util.h`` (``LambGradFunctor``,
    ``LambUpdateFunctor``).
    """

    update_op = "lamb_update"

    def __init__(
        self,
        lr_scheduler: Any,
        beta1: float = 0.9,
        beta2: float = 0.999,
        epsilon: float = 1e-6,
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
        check_betas_epsilon(cls, beta1, beta2, epsilon, epsilon_positive=True)
        decay = weight_decay_config(cls, weight_decay, weight_decay_includes,
                                    weight_decay_excludes)
        super().__init__(lr_scheduler, loss_scale_factor, grad_clipping, train_step_lbn,
                         loss_scale_policy, variables)
        self.beta1 = float(beta1)
        self.beta2 = float(beta2)
        self.epsilon = float(epsilon)
        self._set_weight_decay(decay)

    def slot_defaults(self) -> dict[str, float]:
        """``<var>-m``, ``<var>-v`` at 0; ``<var>-beta1_t``, ``<var>-beta2_t`` at beta1, beta2."""
        return {"m": 0.0, "v": 0.0, "beta1_t": self.beta1, "beta2_t": self.beta2}

    def slot_shape(self, suffix: str, var_shape: tuple[int, ...]) -> tuple[int, ...]:
        """``(1,)`` for ``beta1_t`` and ``beta2_t``; the variable's shape for ``m``, ``v``."""
        return (1,) if suffix in ("beta1_t", "beta2_t") else var_shape

    def hyperparams(self) -> dict[str, Any]:
        """``beta1``, ``beta2`` and ``epsilon`` for ``lamb_update``."""
        return {"beta1": self.beta1, "beta2": self.beta2, "epsilon": self.epsilon}
