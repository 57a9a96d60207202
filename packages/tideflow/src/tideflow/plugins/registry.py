"""The registry: every backend, op, kernel, optimizer and schedule, with its provider.

Built once, on first use, from the records the plugins return (see :mod:`.loading`), and
cached; :func:`refresh` drops it (for tests, or after changing ``TIDEFLOW_PLUGINS``). A name
provided twice is a :class:`~tideflow.errors.PluginConflictError` naming every provider, unless
exactly one record sets ``replaces=True``. Implementations are imported only when asked for.
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType, ModuleType
from typing import Any

from tideflow.errors import (
    BackendUnavailableError,
    PluginError,
    TideflowError,
    UnknownNameError,
)
from tideflow.plugins import catalog
from tideflow.plugins.loading import (
    PluginInfo,
    collect_records,
    index_records,
    load_plugins,
    norm_dist,
)
from tideflow.plugins.records import BackendSpec, KernelSpec, OpSpec, OptimizerSpec, resolve

#: The module registered as the ``builtin`` plugin (the core's own backend, ops, schedules).
BUILTIN_PLUGIN = "tideflow._builtin.plugin"
#: The device tags a backend can serve.
DEVICES = ("cpu", "gpu")
_DIRECTORY = "docs/plugins/directory.md"


@dataclass(frozen=True)
class ResolvedOp:
    """An op with its implementations imported.

    Attributes:
        spec: the op's record.
        infer: the shape/dtype inference function.
        reference: the NumPy reference kernel factory.
        grad: the gradient rule, or None when the op is not differentiable.
    """

    spec: OpSpec
    infer: Callable[..., Any]
    reference: Callable[..., Any]
    grad: Callable[..., Any] | None


class Registry:
    """What the installed plugins provide; read-only after it is built.

    Args:
        plugins: every plugin seen while loading, with its status.
        records: ``(provider, record)`` pairs collected from the loaded plugins.

    Attributes:
        plugins: every plugin seen, built-in first: loaded, failed or disabled.
        backends: backend name -> :class:`BackendSpec`.
        ops: op name -> :class:`OpSpec`.
        kernels: ``(op, backend, variant)`` -> :class:`KernelSpec`.
        optimizers: optimizer family name -> :class:`OptimizerSpec`.
        optimizer_classes: public optimizer class name -> the family that exports it.
        schedulers: public scheduler class name -> its implementation.

    Raises:
        PluginConflictError: two plugins provide the same name.
    """

    def __init__(self, plugins: list[PluginInfo], records: Iterable[tuple[PluginInfo, Any]]):
        self.plugins = list(plugins)
        tables = index_records(records)
        self._providers: dict[tuple[str, Hashable], PluginInfo] = {
            (kind, key): info for kind, table in tables.items() for key, (_, info) in table.items()
        }
        v = {kind: {k: value for k, (value, _) in t.items()} for kind, t in tables.items()}
        self.backends: Mapping[str, BackendSpec] = MappingProxyType(v["backend"])
        self.ops: Mapping[str, OpSpec] = MappingProxyType(v["op"])
        self.kernels: Mapping[tuple[str, str, str], KernelSpec] = MappingProxyType(v["kernel"])
        self.optimizers: Mapping[str, OptimizerSpec] = MappingProxyType(v["optimizer"])
        self._classes = v["optimizer_class"]  # class name -> (family, impl)
        self.optimizer_classes: Mapping[str, str] = MappingProxyType(
            {k: family for k, (family, _) in self._classes.items()})
        self.schedulers: Mapping[str, Any] = MappingProxyType(v["scheduler"])
        self._op_cache: dict[str, ResolvedOp] = {}
        self._class_cache: dict[str, type] = {}
        self._probe_cache: dict[str, tuple[bool, str]] = {}

    def __repr__(self) -> str:
        return (f"<Registry: {len(self.plugins)} plugins, {len(self.backends)} backends, "
                f"{len(self.ops)} ops, {len(self.kernels)} kernels, "
                f"{len(self.optimizer_classes)} optimizers, {len(self.schedulers)} schedulers>")

    def provider(self, kind: str, name: Any) -> str:
        """Return ``"<dist> <version>"`` of the plugin that provides ``name``.

        Args:
            kind: ``"backend"``, ``"op"``, ``"kernel"`` (name: ``(op, backend, variant)`` or
                ``"op@backend:variant"``), ``"optimizer"`` (family or class name) or
                ``"scheduler"`` (class name).
            name: the provided name.

        Raises:
            UnknownNameError: nothing of that kind and name is registered.
        """
        if kind == "kernel" and isinstance(name, str):
            op, _, rest = name.partition("@")
            backend, _, variant = rest.partition(":")
            name = (op, backend, variant or "default")
        info = self._providers.get((kind, name))
        if info is None and kind == "optimizer":
            info = self._providers.get(("optimizer_class", name))
        if info is None:
            raise UnknownNameError(
                f"provider: no {kind} named {name!r} is registered; kinds are backend, op, "
                "kernel, optimizer, scheduler"
            )
        return info.label

    def op(self, name: str) -> ResolvedOp:
        """Return op ``name`` with its inference, reference kernel and gradient imported.

        Raises:
            UnknownNameError: no plugin provides the op.
            PluginError: the op's implementation cannot be imported.
        """
        cached = self._op_cache.get(name)
        if cached is not None:
            return cached
        spec = self.ops.get(name)
        if spec is None:
            have = f"Installed ops: {len(self.ops)} (`python -m tideflow info` lists them)"
            raise self._missing(f"op '{name}'", f"op '{name}'", name, self.ops, have)
        try:
            resolved = ResolvedOp(spec, resolve(spec.infer), resolve(spec.reference),
                                  resolve(spec.grad))
        except Exception as exc:
            raise PluginError(f"op '{name}' ({self.provider('op', name)}) cannot be imported: "
                              f"{type(exc).__name__}: {exc}") from exc
        self._op_cache[name] = resolved
        return resolved

    def kernel(self, op: str, backend: str, variant: str = "default") -> KernelSpec | None:
        """Return the kernel record for ``(op, backend, variant)``, or None if there is none."""
        return self.kernels.get((op, backend, variant))

    def optimizer_class(self, class_name: str) -> type:
        """Return the optimizer class ``flow.optimizer.<class_name>``, imported on first use.

        Raises:
            UnknownNameError: no installed plugin exports the class.
            PluginError: the plugin that would provide it failed to load, or the class
                cannot be imported.
        """
        return self._class("optimizer", class_name, {k: v[1] for k, v in self._classes.items()},
                           catalog.KNOWN_OPTIMIZERS)

    def scheduler_class(self, class_name: str) -> type:
        """Return the schedule class ``flow.optimizer.<class_name>``, imported on first use.

        Raises:
            UnknownNameError: no installed plugin exports the class.
            PluginError: the class cannot be imported.
        """
        return self._class("scheduler", class_name, dict(self.schedulers), {})

    def backend_available(self, name: str) -> tuple[bool, str]:
        """Run backend ``name``'s probe once and return its ``(ok, reason)``.

        A probe that raises counts as unavailable, with the exception as the reason.

        Raises:
            UnknownNameError: no backend of that name is installed.
        """
        if name in self._probe_cache:
            return self._probe_cache[name]
        spec = self.backends.get(name)
        if spec is None:
            raise self._unknown_backend(name, f"backend '{name}'")
        try:
            ok, reason = resolve(spec.probe)()
            result = (bool(ok), str(reason))
        except Exception as exc:
            result = (False, f"probe raised: {type(exc).__name__}: {exc}")
        self._probe_cache[name] = result
        return result

    def select_backend(self, device: str, requested: str | None = None) -> BackendSpec | None:
        """Return the backend that serves device tag ``device``.

        Args:
            device: ``"cpu"`` or ``"gpu"``.
            requested: a backend name the user chose explicitly; it may serve another device
                (``gpu="numba"`` runs gpu placements on numba).

        Returns:
            The requested backend, else the highest-priority available backend for
            ``device``, else None (the caller decides on a fallback).

        Raises:
            UnknownNameError: ``device`` is not a known tag, or ``requested`` is not installed.
            BackendUnavailableError: ``requested`` is installed but cannot run here.
        """
        if device not in DEVICES:
            raise UnknownNameError(
                f"select_backend: `device` must be one of {', '.join(map(repr, DEVICES))}; "
                f"received device={device!r}"
            )
        if requested is not None:
            spec = self.backends.get(requested)
            if spec is None:
                raise self._unknown_backend(
                    requested, f"backend '{requested}' (requested for device '{device}')")
            ok, reason = self.backend_available(requested)
            if not ok:
                states = self._backend_states()
                raise BackendUnavailableError(
                    f"backend '{requested}' ({self.provider('backend', requested)}) was requested "
                    f"for device '{device}' but is unavailable: {reason}. Installed backends: "
                    f"{states}; request an available one (flow.config.backend or "
                    f"TIDEFLOW_{device.upper()}_BACKEND)"
                )
            return spec
        ranked = sorted((b for b in self.backends.values() if b.device == device),
                        key=lambda b: (-b.priority, b.name))
        return next((b for b in ranked if self.backend_available(b.name)[0]), None)

    def _backend_states(self) -> str:
        states = []
        for name, spec in sorted(self.backends.items()):
            ok, reason = self.backend_available(name)
            states.append(f"{name} ({spec.device}, "
                          f"{'available' if ok else 'unavailable: ' + reason})")
        return ", ".join(states) or "none"

    def _unknown_backend(self, name: str, what: str) -> TideflowError:
        have = (f"Installed backends: {self._backend_states()}. More backend plugins are "
                f"listed in {_DIRECTORY}")
        return self._missing(what, f"backend '{name}'", name, self.backends, have,
                             catalog.KNOWN_BACKENDS)

    def _class(self, kind: str, name: str, impls: Mapping[str, Any],
               known: Mapping[str, str]) -> type:
        cached = self._class_cache.get(f"{kind}:{name}")
        if cached is not None:
            return cached
        if name not in impls:
            pkind = "optimizer_class" if kind == "optimizer" else kind
            listing = ", ".join(f"{c} ({self._providers[(pkind, c)].label})"
                                for c in sorted(impls))
            have = (f"Installed {kind}s: {listing or 'none'}. More {kind} plugins are listed "
                    f"in {_DIRECTORY}")
            raise self._missing(f"{kind} '{name}' (flow.optimizer.{name})",
                                f"flow.optimizer.{name}", name, impls, have, known)
        try:
            cls = resolve(impls[name])
        except Exception as exc:
            raise PluginError(
                f"flow.optimizer.{name} ({self.provider(kind, name)}) cannot be imported from "
                f"{impls[name]!r}: {type(exc).__name__}: {exc}"
            ) from exc
        self._class_cache[f"{kind}:{name}"] = cls
        return cls

    def _missing(self, what: str, qual: str, name: str, names: Iterable[str], have: str,
                 known: Mapping[str, str] | None = None) -> TideflowError:
        """Build the error for a name nothing provides: what is there and what to do.

        Args:
            what: the thing asked for, as in "unknown <what>".
            qual: its public spelling, as in "<qual> is provided by ...".
            name: the name asked for.
            names: the installed names (for close matches).
            have: the sentence listing what is installed.
            known: the catalog of first-party names -> distributions.
        """
        failed = [p for p in self.plugins if p.status == "failed"]
        dist = (known or {}).get(name)
        if dist is not None:
            mine = [p for p in self.plugins if norm_dist(p.dist) == norm_dist(dist)]
            broken = next((p for p in mine if p.status == "failed"), None)
            off = next((p for p in mine if p.status == "disabled"), None)
            if broken is not None:
                err = PluginError(f"{qual} is provided by {broken.label}, whose plugin "
                                  f"'{broken.name}' failed to load ({broken.detail}); fix or "
                                  f"reinstall {dist}")
                err.__cause__ = broken.error
                return err
            if off is not None:
                return UnknownNameError(
                    f"{qual} is provided by {off.label}, which is installed but its plugin "
                    f"'{off.name}' is {off.detail}; add '{off.name}' to TIDEFLOW_PLUGINS or "
                    f"remove it from TIDEFLOW_DISABLE_PLUGINS")
            if not mine:
                return UnknownNameError(f"{qual} is provided by the distribution {dist}, which "
                                        f"is not installed; {catalog.install_hint(dist)}. {have}")
        close = difflib.get_close_matches(name, list(names), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else "."
        msg = f"unknown {what}{hint} {have}"
        if failed:
            notes = "; ".join(f"'{p.name}' ({p.label}): {p.detail}" for p in failed)
            msg += f". Note: these plugins failed to load and may provide it: {notes}"
        err = UnknownNameError(msg)
        if failed:
            err.__cause__ = failed[0].error
        return err


_lock = threading.RLock()
_building = threading.local()
_registry: Registry | None = None


def build_registry(
    builtin: str | ModuleType | None = None, env: Mapping[str, str] | None = None
) -> Registry:
    """Load the plugins, call their hooks and build a new (uncached) :class:`Registry`.

    Args:
        builtin: the built-in plugin module or its name (default :data:`BUILTIN_PLUGIN`).
        env: the environment to read the ``TIDEFLOW_*PLUGINS`` switches from.

    Raises:
        PluginConflictError: two plugins provide the same name.
    """
    pm, infos = load_plugins(BUILTIN_PLUGIN if builtin is None else builtin, env)
    return Registry(infos, collect_records(pm, infos))


def get_registry() -> Registry:
    """Return the process-wide registry, building it on first use.

    Raises:
        PluginConflictError: two plugins provide the same name (nothing is cached then, so
            every call retries).
        PluginError: called from inside a plugin hook while the registry is being built.
    """
    global _registry
    reg = _registry
    if reg is not None:
        return reg
    with _lock:
        if _registry is None:
            if getattr(_building, "active", False):
                raise PluginError("get_registry() was called while the plugin registry is "
                                  "being built (from a plugin hook or a module it imports); "
                                  "hooks must only return records")
            _building.active = True
            try:
                _registry = build_registry()
            finally:
                _building.active = False
        return _registry


def refresh() -> None:
    """Drop the cached registry; the next :func:`get_registry` reloads every plugin."""
    global _registry
    with _lock:
        _registry = None
