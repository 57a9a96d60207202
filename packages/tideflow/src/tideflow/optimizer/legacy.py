"""Pre-v0.3 training configuration: ``func_config.train.*`` and ``flow.losses.add_loss``.

OneFlow v0.4's ``ModelUpdateConfCompatiblePass`` turns ``train.primary_lr`` and
``train.model_update_conf({...})`` into one optimizer over all variables; tideflow does the
same by building the equivalent ``flow.optimizer`` objects (so the numerics are those of the
optimizer plugins). ``secondary_lr`` is discarded, as in OneFlow. Mixing these options with
``optimizer.minimize`` in one job is an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tideflow.errors import HyperparameterError, JobDefinitionError
from tideflow.framework import build
from tideflow.framework.blob import Blob

#: update conf key -> (optimizer class, class with decoupled weight decay, {proto field: arg})
FAMILIES: dict[str, tuple[str, str | None, dict[str, str]]] = {
    "naive_conf": ("SGD", "SGDW", {}),
    "momentum_conf": ("SGD", "SGDW", {"beta": "momentum"}),
    "adam_conf": ("Adam", "AdamW", {"beta1": "beta1", "beta2": "beta2", "epsilon": "epsilon",
                                    "do_bias_correction": "do_bias_correction"}),
    "lazy_adam_conf": ("LazyAdam", None, {"beta1": "beta1", "beta2": "beta2",
                                          "epsilon": "epsilon"}),
    "rmsprop_conf": ("RMSProp", None, {"decay_rate": "decay_rate", "epsilon": "epsilon",
                                       "centered": "centered"}),
    "lars_conf": ("LARS", "LARS", {"momentum_beta": "momentum_beta", "epsilon": "epsilon",
                                   "lars_coefficient": "lars_coefficient"}),
    "lamb_conf": ("LAMB", "LAMB", {"beta1": "beta1", "beta2": "beta2", "epsilon": "epsilon"}),
}
#: learning_rate_decay key -> (scheduler class, {proto field: arg}); base_lr comes first.
DECAYS: dict[str, tuple[str, dict[str, str]]] = {
    "exponential_conf": ("ExponentialScheduler", {"decay_batches": "steps",
                                                  "decay_rate": "decay_rate",
                                                  "staircase": "staircase"}),
    "inverse_time_conf": ("InverseTimeScheduler", {"decay_batches": "steps",
                                                   "decay_rate": "decay_rate",
                                                   "staircase": "staircase"}),
    "natural_exp_conf": ("NaturalExpScheduler", {"decay_batches": "steps",
                                                 "decay_rate": "decay_rate",
                                                 "staircase": "staircase"}),
    "polynomial_conf": ("PolynomialScheduler", {"decay_batches": "steps",
                                                "end_learning_rate": "end_learning_rate",
                                                "power": "power", "cycle": "cycle"}),
    "cosine_conf": ("CosineScheduler", {"decay_batches": "steps", "alpha": "alpha"}),
    "linear_cosine_conf": ("LinearCosineScheduler", {"decay_batches": "steps",
                                                     "num_periods": "num_periods",
                                                     "alpha": "alpha", "beta": "beta"}),
    "piecewise_scaling_conf": ("PiecewiseScalingScheduler", {"boundaries": "boundaries",
                                                             "scales": "scale"}),
}


def add_loss(loss: Blob) -> None:
    """Mark ``loss`` as a loss of the current train job (pre-v0.3 API).

    Raises:
        JobDefinitionError: called in a predict job.
    """
    ctx = build.current()
    if not ctx.trainable:
        raise JobDefinitionError(f"flow.losses.add_loss is only allowed in train jobs; job "
                                 f"'{ctx.job_name}' is a predict job")
    if not isinstance(loss, Blob):
        raise TypeError(f"add_loss: expected a blob; received {type(loss).__name__}")
    ctx.extras.setdefault("legacy_losses", []).append(loss)


def _pick(where: str, conf: Mapping[str, Any], table: Mapping[str, Any]) -> tuple[str, Any]:
    keys = [k for k in conf if k in table]
    if len(keys) != 1:
        raise HyperparameterError(
            f"{where}: expected exactly one of {sorted(table)}; received keys {sorted(conf)}")
    return keys[0], conf[keys[0]] or {}


def _args(where: str, fields: Mapping[str, Any], mapping: Mapping[str, str]) -> dict[str, Any]:
    unknown = sorted(set(fields) - set(mapping))
    if unknown:
        raise HyperparameterError(f"{where}: unknown fields {unknown}; known: {sorted(mapping)}")
    return {mapping[k]: v for k, v in fields.items()}


def _schedule(flow_optimizer: Any, base_lr: float, update: Mapping[str, Any]) -> Any:
    warmup = None
    if update.get("warmup_conf"):
        kind, fields = _pick("warmup_conf", update["warmup_conf"],
                             {"constant_conf": 0, "linear_conf": 0})
        if kind == "constant_conf":
            warmup = flow_optimizer.warmup.constant(fields.get("warmup_batches", 0),
                                                    fields.get("multiplier", 0.5))
        else:
            warmup = flow_optimizer.warmup.linear(fields.get("warmup_batches", 0),
                                                  fields.get("start_multiplier", 0.0))
    if not update.get("learning_rate_decay"):
        return flow_optimizer.PiecewiseConstantScheduler([], [base_lr], warmup=warmup)
    kind, fields = _pick("learning_rate_decay", update["learning_rate_decay"], DECAYS)
    cls_name, mapping = DECAYS[kind]
    args = _args(f"learning_rate_decay.{kind}", fields, mapping)
    return getattr(flow_optimizer, cls_name)(base_lr, warmup=warmup, **args)


def optimizer_from_config(config: Any) -> Any:
    """Build the optimizer that ``train.primary_lr`` / ``train.model_update_conf`` describe.

    Raises:
        HyperparameterError: the configuration is incomplete or has unknown fields.
    """
    from tideflow import optimizer as flow_optimizer

    lr = config.get("train.primary_lr")
    update = config.get("train.model_update_conf")
    if lr is None or update is None:
        raise HyperparameterError(
            "function_config.train: both primary_lr(...) and model_update_conf({...}) are "
            f"needed; received primary_lr={lr!r}, model_update_conf={update!r}")
    if not isinstance(update, Mapping):
        raise HyperparameterError(f"train.model_update_conf: expected a dict; received "
                                  f"{update!r}")
    family_keys = {k: v for k, v in update.items() if k in FAMILIES}
    kind, fields = _pick("train.model_update_conf", family_keys or update, FAMILIES)
    plain, decayed, mapping = FAMILIES[kind]
    kwargs = _args(f"model_update_conf.{kind}", fields, mapping)
    if kind == "naive_conf":
        kwargs["momentum"] = 0.0
    clip = (update.get("clip_conf") or {}).get("clip_by_global_norm")
    if clip:
        kwargs["grad_clipping"] = flow_optimizer.grad_clipping.by_global_norm(
            clip.get("clip_norm", 1.0))
    scale = config.get("train.loss_scale_factor")
    if scale is not None:
        kwargs["loss_scale_factor"] = scale
    name = plain
    decay = update.get("weight_decay_conf")
    if decay:
        if decayed is None:
            raise HyperparameterError(f"model_update_conf: {kind} has no weight decay; "
                                      "remove weight_decay_conf")
        name = decayed
        kwargs["weight_decay"] = decay.get("weight_decay_rate", 0.0)
        if decay.get("includes"):
            kwargs["weight_decay_includes"] = list(decay["includes"].get("pattern", []))
        if decay.get("excludes"):
            kwargs["weight_decay_excludes"] = list(decay["excludes"].get("pattern", []))
    schedule = _schedule(flow_optimizer, float(lr), update)
    return getattr(flow_optimizer, name)(schedule, **kwargs)


def legacy_train_conf(ctx: build.BuildContext) -> dict[str, Any] | None:
    """The train conf of a job configured the pre-v0.3 way, or None."""
    config = ctx.extras.get("config")
    losses = ctx.extras.get("legacy_losses")
    has_conf = config is not None and config.get("train.model_update_conf") is not None
    if "train_conf" in ctx.extras:
        if has_conf or losses:
            raise JobDefinitionError(
                f"job '{ctx.job_name}' mixes optimizer.minimize() with the deprecated "
                "train.model_update_conf / flow.losses.add_loss; use one of them")
        return None
    if not has_conf and not losses:
        return None
    if not losses:
        raise JobDefinitionError(f"job '{ctx.job_name}': train.model_update_conf is set but no "
                                 "loss was given; call flow.losses.add_loss(loss)")
    opt = optimizer_from_config(config)
    policy = opt.loss_scale_policy
    return {"losses": losses, "optimizers": opt.sub_optimizers(),
            "loss_scale": getattr(policy, "loss_scale_factor", 1.0), "policy": policy,
            "train_step": None}
