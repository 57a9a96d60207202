"""Conformance checks for a backend's kernels: :func:`kernel_checks` and the :data:`SAMPLES`.

A backend plugin runs every kernel it declares against the op's NumPy reference kernel::

    import pytest
    from tideflow.testing import kernel_checks

    @pytest.mark.parametrize("check", kernel_checks("mybackend"))
    def test_kernels(check):
        check()

``check_kernel_<op>`` (``check_kernel_<op>_<variant>`` for a variant other than
``"default"``) exists for every :class:`~tideflow.plugins.KernelSpec` of the backend. It draws
inputs from ``SAMPLES[op]`` and, for each floating dtype the kernel declares, runs the kernel
and the reference on three input sets: the sample (odd sizes), the sample with every input
made non-contiguous (a strided view of a larger buffer), and ``ZERO_SIZE[op]`` where the op
allows empty arrays. Outputs, and inputs (update ops write into them), are compared with the
per-dtype tolerances of :data:`TOLERANCES`; integer results must be equal. An op with no
sample gives a check that fails with "no sample inputs for op X; add one".

A ``"fused"`` kernel (a multi-tensor update over flat buffers, ``docs/plugins/fused-updates.md``)
is checked against the op's per-variable reference instead: three variables of different
sizes and weight decays drawn from ``SAMPLES[op]``, without clipping, with a clip norm that
clips, and with a nonzero skip count (see :mod:`tideflow.testing._fused_checks`).

``check_gradients_<op>`` compares the gradient rule of each differentiable op in ``SAMPLES``
with central finite differences in float64 (:func:`tideflow.testing.check_grad`), run on
the backend: ops it has no kernel for (the harness's own ``multiply`` and ``reduce_sum``, the
gradient ops) run their NumPy reference kernels, so the backend's forward and gradient
kernels are exercised wherever it has them.

The ``numpy`` backend is a reference backend: it declares no kernels (it runs each op's
reference), so ``kernel_checks("numpy")`` returns the gradient checks only.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Collection, Mapping
from typing import Any

import numpy as np

from tideflow.dtypes import as_dtype
from tideflow.framework.build import add_op
from tideflow.framework.graph import TensorMeta
from tideflow.plugins.records import KernelSpec, resolve
from tideflow.plugins.registry import get_registry
from tideflow.testing._fused_checks import check_fused, check_skip, update_ops
from tideflow.testing._params import as_params, named
from tideflow.testing.ops import check_grad
from tideflow.testing.samples import SAMPLES, ZERO_SIZE, SampleFn, out_metas, sample

__all__ = ["SAMPLES", "TOLERANCES", "ZERO_SIZE", "kernel_checks", "out_metas", "sample"]

#: dtype name -> (rtol, atol) of kernel-vs-reference comparisons.
TOLERANCES: dict[str, tuple[float, float]] = {
    "float16": (1e-3, 1e-3), "float32": (1e-5, 1e-6), "float64": (1e-12, 1e-12)}


# ---------------------------------------------------------------- running and comparing


def _cast(a: np.ndarray, dtype: str | None) -> np.ndarray:
    return a.astype(dtype) if dtype is not None and a.dtype.kind == "f" else a


def _to_backend(xp: Any, a: np.ndarray, strided: bool) -> Any:
    if not strided or a.ndim == 0:
        return a.copy(order="K") if xp is np else xp.asarray(a)
    big = xp.zeros((*a.shape[:-1], 2 * a.shape[-1]), dtype=a.dtype)
    view = big[..., ::2]
    view[...] = xp.asarray(a)
    return view


def _to_numpy(x: Any) -> np.ndarray:
    return x.get() if hasattr(x, "get") and not isinstance(x, np.ndarray) else np.asarray(x)


def _run(factory: Any, xp: Any, attrs: dict[str, Any], ins: list[np.ndarray],
         metas: list[TensorMeta], strided: bool) -> list[np.ndarray]:
    """Run a kernel factory; return its inputs (after the call) and outputs as NumPy."""
    bins = [_to_backend(xp, a, strided) for a in ins]
    bouts = [xp.full(m.shape, np.nan if m.dtype.is_floating else 0, dtype=m.dtype.np_dtype)
             for m in metas]
    in_metas = [TensorMeta(tuple(a.shape), as_dtype(a.dtype)) for a in ins]
    factory(attrs, in_metas, metas)(bins, bouts)
    return [_to_numpy(x) for x in bins + bouts]


def _compare(what: str, got: np.ndarray, want: np.ndarray) -> None:
    if got.shape != want.shape or got.dtype != want.dtype:
        raise AssertionError(f"{what}: {got.dtype}{list(got.shape)}, expected "
                             f"{want.dtype}{list(want.shape)}")
    rtol, atol = TOLERANCES.get(want.dtype.name, (0.0, 0.0))
    bad = ~np.isclose(got, want, rtol=rtol, atol=atol, equal_nan=True)
    if bad.any():
        i = np.unravel_index(int(np.argmax(bad)), bad.shape)
        raise AssertionError(f"{what}: {int(bad.sum())}/{bad.size} elements differ "
                             f"(rtol={rtol}, atol={atol}); at {tuple(int(k) for k in i)}: "
                             f"kernel {got[i]!r}, reference {want[i]!r}")


def _check_kernel(spec: KernelSpec, samples: Mapping[str, SampleFn]) -> None:
    reg = get_registry()
    ok, reason = reg.backend_available(spec.backend)
    assert ok, f"backend {spec.backend!r} is unavailable here: {reason}"
    if spec.op not in samples:
        raise AssertionError(f"no sample inputs for op {spec.op}; add one (SAMPLES in "
                             "tideflow.testing.kernel_checks, or kernel_checks(samples=...))")
    where = f"kernel {spec.name} ({reg.provider('kernel', (spec.op, spec.backend, spec.variant))})"
    kernel, reference = resolve(spec.impl), reg.op(spec.op).reference
    xp = resolve(reg.backends[spec.backend].array_module)
    floats = [d for d in (spec.dtypes or ("float32", "float64")) if d in TOLERANCES]
    if spec.variant == "fused":
        check_fused(spec.op, kernel, samples[spec.op], floats, where, _compare)
        return
    inputs = [("odd sizes", samples[spec.op], False), ("non-contiguous", samples[spec.op], True)]
    if spec.op in ZERO_SIZE:
        inputs.append(("zero-size", ZERO_SIZE[spec.op], False))
    for label, fn, strided in inputs:
        for dtype in floats or [None]:
            attrs, ins, _ = fn(np.random.default_rng(0))
            ins = [_cast(np.asarray(a), dtype) for a in ins]
            metas = out_metas(spec.op, attrs, ins)
            want = _run(reference, np, attrs, [np.ascontiguousarray(a) for a in ins], metas,
                        False)
            got = _run(kernel, xp, attrs, ins, metas, strided)
            for k, (g, w) in enumerate(zip(got, want, strict=True)):
                part = f"input {k}" if k < len(ins) else f"output {k - len(ins)}"
                _compare(f"{where}, {label}, {dtype or 'sample dtypes'}, {part}", g, w)


def _check_gradients(op: str, backend: str, fn: SampleFn) -> None:
    attrs, ins, _ = fn(np.random.default_rng(0))
    ins = [np.array(a, np.float64) if a.dtype.kind == "f" else np.array(a) for a in ins]
    wrt = [i for i, a in enumerate(ins) if a.dtype.kind == "f"]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*running the NumPy reference")
        check_grad(lambda *xs: add_op(op, list(xs), attrs), ins, wrt=wrt, backend=backend,
                   allow_reference_fallback=True)


def kernel_checks(backend: str, expected_failures: Mapping[str, str] | None = None,
                  samples: Mapping[str, SampleFn] | None = None,
                  ops: Collection[str] | None = None) -> list[Any]:
    """Return the kernel and gradient checks of ``backend`` as pytest parameters.

    Args:
        backend: an installed backend's name.
        expected_failures: check name -> reason (strict xfail: the check must fail).
        samples: extra or replacing :data:`SAMPLES` entries, e.g. for a plugin's own ops.
        ops: only these ops' checks (default: every kernel of the backend, and every
            sampled op for the gradient checks).

    Returns:
        ``check_kernel_<op>[_<variant>]`` per kernel the backend declares (and
        ``check_skip_<op>`` per optimizer update kernel: a nonzero skip count changes
        nothing), then
        ``check_gradients_<op>`` per differentiable sampled op (see the module docstring).

    Raises:
        UnknownNameError: no backend of that name is installed.
        ValueError: ``expected_failures`` names an unknown check.
    """
    reg = get_registry()
    if backend not in reg.backends:
        reg.select_backend("cpu", backend)  # raises the registry's "unknown backend" error
    table = {**SAMPLES, **(samples or {})}
    updates = update_ops()
    checks: dict[str, Callable[[], None]] = {}
    for (op, be, variant), spec in sorted(reg.kernels.items()):
        if be == backend and (ops is None or op in ops):
            name = f"check_kernel_{op}" + ("" if variant == "default" else f"_{variant}")
            checks[name] = named(name, lambda spec=spec: _check_kernel(spec, table),
                                 f"Kernel {spec.name} equals the NumPy reference.")
            if variant == "default" and op in updates and op in table:
                skip = f"check_skip_{op}"
                checks[skip] = named(skip, lambda spec=spec: check_skip(
                    spec.op, resolve(spec.impl), table[spec.op]),
                    f"Kernel {spec.name} changes nothing on a skipped step.")
    for op, fn in sorted(table.items()):
        spec = reg.ops.get(op)
        if spec is None or spec.grad is None or (ops is not None and op not in ops):
            continue
        name = f"check_gradients_{op}"
        checks[name] = named(name, lambda op=op, fn=fn: _check_gradients(op, backend, fn),
                             f"The gradient of {op} matches finite differences (float64).")
    return as_params(checks, expected_failures, "kernel_checks")


def require_backend(name: str, install: str) -> None:
    """Skip the calling test module unless backend ``name`` is installed and available.

    Args:
        name: the backend's name (``"numba"``).
        install: what to install to get it, for the skip reason.
    """
    import pytest

    reg = get_registry()
    if name not in reg.backends:
        pytest.skip(f"no {name!r} backend is installed ({install})", allow_module_level=True)
    ok, reason = reg.backend_available(name)
    if not ok:
        pytest.skip(f"backend {name!r} is unavailable here: {reason}", allow_module_level=True)
