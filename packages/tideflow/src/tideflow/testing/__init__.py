"""Public test helpers and the conformance kit for op, backend and plugin authors.

* :func:`run_graph` runs a function of blobs on concrete arrays; :func:`check_grad` compares
  an op's gradient rule against central finite differences in float64.
* :func:`optimizer_checks` (with :class:`OptimizerCase`), :func:`plugin_checks` and
  :func:`kernel_checks` return named pytest parameters, one per conformance check; a plugin's
  test module parametrizes one test over them::

      @pytest.mark.parametrize("check", optimizer_checks(CASE))
      def test_conformance(check):
          check()

  Known failures are declared with ``expected_failures={"check_name": "reason"}`` (strict:
  the check must fail). The check names are public API.
"""

from tideflow.testing.kernel_checks import SAMPLES, ZERO_SIZE, kernel_checks, require_backend
from tideflow.testing.ops import check_grad, numeric_grad, run_graph
from tideflow.testing.optimizer_checks import OptimizerCase, optimizer_checks
from tideflow.testing.plugin_checks import HEAVY_MODULES, plugin_checks

__all__ = [
    "HEAVY_MODULES",
    "SAMPLES",
    "ZERO_SIZE",
    "OptimizerCase",
    "check_grad",
    "kernel_checks",
    "numeric_grad",
    "optimizer_checks",
    "plugin_checks",
    "require_backend",
    "run_graph",
]
