"""Frozen records that plugins return from their hooks.

A record is data: the registry validates it, detects conflicts and lists it without calling
the plugin again. Implementations are named lazily as ``"module:attr"`` strings (a callable
is accepted too, for code that lives in an already-imported module), so listing plugins
never imports numba or cupy. :func:`resolve` turns either form into the object.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Impl = str | Callable[..., Any]
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_CLASS = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def resolve(impl: Impl | None) -> Any:
    """Return the object named by ``"module:attr"`` (or ``impl`` itself if not a string).

    Raises:
        ImportError: the module cannot be imported.
        AttributeError: the module has no such attribute.
    """
    if impl is None or not isinstance(impl, str):
        return impl
    module, _, attr = impl.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split(".") if attr else ():
        obj = getattr(obj, part)
    return obj


def _check_impl(record: str, name: str, fld: str, impl: Impl | None, required: bool) -> None:
    if impl is None:
        if required:
            raise ValueError(f"{record} {name!r}: `{fld}` is required; received None")
        return
    if isinstance(impl, str):
        if ":" not in impl or impl.startswith(":"):
            raise ValueError(
                f"{record} {name!r}: `{fld}` must be a 'module:attr' string; received {impl!r}"
            )
    elif not callable(impl):
        raise ValueError(f"{record} {name!r}: `{fld}` must be callable; received {impl!r}")


def _check_name(record: str, name: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"{record}: `name` must be lower-case letters, digits and '_'; received {name!r}"
        )


@dataclass(frozen=True, slots=True)
class BackendSpec:
    """A backend that runs kernels for one device tag.

    Attributes:
        name: short lower-case name (``numpy``, ``numba``, ``cuda``).
        device: the OneFlow device tag it serves, ``"cpu"`` or ``"gpu"``.
        priority: higher wins among the available backends of a device.
        probe: ``() -> (ok, reason)``; must not raise.
        array_module: ``"module:attr"`` of the array namespace (``numpy``, ``cupy``).
        dtypes: dtype names the backend computes in.
        supports_float16: capability flag for float16 compute.
        reference: whether the backend runs each op's NumPy reference kernel.
        summary: one line for listings.
    """

    name: str
    device: str
    priority: int
    probe: Impl
    array_module: Impl = "numpy:"
    dtypes: tuple[str, ...] = ("float32", "float64", "int32", "int64", "int8", "uint8")
    supports_float16: bool = False
    reference: bool = False
    summary: str = ""

    def __post_init__(self) -> None:
        _check_name("BackendSpec", self.name)
        if self.device not in ("cpu", "gpu"):
            raise ValueError(
                f"BackendSpec {self.name!r}: `device` must be 'cpu' or 'gpu'; "
                f"received {self.device!r}"
            )
        _check_impl("BackendSpec", self.name, "probe", self.probe, True)


@dataclass(frozen=True, slots=True)
class OpSpec:
    """An op: shape/dtype inference, gradient rule and NumPy reference kernel.

    Attributes:
        name: op type name (``conv2d``).
        infer: ``(attrs, *in_metas) -> TensorMeta | tuple[TensorMeta, ...]``.
        reference: kernel factory ``(attrs, in_metas, out_metas) -> run(ins, outs)``.
        grad: ``(ctx, dys) -> list[Blob | None]`` or None when not differentiable.
        stateful: the op writes into its inputs or has side effects (never pruned).
        summary: one line for listings.
    """

    name: str
    infer: Impl
    reference: Impl
    grad: Impl | None = None
    stateful: bool = False
    summary: str = ""

    def __post_init__(self) -> None:
        _check_name("OpSpec", self.name)
        _check_impl("OpSpec", self.name, "infer", self.infer, True)
        _check_impl("OpSpec", self.name, "reference", self.reference, True)
        _check_impl("OpSpec", self.name, "grad", self.grad, False)


@dataclass(frozen=True, slots=True)
class KernelSpec:
    """A faster kernel for one (op, backend, variant) and a set of dtypes.

    Attributes:
        op: the op type name.
        backend: the backend name.
        impl: kernel factory with the same signature as :attr:`OpSpec.reference`.
        dtypes: dtype names the kernel accepts (of its first floating input).
        variant: ``"default"`` or ``"fused"`` (a multi-tensor update over flat buffers).
        replaces: set True to override another plugin's kernel on purpose.
    """

    op: str
    backend: str
    impl: Impl
    dtypes: tuple[str, ...] = ("float32", "float64")
    variant: str = "default"
    replaces: bool = False

    @property
    def name(self) -> str:
        """The registry key as one string."""
        return f"{self.op}@{self.backend}:{self.variant}"

    def __post_init__(self) -> None:
        _check_name("KernelSpec", self.op)
        _check_name("KernelSpec", self.backend)
        _check_impl("KernelSpec", self.name, "impl", self.impl, True)


@dataclass(frozen=True, slots=True)
class OptimizerSpec:
    """An optimizer family.

    Attributes:
        name: family name (``sgd``).
        classes: public name -> ``"module:attr"`` of the class exported into
            ``flow.optimizer`` (``{"SGD": "tideflow_optim_sgd.sgd:SGD"}``).
        slots: slot suffixes the family may create (``("momentum",)``).
        update_ops: op names of its update rules (provided through ``tideflow_ops``).
        summary: one line for listings.
        replaces: set True to override another plugin's class names on purpose.
    """

    name: str
    classes: Mapping[str, Impl]
    slots: tuple[str, ...] = ()
    update_ops: tuple[str, ...] = ()
    summary: str = ""
    replaces: bool = False

    def __post_init__(self) -> None:
        _check_name("OptimizerSpec", self.name)
        if not self.classes:
            raise ValueError(f"OptimizerSpec {self.name!r}: `classes` must not be empty")
        for cls_name, impl in self.classes.items():
            if not _CLASS.match(cls_name):
                raise ValueError(
                    f"OptimizerSpec {self.name!r}: class name must be an identifier; "
                    f"received {cls_name!r}"
                )
            _check_impl("OptimizerSpec", self.name, cls_name, impl, True)


@dataclass(frozen=True, slots=True)
class SchedulerSpec:
    """Learning-rate schedules exported into ``flow.optimizer``.

    Attributes:
        name: short name of the group (``core``).
        classes: public name -> ``"module:attr"`` of the scheduler class.
        summary: one line for listings.
    """

    name: str
    classes: Mapping[str, Impl] = field(default_factory=dict)
    summary: str = ""

    def __post_init__(self) -> None:
        _check_name("SchedulerSpec", self.name)
        for cls_name, impl in self.classes.items():
            _check_impl("SchedulerSpec", self.name, cls_name, impl, True)
