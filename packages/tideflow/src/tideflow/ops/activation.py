"""Activations: ``flow.nn.relu`` / ``sigmoid`` / ``tanh`` (also under ``flow.math``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tideflow.framework.blob import Blob
from tideflow.framework.build import add_op
from tideflow.ops._util import meta
from tideflow.plugins.records import OpSpec


def _infer_same(attrs: dict, x: Any, *rest: Any) -> Any:
    return meta(x.shape, x.dtype)


def _relu_kernel(attrs: dict, ins: list, outs: list) -> Any:
    def run(i: list, o: list) -> None:
        np.maximum(i[0], 0, out=o[0])

    return run


def _relu_grad_kernel(attrs: dict, ins: list, outs: list) -> Any:
    def run(i: list, o: list) -> None:
        y, dy = i
        np.multiply(dy, y > 0, out=o[0])

    return run


def _grad_relu(ctx: Any, dys: list) -> list:
    return [ctx.op("relu_grad", ctx.outputs[0], dys[0])]


SPECS = [
    OpSpec("relu", _infer_same, _relu_kernel, _grad_relu),
    OpSpec("relu_grad", _infer_same, _relu_grad_kernel),
]


def relu(x: Blob, name: str | None = None) -> Blob:
    """Return ``max(x, 0)``."""
    return add_op("relu", [x], {}, name)
