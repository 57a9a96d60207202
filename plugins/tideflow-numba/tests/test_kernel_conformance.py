"""Every numba kernel against the op's NumPy reference (the conformance kit's kernel checks).

Each ``check_kernel_<op>`` runs the kernel and the reference on odd sizes, on non-contiguous
inputs and, where the op allows it, on zero-size inputs, for float32 (rtol 1e-5, atol 1e-6)
and float64 (rtol 1e-12, atol 1e-12); integer results must be equal (no op needed a looser
bound). ``check_gradients_<op>`` compares gradient rules with finite differences on this
backend.
"""

from __future__ import annotations

import pytest

from tideflow.plugins.registry import get_registry
from tideflow.testing import kernel_checks

#: distributions whose numba kernels this suite checks (a third party checks its own).
FIRST_PARTY = {"tideflow", "tideflow-numba", "tideflow-optim-sgd", "tideflow-optim-adam",
               "tideflow-optim-lars", "tideflow-optim-rmsprop"}


def first_party_ops() -> set[str]:
    """Ops whose numba kernel comes from a first-party distribution."""
    reg = get_registry()
    return {op for (op, be, variant) in reg.kernels if be == "numba" and
            reg.provider("kernel", (op, be, variant)).split(" ")[0] in FIRST_PARTY}


@pytest.mark.parametrize("check", kernel_checks("numba", ops=first_party_ops()))
def test_numba_kernel(check):
    check()
