"""The ``Optimizer`` base class that every optimizer family subclasses.

The core owns the pipeline (seeding, averaging, loss scaling, regularizers, clipping, the
learning rate, the step counter); a family owns only its update rule. A family subclass
sets :attr:`Optimizer.update_op` (or overrides :meth:`update_op_for`), lists its slots in
:meth:`slot_defaults` and its hyperparameters in :meth:`hyperparams`, and validates every
argument in ``__init__`` *before* calling ``super().__init__`` so that a bad call changes
nothing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from tideflow.errors import HyperparameterError, JobDefinitionError
from tideflow.framework import build
from tideflow.framework.blob import Blob
from tideflow.optimizer.grad_clipping import ClipGradient
from tideflow.optimizer.loss_scale import LossScalePolicy, StaticLossScalePolicy
from tideflow.optimizer.schedulers import LrScheduler


def check_hyper(cls: str, name: str, value: Any, ok: bool, constraint: str) -> None:
    """Raise :class:`HyperparameterError` unless ``ok``, naming the argument and value."""
    if not ok:
        raise HyperparameterError(f"{cls}: `{name}` must be {constraint}; received "
                                  f"{name}={value!r}")


def is_real(value: Any) -> bool:
    """Whether ``value`` is a finite real number (not a bool)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(
        float(value))


def _patterns(cls: str, name: str, value: Any) -> list[str] | None:
    if value is None:
        return None
    items = [value] if isinstance(value, str) else value
    check_hyper(cls, name, value, isinstance(items, list | tuple) and all(
        isinstance(p, str) for p in items), "a str or a list of str")
    for p in items:
        try:
            re.compile(p)
        except re.error as exc:
            raise HyperparameterError(f"{cls}: `{name}` holds an invalid regex {p!r}: {exc}"
                                      ) from exc
    return list(items)


def weight_decay_config(cls: str, weight_decay: Any, includes: Any, excludes: Any
                        ) -> tuple[float, list[str] | None, list[str] | None]:
    """Validate decoupled weight decay and its name filters; return (λ, includes, excludes)."""
    check_hyper(cls, "weight_decay", weight_decay, weight_decay is None or (
        is_real(weight_decay) and weight_decay >= 0), "a number >= 0 or None")
    inc = _patterns(cls, "weight_decay_includes", includes)
    exc = _patterns(cls, "weight_decay_excludes", excludes)
    check_hyper(cls, "weight_decay_excludes", excludes, inc is None or exc is None,
                "None when weight_decay_includes is given (set at most one)")
    return float(weight_decay or 0.0), inc, exc


def check_train_step(cls: str, train_step_lbn: Any) -> None:
    """``train_step_lbn`` must be None, a blob of the job, or a logical blob name."""
    check_hyper(cls, "train_step_lbn", train_step_lbn, train_step_lbn is None
                or isinstance(train_step_lbn, str | Blob),
                "None, an integer blob of shape (1,) or its logical blob name")


