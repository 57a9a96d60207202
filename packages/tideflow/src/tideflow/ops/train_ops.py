"""Ops the train pass inserts: loss seeds, regularization, clipping, LR and step counter."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tideflow import dtypes
from tideflow.ops._util import check, meta
from tideflow.plugins.records import OpSpec


def _infer_fill(attrs: dict) -> Any:
    return meta(attrs["shape"], attrs["dtype"])


def _fill_kernel(attrs: dict, ins: list, outs: list) -> Any:
    value = attrs["value"]

    def run(i: list, o: list) -> None:
        o[0].fill(value)

    return run


def _infer_regularize(attrs: dict, g: Any, w: Any) -> Any:
    check(g.shape == w.shape, f"gradient shape {g.shape} differs from variable {w.shape}")
    return meta(g.shape, g.dtype)


def _regularize_kernel(attrs: dict, ins: list, outs: list) -> Any:
    l1, l2 = attrs["l1"], attrs["l2"]

    def run(i: list, o: list) -> None:
        g, w = i
        # OneFlow's CPU kernel: sign(0) = +1.
        o[0][...] = g + l1 * np.where(w >= 0, 1.0, -1.0).astype(w.dtype) + l2 * w

    return run


def _infer_clip(attrs: dict, *gs: Any) -> Any:
    return tuple(meta(g.shape, g.dtype) for g in gs)


def _clip_kernel(attrs: dict, ins: list, outs: list) -> Any:
    c = float(attrs["clip_norm"])

    def run(i: list, o: list) -> None:
        total = 0.0
        for g in i:
            total += float(np.dot(g.ravel(), g.ravel()))
        norm = math.sqrt(total)
        # design §5: clip to norm c, g * c / max(norm, c)
        factor = c / max(norm, c) if c > 0 else 0.0
        for g, out in zip(i, o, strict=True):
            np.multiply(g, factor, out=out, casting="unsafe")

    return run


def _infer_lr(attrs: dict, step: Any) -> Any:
    return meta((1,), dtypes.float32)


def _lr_kernel(attrs: dict, ins: list, outs: list) -> Any:
    value = attrs["scheduler"].value

    def run(i: list, o: list) -> None:
        o[0][0] = value(int(i[0][0]))

    return run


def _infer_none(attrs: dict, *xs: Any) -> Any:
    return ()


def _increment_kernel(attrs: dict, ins: list, outs: list) -> Any:
    if len(ins) > 1:  # a non-finite count: the step does not advance on skipped steps

        def run_unless(i: list, o: list) -> None:
            if i[1][0] == 0:
                i[0][0] += 1

        return run_unless

    def run(i: list, o: list) -> None:
        i[0][0] += 1

    return run


def _infer_count(attrs: dict, *gs: Any) -> Any:
    return meta((1,), dtypes.int64)


def _count_kernel(attrs: dict, ins: list, outs: list) -> Any:
    def run(i: list, o: list) -> None:
        o[0][0] = sum(int(g.size - np.count_nonzero(np.isfinite(g))) for g in i)

    return run


def _schedule_kernel(attrs: dict, ins: list, outs: list) -> Any:
    from tideflow.optimizer.loss_scale import schedule_step

    period, multiplier = int(attrs["increment_period"]), float(attrs["multiplier"])

    def run(i: list, o: list) -> None:
        count, scale, good, skipped = i
        k, s = schedule_step(int(count[0]), int(good[0]), float(scale[0]), period, multiplier)
        good[0], scale[0] = k, s
        skipped[0] += int(count[0] != 0)

    return run


SPECS = [
    OpSpec("fill", _infer_fill, _fill_kernel, summary="a constant seed (loss scale)"),
    OpSpec("l1_l2_regularize", _infer_regularize, _regularize_kernel,
           summary="g + l1*sign(w) + l2*w"),
    OpSpec("clip_by_global_norm", _infer_clip, _clip_kernel,
           summary="scale gradients so their global norm is at most clip_norm"),
    OpSpec("lr_schedule", _infer_lr, _lr_kernel, summary="learning rate at the train step"),
    OpSpec("step_increment", _infer_none, _increment_kernel, stateful=True,
           summary="advance the train-step counter (unless the step was skipped)"),
    OpSpec("count_not_finite", _infer_count, _count_kernel,
           summary="number of non-finite elements over all gradients"),
    OpSpec("dynamic_loss_scale_schedule", _infer_none, _schedule_kernel, stateful=True,
           summary="grow or shrink the dynamic loss scale after a step"),
]
