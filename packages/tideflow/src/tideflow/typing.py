"""``tideflow.typing`` (imported as ``tp``): job argument and return annotations.

Inputs: ``tp.Numpy.Placeholder(shape, dtype)`` (consistent, exact shape) and
``tp.ListNumpy.Placeholder(shape, dtype)`` (mirrored: one array per device, same rank,
at most as many elements). Returns: ``tp.Numpy``, ``tp.ListNumpy``, ``tp.ListListNumpy``,
``typing.Tuple/List/Dict`` of them, ``tp.Bundle[T]`` for any nesting, ``tp.Callback[T]``
for a registrar ``f(cb)``; no annotation returns a future with ``.get()`` and
``.async_get(cb)``.
"""

from __future__ import annotations

import typing as _t
from typing import Any

from tideflow import dtypes as _dtypes
from tideflow.errors import JobDefinitionError


class PyStructCompatibleToBlob:
    """Base of every tideflow annotation type."""


class OneflowNumpyDef(PyStructCompatibleToBlob):
    """Base of placeholder classes; subclasses carry ``shape`` and ``dtype``."""

    shape: tuple[int, ...] = ()
    dtype: _dtypes.DType = _dtypes.float32
    mirrored: bool = False


def _placeholder(kind: str, base: type, shape: Any, dtype: Any, mirrored: bool) -> type:
    if not isinstance(shape, tuple):
        raise JobDefinitionError(
            f"{kind}.Placeholder: shape should be a tuple; received {shape!r}"
        )
    for d in shape:
        if not isinstance(d, int) or isinstance(d, bool) or d <= 0:
            raise JobDefinitionError(
                f"{kind}.Placeholder: every dimension must be an int > 0; received "
                f"shape={shape!r}"
            )
    dt = _dtypes.as_dtype(dtype)
    return type(f"{kind}Def", (base,), {"shape": shape, "dtype": dt, "mirrored": mirrored})


class NumpyDef(OneflowNumpyDef):
    """A consistent placeholder: the argument must have exactly this shape and dtype."""


class ListNumpyDef(OneflowNumpyDef):
    """A mirrored placeholder: a list with one array per device."""


class Numpy(PyStructCompatibleToBlob):
    """Return annotation: one ``numpy.ndarray``; ``Numpy.Placeholder`` declares an input."""

    @staticmethod
    def Placeholder(shape: tuple[int, ...], dtype: Any = _dtypes.float32,  # noqa: N802
                    batch_axis: int = 0) -> type:
        """Declare a consistent input of exactly ``shape`` and ``dtype``."""
        return _placeholder("Numpy", NumpyDef, shape, dtype, False)


class ListNumpy(PyStructCompatibleToBlob):
    """Return annotation: a list with one array per device; also declares mirrored inputs."""

    @staticmethod
    def Placeholder(shape: tuple[int, ...], dtype: Any = _dtypes.float32) -> type:  # noqa: N802
        """Declare a mirrored input: per device an array of the same rank, <= size."""
        return _placeholder("ListNumpy", ListNumpyDef, shape, dtype, True)


class ListListNumpy(PyStructCompatibleToBlob):
    """Return annotation (v0.3): per device a list of arrays."""


_T = _t.TypeVar("_T")


class Callback(_t.Generic[_T]):
    """``tp.Callback[T]``: the call returns ``register(cb)``; ``cb`` gets the result."""


class Bundle(_t.Generic[_T]):
    """``tp.Bundle[T]``: any nesting of list/tuple/dict of blobs, converted leaf by leaf."""


LEAVES = (Numpy, ListNumpy, ListListNumpy)


def is_placeholder(annotation: Any) -> bool:
    """Whether ``annotation`` is a placeholder class made by ``*.Placeholder``."""
    return isinstance(annotation, type) and issubclass(annotation, OneflowNumpyDef)


def FixedTensorDef(shape: tuple[int, ...], dtype: Any = _dtypes.float32,  # noqa: N802
                   batch_axis: int = 0, name: str | None = None) -> type:
    """Deprecated (pre-v0.3) spelling of ``tp.Numpy.Placeholder``, used as a default value."""
    return Numpy.Placeholder(tuple(shape), dtype)


def MirroredTensorDef(shape: tuple[int, ...], dtype: Any = _dtypes.float32,  # noqa: N802
                      batch_axis: int = 0, name: str | None = None) -> type:
    """Deprecated (pre-v0.3) spelling of ``tp.ListNumpy.Placeholder``."""
    return ListNumpy.Placeholder(tuple(shape), dtype)
