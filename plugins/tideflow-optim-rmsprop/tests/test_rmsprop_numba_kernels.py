"""tideflow-optim-rmsprop's numba kernels through the conformance kit (optional extra ``numba``).

The kernels run only on a ``numba`` backend, so this module is skipped without numba or
without a backend plugin named ``numba`` (tideflow-numba). tideflow-numba's own conformance
test runs every numba kernel, these included; this module checks them wherever the plugin is
tested on its own.
"""

from __future__ import annotations

import numpy as np
import pytest

from tideflow.dtypes import as_dtype
from tideflow.framework.graph import TensorMeta
from tideflow.plugins.records import resolve
from tideflow.plugins.registry import get_registry
from tideflow.testing import SAMPLES, kernel_checks

pytest.importorskip("numba", reason="numba is not installed "
                                    "(pip install 'tideflow-optim-rmsprop[numba]')")
if "numba" not in get_registry().backends:
    pytest.skip("no 'numba' backend plugin is installed (pip install tideflow-numba)",
                allow_module_level=True)

#: the update ops this plugin ships numba kernels for.
OPS = ("rmsprop_update", "rmsprop_centered_update")


def _own(check_id: str) -> bool:
    op = check_id.removeprefix("check_kernel_").removesuffix("_fused")
    return check_id.startswith("check_kernel_") and op in OPS


@pytest.mark.parametrize("check", [p for p in kernel_checks("numba") if _own(p.id)])
def test_numba_kernel(check):
    check()


@pytest.mark.parametrize("op", OPS)
def test_skip_count(op):
    """A nonzero skip count (last input) changes nothing; a zero one changes nothing else."""
    attrs, ins, _ = SAMPLES[op](np.random.default_rng(0))
    ins = [a.astype(np.float32) if a.dtype.kind == "f" else a for a in ins]
    make = resolve(get_registry().kernels[(op, "numba", "default")].impl)
    results = []
    for skip in (None, 0, 3):
        args = [a.copy() for a in ins] + ([] if skip is None else [np.array([skip])])
        make(attrs, [TensorMeta(a.shape, as_dtype(a.dtype)) for a in args], [])(args, [])
        results.append(args[:len(ins)])
    for plain, zero, skipped, before in zip(*results, ins, strict=True):
        np.testing.assert_array_equal(zero, plain)
        np.testing.assert_array_equal(skipped, before)
