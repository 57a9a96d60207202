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
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from tideflow.dtypes import as_dtype
from tideflow.framework.build import add_op
from tideflow.framework.graph import TensorMeta
from tideflow.plugins.records import KernelSpec, resolve
from tideflow.plugins.registry import get_registry
from tideflow.testing._params import as_params, named
from tideflow.testing.ops import check_grad

#: ``(attrs, input arrays, output metas)`` of one call of an op.
Sample = tuple[dict[str, Any], list[np.ndarray], list[TensorMeta]]
SampleFn = Callable[[np.random.Generator], Sample]

#: dtype name -> (rtol, atol) of kernel-vs-reference comparisons.
TOLERANCES: dict[str, tuple[float, float]] = {
    "float16": (1e-3, 1e-3), "float32": (1e-5, 1e-6), "float64": (1e-12, 1e-12)}


def out_metas(op: str, attrs: dict[str, Any], ins: list[np.ndarray]) -> list[TensorMeta]:
    """The output metas of ``op`` on ``ins``, from the op's own shape inference."""
    metas = [TensorMeta(tuple(a.shape), as_dtype(a.dtype)) for a in ins]
    out = get_registry().op(op).infer(attrs, *metas)
    return list(out) if isinstance(out, tuple) else [out]


def sample(op: str, attrs: dict[str, Any], ins: list[np.ndarray]) -> Sample:
    """Build a :data:`Sample` (the output metas come from the op's inference)."""
    return attrs, ins, out_metas(op, attrs, ins)


def _n(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape)


