"""Find, load and call the plugins: the only code that talks to pluggy.

:func:`load_plugins` registers the core's built-in plugin and every entry point of the
``tideflow`` group that the environment selects. A plugin that fails to import or to validate
is recorded as failed and skipped, so one broken third-party distribution never stops the rest.
:func:`collect_records` calls each hook once per plugin and checks every returned record.
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import os
import reprlib
import sys
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pluggy

from tideflow.errors import PluginConflictError, PluginError
from tideflow.plugins import hookspecs
from tideflow.plugins.records import BackendSpec, KernelSpec, OpSpec, OptimizerSpec, SchedulerSpec

BUILTIN_NAME = "builtin"

#: Hook name -> the record class its results must be instances of.
HOOKS: dict[str, type] = {
    "tideflow_backends": BackendSpec,
    "tideflow_ops": OpSpec,
    "tideflow_kernels": KernelSpec,
    "tideflow_optimizers": OptimizerSpec,
    "tideflow_lr_schedulers": SchedulerSpec,
}


@dataclass
class PluginInfo:
    """One plugin as loaded: where it comes from and whether it works.

    Attributes:
        name: the entry-point name (``"builtin"`` for the core's own plugin).
        dist: the distribution that declares it (``"tideflow-optim-sgd"``).
        version: that distribution's version ("" when unknown).
        status: ``"loaded"``, ``"failed"`` or ``"disabled"``.
        error: the exception that made it fail, else None.
        hooks: names of the hooks it implements.
        detail: one line saying why it failed or is disabled ("" when loaded).
    """

    name: str
    dist: str
    version: str
    status: str = "loaded"
    error: BaseException | None = None
    hooks: tuple[str, ...] = ()
    detail: str = ""

    @property
    def label(self) -> str:
        """``"<dist> <version>"``, e.g. ``"tideflow-optim-sgd 0.1.0"``."""
        return f"{self.dist} {self.version}".strip()

    @property
    def provider(self) -> str:
        """``"<dist> <version> (entry point <name>)"``, used in conflict messages."""
        return f"{self.label} (entry point {self.name})"

    def fail(self, error: BaseException, detail: str) -> None:
        """Mark the plugin failed with ``error``; ``detail`` says where it failed."""
        self.status, self.error = "failed", error
        self.detail = f"{detail}: {type(error).__name__}: {error}"


def _split(value: str | None) -> set[str] | None:
    if value is None:
        return None
    return {part.strip() for part in value.split(",") if part.strip()}


def norm_dist(dist: str) -> str:
    """Normalise a distribution name for comparison (``Tideflow_Optim.SGD`` -> lower, dashes)."""
    return dist.lower().replace("_", "-").replace(".", "-")


def _dist_of(ep: md.EntryPoint) -> tuple[str, str]:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return "unknown distribution", ""
    return dist.metadata["Name"] or "unknown distribution", dist.version or ""


def _builtin_dist() -> tuple[str, str]:
    try:
        return "tideflow", md.version("tideflow")
    except md.PackageNotFoundError:
        return "tideflow (source)", ""


def _summary(result: Any) -> str:
    """Describe one hook result for the trace without consuming generators."""
    if not isinstance(result, (list, tuple)):
        return reprlib.repr(result)
    names = [str(getattr(r, "name", r)) for r in result]
    more = ", ..." if len(names) > 8 else ""
    return f"{len(names)} records ({', '.join(names[:8])}{more})"


def _trace(pm: pluggy.PluginManager) -> None:
    def before(hook_name: str, impls: list[Any], kwargs: dict[str, Any]) -> None:
        names = ", ".join(impl.plugin_name for impl in impls)
        print(f"[tideflow plugins] call {hook_name}() -> {names}", file=sys.stderr)

    def after(outcome: Any, hook_name: str, impls: list[Any], kwargs: dict[str, Any]) -> None:
        exc = outcome.exception
        if exc is not None:
            result = f"raised {exc!r}"
        else:
            result = "returned " + "; ".join(_summary(r) for r in outcome.get_result())
        print(f"[tideflow plugins] {hook_name}() {result}", file=sys.stderr)

    pm.add_hookcall_monitoring(before, after)


def _matches(ep: md.EntryPoint, dist: str, names: set[str]) -> bool:
    return ep.name in names or norm_dist(dist) in {norm_dist(n) for n in names}


def _selected(ep: md.EntryPoint, dist: str, only: set[str] | None, blocked: set[str]) -> str:
    """Return why ``ep`` is disabled, or "" when it should be loaded."""
    if _matches(ep, dist, blocked):
        return "disabled by TIDEFLOW_DISABLE_PLUGINS"
    if only is not None and not _matches(ep, dist, only):
        return "not selected by TIDEFLOW_PLUGINS"
    return ""


def _register(pm: pluggy.PluginManager, info: PluginInfo, module: Any) -> None:
    try:
        pm.register(module, name=info.name)
    except pluggy.PluginValidationError as exc:
        info.fail(exc, f"invalid plugin ({info.label})")
    except ValueError as exc:  # pluggy: name or module already registered
        info.fail(PluginError(f"plugin '{info.name}' ({info.label}) cannot be registered: "
                              f"{exc}; two entry points share its name or module"), "register")


def load_plugins(
    builtin: str | ModuleType = "tideflow._builtin.plugin",
    env: Mapping[str, str] | None = None,
) -> tuple[pluggy.PluginManager, list[PluginInfo]]:
    """Create the plugin manager and register the built-in and entry-point plugins.

    Args:
        builtin: the core's built-in plugin module (or its import name); always registered.
        env: environment to read ``TIDEFLOW_PLUGINS``, ``TIDEFLOW_DISABLE_PLUGINS`` and
            ``TIDEFLOW_TRACE_PLUGINS`` from (default: ``os.environ``).

    Returns:
        The plugin manager and one :class:`PluginInfo` per plugin seen, built-in first.
    """
    env = os.environ if env is None else env
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    if env.get("TIDEFLOW_TRACE_PLUGINS", "") not in ("", "0"):
        _trace(pm)
    infos = [PluginInfo(BUILTIN_NAME, *_builtin_dist())]
    try:
        module = importlib.import_module(builtin) if isinstance(builtin, str) else builtin
        _register(pm, infos[0], module)
    except Exception as exc:
        infos[0].fail(exc, f"import of {builtin!r} failed")
    only = _split(env.get("TIDEFLOW_PLUGINS"))
    blocked = _split(env.get("TIDEFLOW_DISABLE_PLUGINS")) or set()
    for ep in sorted(md.entry_points(group=hookspecs.PROJECT), key=lambda e: e.name):
        info = PluginInfo(ep.name, *_dist_of(ep))
        infos.append(info)
        reason = _selected(ep, info.dist, only, blocked)
        if reason:
            info.status, info.detail = "disabled", reason
            continue
        try:
            module = ep.load()
        except Exception as exc:
            info.fail(exc, f"import of {ep.value!r} failed")
            continue
        _register(pm, info, module)
    _check_pending(pm, infos)
    for info in infos:
        plugin = pm.get_plugin(info.name) if info.status == "loaded" else None
        callers = pm.get_hookcallers(plugin) if plugin is not None else None
        info.hooks = tuple(sorted(c.name for c in callers or ()))
    return pm, infos


def _check_pending(pm: pluggy.PluginManager, infos: list[PluginInfo]) -> None:
    """Run ``pm.check_pending()`` until it passes, failing and removing each offender."""
    by_name = {info.name: info for info in infos}
    while True:
        try:
            pm.check_pending()
            return
        except pluggy.PluginValidationError as exc:
            name = pm.get_name(exc.plugin)
            pm.unregister(exc.plugin)
            info = by_name.get(name or "")
            if info is None:  # pragma: no cover - pluggy names every registered plugin
                raise
            info.fail(exc, f"invalid plugin ({info.label})")


def _check_records(info: PluginInfo, hook: str, result: Any) -> list[Any]:
    cls = HOOKS[hook]
    if result is None:
        return []
    if isinstance(result, (str, bytes, Mapping)) or not isinstance(result, Iterable):
        raise PluginError(
            f"plugin '{info.name}' ({info.label}): hook {hook} returned {result!r}; "
            f"expected an iterable of {cls.__name__} records (e.g. a list)"
        )
    records = list(result)
    for value in records:
        if not isinstance(value, cls):
            raise PluginError(
                f"plugin '{info.name}' ({info.label}): hook {hook} returned {value!r}, which "
                f"is not a {cls.__name__}; return tideflow.plugins.{cls.__name__} records"
            )
    return records


def collect_records(
    pm: pluggy.PluginManager, infos: list[PluginInfo]
) -> list[tuple[PluginInfo, Any]]:
    """Call every hook once per loaded plugin and return ``(plugin, record)`` pairs.

    A plugin whose hook raises, or returns something that is not a record of the hook's
    class, is marked failed and all of its records are dropped; other plugins are unaffected.
    """
    out: list[tuple[PluginInfo, Any]] = []
    plugins = {name: plugin for name, plugin in pm.list_name_plugin()}
    for info in infos:
        if info.status != "loaded":
            continue
        plugin = plugins[info.name]
        others = [p for n, p in plugins.items() if n != info.name]
        mine: list[tuple[PluginInfo, Any]] = []
        hook = ""
        try:
            for hook in HOOKS:
                if hook not in info.hooks:
                    continue
                results = pm.subset_hook_caller(hook, remove_plugins=others)()
                for result in results:
                    mine.extend((info, r) for r in _check_records(info, hook, result))
        except Exception as exc:
            info.fail(exc, f"hook {hook}")
            pm.unregister(plugin)
            continue
        out.extend(mine)
    return out


def _label(kind: str, key: Hashable) -> str:
    if isinstance(key, tuple):
        return f"kernel of op '{key[0]}' for backend '{key[1]}' (variant '{key[2]}')"
    return f"{kind} '{key}'"


def _merge(
    kind: str, entries: Iterable[tuple[Hashable, Any, Any, PluginInfo]], replaceable: bool
) -> dict[Any, tuple[Any, PluginInfo]]:
    """Index ``(key, value, record, provider)`` entries by key, enforcing the duplicate rule.

    Raises:
        PluginConflictError: a key has several providers and not exactly one of them
            replaces the others.
    """
    groups: dict[Hashable, list[tuple[Any, Any, PluginInfo]]] = {}
    for key, value, record, info in entries:
        groups.setdefault(key, []).append((value, record, info))
    out: dict[Any, tuple[Any, PluginInfo]] = {}
    for key, group in groups.items():
        winners = [g for g in group if getattr(g[1], "replaces", False)]
        if len(group) > 1 and len(winners) != 1:
            providers = " and ".join(info.provider for _, _, info in group)
            fix = "uninstall or disable (TIDEFLOW_DISABLE_PLUGINS=<entry point>) all but one"
            if replaceable:
                fix += ", or set replaces=True on the one record that should win"
                if winners:
                    fix = f"{len(winners)} of them set replaces=True; {fix}"
            raise PluginConflictError(
                f"conflicting plugins for {_label(kind, key)}: provided by {providers}; {fix}"
            )
        value, _, info = winners[0] if winners else group[0]
        out[key] = (value, info)
    return out


def index_records(
    records: Iterable[tuple[PluginInfo, Any]],
) -> dict[str, dict[Any, tuple[Any, PluginInfo]]]:
    """Index collected records by kind and key, each with its provider.

    Kinds: ``backend``, ``op``, ``kernel`` (key ``(op, backend, variant)``), ``optimizer``
    (family name), ``optimizer_class`` (value ``(family, impl)``) and ``scheduler`` (class name).

    Raises:
        PluginConflictError: a name has several providers and not exactly one record
            replaces the others.
    """
    records = list(records)

    def of(cls: type) -> list[tuple[Any, PluginInfo]]:
        return [(r, i) for i, r in records if isinstance(r, cls)]

    families = _merge("optimizer family", [(r.name, r, r, i) for r, i in of(OptimizerSpec)], True)
    classes = [(c, (s.name, impl), s, i)
               for s, i in families.values() for c, impl in s.classes.items()]
    schedulers = [(c, impl, s, i) for s, i in of(SchedulerSpec) for c, impl in s.classes.items()]
    return {
        "backend": _merge("backend", [(r.name, r, r, i) for r, i in of(BackendSpec)], False),
        "op": _merge("op", [(r.name, r, r, i) for r, i in of(OpSpec)], False),
        "kernel": _merge(
            "kernel", [((r.op, r.backend, r.variant), r, r, i) for r, i in of(KernelSpec)], True
        ),
        "optimizer": families,
        "optimizer_class": _merge("optimizer class", classes, True),
        "scheduler": _merge("scheduler class", schedulers, False),
    }
