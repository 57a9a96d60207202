"""The train pass: from the losses given to ``minimize`` to update ops (spec §1 order).

1. autodiff, the loss seeded with the static loss scale S;
2. gradients times 1/N (N = the loss's element count), then times 1/S;
3. per-variable L1/L2 regularizers: g + l1*sign(w) + l2*w;
4. per optimizer: clipping by global norm over its variables, the learning rate from the
   train step, and one update op per variable (slots created here);
5. the train-step counter ``System-Train-TrainStep-<job>`` advances.
"""

from __future__ import annotations

from typing import Any

from tideflow import dtypes
from tideflow.compiler import loss_scaling as scaling
from tideflow.compiler.autodiff import gradients
from tideflow.errors import JobDefinitionError
from tideflow.framework import build
from tideflow.framework.blob import Blob
from tideflow.initializers import zeros_initializer
from tideflow.ops.math import scalar_mul
from tideflow.optimizer.loss_scale import DynamicLossScalePolicy


def _train_step(ctx: build.BuildContext) -> Blob:
    from tideflow.variables import declare_in_job

    return declare_in_job(f"System-Train-TrainStep-{ctx.job_name}", (1,), dtypes.int64,
                          zeros_initializer(dtypes.int64), trainable=False, seed=0)


def build_train(ctx: build.BuildContext) -> None:
    """Append backward, gradient processing and update ops for the job's train conf."""
    from tideflow.optimizer.legacy import legacy_train_conf

    conf = legacy_train_conf(ctx) or ctx.extras.get("train_conf")
    if conf is None:
        raise JobDefinitionError(
            f"job '{ctx.job_name}' is a train job but no optimizer was given: call "
            "flow.optimizer.<Name>(...).minimize(loss) in the job body"
        )
    losses: list[Blob] = conf["losses"]
    first = losses[0].meta
    for loss in losses[1:]:
        if loss.meta != first:
            raise JobDefinitionError(
                f"job '{ctx.job_name}': every loss must have the same shape and dtype; got "
                f"{first} and {loss.meta}"
            )
    variables: dict[str, Blob] = ctx.extras.get("variables", {})
    session_vars = ctx.session.variables.infos
    trainable = [n for n, b in variables.items() if session_vars[n].trainable]
    groups = [(opt, opt.resolve_variables(trainable)) for opt in conf["optimizers"]]
    owner: dict[str, str] = {}
    for opt, names in groups:
        for n in names:
            if n in owner:
                raise JobDefinitionError(
                    f"job '{ctx.job_name}': variable '{n}' is updated by two optimizers "
                    f"({owner[n]} and {type(opt).__name__}); give each optimizer of a "
                    "CombinedOptimizer its own variables=[...]"
                )
            owner[n] = type(opt).__name__
    var_names = list(dict.fromkeys(n for _, names in groups for n in names))
    diffs = ctx.extras.get("watch_diffs", [])
    xs = [variables[n] for n in var_names] + [b for b, _ in diffs]
    policy = conf.get("policy")
    dynamic = isinstance(policy, DynamicLossScalePolicy)
    if dynamic and conf.get("train_step") is not None:
        raise JobDefinitionError(f"job '{ctx.job_name}': a dynamic loss scale cannot be used "
                                 "with train_step_lbn (as in OneFlow)")
    state = scaling.declare_state(ctx, policy) if dynamic else None
    scale = 1.0 if dynamic else float(conf["loss_scale"])
    seeds = [scaling.seed(state.scale, loss) if state is not None else
             build.add_op("fill", [], {"shape": loss.shape, "dtype": loss.dtype,
                                       "value": scale}, name="loss_seed") for loss in losses]
    grads = gradients(losses, seeds, xs)
    for (blob, handler), g in zip(diffs, grads[len(var_names):], strict=True):
        if g is None:
            raise JobDefinitionError(f"watch_diff: the loss does not depend on {blob.op_name}")
        ctx.extras.setdefault("watch_values", []).append((g, handler))
    count = first.size
    processed: dict[str, Any] = {}
    unscaled: list[Blob] = []
    lazy = _indexed_slices_names(ctx)
    owners = {n: opt for opt, names in groups for n in names}
    for name, g in zip(var_names, grads, strict=False):
        if g is None:
            continue
        reg = session_vars[name].regularizer
        opt = owners[name]
        if (name in lazy and not dynamic and (reg is None or not (reg.l1 or reg.l2))
                and opt.grad_clipping is None and opt.sparse_update_op_for(name)):
            rows = _as_indexed_slices(ctx, g)
            if rows is not None:
                indices, values, factor = rows
                factor = factor / count / scale
                processed[name] = (indices, scalar_mul(values, factor) if factor != 1.0
                                   else values)
                continue
        if count != 1:
            g = scalar_mul(g, 1.0 / count)
        if scale != 1.0:
            g = scalar_mul(g, 1.0 / scale)
        if state is not None:
            g = scaling.unscale(g, state.scale)
            unscaled.append(g)
        if reg is not None and (reg.l1 or reg.l2):
            g = build.add_op("l1_l2_regularize", [g, variables[name]],
                             {"l1": reg.l1, "l2": reg.l2}, name=f"{name}-regularize")
        processed[name] = g
    user_step = conf.get("train_step")
    step = _user_step(ctx, user_step) if user_step is not None else _train_step(ctx)
    skip = scaling.count_not_finite(unscaled) if state is not None and unscaled else None
    for opt, names in groups:
        names = [n for n in names if n in processed]
        if not names:
            continue
        gs = [processed[n] for n in names]
        clip = opt.grad_clipping
        clip_index = None
        if clip is not None:
            gs = list(_as_tuple(build.add_op("clip_by_global_norm", gs,
                                             {"clip_norm": clip.clip_norm}, name="clip")))
            clip_index = len(ctx.graph.nodes) - 1
        if getattr(opt.lr_scheduler, "blob", None) is not None:
            lr = _custom_lr(ctx, opt.lr_scheduler.blob)
        else:
            lr = build.add_op("lr_schedule", [step], {"scheduler": opt.lr_scheduler},
                              name="System-Train-LearningRate-Scheduler")
        dense = opt.build_updates(ctx, [(n, variables[n], g) for n, g in
                                        zip(names, gs, strict=True)], lr, step, skip=skip)
        if dense and all(not isinstance(processed[n], tuple) for n in names):
            ctx.extras.setdefault("update_groups", []).append(
                {"nodes": list(dense), "clip": clip_index})
    if user_step is None:
        build.add_op("step_increment", [step] + ([skip] if skip is not None else []), {},
                     name="System-Train-TrainStep-assign")
    if state is not None and skip is not None:
        scaling.schedule(state, skip, policy)


