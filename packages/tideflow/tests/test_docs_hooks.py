"""Keep ``docs/plugins/hooks.md`` and :mod:`tideflow.plugins.hookspecs` in step.

datasette's meta-tests: every hookspec has a ``## `` heading equal to its signature, every
heading is a hookspec, every python example compiles, and every hook has a ``test_hook_<name>``
here that calls an implementation (the core's built-in plugin, or the page's own example
plugin, executed as a module) through a plain ``pluggy.PluginManager("tideflow")``.
"""

from __future__ import annotations

import inspect
import re
import types
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pluggy
import pytest

from tideflow._builtin import plugin as builtin
from tideflow.optimizer import LrScheduler
from tideflow.plugins import (
    BackendSpec,
    KernelSpec,
    OpSpec,
    OptimizerSpec,
    SchedulerSpec,
    hookimpl,
    hookspecs,
    resolve,
)
from tideflow.plugins.loading import HOOKS

if TYPE_CHECKING:
    from tideflow.plugins.registry import Registry

DOC = Path(__file__).resolve().parents[3] / "docs" / "plugins" / "hooks.md"
_FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _specs() -> dict[str, Callable[..., Any]]:
    """Hook name -> spec function, for every ``tideflow_*`` function of the spec module."""
    return {name: fn for name, fn in vars(hookspecs).items()
            if name.startswith("tideflow_") and inspect.isfunction(fn)}


def _param(p: inspect.Parameter) -> str:
    text = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "") + p.name
    if p.annotation is not p.empty:
        text += f": {p.annotation}"
    if p.default is not p.empty:
        text += f" = {p.default!r}" if p.annotation is not p.empty else f"={p.default!r}"
    return text


def _heading(name: str, fn: Callable[..., Any]) -> str:
    """``name(params) -> return``, with the annotations as written (they are strings)."""
    sig = inspect.signature(fn)
    params = ", ".join(_param(p) for p in sig.parameters.values())
    ret = "" if sig.return_annotation is sig.empty else f" -> {sig.return_annotation}"
    return f"{name}({params}){ret}"


def _page() -> str:
    if not DOC.exists():
        pytest.skip(f"{DOC} is not here (tests run outside the repository)")
    return DOC.read_text(encoding="utf-8")


