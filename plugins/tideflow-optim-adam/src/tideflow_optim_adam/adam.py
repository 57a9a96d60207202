"""``flow.optimizer.Adam``, ``flow.optimizer.AdamW`` and ``flow.optimizer.LazyAdam``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tideflow.optimizer import Optimizer
from tideflow.optimizer.base import check_hyper, is_real, weight_decay_config


def check_betas_epsilon(cls: str, beta1: Any, beta2: Any, epsilon: Any, *,
                        epsilon_positive: bool) -> None:
    """Validate ``beta1``, ``beta2`` in [0, 1) and ``epsilon`` (>= 0, or > 0 if asked)."""
    for name, beta in (("beta1", beta1), ("beta2", beta2)):
        check_hyper(cls, name, beta, is_real(beta) and 0 <= beta < 1, "a number in [0, 1)")
    if epsilon_positive:
        check_hyper(cls, "epsilon", epsilon, is_real(epsilon) and epsilon > 0,
                    "a number > 0")
    else:
        check_hyper(cls, "epsilon", epsilon, is_real(epsilon) and epsilon >= 0,
                    "a number >= 0")


class Adam(Optimizer):
    """Adam, with OneFlow's legacy Python API and OneFlow v0.5.0's kernel.

    Update, with eta from ``lr_scheduler``, t the train step (0 at the first update),
    beta1, beta2, eps = ``beta1``, ``beta2``, ``epsilon``::

        m <- beta1 * m + (1 - beta1) * g              (slot <var>-m, starts at 0)
        v <- beta2 * v + (1 - beta2) * g^2            (slot <var>-v, starts at 0)
        bc1, bc2 = 1 - beta1^(t+1), 1 - beta2^(t+1)   if do_bias_correction else 1, 1
        w <- w - (eta / bc1) * m / (sqrt(v) / sqrt(bc2) + eps)

    OneFlow differences and our choice: OneFlow <= v0.4.0 put eps TensorFlow's way
    (``eta * sqrt(bc2) / bc1 * m / (sqrt(v) + eps)``); v0.5.0 moved it to PyTorch's place,
    which tideflow follows (design §5), so ``Adam(..., do_bias_correction=True)`` matches
    ``torch.optim.Adam``. The two agree when ``do_bias_correction=False``, OneFlow's default
    (the first steps are then about ``eta * (1-beta1)/sqrt(1-beta2)``, 3.16 eta by default).
    v0.5.0's ``<var>-max_v`` slot (amsgrad) is not created: the legacy API cannot enable it.
    Hyperparameters stay Python floats (OneFlow rounds them to float32). ``epsilon`` may be 0
    (as in PyTorch); an element whose gradient has always been exactly 0 then becomes NaN.

    Args:
        lr_scheduler: learning-rate schedule.
        beta1: first-moment decay in [0, 1); default 0.9.
        beta2: second-moment decay in [0, 1); default 0.999.
        epsilon: eps >= 0 added to the bias-corrected sqrt(v); default 1e-8.
        do_bias_correction: a bool; default False, as in OneFlow.
        loss_scale_factor: static loss scale.
        grad_clipping: e.g. ``flow.optimizer.grad_clipping.by_global_norm(1.0)``.
        train_step_lbn: a user step blob (or its logical blob name) instead of the counter.
        loss_scale_policy: e.g. ``flow.optimizer.loss_scale.static_loss_scale(1024.0)``.
        variables: names of the variables to update (default: all trainable ones).

    Example::

        lr = flow.optimizer.PiecewiseConstantScheduler([], [1e-3])
        flow.optimizer.Adam(lr, do_bias_correction=True).minimize(loss)

    Reference: OneFlow v0.5.0 ``python/oneflow/compatible/single_client/ops/optimizer.py``
    (Adam), ``oneflow/user/kernels/model_update_kernel_util.h`` (``AdamUpdateFunctor``) and
    ``oneflow/core/job_rewriter/adam_optm.cpp``.
    """

    update_op = "adam_update"

    def __init__(
        self,
        lr_scheduler: Any,
        beta1: float = 0.9,
        beta2: float = 0.999,
        epsilon: float = 1e-8,
        do_bias_correction: bool = False,
        loss_scale_factor: float | None = None,
        grad_clipping: Any = None,
        train_step_lbn: str | None = None,
        loss_scale_policy: Any = None,
        variables: Sequence[str] | Callable[[], Sequence[str]] | None = None,
    ) -> None:
        cls = type(self).__name__
        check_betas_epsilon(cls, beta1, beta2, epsilon, epsilon_positive=False)
        check_hyper(cls, "do_bias_correction", do_bias_correction,
                    isinstance(do_bias_correction, bool | np.bool_), "a bool")
        super().__init__(lr_scheduler, loss_scale_factor, grad_clipping, train_step_lbn,
                         loss_scale_policy, variables)
        self.beta1 = float(beta1)
        self.beta2 = float(beta2)
        self.epsilon = float(epsilon)
        self.do_bias_correction = bool(do_bias_correction)

    def sparse_update_op_for(self, var_name: str) -> str | None:
        """Lazy row update for variables named in ``indexed_slices_optimizer_conf``."""
        return "indexed_slices_adam_update"

    def slot_defaults(self) -> dict[str, float]:
        """``<var>-m`` and ``<var>-v``, both starting at 0."""
        return {"m": 0.0, "v": 0.0}

    def hyperparams(self) -> dict[str, Any]:
        """``beta1``, ``beta2``, ``epsilon`` and ``do_bias_correction`` for ``adam_update``."""
        return {"beta1": self.beta1, "beta2": self.beta2, "epsilon": self.epsilon,
                "do_bias_correction": self.do_bias_correction}


class AdamW(Adam):
    """Adam with decoupled weight decay lambda = ``weight_decay``.

    As :class:`Adam`, plus a decay with the raw learning rate (OneFlow v0.5.0, PyTorch's
    AdamW)::

        w <- w - (eta / bc1) * m / (sqrt(v) / sqrt(bc2) + eps) - eta * lambda * w

    where ``w`` on the right is the value before the step. OneFlow <= v0.4.0 scaled the decay
    by the bias-corrected rate instead. ``weight_decay_includes`` / ``weight_decay_excludes``
    (a regex or a list, at most one of them) select the variables decayed, by unanchored
    search in the variable name. With ``do_bias_correction=True`` this matches
    ``torch.optim.AdamW``.

    Args:
        lr_scheduler: learning-rate schedule.
        beta1: first-moment decay in [0, 1); default 0.9.
        beta2: second-moment decay in [0, 1); default 0.999.
        epsilon: eps >= 0; default 1e-8.
        do_bias_correction: a bool; default False.
        loss_scale_factor: static loss scale.
        weight_decay: lambda >= 0 (None: no decay).
        weight_decay_includes: decay only matching variables.
        weight_decay_excludes: decay all but matching variables.
        grad_clipping: gradient clipping.
        train_step_lbn: a user step blob (or its logical blob name) instead of the counter.
        loss_scale_policy: loss-scale policy.
        variables: names of the variables to update.

    Example::

        flow.optimizer.AdamW(lr, do_bias_correction=True, weight_decay=0.01,
                             weight_decay_excludes=["bias", "LayerNorm"]).minimize(loss)

    Reference: OneFlow v0.5.0 ``.../single_client/ops/optimizer.py`` (AdamW) and
    ``oneflow/core/job_rewriter/optimizer.cpp`` (``GetOptimizerWeightDecayRate``).
    """

    def __init__(
        self,
        lr_scheduler: Any,
        beta1: float = 0.9,
        beta2: float = 0.999,
        epsilon: float = 1e-8,
        do_bias_correction: bool = False,
        loss_scale_factor: float | None = None,
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
        super().__init__(lr_scheduler, beta1, beta2, epsilon, do_bias_correction,
                         loss_scale_factor, grad_clipping, train_step_lbn, loss_scale_policy,
                         variables)
        self._set_weight_decay(decay)


class LazyAdam(Adam):
    """LazyAdam: always bias-corrected Adam (OneFlow's ``LazyAdam``).

    Update, as :class:`Adam` with ``do_bias_correction=True``::

        m <- beta1 * m + (1 - beta1) * g;  v <- beta2 * v + (1 - beta2) * g^2
        w <- w - (eta / (1 - beta1^(t+1))) * m / (sqrt(v) / sqrt(1 - beta2^(t+1)) + eps)

    OneFlow differences and our choice: OneFlow runs LazyAdam through the same ``adam_update``
    op with bias correction forced on, so for dense gradients LazyAdam == Adam(
    do_bias_correction=True), exactly as here. The "lazy" row-sparse update (only the rows
    present in a gather's gradient move, absent rows keep their m and v) comes only from
    OneFlow's indexed-slices rewrite: name the variable in
    ``function_config.indexed_slices_optimizer_conf(dict(include_op_names=dict(op_name=[...])))``
    and its axis-0 ``gather`` gradient updates only the rows present (duplicates summed), as
    long as no clipping or regularizer touches it (otherwise the update stays dense, as in
    OneFlow). ``Adam`` takes the same path. There is no weight decay.

    Args:
        lr_scheduler: learning-rate schedule.
        beta1: first-moment decay in [0, 1); default 0.9.
        beta2: second-moment decay in [0, 1); default 0.999.
        epsilon: eps >= 0; default 1e-8.
        loss_scale_factor: static loss scale.
        grad_clipping: gradient clipping.
        train_step_lbn: a user step blob (or its logical blob name) instead of the counter.
        loss_scale_policy: loss-scale policy.
        variables: names of the variables to update.

    Example::

        flow.optimizer.LazyAdam(lr, beta2=0.99).minimize(loss)

    Reference: OneFlow v0.5.0 ``.../single_client/ops/optimizer.py`` (LazyAdam) and
    ``oneflow/core/job_rewriter/adam_optm.cpp`` (``kLazyAdamConf``).
    """

    def __init__(
        self,
        lr_scheduler: Any,
        beta1: float = 0.9,
        beta2: float = 0.999,
        epsilon: float = 1e-8,
        loss_scale_factor: float | None = None,
        grad_clipping: Any = None,
        train_step_lbn: str | None = None,
        loss_scale_policy: Any = None,
        variables: Sequence[str] | Callable[[], Sequence[str]] | None = None,
    ) -> None:
        super().__init__(lr_scheduler, beta1, beta2, epsilon, True, loss_scale_factor,
                         grad_clipping, train_step_lbn, loss_scale_policy, variables)
