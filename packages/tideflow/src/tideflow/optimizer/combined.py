"""``flow.optimizer.CombinedOptimizer``: several optimizers over disjoint variable sets.

Each sub-optimizer keeps its own learning-rate schedule, warmup, clipping and weight decay
over the variables it lists; the train step and the loss-scale policy are shared and set on
the combined optimizer only (OneFlow v0.4 semantics). Overlapping variable sets are an
error at build time (OneFlow meant to forbid them; its check misses pairwise overlaps).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tideflow.optimizer.base import Optimizer, check_hyper, check_train_step, is_real
from tideflow.optimizer.loss_scale import LossScalePolicy, StaticLossScalePolicy


class CombinedOptimizer(Optimizer):
    """Minimize one loss with several optimizers, each over its own variables.

    Args:
        optimizers: the sub-optimizers; each should pass ``variables=[...]``.
        loss_scale_factor: static loss scale shared by all.
        train_step_lbn: a user step blob (or its name) shared by all.
        loss_scale_policy: loss-scale policy shared by all.

    Example::

        flow.optimizer.CombinedOptimizer([
            flow.optimizer.SGD(lr1, momentum=0.9, variables=["dense1-weight"]),
            flow.optimizer.Adam(lr2, variables=["dense2-weight"]),
        ]).minimize(loss)
    """

    def __init__(
        self,
        optimizers: Sequence[Optimizer],
        loss_scale_factor: float | None = None,
        train_step_lbn: str | None = None,
        loss_scale_policy: LossScalePolicy | None = None,
    ) -> None:
        cls = type(self).__name__
        check_hyper(cls, "optimizers", optimizers, isinstance(optimizers, list | tuple)
                    and len(optimizers) > 0 and all(isinstance(o, Optimizer) for o in optimizers),
                    "a non-empty list of optimizers")
        for o in optimizers:
            check_hyper(cls, "optimizers", o, not isinstance(o, CombinedOptimizer),
                        "plain optimizers (CombinedOptimizer cannot be nested)")
            check_hyper(cls, "optimizers", o, o.loss_scale_policy is None,
                        "optimizers without their own loss_scale_factor/loss_scale_policy "
                        "(set it on the CombinedOptimizer)")
        check_hyper(cls, "loss_scale_factor", loss_scale_factor, loss_scale_factor is None or (
            is_real(loss_scale_factor) and loss_scale_factor > 0), "a positive number or None")
        check_hyper(cls, "loss_scale_policy", loss_scale_policy,
                    loss_scale_factor is None or loss_scale_policy is None,
                    "None when loss_scale_factor is given (they are exclusive)")
        check_train_step(cls, train_step_lbn)
        for o in optimizers:
            check_hyper(cls, "optimizers", o, o.train_step_lbn is None,
                        "optimizers without their own train_step_lbn (set it on the "
                        "CombinedOptimizer)")
        self.optimizers = list(optimizers)
        if loss_scale_factor is not None:
            loss_scale_policy = StaticLossScalePolicy(float(loss_scale_factor))
        self.loss_scale_policy = loss_scale_policy
        self.lr_scheduler: Any = None
        self.grad_clipping = None
        self.variables = None
        self.train_step_lbn = train_step_lbn

    def sub_optimizers(self) -> list[Optimizer]:
        """The optimizers that own variable groups."""
        return list(self.optimizers)