class Optimizer:
    """Base of optimizer families (OneFlow's ``flow.optimizer.Optimizer``).

    Args:
        lr_scheduler: the learning-rate schedule.
        loss_scale_factor: static loss scale S (the loss is seeded with S, grads times 1/S).
        grad_clipping: ``flow.optimizer.grad_clipping.by_global_norm(c)``.
        train_step_lbn: a user step (an integer blob of shape (1,), or its logical blob
            name such as ``"my_step/out"``): the schedule and bias corrections read it and
            no ``System-Train-TrainStep-<job>`` counter is created.
        loss_scale_policy: ``flow.optimizer.loss_scale.static_loss_scale(S)``.
        variables: None (every trainable variable of the job), a list of variable names,
            or a zero-argument callable returning such a list.
    """

    #: op type of the per-variable update; families set it.
    update_op: str = ""

    def __init__(
        self,
        lr_scheduler: LrScheduler,
        loss_scale_factor: float | None = None,
        grad_clipping: ClipGradient | None = None,
        train_step_lbn: str | None = None,
        loss_scale_policy: LossScalePolicy | None = None,
        variables: Sequence[str] | Callable[[], Sequence[str]] | None = None,
    ) -> None:
        cls = type(self).__name__
        check_hyper(cls, "lr_scheduler", lr_scheduler, isinstance(lr_scheduler, LrScheduler),
                    "a learning-rate scheduler such as "
                    "flow.optimizer.PiecewiseConstantScheduler([], [0.1])")
        check_hyper(cls, "loss_scale_factor", loss_scale_factor, loss_scale_factor is None or (
            is_real(loss_scale_factor) and loss_scale_factor > 0), "a positive number or None")
        check_hyper(cls, "loss_scale_policy", loss_scale_policy,
                    loss_scale_factor is None or loss_scale_policy is None,
                    "None when loss_scale_factor is given (they are exclusive)")
        check_hyper(cls, "loss_scale_policy", loss_scale_policy, loss_scale_policy is None
                    or isinstance(loss_scale_policy, LossScalePolicy),
                    "a flow.optimizer.loss_scale policy or None")
        check_hyper(cls, "grad_clipping", grad_clipping, grad_clipping is None
                    or isinstance(grad_clipping, ClipGradient),
                    "flow.optimizer.grad_clipping.by_global_norm(...) or None")
        check_train_step(cls, train_step_lbn)
        check_hyper(cls, "variables", variables, variables is None or callable(variables) or (
            isinstance(variables, list | tuple) and all(isinstance(v, str) for v in variables)),
            "None, a list of variable names or a callable returning one")
        self.lr_scheduler = lr_scheduler
        self.grad_clipping = grad_clipping
        if loss_scale_factor is not None:
            loss_scale_policy = StaticLossScalePolicy(float(loss_scale_factor))
        self.loss_scale_policy = loss_scale_policy
        self.variables = variables
        self.train_step_lbn = train_step_lbn
        self.weight_decay = 0.0
        self.weight_decay_includes: list[str] | None = None
        self.weight_decay_excludes: list[str] | None = None

    def _set_weight_decay(self, config: tuple[float, Any, Any]) -> None:
        """Store a configuration returned by :func:`weight_decay_config`."""
        self.weight_decay, self.weight_decay_includes, self.weight_decay_excludes = config

    def weight_decay_for(self, var_name: str) -> float:
        """λ for ``var_name`` after the include/exclude regex filters (unanchored search)."""
        if not self.weight_decay:
            return 0.0
        if self.weight_decay_includes is not None:
            hit = any(re.search(p, var_name) for p in self.weight_decay_includes)
            return self.weight_decay if hit else 0.0
        if self.weight_decay_excludes is not None:
            hit = any(re.search(p, var_name) for p in self.weight_decay_excludes)
            return 0.0 if hit else self.weight_decay
        return self.weight_decay

    # ----------------------------------------------------------------- family interface

    def slot_defaults(self) -> dict[str, float]:
        """Slot suffix -> initial value (``{"momentum": 0.0}``); none by default."""
        return {}

    def slot_shape(self, suffix: str, var_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of slot ``suffix`` for a variable of ``var_shape`` (default: the same).

        A family with per-variable scalar state (LAMB's ``beta1_t``) returns ``(1,)``.
        """
        return var_shape

    def hyperparams(self) -> dict[str, Any]:
        """Attributes passed to the update op (besides ``weight_decay``)."""
        return {}

    def update_op_for(self, var_name: str) -> str:
        """The op type that updates ``var_name``."""
        return self.update_op

    def sparse_update_op_for(self, var_name: str) -> str | None:
        """The lazy (indexed-slices) update op for ``var_name``, or None.

        Without one, a gathered variable is updated densely, as in OneFlow.
        """
        return None

    # ----------------------------------------------------------------- used by the core

    def minimize(self, loss: Blob | Sequence[Blob]) -> None:
        """Make this optimizer minimize ``loss`` in the current train job.

        As in OneFlow, a later ``minimize`` in the same job replaces an earlier one.
        """
        ctx = build.current()
        losses = list(loss) if isinstance(loss, list | tuple) else [loss]
        for b in losses:
            if not isinstance(b, Blob):
                raise TypeError(f"{type(self).__name__}.minimize: loss must be a blob or a "
                                f"list of blobs; received {type(b).__name__}")
        if not ctx.trainable:
            raise JobDefinitionError(
                f"{type(self).__name__}.minimize() is called in predict job '{ctx.job_name}'; "
                "declare it with @flow.global_function(type=\"train\")"
            )
        policy = self.loss_scale_policy
        ctx.extras["train_conf"] = {
            "losses": losses,
            "optimizers": self.sub_optimizers(),
            "loss_scale": getattr(policy, "loss_scale_factor", 1.0),
            "policy": policy,
            "train_step": self.train_step_lbn,
        }

    def sub_optimizers(self) -> list[Optimizer]:
        """The optimizers that own variable groups (a combined optimizer has several)."""
        return [self]

    def resolve_variables(self, trainable: list[str]) -> list[str]:
        """The job's variable names this optimizer updates, in job order."""
        if self.variables is None:
            return list(trainable)
        names = self.variables() if callable(self.variables) else self.variables
        unknown = [n for n in names if n not in trainable]
        if unknown:
            raise JobDefinitionError(
                f"{type(self).__name__}: variables {unknown} are not trainable variables of "
                f"this job; known: {trainable}"
            )
        return [n for n in trainable if n in set(names)]

    def build_updates(self, ctx: build.BuildContext, items: list[tuple[str, Blob, Any]],
                      lr: Blob, step: Blob, skip: Blob | None = None) -> list[int]:
        """Create slots and one update op per (name, variable, gradient).

        A gradient is a blob, or an ``(indices, values)`` pair for a lazy row update.
        ``skip`` (dynamic loss scaling) is the non-finite gradient count: updates do nothing
        when it is nonzero.

        Returns:
            The graph indices of the dense update ops, which the compiler may fuse into
            one multi-tensor call (``docs/plugins/fused-updates.md``).
        """
        tail = [lr, step] + ([skip] if skip is not None else [])
        from tideflow.initializers import constant_initializer
        from tideflow.variables import declare_in_job

        hyper = self.hyperparams()
        dense: list[int] = []
        for name, var, grad in items:
            slots = [
                declare_in_job(f"{name}-{suffix}", self.slot_shape(suffix, var.shape),
                               var.dtype, constant_initializer(init, var.dtype),
                               trainable=False, seed=0, group=f"slot:{suffix}")
                for suffix, init in self.slot_defaults().items()
            ]
            attrs = {**hyper, "weight_decay": self.weight_decay_for(name)}
            if isinstance(grad, tuple):
                build.add_op(self.sparse_update_op_for(name) or "", [var, *grad, *slots, *tail],
                             attrs, name=f"{name}_optimizer")
                continue
            ctx.extras.setdefault("grad_values", {})[name] = grad.value
            build.add_op(self.update_op_for(name), [var, grad, *slots, *tail], attrs,
                         name=f"{name}_optimizer")
            dense.append(len(ctx.graph.nodes) - 1)
        return dense
