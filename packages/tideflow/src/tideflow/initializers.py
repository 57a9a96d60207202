"""Variable initializers with OneFlow's names, signatures and numerics.

Each factory returns a frozen :class:`Initializer`; ``generate(shape, dtype, rng)`` draws the
values in float64 (int64 for integer initializers) and casts them to the variable's dtype.
Values follow OneFlow's NumPy path (``np.random.default_rng(seed)``, one call per variable),
so a variable initialized in one slice gets the same numbers as OneFlow's new model I/O.

Choices where OneFlow has two behaviours (documented, deliberate):

* **Fans of variance scaling** use the documented C++ rule (``GenInitialFan`` in
  kernel_util.cpp), not the NumPy path whose misspelled ``"channel_first"`` test always
  applies the channels-last rule. ``fan_in = prod(shape[1:])``; ``fan_out = shape[0] *
  prod(shape[2:])`` for channels-first (``"NC..."``/``"channels_first"``) and ``shape[0] *
  prod(shape[1:-1])`` for channels-last (``"N...C"``/``"channels_last"``). For 1-D and 2-D
  shapes both rules give ``fan_in = prod(shape[1:])``, ``fan_out = shape[0]``. OneFlow's C++
  path requires a 2-D shape when ``data_format == ""``; tideflow instead treats ``""`` with
  a shape of rank > 2 as channels-first. Kaiming uses the same rule (its Python ``_CalcFan``).
* **Integer uniform** draws from ``[minval, maxval]`` (max included) as the C++ kernel
  does, like the float case; OneFlow's NumPy path excludes ``maxval`` for integers.
* ``stddev == 0`` gives the mean everywhere (OneFlow's truncated sampler never terminates).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np

from tideflow.dtypes import DType, as_dtype, float32
from tideflow.errors import HyperparameterError, ShapeError

__all__ = [
    "constant_initializer", "zeros_initializer", "ones_initializer",
    "random_uniform_initializer", "random_normal_initializer", "truncated_normal_initializer",
    "truncated_normal", "glorot_uniform_initializer", "xavier_uniform_initializer",
    "glorot_normal_initializer", "xavier_normal_initializer", "variance_scaling_initializer",
    "kaiming_initializer",
]

_FLOAT_NAMES = ("float32", "float64")
_INT_NAMES = ("int8", "int32", "int64")
_MODES = ("fan_in", "fan_out", "fan_avg")
_VS_DISTRIBUTIONS = ("truncated_normal", "random_normal", "random_uniform")
_GAINS = {None: 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3, "relu": math.sqrt(2.0), "leaky_relu": None}
_TRUNC_STD = 0.87962566103423978  # std of a standard normal truncated to [-2, 2]


def _fail(fn: str, msg: str) -> HyperparameterError:
    return HyperparameterError(f"{fn}: {msg}")


def _real(fn: str, name: str, value: Any, *, finite: bool = True) -> float:
    """Check that ``value`` is a real number (finite unless told) and return it as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise _fail(fn, f"`{name}` must be a real number; received {name}={value!r}")
    if finite and not math.isfinite(float(value)):
        raise _fail(fn, f"`{name}` must be finite; received {name}={value!r}")
    return float(value)


def _conf_dtype(fn: str, dtype: Any) -> DType:
    """The dtype of a constant or uniform conf: float32/64 or int8/32/64, as OneFlow allows."""
    dt = None if dtype is None else as_dtype(dtype)
    if dt is None or dt.name not in _FLOAT_NAMES + _INT_NAMES:
        raise _fail(fn, f"`dtype` must be one of float32, float64, int8, int32, int64 "
                        f"(as in OneFlow); received dtype={dt!r}")
    return dt


def _int_in_range(fn: str, name: str, value: Any, dt: DType) -> int:
    _real(fn, name, value)
    info = np.iinfo(dt.np_dtype)
    if not info.min <= int(value) <= info.max:
        raise _fail(fn, f"`{name}` does not fit {dt.name} [{info.min}, {info.max}]; "
                        f"received {name}={value!r}")
    return int(value)


