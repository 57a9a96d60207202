"""Collect the example plugin's tests only where that plugin is installed.

``tests/data/tideflow-optim-example`` is a separate distribution whose tests need it
installed (its entry point is package metadata). The ``conformance`` nox session installs
and tests it; sessions that do not install it (``tests``, ``core``) skip the folder.
"""

import importlib.util

collect_ignore = [] if importlib.util.find_spec("tideflow_optim_example") else [
    "tideflow-optim-example"]
