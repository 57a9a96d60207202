"""tideflow-optim-lars's numba kernels through the conformance kit (optional extra ``numba``).

The kernels run only on a ``numba`` backend, so this module is skipped without the
tideflow-numba backend plugin. tideflow-numba's own conformance test runs every first-party
numba kernel, these included; this module checks them wherever the plugin is tested on its
own: each kernel (and fused variant) against the NumPy reference, and a skipped step.
"""

from __future__ import annotations

import pytest

from tideflow.testing import kernel_checks, require_backend

require_backend("numba", "pip install 'tideflow-optim-lars[numba]'")

#: the update ops this plugin ships numba kernels for.
OPS = ("lars_update",)


@pytest.mark.parametrize("check", kernel_checks("numba", ops=OPS))
def test_numba_kernel(check):
    check()
