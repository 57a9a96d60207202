"""Public test helpers for op, backend and plugin authors.

:func:`run_graph` runs a function of blobs on concrete arrays; :func:`check_grad` compares
an op's gradient rule against central finite differences in float64.
"""

from tideflow.testing.ops import check_grad, numeric_grad, run_graph

__all__ = ["check_grad", "numeric_grad", "run_graph"]
