"""``flow.get_all_variables`` and ``flow.load_variables``.

Both build the session first (like OneFlow, they trigger compilation of every job).
``load_variables`` validates every entry — name, shape, dtype — before it changes any
variable, so a bad dictionary leaves all variables as they were.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from tideflow import session as _session
from tideflow.dtypes import DType, as_dtype
from tideflow.errors import ShapeError, TideflowError


class VariableBlob:
    """A session variable seen from Python: ``.numpy()``, ``.shape``, ``.dtype``."""

    def __init__(self, name: str, array: np.ndarray, dtype: DType) -> None:
        self.name = name
        self._array = array
        self.dtype = dtype

    @property
    def shape(self) -> tuple[int, ...]:
        """The variable's shape."""
        return tuple(self._array.shape)

    def numpy(self) -> np.ndarray:
        """A copy of the current value."""
        return np.array(self._array)

    def __repr__(self) -> str:
        return f"VariableBlob({self.name!r}, shape={self.shape}, dtype={self.dtype!r})"


def get_all_variables() -> dict[str, VariableBlob]:
    """Return ``{name: blob}`` for every variable of every job (slots and steps included)."""
    sess = _session.default_session().try_init()
    return {name: VariableBlob(name, sess.variables.arrays[name], info.dtype)
            for name, info in sess.variables.infos.items()}


def _value(name: str, value: Any) -> tuple[np.ndarray, DType]:
    if hasattr(value, "numpy") and callable(value.numpy):
        arr = np.asarray(value.numpy())
        dtype = getattr(value, "dtype", None)
        return arr, as_dtype(dtype) if dtype is not None else as_dtype(arr.dtype)
    if isinstance(value, np.ndarray):
        return value, as_dtype(value.dtype)
    raise TypeError(f"load_variables: value of '{name}' must be a numpy array or a blob with "
                    f".numpy(); received {type(value).__name__}")


def _check(name: str, info: Any, shape: tuple[int, ...], dtype: DType, value: Any) -> None:
    if tuple(shape) != info.shape or dtype != info.dtype:
        source = getattr(value, "file_path", None)
        raise ShapeError(
            f"load_variables: variable '{name}' is {info.dtype.name}{list(info.shape)}; "
            f"received {dtype.name}{list(shape)}"
            + (f" from {source}" if source else "") + " (no variable was changed)"
        )


def load_variables(value_dict: Mapping[str, Any], ignore_mismatch: bool = True) -> None:
    """Assign values to variables by name; variables not in the dict keep their values.

    Checkpoint values (``flow.checkpoint.get``) are read before any variable changes; one
    saved without ``meta`` (the legacy layout) is read as its variable's shape and dtype.

    Args:
        value_dict: name -> numpy array, ``get_all_variables()`` blob or checkpoint blob.
        ignore_mismatch: skip names that are not variables (else raise).

    Raises:
        ShapeError: a value's shape or dtype differs from its variable's (nothing changes).
        CheckpointError: a checkpoint file has the wrong size (nothing changes).
        TideflowError: a name is not a variable and ``ignore_mismatch`` is False.
    """
    sess = _session.default_session().try_init()
    infos = sess.variables.infos
    checked = []
    for name, value in value_dict.items():  # 1. names, shapes and dtypes, reading no data
        if name not in infos:
            if ignore_mismatch:
                continue
            raise TideflowError(f'load_variables: "{name}" is not a variable name; pass '
                                "ignore_mismatch=True to skip it")
        info = infos[name]
        if callable(getattr(value, "bind", None)) and getattr(value, "shape", 0) is None:
            value = value.bind(info.shape, info.dtype)  # a meta-less (legacy) checkpoint file
        if not isinstance(value, np.ndarray) and getattr(value, "dtype", None) is not None \
                and isinstance(getattr(value, "shape", None), tuple):
            _check(name, info, value.shape, as_dtype(value.dtype), value)
        checked.append((name, info, value))
    staged = []
    for name, info, value in checked:  # 2. read every value before changing any variable
        arr, dtype = _value(name, value)
        _check(name, info, tuple(arr.shape), dtype, value)
        staged.append((sess.variables.arrays[name], arr))
    with sess.lock:
        for target, arr in staged:
            target[...] = arr
