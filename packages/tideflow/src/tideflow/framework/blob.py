"""Symbolic blobs: what job bodies and layers pass between ops.

A blob has a static ``shape`` and ``dtype`` but no data. Python operators map onto math ops
with OneFlow's dispatch rules (scalar op, elementwise, broadcast).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tideflow.dtypes import DType

if TYPE_CHECKING:
    from tideflow.framework.graph import Graph, TensorMeta


def _math() -> Any:
    from tideflow import math as m

    return m


class Blob:
    """A symbolic tensor in a job's graph (OneFlow's ``RemoteBlob``)."""

    __slots__ = ("graph", "value", "op_name", "index")

    def __init__(self, graph: Graph, value: int, op_name: str, index: int = 0) -> None:
        self.graph = graph
        self.value = value
        self.op_name = op_name
        self.index = index

    @property
    def meta(self) -> TensorMeta:
        """Static shape and dtype."""
        return self.graph.metas[self.value]

    @property
    def shape(self) -> tuple[int, ...]:
        """The static shape."""
        return self.meta.shape

    @property
    def dtype(self) -> DType:
        """The data type."""
        return self.meta.dtype

    @property
    def logical_blob_name(self) -> str:
        """OneFlow's logical blob name, ``op/out_<i>``."""
        return f"{self.op_name}/out_{self.index}" if self.index else f"{self.op_name}/out"

    unique_name = logical_blob_name
    lbn = logical_blob_name

    @property
    def is_dynamic(self) -> bool:
        """Always False: tideflow blobs have static shapes."""
        return False

    @property
    def is_tensor_list(self) -> bool:
        """Always False."""
        return False

    @property
    def split_axis(self) -> int | None:
        """Split axis for the consistent view (None: broadcast)."""
        return None

    batch_axis = split_axis

    def with_distribute(self, distribute: Any) -> Blob:
        """Return the blob itself: distribution hints do not matter on one device."""
        return self

    def __repr__(self) -> str:
        return f"Blob({self.logical_blob_name}, shape={self.shape}, dtype={self.dtype!r})"

    def __len__(self) -> int:
        return self.shape[0]

    def __bool__(self) -> bool:
        raise TypeError(
            "a Blob has no value while the job is being built; it cannot be used in `if` or "
            "`and`/`or`. Compute the condition with flow.math ops or outside the job"
        )

    def __add__(self, o: Any) -> Blob:
        return _math().add(self, o)

    def __radd__(self, o: Any) -> Blob:
        return _math().add(o, self)

    def __sub__(self, o: Any) -> Blob:
        return _math().subtract(self, o)

    def __rsub__(self, o: Any) -> Blob:
        return _math().subtract(o, self)

    def __mul__(self, o: Any) -> Blob:
        return _math().multiply(self, o)

    def __rmul__(self, o: Any) -> Blob:
        return _math().multiply(o, self)

    def __truediv__(self, o: Any) -> Blob:
        return _math().divide(self, o)

    def __rtruediv__(self, o: Any) -> Blob:
        return _math().divide(o, self)

    def __mod__(self, o: Any) -> Blob:
        return _math().mod(self, o)

    def __neg__(self) -> Blob:
        return _math().negative(self)

    def __pow__(self, o: Any) -> Blob:
        return _math().pow(self, o)

    def __rpow__(self, o: Any) -> Blob:
        return _math().pow(o, self)

    def __rmod__(self, o: Any) -> Blob:
        return _math().mod(o, self)

    def __eq__(self, o: Any) -> Blob:  # type: ignore[override]
        return _math().equal(self, o)

    def __ne__(self, o: Any) -> Blob:  # type: ignore[override]
        return _math().not_equal(self, o)

    def __lt__(self, o: Any) -> Blob:
        return _math().less(self, o)

    def __le__(self, o: Any) -> Blob:
        return _math().less_equal(self, o)

    def __gt__(self, o: Any) -> Blob:
        return _math().greater(self, o)

    def __ge__(self, o: Any) -> Blob:
        return _math().greater_equal(self, o)

    __hash__ = object.__hash__
