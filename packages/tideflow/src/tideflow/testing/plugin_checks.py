"""Hygiene checks for any plugin distribution: :func:`plugin_checks`.

::

    import pytest
    from tideflow.testing import plugin_checks

    @pytest.mark.parametrize("check", plugin_checks("tideflow-optim-example"))
    def test_plugin(check):
        check()

The distribution must be installed (``pip install -e .``): entry points are package
metadata.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from tideflow.optimizer.base import Optimizer
from tideflow.optimizer.schedulers import LrScheduler
from tideflow.plugins.hookspecs import PROJECT
from tideflow.plugins.loading import HOOKS, norm_dist
from tideflow.plugins.records import (
    BackendSpec,
    KernelSpec,
    OpSpec,
    OptimizerSpec,
    SchedulerSpec,
    resolve,
)
from tideflow.plugins.registry import Registry, get_registry
from tideflow.testing._params import as_params, named

#: Modules a plugin's entry-point module must not import (they are slow to import).
HEAVY_MODULES: tuple[str, ...] = ("numba", "cupy", "torch", "llvmlite")

_LIGHT_PROBE = """
import importlib, json, sys
heavy = json.loads(sys.argv[1])
import tideflow.plugins
before = {m for m in heavy if m in sys.modules}
for module in json.loads(sys.argv[2]):
    importlib.import_module(module)
