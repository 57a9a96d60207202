"""Every numba kernel against the op's NumPy reference (the conformance kit's kernel checks).

Each ``check_kernel_<op>`` runs the kernel and the reference on odd sizes, on non-contiguous
inputs and, where the op allows it, on zero-size inputs, for float32 (rtol 1e-5, atol 1e-6)
and float64 (rtol 1e-12, atol 1e-12); integer results must be equal. Looser bounds are
stated per op in ``tideflow.testing.kernel_checks.TOLERANCES`` overrides below.
``check_gradients_<op>`` compares gradient rules with finite differences on this backend.
"""

from __future__ import annotations

import pytest

from tideflow.testing import kernel_checks


@pytest.mark.parametrize("check", kernel_checks("numba"))
def test_numba_kernel(check):
    check()
