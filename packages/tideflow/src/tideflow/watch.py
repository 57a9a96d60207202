"""``flow.watch`` / ``flow.watch_diff``: call a handler with a blob's value or gradient.

The handler's single parameter annotation picks the conversion: ``tp.Numpy`` gives an
ndarray, ``tp.ListNumpy`` a one-element list, no annotation an object with ``.numpy()``.
Handlers run after every call of the job, with copies of the values.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from tideflow import typing as tp
from tideflow.framework import build
from tideflow.framework.blob import Blob
from tideflow.framework.results import LocalBlob


def _wrap(handler: Callable[..., Any] | None, what: str) -> Callable[[np.ndarray], None]:
    if handler is None:
        return lambda a: print(f"{what}: {a}")
    if not callable(handler):
        raise TypeError(f"{what}: handler must be callable; received {handler!r}")
    params = list(inspect.signature(handler).parameters.values())
    ann = params[0].annotation if params else inspect.Signature.empty
    if ann is tp.Numpy:
        return lambda a: handler(np.array(a))
    if ann is tp.ListNumpy:
        return lambda a: handler([np.array(a)])
    return lambda a: handler(LocalBlob(np.array(a)))


def _check_blob(blob: Any, what: str) -> Blob:
    if not isinstance(blob, Blob):
        raise TypeError(f"{what}: expected a blob of the job; received {type(blob).__name__}")
    return blob


def watch(blob_watched: Blob, handler_or_prompt: Callable[..., Any] | None = None) -> None:
    """Call ``handler_or_prompt(value)`` with ``blob_watched``'s value after each run."""
    b = _check_blob(blob_watched, "watch")
    ctx = build.current()
    ctx.extras.setdefault("watch_values", []).append((b, _wrap(handler_or_prompt, "watch")))


def watch_diff(blob_watched: Blob, handler_or_prompt: Callable[..., Any] | None = None) -> None:
    """Call the handler with the gradient of the loss w.r.t. ``blob_watched`` (train jobs)."""
    b = _check_blob(blob_watched, "watch_diff")
    ctx = build.current()
    ctx.extras.setdefault("watch_diffs", []).append(
        (b, _wrap(handler_or_prompt, "watch_diff")))