def _sections() -> dict[str, str]:
    """``## `` heading text -> the section body up to the next ``## `` heading."""
    parts = re.split(r"^## (.+)$", _page(), flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def _doc_plugin(hook: str) -> types.ModuleType:
    """The first python example of ``hook``'s section, executed as a plugin module."""
    heading = _heading(hook, _specs()[hook])
    sections = _sections()
    assert heading in sections, f"docs/plugins/hooks.md has no heading '## {heading}'"
    body = sections[heading]
    source = _FENCE.findall(body)[0]
    module = types.ModuleType(f"hooks_md_{hook}")
    exec(compile(source, f"hooks.md ({hook})", "exec"), module.__dict__)
    return module


def _call(hook: str, plugin: object) -> list[Any]:
    """Register ``plugin`` alone and return the records its ``hook`` returns, flattened."""
    pm = pluggy.PluginManager("tideflow")
    pm.add_hookspecs(hookspecs)
    pm.register(plugin, name="under_test")
    pm.check_pending()
    results = getattr(pm.hook, hook)()
    assert len(results) == 1, f"{hook}: expected one implementation's result, got {results!r}"
    records = list(results[0])
    assert records, f"{hook} returned no records"
    assert all(isinstance(r, HOOKS[hook]) for r in records), records
    return records


# --- the page and the specs agree ----------------------------------------------------------


def test_spec_module_marks_every_hook():
    assert hookspecs.PROJECT == "tideflow"
    specs = _specs()
    assert specs, "no tideflow_* hookspecs found"
    for name, fn in specs.items():
        assert hasattr(fn, "tideflow_spec"), f"{name} is not marked with the hookspec marker"
    assert set(specs) == set(HOOKS), "loading.HOOKS must give a record class for every hook"


def test_heading_is_the_signature_as_written():
    def tideflow_example(registry: Registry, *names: str, limit: int = 3, **opts) -> None:
        """A spec with arguments (hookspecs may gain some)."""

    assert _heading("tideflow_example", tideflow_example) == (
        "tideflow_example(registry: Registry, *names: str, limit: int = 3, **opts) -> None")
    assert _heading("tideflow_backends", hookspecs.tideflow_backends) == (
        "tideflow_backends() -> Iterable[BackendSpec]")


def test_every_hookspec_is_documented_with_its_signature():
    headings = set(_sections())
    missing = [h for h in (_heading(n, f) for n, f in _specs().items()) if h not in headings]
    assert not missing, f"docs/plugins/hooks.md lacks the headings: {missing}"


def test_every_heading_is_a_hookspec():
    expected = {_heading(n, f) for n, f in _specs().items()}
    extra = [h for h in _sections() if h not in expected]
    assert not extra, f"docs/plugins/hooks.md headings that match no hookspec: {extra}"


def test_every_hook_section_has_an_example():
    for heading, body in _sections().items():
        assert _FENCE.findall(body), f"section {heading!r} has no python example"


def test_python_examples_compile():
    blocks = _FENCE.findall(_page())
    assert blocks
    for i, src in enumerate(blocks):
        compile(src, f"hooks.md (example {i + 1})", "exec")


@pytest.mark.parametrize("page", ["index.md", "writing-an-optimizer.md", "writing-a-backend.md",
                                  "conformance.md"])
def test_plugin_guide_examples_compile(page):
    path = DOC.with_name(page)
    if not path.exists():
        pytest.skip(f"{path} is not here")
    for i, src in enumerate(_FENCE.findall(path.read_text(encoding="utf-8"))):
        compile(src, f"{page} (example {i + 1})", "exec")


def test_every_hook_has_a_test():
    missing = [n for n in _specs() if not callable(globals().get(f"test_hook_{n}"))]
    assert not missing, f"add test_hook_<name> for: {missing}"


# --- one test per hook ---------------------------------------------------------------------


def test_hook_tideflow_backends():
    (numpy,) = _call("tideflow_backends", builtin)
    assert (numpy.name, numpy.device, numpy.reference) == ("numpy", "cpu", True)
    assert resolve(numpy.probe)() == (True, "always available")
    (mycpu,) = _call("tideflow_backends", _doc_plugin("tideflow_backends"))
    assert (mycpu.name, mycpu.device, mycpu.priority) == ("mycpu", "cpu", -1)
    assert isinstance(mycpu, BackendSpec) and mycpu.probe == "tideflow_mycpu.probe:probe"


def test_hook_tideflow_ops():
    names = {r.name for r in _call("tideflow_ops", builtin)}
    assert {"relu", "add", "matmul", "lr_schedule"} <= names
    ops = {r.name: r for r in _call("tideflow_ops", _doc_plugin("tideflow_ops"))}
    assert set(ops) == {"softsign", "softsign_grad"}
    assert isinstance(ops["softsign"], OpSpec) and ops["softsign"].grad is not None
    assert ops["softsign_grad"].grad is None


def test_hook_tideflow_kernels():
    def relu(attrs: dict, in_metas: list, out_metas: list) -> Callable[[list, list], None]:
        def run(ins: list, outs: list) -> None:
            np.maximum(ins[0], 0, out=outs[0])

        return run

    class TinyPlugin:
        @hookimpl
        def tideflow_kernels(self):
            return [KernelSpec(op="relu", backend="numpy", impl=relu, variant="fused")]

    (tiny,) = _call("tideflow_kernels", TinyPlugin())
    assert tiny.name == "relu@numpy:fused"
    out = np.empty(3)
    resolve(tiny.impl)({}, [], [])([np.array([-1.0, 0.5, -0.0])], [out])
    np.testing.assert_array_equal(out, [0.0, 0.5, 0.0])
    kernels = _call("tideflow_kernels", _doc_plugin("tideflow_kernels"))
    assert {k.name for k in kernels} == {"relu@mycpu:default", "sgd_update@mycpu:default"}
    assert next(k for k in kernels if k.op == "sgd_update").dtypes == ("float32",)


def test_hook_tideflow_optimizers():
    (spec,) = _call("tideflow_optimizers", _doc_plugin("tideflow_optimizers"))
    assert isinstance(spec, OptimizerSpec)
    assert (spec.name, dict(spec.classes), spec.slots, spec.update_ops) == (
        "adagrad", {"Adagrad": "tideflow_optim_adagrad.adagrad:Adagrad"}, ("sum",),
        ("adagrad_update",))


def test_hook_tideflow_lr_schedulers():
    (core,) = _call("tideflow_lr_schedulers", builtin)
    assert core.name == "core" and "PiecewiseConstantScheduler" in core.classes
    assert issubclass(resolve(core.classes["CosineScheduler"]), LrScheduler)
    (step,) = _call("tideflow_lr_schedulers", _doc_plugin("tideflow_lr_schedulers"))
    assert isinstance(step, SchedulerSpec)
    assert list(step.classes) == ["StepDecayScheduler"]
