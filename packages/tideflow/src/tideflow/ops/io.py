"""Ops whose outputs are bound to storage by the runtime: placeholders and variables.

Their buffers are supplied by the session (variables) or by the job call (placeholders),
so their reference kernels never run.
"""

from __future__ import annotations

from typing import Any

from tideflow.ops._util import meta
from tideflow.plugins.records import OpSpec


def _infer_bound(attrs: dict) -> Any:
    return meta(attrs["shape"], attrs["dtype"])


def _never(attrs: dict, ins: list, outs: list) -> Any:
    raise RuntimeError("input and variable ops are bound to storage; they have no kernel")


SPECS = [
    OpSpec("input", _infer_bound, _never, summary="a job placeholder"),
    OpSpec("variable", _infer_bound, _never, summary="a session variable"),
]


def _copy_kernel(attrs: dict, ins: list, outs: list) -> Any:
    def run(i: list, o: list) -> None:
        o[0][...] = i[0]

    return run


def _infer_copy(attrs: dict, x: Any) -> Any:
    return meta(x.shape, x.dtype)


def _grad_copy(ctx: Any, dys: list) -> list:
    return [dys[0]]


SPECS.append(OpSpec("copy", _infer_copy, _copy_kernel, _grad_copy,
                    summary="copy a value (used to fetch variables as read in the forward)"))