def _user_step(ctx: build.BuildContext, step: Any) -> Blob:
    """The blob named by ``train_step_lbn`` (a blob, or a logical blob name)."""
    if isinstance(step, str):
        found = None
        for node in ctx.graph.nodes:
            for i, v in enumerate(node.outputs):
                if step in (f"{node.name}/out_{i}", f"{node.name}/out" if i == 0 else None):
                    found = build.blob_of(ctx.graph, v)
        if found is None:
            raise JobDefinitionError(f"train_step_lbn={step!r} names no blob of job "
                                     f"'{ctx.job_name}'")
        step = found
    if step.graph is not ctx.graph or step.shape != (1,) or step.dtype.np_dtype.kind not in "iu":
        raise JobDefinitionError(
            f"train_step_lbn must be an integer blob of shape (1,) of job '{ctx.job_name}'; "
            f"received {step.op_name} with shape {step.shape} and dtype {step.dtype.name}")
    return step


def _custom_lr(ctx: build.BuildContext, blob: Blob) -> Blob:
    """A ``CustomScheduler``'s blob as the (1,) float32 learning rate."""
    from tideflow.ops.array import cast, reshape

    if blob.graph is not ctx.graph:
        raise JobDefinitionError(
            f"CustomScheduler: the learning-rate blob '{blob.op_name}' belongs to another job; "
            f"build it in the body of job '{ctx.job_name}'")
    if blob.meta.size != 1:
        raise JobDefinitionError(
            f"CustomScheduler: the learning-rate blob '{blob.op_name}' must hold exactly one "
            f"element; its shape is {blob.shape}")
    lr = cast(blob, dtypes.float32)
    return lr if lr.shape == (1,) else reshape(lr, (1,))


def _indexed_slices_names(ctx: build.BuildContext) -> set[str]:
    """Variables named by ``function_config.indexed_slices_optimizer_conf`` (spec §10)."""
    conf = ctx.extras["config"].get("indexed_slices_optimizer_conf") if ctx.extras.get(
        "config") is not None else None
    if not conf:
        return set()
    names = (conf.get("include_op_names") or {}).get("op_name") or []
    return {names} if isinstance(names, str) else set(names)


def _as_indexed_slices(ctx: build.BuildContext, g: Blob) -> tuple[Blob, Blob, float] | None:
    """(indices, values, factor) when ``g`` is an axis-0 gather gradient, possibly scaled.

    Only ``scalar_mul`` ops may stand between the ``gather_grad`` and the update, as in
    OneFlow's IndexedSlicesOptimizerRewritePass; otherwise the update stays dense.
    """
    graph = ctx.graph
    factor = 1.0
    node = graph.nodes[graph.producer[g.value]] if g.value in graph.producer else None
    while node is not None and node.type == "scalar_mul":
        factor *= float(node.attrs["value"])
        v = node.inputs[0]
        node = graph.nodes[graph.producer[v]] if v in graph.producer else None
    if node is None or node.type != "gather_grad" or node.attrs.get("axis") != 0:
        return None
    return build.blob_of(graph, node.inputs[1]), build.blob_of(graph, node.inputs[0]), factor


def _as_tuple(x: Any) -> tuple[Any, ...]:
    return x if isinstance(x, tuple) else (x,)
