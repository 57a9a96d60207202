"""OneFlow's data types, mapped onto NumPy dtypes.

``flow.float`` is ``flow.float32``, ``flow.double`` is ``flow.float64`` and ``flow.char``
is ``flow.int8`` as in OneFlow's ``dtype.py``. Each dtype carries OneFlow's ``DataType``
protobuf enum value, which checkpoints store in their ``meta`` files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True, slots=True)
class DType:
    """A tideflow data type: a name, its NumPy dtype and OneFlow's enum value."""

    name: str
    np_dtype: np.dtype
    proto_enum: int
    proto_name: str

    @property
    def is_floating(self) -> bool:
        """Whether values of this type are floating point."""
        return self.np_dtype.kind == "f"

    def __repr__(self) -> str:
        return f"tideflow.{self.name}"


char = int8 = DType("int8", np.dtype(np.int8), 4, "kInt8")
float16 = DType("float16", np.dtype(np.float16), 9, "kFloat16")
float32 = DType("float32", np.dtype(np.float32), 2, "kFloat")
float64 = DType("float64", np.dtype(np.float64), 3, "kDouble")
int32 = DType("int32", np.dtype(np.int32), 5, "kInt32")
int64 = DType("int64", np.dtype(np.int64), 6, "kInt64")
uint8 = DType("uint8", np.dtype(np.uint8), 7, "kUInt8")
float = float32  # noqa: A001 - OneFlow's public name
double = float64

ALL: tuple[DType, ...] = (int8, float16, float32, float64, int32, int64, uint8)
_BY_NP = {d.np_dtype: d for d in ALL}
_BY_PROTO = {d.proto_name: d for d in ALL}
_BY_PROTO.update({str(d.proto_enum): d for d in ALL})


def as_dtype(value: Any) -> DType:
    """Convert a tideflow dtype, NumPy dtype or type, or dtype name to a :class:`DType`.

    Raises:
        TypeError: ``value`` names no supported dtype.
    """
    if isinstance(value, DType):
        return value
    try:
        npd = np.dtype(value)
    except TypeError as exc:
        raise TypeError(
            f"dtype: expected a tideflow dtype such as flow.float32; received {value!r}"
        ) from exc
    if npd not in _BY_NP:
        supported = ", ".join(d.name for d in ALL)
        raise TypeError(f"dtype: {npd} is not supported; supported dtypes: {supported}")
    return _BY_NP[npd]


def from_proto(name: str) -> DType:
    """Return the dtype for a OneFlow ``DataType`` enum name (``kFloat``) or number."""
    if name not in _BY_PROTO:
        raise ValueError(f"unknown OneFlow data_type {name!r}; known: {sorted(_BY_PROTO)}")
    return _BY_PROTO[name]
