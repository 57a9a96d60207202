"""Checking job results against the return annotation, and converting them after a run.

At build time :func:`flatten` checks the job's returned object against its annotation and
lists the blobs to fetch; after a run :func:`rebuild` turns the fetched arrays back into
the annotated structure.
"""

from __future__ import annotations

import inspect
import typing as _t
from collections.abc import Callable
from typing import Any

import numpy as np

from tideflow import typing as tp
from tideflow.errors import JobDefinitionError
from tideflow.framework.blob import Blob

EMPTY = inspect.Signature.empty


class LocalBlob:
    """A fetched result for un-annotated jobs: ``.numpy()``, ``.numpy_list()``.

    Other ndarray attributes (``.mean()``, ``.shape``) forward to :meth:`numpy`.
    """

    def __init__(self, array: np.ndarray) -> None:
        self._array = array

    def numpy(self) -> np.ndarray:
        """The value as one array."""
        return self._array

    def numpy_list(self) -> list[np.ndarray]:
        """The value as a one-element list (one device)."""
        return [self._array]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._array, name)

    def __repr__(self) -> str:
        return f"LocalBlob({self._array!r})"


def _leaf(kind: Any) -> Callable[[np.ndarray], Any]:
    if kind is tp.Numpy:
        return lambda a: a
    if kind is tp.ListNumpy:
        return lambda a: [a]
    if kind is tp.ListListNumpy:
        return lambda a: [[a]]
    return LocalBlob


def _fail(where: str, annotation: Any, got: Any) -> JobDefinitionError:
    return JobDefinitionError(
        f"{where}: the job returns {type(got).__name__}, which does not match its return "
        f"annotation {annotation!r}"
    )


def flatten(annotation: Any, result: Any, where: str) -> tuple[list[Blob], Any]:
    """Check ``result`` against ``annotation``; return the blobs and a rebuild recipe.

    Raises:
        JobDefinitionError: the result does not fit the annotation.
    """
    blobs: list[Blob] = []

    def take(b: Any, leaf: Any) -> Any:
        if not isinstance(b, Blob):
            raise JobDefinitionError(
                f"{where}: a job returns blobs or list/tuple/dict nested blobs only; received "
                f"{type(b).__name__}"
            )
        blobs.append(b)
        return ("leaf", len(blobs) - 1, _leaf(leaf))

    def bundle(x: Any, leaf: Any) -> Any:
        if isinstance(x, list | tuple):
            return (type(x).__name__, [bundle(v, leaf) for v in x])
        if isinstance(x, dict):
            return ("dict", {k: bundle(v, leaf) for k, v in x.items()})
        return take(x, leaf)

    def walk(ann: Any, x: Any) -> Any:
        origin = _t.get_origin(ann)
        args = _t.get_args(ann)
        if ann in tp.LEAVES or ann is EMPTY:
            if ann is EMPTY:
                return bundle(x, EMPTY)
            return take(x, ann)
        if origin is tp.Bundle:
            return bundle(x, args[0])
        if origin is tuple:
            if not isinstance(x, tuple) or len(x) != len(args):
                raise _fail(where, ann, x)
            return ("tuple", [walk(a, v) for a, v in zip(args, x, strict=True)])
        if origin is list:
            if not isinstance(x, list):
                raise _fail(where, ann, x)
            return ("list", [walk(args[0], v) for v in x])
        if origin is dict:
            if not isinstance(x, dict) or any(type(k) is not args[0] for k in x):
                raise _fail(where, ann, x)
            return ("dict", {k: walk(args[1], v) for k, v in x.items()})
        raise JobDefinitionError(f"{where}: unsupported return annotation {ann!r}")

    if annotation is None or annotation is type(None):
        if result is not None:
            raise _fail(where, annotation, result)
        return [], None
    if _t.get_origin(annotation) is tp.Callback:
        annotation = _t.get_args(annotation)[0]
    return blobs, walk(annotation, result)


def rebuild(recipe: Any, arrays: list[np.ndarray]) -> Any:
    """Turn fetched arrays back into the structure described by ``recipe``."""
    if recipe is None:
        return None
    kind = recipe[0]
    if kind == "leaf":
        return recipe[2](arrays[recipe[1]])
    if kind == "dict":
        return {k: rebuild(v, arrays) for k, v in recipe[1].items()}
    items = [rebuild(v, arrays) for v in recipe[1]]
    return tuple(items) if kind == "tuple" else items


def check_annotation(annotation: Any, where: str) -> None:
    """Reject return annotations OneFlow does not allow, at decoration time."""
    ok_origins = (tp.Callback, tp.Bundle, tuple, list, dict)
    if annotation in (None, type(None), EMPTY) or annotation in tp.LEAVES:
        return
    if _t.get_origin(annotation) in ok_origins:
        return
    raise JobDefinitionError(
        f"{where}: return annotation {annotation!r} is not supported; use tp.Numpy, "
        "tp.ListNumpy, tp.Callback[...], tp.Bundle[...], Tuple/List/Dict of them, or None"
    )
