"""The numba backend's kernels, one module per area (see :mod:`tideflow_numba.catalog`).

Importing this package configures numba's cache directory first
(:func:`tideflow_numba.cache.configure`), so ``@njit(cache=True)`` never fails at import.

Every kernel is a factory ``op(attrs, in_metas, out_metas) -> run(ins, outs)``, like the
op's NumPy reference: the factory does all shape work once, at lowering; ``run`` only calls
compiled code over the given buffers, allocates nothing when they are contiguous (as every
plan buffer is) and overwrites every output completely.
"""

from tideflow_numba.cache import configure

configure()
