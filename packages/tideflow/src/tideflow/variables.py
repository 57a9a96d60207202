"""Session variables: declaration at build time, flat storage at initialization.

Variables are keyed by their namespace-prefixed name and shared by every job that names
them. When the session initializes, all trainable floating variables of one dtype are laid
out in one contiguous buffer (each variable a view), and each kind of optimizer slot in
another buffer in the same order, so that a fused optimizer step can run over whole
buffers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tideflow.dtypes import DType, as_dtype
from tideflow.errors import JobDefinitionError, ShapeError
from tideflow.framework import build
from tideflow.framework.blob import Blob
from tideflow.initializers import Initializer
from tideflow.regularizers import Regularizer


@dataclass
class VariableInfo:
    """What is known about a variable before it has storage.

    Attributes:
        name: full (namespace-prefixed) name.
        shape: static shape.
        dtype: data type.
        initializer: how initial values are generated.
        regularizer: L1/L2 regularizer applied to its gradient in train jobs.
        trainable: whether optimizers update it.
        seed: seed of its initializer's random generator.
        group: flat-storage group: ``"param"``, ``"slot:<suffix>"`` or ``"other"``.
    """

    name: str
    shape: tuple[int, ...]
    dtype: DType
    initializer: Initializer
    regularizer: Regularizer | None
    trainable: bool
    seed: int
    group: str = "other"


class VariableStore:
    """Declared variables and, once materialized, their storage."""

    def __init__(self) -> None:
        self.infos: dict[str, VariableInfo] = {}
        self.arrays: dict[str, Any] = {}
        self.flat: dict[tuple[str, str], Any] = {}
        self.offsets: dict[str, tuple[int, int]] = {}

    def declare(self, info: VariableInfo) -> VariableInfo:
        """Register ``info`` or return the identical variable declared before.

        Raises:
            ShapeError: a variable of that name exists with another shape.
        """
        old = self.infos.get(info.name)
        if old is None:
            self.infos[info.name] = info
            return info
        if old.shape != info.shape:
            raise ShapeError(
                f"get_variable: variable '{info.name}' already exists with shape {old.shape}; "
                f"received shape={info.shape}"
            )
        return old

    def materialize(self, xp: Any = np) -> None:
        """Allocate flat storage and fill every variable from its initializer."""
        groups: dict[tuple[str, str], list[VariableInfo]] = {}
        for info in self.infos.values():
            if info.name in self.arrays:
                continue
            key = (info.group, info.dtype.name)
            groups.setdefault(key, []).append(info)
        for key, infos in groups.items():
            total = sum(int(np.prod(i.shape)) for i in infos)
            flat = xp.empty(total, dtype=infos[0].dtype.np_dtype)
            self.flat[key] = flat
            start = 0
            for info in infos:
                n = int(np.prod(info.shape))
                view = flat[start:start + n].reshape(info.shape)
                view[...] = _initial_value(info)
                self.arrays[info.name] = view
                self.offsets[info.name] = (start, n)
                start += n

    def reinitialize(self, names: list[str] | None = None) -> None:
        """Refill materialized variables (default: all) from their initializers and seeds."""
        for name in self.infos if names is None else names:
            if name in self.arrays:
                self.arrays[name][...] = _initial_value(self.infos[name])


def _initial_value(info: VariableInfo) -> np.ndarray:
    """The initial value of ``info``: the same on every call (its own seeded generator)."""
    rng = np.random.default_rng(info.seed)
    return info.initializer.generate(info.shape, info.dtype.np_dtype, rng)


def _new_seed() -> int:
    # Drawn from NumPy's global generator, so np.random.seed(...) makes runs repeatable.
    return int(np.random.randint(0, 2**31 - 1))


def declare_in_job(
    name: str,
    shape: tuple[int, ...],
    dtype: DType,
    initializer: Initializer,
    trainable: bool = True,
    regularizer: Regularizer | None = None,
    seed: int | None = None,
    group: str | None = None,
    reuse: bool = True,
) -> Blob:
    """Declare (or reuse) variable ``name`` (already prefixed) in the current job."""
    ctx = build.current()
    if ctx.session is None:
        raise JobDefinitionError("variables can only be created inside a job body")
    local: dict[str, Blob] = ctx.extras.setdefault("variables", {})
    if name in local:
        if not reuse:
            raise JobDefinitionError(
                f"variable '{name}' already exists in job '{ctx.job_name}'; a layer name "
                "can be used once per job (pass a different name=)"
            )
        if local[name].shape != tuple(shape):
            raise ShapeError(
                f"get_variable: variable '{name}' has shape {local[name].shape}; received "
                f"shape={tuple(shape)}"
            )
        return local[name]
    if group is None:
        group = "param" if trainable and dtype.is_floating else "other"
    info = VariableInfo(name, tuple(shape), dtype, initializer, regularizer, trainable,
                        _new_seed() if seed is None else int(seed), group)
    info = ctx.session.variables.declare(info)
    blob = build.add_op("variable", [], {"shape": info.shape, "dtype": info.dtype,
                                         "var_name": name}, name=name)
    local[name] = blob
    return blob


def get_variable(
    name: str,
    shape: Any = None,
    dtype: Any = None,
    initializer: Initializer | None = None,
    regularizer: Regularizer | None = None,
    trainable: bool | None = None,
    model_name: str | None = None,
    random_seed: int | None = None,
    distribute: Any = None,
    reuse: bool = True,
    parallel_distribution: Any = None,
) -> Blob:
    """Create or fetch a session variable inside a job (OneFlow's ``flow.get_variable``).

    Args:
        name: variable name; the namespace prefix is added.
        shape: a list or tuple of positive ints.
        dtype: data type (default float32).
        initializer: how to fill it at session start (required).
        regularizer: ``flow.regularizers.l1_l2(...)`` applied to its gradient.
        trainable: whether optimizers update it (default True).
        model_name: informational (``"weight"``/``"bias"``).
        random_seed: seed of its initializer (default: drawn from ``np.random``).
        distribute: accepted for compatibility (one device: no effect).
        reuse: if False, asking for a name this job already created is an error.
        parallel_distribution: accepted for compatibility.

    Returns:
        The variable's blob. Jobs naming the same variable share its storage.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"get_variable: name must be a non-empty str; received {name!r}")
    if not isinstance(shape, list | tuple) or not all(
        isinstance(d, int | np.integer) and d > 0 for d in shape
    ):
        raise ValueError(
            f"get_variable: shape must be a list or tuple of positive ints; received "
            f"shape={shape!r}"
        )
    dt = as_dtype(dtype) if dtype is not None else _default_dtype()
    if initializer is None:
        initializer = build.current().extras.get("default_initializer")
    if initializer is None:
        raise JobDefinitionError(
            f"get_variable: variable '{name}' has no initializer and the job has no "
            "default_initializer_conf; pass initializer=flow.zeros_initializer() or similar"
        )
    full = build.current().prefixed(name)
    return declare_in_job(full, tuple(int(d) for d in shape), dt, initializer,
                          True if trainable is None else bool(trainable), regularizer,
                          random_seed, reuse=reuse)


def _default_dtype() -> DType:
    from tideflow import dtypes

    return dtypes.float32
