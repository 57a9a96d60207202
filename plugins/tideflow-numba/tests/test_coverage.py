"""The numba backend has a kernel, and a conformance sample, for every core op."""

from __future__ import annotations

from tideflow.plugins.registry import get_registry
from tideflow.testing import SAMPLES
from tideflow_numba.catalog import BOUND, kernel_table


def _core_ops() -> set[str]:
    reg = get_registry()
    return {name for name in reg.ops if reg.provider("op", name).startswith("tideflow ")}


def test_every_core_op_has_a_numba_kernel():
    have = {op for op, _ in kernel_table()}
    missing = sorted(_core_ops() - have - set(BOUND))
    assert not missing, f"core ops without a numba kernel: {missing}"


def test_every_numba_kernel_has_a_sample():
    from test_kernel_conformance import first_party_ops

    ops = first_party_ops()
    missing = sorted(ops - set(SAMPLES))
    assert not missing, f"numba kernels without a conformance sample: {missing}"


def test_catalog_names_only_registered_ops():
    reg = get_registry()
    unknown = sorted(op for op, _ in kernel_table() if op not in reg.ops)
    assert not unknown, f"catalog names ops nobody registers: {unknown}"