print(json.dumps(sorted(m for m in heavy if m in sys.modules and m not in before)))
"""


def _entry_points(dist_name: str) -> list[md.EntryPoint]:
    try:
        dist = md.distribution(dist_name)
    except md.PackageNotFoundError:
        raise AssertionError(f"distribution {dist_name!r} is not installed; install it (pip "
                             "install -e <its folder>) so that its entry points exist") from None
    eps = [ep for ep in dist.entry_points if ep.group == PROJECT]
    assert eps, (f"{dist_name} declares no entry point in group {PROJECT!r}; add "
                 f"[project.entry-points.{PROJECT}] <name> = \"<package>.plugin\" to pyproject")
    return eps


def _check_entry_point_loads(dist_name: str) -> None:
    for ep in _entry_points(dist_name):
        try:
            module = ep.load()
        except Exception as exc:
            raise AssertionError(f"entry point {ep.name} = {ep.value!r} of {dist_name} does not "
                                 f"load: {type(exc).__name__}: {exc}") from exc
        hooks = [h for h in HOOKS if hasattr(getattr(module, h, None), f"{PROJECT}_impl")]
        assert hooks, (f"{ep.value} implements no tideflow hook; decorate functions named "
                       f"{', '.join(HOOKS)} with @tideflow.plugins.hookimpl")


def _check_plugin_loaded(dist_name: str) -> None:
    reg = get_registry()
    mine = [p for p in reg.plugins if norm_dist(p.dist) == norm_dist(dist_name)]
    assert mine, (f"the registry has no plugin from {dist_name}; plugins seen: "
                  f"{[p.label for p in reg.plugins]}")
    for p in mine:
        assert p.status == "loaded" and p.error is None, (
            f"plugin {p.name!r} ({p.label}) did not load ({p.status}): {p.detail}")


def _records(dist_name: str) -> Iterable[tuple[str, Any]]:
    for ep in _entry_points(dist_name):
        module = ep.load()
        for hook in HOOKS:
            fn = getattr(module, hook, None)
            if fn is not None and hasattr(fn, f"{PROJECT}_impl"):
                yield from ((hook, r) for r in fn() or ())


def _mine(reg: Registry, kind: str, key: Any, dist_name: str) -> str | None:
    """None if ``dist_name`` provides ``key`` in the registry, else what is wrong."""
    try:
        label = reg.provider(kind, key)
    except Exception as exc:
        return f"{kind} {key!r} is not in the registry: {exc}"
    if norm_dist(label.split(" ")[0]) != norm_dist(dist_name):
        return f"{kind} {key!r} is provided by {label}, not by {dist_name}"
    return None


def _problems(reg: Registry, hook: str, r: Any, dist: str) -> Iterable[str | None]:
    """Everything wrong with one record ``r`` returned by ``hook``."""
    if not isinstance(r, HOOKS[hook]):
        yield f"{hook} returned {r!r}, not a {HOOKS[hook].__name__}"
    elif isinstance(r, OptimizerSpec):
        yield _mine(reg, "optimizer", r.name, dist)
        for cls_name, impl in r.classes.items():
            yield _mine(reg, "optimizer", cls_name, dist)
            cls = resolve(impl)
            if not (isinstance(cls, type) and issubclass(cls, Optimizer)):
                yield f"optimizer class {cls_name} = {impl!r} is not an Optimizer subclass"
        for op in r.update_ops:
            if op not in reg.ops:
                yield f"OptimizerSpec {r.name!r} lists update op {op!r}, which is not registered"
        for slot in r.slots:
            if not (isinstance(slot, str) and slot.replace("_", "a").isalnum()):
                yield f"OptimizerSpec {r.name!r}: slot suffix {slot!r} is not a plain name"
    elif isinstance(r, OpSpec):
        yield _mine(reg, "op", r.name, dist)
        for field in ("infer", "reference", "grad"):
            impl = getattr(r, field)
            if impl is not None and not callable(resolve(impl)):
                yield f"op {r.name!r}: {field} = {impl!r} is not callable"
    elif isinstance(r, KernelSpec):
        yield _mine(reg, "kernel", (r.op, r.backend, r.variant), dist)
        if r.op not in reg.ops:
            yield f"kernel {r.name}: op {r.op!r} is not registered"
        # A kernel module may import its backend's library: import it only where it runs.
        runs_here = r.backend in reg.backends and reg.backend_available(r.backend)[0]
        if runs_here and not callable(resolve(r.impl)):
            yield f"kernel {r.name}: impl {r.impl!r} is not callable"
    elif isinstance(r, BackendSpec):
        yield _mine(reg, "backend", r.name, dist)
        result = resolve(r.probe)()
        if not (isinstance(result, tuple) and len(result) == 2):
            yield f"backend {r.name!r}: probe returned {result!r}; expected (ok, reason)"
    elif isinstance(r, SchedulerSpec):
        for cls_name, impl in r.classes.items():
            yield _mine(reg, "scheduler", cls_name, dist)
            cls = resolve(impl)
            if not (isinstance(cls, type) and issubclass(cls, LrScheduler)):
                yield f"scheduler class {cls_name} = {impl!r} is not an LrScheduler subclass"


def _check_records_valid(dist_name: str) -> None:
    reg = get_registry()
    problems: list[str] = []
    for hook, record in _records(dist_name):
        try:
            problems += [p for p in _problems(reg, hook, record, dist_name) if p]
        except Exception as exc:
            what = f"{type(record).__name__} {getattr(record, 'name', record)!r}"
            problems.append(f"{hook}: {what}: {type(exc).__name__}: {exc}")
    assert not problems, f"records of {dist_name}:\n  " + "\n  ".join(problems)


def _check_light(dist_name: str, heavy: tuple[str, ...]) -> None:
    modules = [ep.value.partition(":")[0] for ep in _entry_points(dist_name)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    proc = subprocess.run([sys.executable, "-c", _LIGHT_PROBE, json.dumps(list(heavy)),
                           json.dumps(modules)], capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.returncode == 0, f"importing {modules} failed:\n{proc.stderr[-2000:]}"
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not found, (f"importing {', '.join(modules)} (the entry point of {dist_name}) "
                       f"imports {', '.join(found)}; import heavy libraries only in the "
                       "modules named by impl strings (\"module:attr\"), which load on use")


def plugin_checks(dist_name: str, expected_failures: Mapping[str, str] | None = None,
                  heavy_modules: tuple[str, ...] = HEAVY_MODULES) -> list[Any]:
    """Return the hygiene checks of the installed distribution ``dist_name``.

    * ``check_entry_point_loads``: the distribution declares at least one entry point in
      group ``tideflow``; each loads and implements at least one tideflow hook.
    * ``check_plugin_loaded``: the registry shows each of its plugins loaded, with no error.
    * ``check_records_valid``: every record its hooks return is of the hook's record class
      and is the one the registry uses (not shadowed by another distribution); its ``impl``
      strings import (optimizer and scheduler classes of the right base class; op infer,
      reference and grad callables; kernel impls where their backend is available here:
      a kernel module may import its backend's library); listed update ops exist; backend
      probes return ``(ok, reason)``.
    * ``check_plugin_module_is_light``: importing the entry-point modules in a fresh Python
      subprocess imports none of ``heavy_modules`` (beyond what ``tideflow.plugins`` itself
      imports).

    Args:
        dist_name: the distribution name (``"tideflow-optim-sgd"``).
        expected_failures: check name -> reason (strict xfail: the check must fail).
        heavy_modules: top-level module names ``check_plugin_module_is_light`` forbids.

    Raises:
        ValueError: ``expected_failures`` names an unknown check.
    """
    fns: dict[str, tuple[Callable[[], None], str]] = {
        "check_entry_point_loads": (lambda: _check_entry_point_loads(dist_name),
                                    "The tideflow entry point loads and implements hooks."),
        "check_plugin_loaded": (lambda: _check_plugin_loaded(dist_name),
                                "The registry shows the plugin loaded, without error."),
        "check_records_valid": (lambda: _check_records_valid(dist_name),
                                "Every record is used by the registry and its impls resolve."),
        "check_plugin_module_is_light": (lambda: _check_light(dist_name, tuple(heavy_modules)),
                                         "The entry-point module imports nothing heavy."),
    }
    checks = {name: named(name, fn, doc) for name, (fn, doc) in fns.items()}
    return as_params(checks, expected_failures, "plugin_checks")