def _data_format(fn: str, data_format: Any, *, allow_empty: bool) -> str:
    """Map ``"NC..."``/``"N...C"``/``"channels_*"`` (and ``""``) to OneFlow's format names."""
    if isinstance(data_format, str):
        if data_format in ("channels_first", "channels_last"):
            return data_format
        if data_format.startswith("NC"):
            return "channels_first"
        if data_format.startswith("N") and data_format.endswith("C"):
            return "channels_last"
        if data_format == "" and allow_empty:
            return ""
    expected = '"NC...", "N...C", "channels_first", "channels_last"' + (
        ' or ""' if allow_empty else "")
    raise _fail(fn, f"`data_format` must be {expected}; received data_format={data_format!r}")


def _fan(shape: tuple[int, ...], mode: str, data_format: str) -> float:
    """The fan for ``mode`` by the C++ rule (see the module docstring)."""
    fan_in = float(math.prod(shape[1:]))
    rest = shape[1:-1] if data_format == "channels_last" else shape[2:]
    fan_out = float(shape[0] * math.prod(rest))
    return {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]


def _truncated(mean: float, std: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """OneFlow's ``RngTruncatedNormal``: resample until ``|x - mean| < 2 * std``."""
    if std == 0.0:
        return np.full(n, mean)
    data = np.empty(n)
    done = 0
    while done < n:
        remaining = n - done
        norm = rng.normal(mean, std, size=int(remaining * 1.2))
        kept = norm[np.abs(norm - mean) < 2 * std][:remaining]
        data[done:done + len(kept)] = kept
        done += len(kept)
    return data


@dataclass(frozen=True)
class Initializer(ABC):
    """Base class: an immutable description of how a variable's initial values are drawn."""

    def generate(self, shape: tuple[int, ...], dtype: np.dtype | DType,
                 rng: np.random.Generator) -> np.ndarray:
        """Draw a new C-contiguous array of exactly ``shape`` and ``dtype``.

        Args:
            shape: the variable's shape (non-negative ints).
            dtype: the variable's NumPy dtype (a tideflow dtype is accepted too).
            rng: the generator to draw from, normally ``np.random.default_rng(seed)``.

        Raises:
            ShapeError: ``shape`` is not a sequence of non-negative ints, or does not suit
                this initializer (variance scaling needs rank >= 1).
        """
        try:
            shape = tuple(int(d) for d in shape)
        except (TypeError, ValueError) as exc:
            raise ShapeError(f"{self!r}: shape must be a sequence of ints; "
                             f"received shape={shape!r}") from exc
        if any(d < 0 for d in shape):
            raise ShapeError(f"{self!r}: shape dims must be >= 0; received shape={shape}")
        np_dtype = np.dtype(getattr(dtype, "np_dtype", dtype))
        n = math.prod(shape)
        flat = self._draw(shape, n, rng) if n else np.empty(0)
        return np.asarray(flat).reshape(shape).astype(np_dtype, order="C")

    @abstractmethod
    def _draw(self, shape: tuple[int, ...], n: int, rng: np.random.Generator) -> np.ndarray:
        """Return ``n`` values (any shape that reshapes to ``shape``) from ``rng``."""


@dataclass(frozen=True)
class ConstantInitializer(Initializer):
    """Every element is ``value`` (OneFlow's ``constant_conf``; ``constant_int_conf`` for ints)."""

    value: float | int
    dtype: DType = float32

    def _draw(self, shape: tuple[int, ...], n: int, rng: np.random.Generator) -> np.ndarray:
        if self.dtype.is_floating:
            return np.full(n, float(self.value))
        return np.full(n, int(self.value), dtype=np.int64)


@dataclass(frozen=True)
class RandomUniformInitializer(Initializer):
    """Uniform in ``[minval, maxval]`` (``random_uniform_conf``); integers for int dtypes."""

    minval: float | int
    maxval: float | int
    dtype: DType = float32

    def _draw(self, shape: tuple[int, ...], n: int, rng: np.random.Generator) -> np.ndarray:
        if not self.dtype.is_floating:
            return rng.integers(int(self.minval), int(self.maxval), size=n, endpoint=True)
        high = np.nextafter(float(self.maxval), math.inf)  # OneFlow: max is included
        # Rounding in low + (high - low) * u can give high itself: clip to keep <= maxval.
        return np.minimum(rng.uniform(float(self.minval), high, size=n), float(self.maxval))


@dataclass(frozen=True)
class RandomNormalInitializer(Initializer):
    """Normal with ``mean`` and ``stddev`` (``random_normal_conf``)."""

    mean: float
    stddev: float

    def _draw(self, shape: tuple[int, ...], n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.normal(self.mean, self.stddev, size=n)


@dataclass(frozen=True)
class TruncatedNormalInitializer(Initializer):
    """Normal resampled until ``|x - mean| < 2 * stddev`` (``truncated_normal_conf``)."""

    mean: float
    stddev: float

    def _draw(self, shape: tuple[int, ...], n: int, rng: np.random.Generator) -> np.ndarray:
        return _truncated(self.mean, self.stddev, n, rng)


@dataclass(frozen=True)
class VarianceScalingInitializer(Initializer):
    """Scale ``s = scale / fan`` from the variable's shape (``variance_scaling_conf``).

    ``truncated_normal``: std ``sqrt(s) / 0.8796...`` truncated at 2 std (so the result has
    std ``sqrt(s)``); ``random_normal``: std ``sqrt(s)``; ``random_uniform``: ``±sqrt(3 s)``.
    """

    scale: float
    mode: str
    distribution: str
    data_format: str  # "channels_first", "channels_last" or ""

    def fan(self, shape: tuple[int, ...]) -> float:
        """The fan this initializer divides ``scale`` by for a variable of ``shape``."""
        if len(shape) == 0:
            raise ShapeError(f"{self!r}: needs a variable of rank >= 1; received shape=()")
        return _fan(tuple(shape), self.mode, self.data_format)

    def _draw(self, shape: tuple[int, ...], n: int, rng: np.random.Generator) -> np.ndarray:
        s = self.scale / self.fan(shape)
        if self.distribution == "truncated_normal":
            return _truncated(0.0, math.sqrt(s) / _TRUNC_STD, n, rng)
        if self.distribution == "random_normal":
            return rng.normal(0.0, math.sqrt(s), size=n)
        limit = math.sqrt(3.0 * s)
        return rng.uniform(-limit, limit, size=n)


def constant_initializer(value: float = 0, dtype: Any = float32) -> ConstantInitializer:
    """Fill with ``value``; ``dtype`` float32/float64, or int8/int32/int64 (value truncated)."""
    fn = "constant_initializer"
    dt = _conf_dtype(fn, dtype)
    if dt.is_floating:
        return ConstantInitializer(_real(fn, "value", value, finite=False), dt)
    return ConstantInitializer(_int_in_range(fn, "value", value, dt), dt)


def zeros_initializer(dtype: Any = float32) -> ConstantInitializer:
    """Fill with 0."""
    return constant_initializer(0.0, dtype)


def ones_initializer(dtype: Any = float32) -> ConstantInitializer:
    """Fill with 1."""
    return constant_initializer(1.0, dtype)


def random_uniform_initializer(minval: float = 0, maxval: float = 1,
                               dtype: Any = float32) -> RandomUniformInitializer:
    """Uniform in ``[minval, maxval]`` (max included); integer dtypes draw integers."""
    fn = "random_uniform_initializer"
    dt = _conf_dtype(fn, dtype)
    lo, hi = _real(fn, "minval", minval), _real(fn, "maxval", maxval)
    if lo > hi:
        raise _fail(fn, f"`minval` must be <= `maxval`; received minval={minval!r}, "
                        f"maxval={maxval!r}")
    if dt.is_floating:
        return RandomUniformInitializer(lo, hi, dt)
    return RandomUniformInitializer(_int_in_range(fn, "minval", minval, dt),
                                    _int_in_range(fn, "maxval", maxval, dt), dt)


def _mean_std(fn: str, mean: Any, stddev: Any) -> tuple[float, float]:
    m, s = _real(fn, "mean", mean), _real(fn, "stddev", stddev)
    if s < 0:
        raise _fail(fn, f"`stddev` must be >= 0; received stddev={stddev!r}")
    return m, s


def random_normal_initializer(mean: float = 0.0, stddev: float = 1.0, seed: int | None = None,
                              dtype: Any = None) -> RandomNormalInitializer:
    """Normal(mean, stddev). ``seed`` and ``dtype`` must be None, as OneFlow asserts."""
    fn = "random_normal_initializer"
    for name, value in (("seed", seed), ("dtype", dtype)):
        if value is not None:
            raise _fail(fn, f"`{name}` must be None (OneFlow does not support it; seed a "
                            f"variable with get_variable(random_seed=...)); "
                            f"received {name}={value!r}")
    return RandomNormalInitializer(*_mean_std(fn, mean, stddev))


def truncated_normal_initializer(mean: float = 0.0,
                                 stddev: float = 1.0) -> TruncatedNormalInitializer:
    """Normal(mean, stddev) resampled until ``|x - mean| < 2 * stddev``."""
    return TruncatedNormalInitializer(*_mean_std("truncated_normal_initializer", mean, stddev))


def truncated_normal(stddev: float = 1.0) -> TruncatedNormalInitializer:
    """Deprecated OneFlow alias used throughout its docs: truncated normal with mean 0."""
    return TruncatedNormalInitializer(*_mean_std("truncated_normal", 0.0, stddev))


def variance_scaling_initializer(scale: float = 1.0, mode: str = "fan_in",
                                 distribution: str = "truncated_normal",
                                 data_format: str = "") -> VarianceScalingInitializer:
    """Scale-by-fan initializer; see :class:`VarianceScalingInitializer` and the fan rule."""
    fn = "variance_scaling_initializer"
    sc = _real(fn, "scale", scale)
    if sc <= 0:
        raise _fail(fn, f"`scale` must be > 0; received scale={scale!r}")
    m = mode.lower() if isinstance(mode, str) else mode
    if m not in _MODES:
        raise _fail(fn, f"`mode` must be one of {_MODES}; received mode={mode!r}")
    d = distribution.lower() if isinstance(distribution, str) else distribution
    if d not in _VS_DISTRIBUTIONS:
        raise _fail(fn, f"`distribution` must be one of {_VS_DISTRIBUTIONS}; "
                        f"received distribution={distribution!r}")
    return VarianceScalingInitializer(sc, m, d, _data_format(fn, data_format, allow_empty=True))


def glorot_uniform_initializer(data_format: str = "") -> VarianceScalingInitializer:
    """Xavier uniform: ``variance_scaling(1.0, "fan_avg", "random_uniform", data_format)``."""
    return variance_scaling_initializer(1.0, "fan_avg", "random_uniform", data_format)


def glorot_normal_initializer(data_format: str = "") -> VarianceScalingInitializer:
    """Xavier normal: ``variance_scaling(1.0, "fan_avg", "random_normal", data_format)``."""
    return variance_scaling_initializer(1.0, "fan_avg", "random_normal", data_format)


xavier_uniform_initializer = glorot_uniform_initializer
xavier_normal_initializer = glorot_normal_initializer


def kaiming_initializer(shape: tuple[int, ...], distribution: str = "random_normal",
                        mode: str = "fan_in", nonlinearity: str | None = "leaky_relu",
                        negative_slope: float = 0.0,
                        data_format: str = "NCHW") -> Initializer:
    """He initialization for a weight of ``shape``: std = gain / sqrt(fan).

    Gains: None or sigmoid 1, tanh 5/3, relu sqrt(2), leaky_relu sqrt(2 / (1 + slope^2)).

    Returns:
        ``random_normal_initializer(0, std)`` or ``random_uniform_initializer(-b, b)`` with
        ``b = sqrt(3) * std``, as OneFlow does.
    """
    fn = "kaiming_initializer"
    try:
        dims = tuple(int(d) for d in shape)
    except (TypeError, ValueError) as exc:
        raise _fail(fn, f"`shape` must be a tuple of ints; received shape={shape!r}") from exc
    if len(dims) < 2 or math.prod(dims) <= 0:
        raise _fail(fn, "`shape` must have rank >= 2 and positive dims (a dense or conv "
                        f"weight); received shape={shape!r}")
    if distribution not in ("random_normal", "random_uniform"):
        raise _fail(fn, "`distribution` must be 'random_normal' or 'random_uniform'; "
                        f"received distribution={distribution!r}")
    if mode not in _MODES:
        raise _fail(fn, f"`mode` must be one of {_MODES}; received mode={mode!r}")
    if nonlinearity not in _GAINS:
        raise _fail(fn, f"`nonlinearity` must be one of {tuple(_GAINS)}; "
                        f"received nonlinearity={nonlinearity!r}")
    slope = _real(fn, "negative_slope", negative_slope)
    gain = _GAINS[nonlinearity]
    if gain is None:
        gain = math.sqrt(2.0 / (1 + slope**2))
    std = gain / math.sqrt(_fan(dims, mode, _data_format(fn, data_format, allow_empty=False)))
    if distribution == "random_normal":
        return RandomNormalInitializer(0.0, std)
    bound = math.sqrt(3.0) * std
    return RandomUniformInitializer(-bound, bound, float32)
