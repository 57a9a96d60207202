"""A backend as the lowering pass sees it: an array module and a kernel policy.

:meth:`Backend.kernel_factory` is the one place that decides which implementation runs an
op: the backend's own kernel for the op and dtype; else, for a reference backend, the op's
NumPy reference kernel; else the reference kernel only if the user opted in to the fallback.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from tideflow.errors import UnknownNameError
from tideflow.plugins.records import BackendSpec, resolve
from tideflow.plugins.registry import get_registry

KernelFactory = Callable[..., Callable[[list[Any], list[Any]], None]]


class Backend:
    """A backend ready to lower ops: its spec, array module and kernel choice policy."""

    def __init__(self, spec: BackendSpec, allow_reference_fallback: bool = False) -> None:
        self.spec = spec
        self.name = spec.name
        self.xp = resolve(spec.array_module)
        self.allow_reference_fallback = allow_reference_fallback
        self._warned: set[str] = set()

    def empty(self, shape: tuple[int, ...], dtype: Any) -> Any:
        """Allocate an uninitialized buffer on this backend."""
        return self.xp.empty(shape, dtype=dtype)

    def zeros(self, shape: tuple[int, ...], dtype: Any) -> Any:
        """Allocate a zero-filled buffer on this backend."""
        return self.xp.zeros(shape, dtype=dtype)

    def kernel_factory(self, op_type: str, dtype: str, variant: str = "default") -> KernelFactory:
        """Return the kernel factory that runs ``op_type`` for ``dtype`` on this backend.

        Raises:
            UnknownNameError: no kernel exists and the reference fallback is off.
        """
        registry = get_registry()
        spec = registry.kernel(op_type, self.name, variant)
        if spec is not None and (dtype in spec.dtypes or not spec.dtypes):
            return resolve(spec.impl)
        if self.spec.reference:
            return registry.op(op_type).reference
        if self.allow_reference_fallback:
            if op_type not in self._warned:
                self._warned.add(op_type)
                warnings.warn(
                    f"op '{op_type}' has no {self.name} kernel for {dtype}; running the NumPy "
                    "reference kernel (FunctionConfig.allow_reference_fallback is on)",
                    stacklevel=2,
                )
            return registry.op(op_type).reference
        have = sorted(b for (o, b, _v) in registry.kernels if o == op_type)
        raise UnknownNameError(
            f"op '{op_type}' has no kernel for backend '{self.name}' and dtype {dtype}; "
            f"kernels exist for: {', '.join(have) or 'none (reference only)'}. Set "
            "function_config.allow_reference_fallback(True) to run the NumPy reference"
        )
