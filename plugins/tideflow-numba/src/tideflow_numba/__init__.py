"""tideflow-numba: the Numba CPU backend of tideflow.

Installing this distribution makes ``numba`` the default backend of the ``cpu`` device tag
(priority 10 over the NumPy reference's 0). Importing this package is light: kernels live in
:mod:`tideflow_numba.kernels` and are imported (and compiled, or loaded from numba's on-disk
cache) when a job that uses them is lowered.
"""

__version__ = "0.1.0"