def _pos(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.uniform(0.5, 2.0, shape)


def _lr_step(step: int = 3) -> list[np.ndarray]:
    return [np.array([0.1], np.float32), np.array([step], np.int64)]


def _binary(op: str, b: Callable[..., np.ndarray] = _n, shapes: Any = ((3, 1, 5), (4, 5))
            ) -> SampleFn:
    return lambda rng: sample(op, {}, [_n(rng, *shapes[0]), b(rng, *shapes[1])])


def _unary(op: str, x: Callable[..., np.ndarray] = _n, shape: Any = (3, 5, 7)) -> SampleFn:
    return lambda rng: sample(op, {}, [x(rng, *shape)])


def _update(op: str, attrs: dict[str, Any], slots: Any, shape: Any = (3, 5)) -> SampleFn:
    """An update op: ``(param, grad, *slots, lr, step)``; ``slots(rng, shape)`` -> arrays."""
    return lambda rng: sample(op, attrs, [_n(rng, *shape), _n(rng, *shape),
                                          *slots(rng, shape), *_lr_step()])


_CONV = {"strides": (2, 1), "pads": ((1, 1), (0, 1)), "dilations": (1, 1), "groups": 1,
         "data_format": "NCHW"}
_POOL = {"ksize": (3, 2), "strides": (2, 2), "pads": ((1, 0), (0, 1)), "ceil_mode": False,
         "data_format": "NCHW"}
_ADAM = {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "weight_decay": 0.01}

#: op name -> ``fn(rng) -> (attrs, inputs, output metas)``: float64 inputs with odd sizes.
SAMPLES: dict[str, SampleFn] = {
    **{op: _binary(op) for op in ("add", "subtract", "multiply", "maximum", "minimum")},
    "divide": _binary("divide", _pos),
    **{op: _unary(op) for op in ("negative", "relu", "sigmoid", "tanh", "exp", "square",
                                 "sin", "cos")},
    **{op: _unary(op, _pos) for op in ("log", "sqrt", "rsqrt", "reciprocal")},
    "softmax": lambda rng: sample("softmax", {"axis": -1}, [_n(rng, 3, 7)]),
    "log_softmax": lambda rng: sample("log_softmax", {"axis": 1}, [_n(rng, 5, 3)]),
    "matmul": lambda rng: sample("matmul", {"transpose_a": False, "transpose_b": True},
                                 [_n(rng, 3, 7).T, _n(rng, 5, 3)]),  # a is a transposed view
    "reduce_sum": lambda rng: sample("reduce_sum", {"axis": (0, 2), "keepdims": False},
                                     [_n(rng, 3, 4, 5)]),
    "reduce_max": lambda rng: sample("reduce_max", {"axis": 1, "keepdims": True},
                                     [_n(rng, 3, 4, 5)]),
    "conv2d": lambda rng: sample("conv2d", _CONV, [_n(rng, 2, 3, 7, 6), _n(rng, 4, 3, 3, 2)]),
    "max_pool2d": lambda rng: sample("max_pool2d", _POOL, [_n(rng, 2, 3, 7, 5)]),
    "avg_pool2d": lambda rng: sample("avg_pool2d", _POOL, [_n(rng, 2, 3, 7, 5)]),
    "bias_add": lambda rng: sample("bias_add", {"axis": 1}, [_n(rng, 2, 5, 3), _n(rng, 5)]),
    "sgd_update": _update("sgd_update", {"weight_decay": 0.01}, lambda r, s: []),
    "momentum_update": _update("momentum_update", {"beta": 0.9, "weight_decay": 0.01},
                               lambda r, s: [_n(r, *s)]),
    "adam_update": _update("adam_update", {**_ADAM, "do_bias_correction": True},
                           lambda r, s: [_n(r, *s), _pos(r, *s)]),
    "lamb_update": _update("lamb_update", {**_ADAM, "epsilon": 1e-6}, lambda r, s: [
        _n(r, *s), _pos(r, *s), np.array([0.9 ** 3]), np.array([0.999 ** 3])]),
    "lars_update": _update("lars_update", {"beta": 0.9, "epsilon": 1e-9, "weight_decay": 0.01,
                                           "lars_coefficient": 0.001}, lambda r, s: [_n(r, *s)]),
    "rmsprop_update": _update("rmsprop_update", {"decay_rate": 0.99, "epsilon": 1e-8,
                                                 "weight_decay": 0.0}, lambda r, s: [_pos(r, *s)]),
    "rmsprop_centered_update": _update(
        "rmsprop_centered_update", {"decay_rate": 0.99, "epsilon": 1e-8, "weight_decay": 0.0},
        lambda r, s: [_pos(r, *s), 0.1 * _n(r, *s)]),
}

#: op name -> a sample with empty arrays, for the ops that allow them.
ZERO_SIZE: dict[str, SampleFn] = {
    **{op: _binary(op, shapes=((0, 5), (5,))) for op in ("add", "subtract", "multiply")},
    **{op: _unary(op, shape=(0, 3)) for op in ("relu", "sigmoid", "tanh", "exp", "negative")},
    "softmax": lambda rng: sample("softmax", {"axis": -1}, [_n(rng, 0, 7)]),
    "matmul": lambda rng: sample("matmul", {"transpose_a": False, "transpose_b": False},
                                 [_n(rng, 4, 0), _n(rng, 0, 5)]),  # k = 0: zeros
    "reduce_sum": lambda rng: sample("reduce_sum", {"axis": 0, "keepdims": False},
                                     [_n(rng, 0, 4)]),
    "bias_add": lambda rng: sample("bias_add", {"axis": 1}, [_n(rng, 0, 5, 3), _n(rng, 5)]),
    "sgd_update": _update("sgd_update", {"weight_decay": 0.01}, lambda r, s: [], (0, 5)),
    "momentum_update": _update("momentum_update", {"beta": 0.9, "weight_decay": 0.01},
                               lambda r, s: [_n(r, *s)], (0, 5)),
}


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
    inputs = [("odd sizes", samples[spec.op], False), ("non-contiguous", samples[spec.op], True)]
    if spec.op in ZERO_SIZE:
        inputs.append(("zero-size", ZERO_SIZE[spec.op], False))
    floats = [d for d in (spec.dtypes or ("float32", "float64")) if d in TOLERANCES]
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
                  samples: Mapping[str, SampleFn] | None = None) -> list[Any]:
    """Return the kernel and gradient checks of ``backend`` as pytest parameters.

    Args:
        backend: an installed backend's name.
        expected_failures: check name -> reason (strict xfail: the check must fail).
        samples: extra or replacing :data:`SAMPLES` entries, e.g. for a plugin's own ops.

    Returns:
        ``check_kernel_<op>[_<variant>]`` per kernel the backend declares, then
        ``check_gradients_<op>`` per differentiable sampled op (see the module docstring).

    Raises:
        UnknownNameError: no backend of that name is installed.
        ValueError: ``expected_failures`` names an unknown check.
    """
    reg = get_registry()
    if backend not in reg.backends:
        reg.select_backend("cpu", backend)  # raises the registry's "unknown backend" error
    table = {**SAMPLES, **(samples or {})}
    checks: dict[str, Callable[[], None]] = {}
    for (op, be, variant), spec in sorted(reg.kernels.items()):
        if be == backend:
            name = f"check_kernel_{op}" + ("" if variant == "default" else f"_{variant}")
            checks[name] = named(name, lambda spec=spec: _check_kernel(spec, table),
                                 f"Kernel {spec.name} equals the NumPy reference.")
    for op, fn in sorted(table.items()):
        spec = reg.ops.get(op)
        if spec is None or spec.grad is None:
            continue
        name = f"check_gradients_{op}"
        checks[name] = named(name, lambda op=op, fn=fn: _check_gradients(op, backend, fn),
                             f"The gradient of {op} matches finite differences (float64).")
    return as_params(checks, expected_failures, "kernel_checks")
