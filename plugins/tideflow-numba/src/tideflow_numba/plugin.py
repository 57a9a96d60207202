"""Hook implementations of tideflow-numba (light: numba is imported only by the probe).

The backend serves the ``cpu`` tag with priority 10, so it wins over the NumPy reference
whenever numba imports. Kernels are named by ``"module:factory"`` strings from
:mod:`tideflow_numba.catalog` and imported when a job is lowered.
"""

from __future__ import annotations

from collections.abc import Iterable

from tideflow.plugins import BackendSpec, KernelSpec, hookimpl
from tideflow_numba.catalog import kernel_table

#: dtypes the backend computes in (numba has no float16 arithmetic on the CPU).
DTYPES = ("float32", "float64", "int8", "uint8", "int32", "int64")


@hookimpl
def tideflow_backends() -> Iterable[BackendSpec]:
    """The ``numba`` backend for the ``cpu`` device tag."""
    return [BackendSpec(
        name="numba", device="cpu", priority=10, probe="tideflow_numba.probe:probe",
        array_module="numpy:", dtypes=DTYPES, supports_float16=False, reference=False,
        summary="Numba-compiled CPU kernels, fused flat-buffer optimizer updates",
    )]


@hookimpl
def tideflow_kernels() -> Iterable[KernelSpec]:
    """One kernel per core op (every dtype the op's reference accepts)."""
    return [KernelSpec(op=op, backend="numba", impl=impl, dtypes=())
            for op, impl in kernel_table()]
