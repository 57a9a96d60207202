"""Plugin loading, conflicts, lookups and ``python -m tideflow info``.

Each fake plugin is a real distribution on disk (``plugins_data/<site>/``: a ``.dist-info``
with ``METADATA`` and ``entry_points.txt`` beside the plugin package), found through
``importlib.metadata`` once its folder is on ``sys.path``. Tests select the fakes with
``TIDEFLOW_PLUGINS`` so that really installed plugins do not change the outcome.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tideflow.errors import (
    BackendUnavailableError,
    PluginConflictError,
    PluginError,
    UnknownNameError,
)
from tideflow.plugins import catalog
from tideflow.plugins import registry as reg
from tideflow.plugins.loading import PluginInfo
from tideflow.plugins.records import (
    BackendSpec,
    KernelSpec,
    OpSpec,
    OptimizerSpec,
    SchedulerSpec,
)

DATA = Path(__file__).parent / "plugins_data"
ENV = ("TIDEFLOW_PLUGINS", "TIDEFLOW_DISABLE_PLUGINS", "TIDEFLOW_TRACE_PLUGINS")


@pytest.fixture(autouse=True)
def fake_builtin(monkeypatch):
    """Use the fake built-in plugin and a clean plugin environment; rebuild afterwards."""
    monkeypatch.syspath_prepend(str(DATA / "builtin"))
    monkeypatch.setattr(reg, "BUILTIN_PLUGIN", "tf_fake_builtin")
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    reg.refresh()
    yield
    reg.refresh()


@pytest.fixture
def install(monkeypatch):
    """Put fake distributions on sys.path and select them (by entry-point name)."""

    def _install(*sites: str, select: bool = True) -> None:
        for site in sites:
            monkeypatch.syspath_prepend(str(DATA / site))
        if select:
            monkeypatch.setenv("TIDEFLOW_PLUGINS", ",".join(f"fake_{s}" for s in sites))
        reg.refresh()

    return _install


def _plugin(registry: reg.Registry, name: str) -> PluginInfo:
    return next(p for p in registry.plugins if p.name == name)


# --- loading ------------------------------------------------------------------------------


def test_good_plugin_provides_everything(install):
    install("good")
    r = reg.get_registry()
    assert r is reg.get_registry()  # cached
    info = _plugin(r, "fake_good")
    assert (info.dist, info.version, info.status) == ("tf-fake-good", "1.2.0", "loaded")
    assert "tideflow_optimizers" in info.hooks and "tideflow_kernels" in info.hooks
    assert set(r.backends) == {"numpy", "fastcpu", "fakegpu", "raisy"}
    assert {"relu", "add", "fake_update"} <= set(r.ops)
    assert r.kernel("fake_update", "fastcpu", "fused") is not None
    assert r.kernel("add", "fastcpu") is None
    assert r.optimizer_classes == {"FakeSGD": "fakesgd", "FakeMomentum": "fakesgd"}
    assert r.optimizer_class("FakeSGD").__name__ == "FakeSGD"
    assert r.optimizer_class("FakeSGD") is r.optimizer_class("FakeSGD")
    assert r.scheduler_class("FakeDecay").__name__ == "FakeDecay"
    assert r.scheduler_class("StepScheduler").__name__ == "StepScheduler"
    assert r.provider("optimizer", "fakesgd") == "tf-fake-good 1.2.0"
    assert r.provider("optimizer", "FakeSGD") == "tf-fake-good 1.2.0"
    assert r.provider("kernel", "relu@fastcpu") == "tf-fake-good 1.2.0"
    assert r.provider("scheduler", "FakeDecay") == "tf-fake-good 1.2.0"


def test_builtin_is_registered_first():
    r = reg.get_registry()
    info = r.plugins[0]
    assert (info.name, info.status) == ("builtin", "loaded")
    assert info.dist in ("tideflow", "tideflow (source)")
    assert r.provider("backend", "numpy") == info.label


def test_unset_selection_loads_every_entry_point(install):
    install("good", select=False)
    assert _plugin(reg.get_registry(), "fake_good").status == "loaded"


def test_empty_selection_loads_none_but_builtin(install, monkeypatch):
    install("good")
    monkeypatch.setenv("TIDEFLOW_PLUGINS", "")
    reg.refresh()
    r = reg.get_registry()
    assert _plugin(r, "fake_good").status == "disabled"
    assert "TIDEFLOW_PLUGINS" in _plugin(r, "fake_good").detail
    assert set(r.backends) == {"numpy"} and set(r.ops) == {"relu", "add"}
    assert "StepScheduler" in r.schedulers


@pytest.mark.parametrize("blocked", ["fake_blocked", "tf-fake-blocked", "tf_fake_blocked"])
def test_blocked_plugin_is_disabled(install, monkeypatch, blocked):
    install("good", "blocked")
    monkeypatch.setenv("TIDEFLOW_DISABLE_PLUGINS", f" {blocked} ,other")
    reg.refresh()
    r = reg.get_registry()
    info = _plugin(r, "fake_blocked")
    assert (info.status, info.error) == ("disabled", None)
    assert "TIDEFLOW_DISABLE_PLUGINS" in info.detail
    assert "Blocked" not in r.optimizer_classes
    assert _plugin(r, "fake_good").status == "loaded"


def test_import_failure_is_recorded_and_others_load(install):
    install("good", "broken")
    r = reg.get_registry()
    info = _plugin(r, "fake_broken")
    assert (info.status, info.dist, info.version) == ("failed", "tf-fake-broken", "0.3.0")
    assert isinstance(info.error, ImportError)
    assert "zzz_missing_dependency" in info.detail
    assert _plugin(r, "fake_good").status == "loaded"


def test_failed_plugin_is_chained_when_user_asks(install):
    install("good", "broken")
    r = reg.get_registry()
    with pytest.raises(UnknownNameError, match="fake_broken.*tf-fake-broken 0.3.0") as exc:
        r.optimizer_class("Missing")
    assert isinstance(exc.value.__cause__, ImportError)
    with pytest.raises(UnknownNameError, match="did you mean relu\\?") as exc:
        r.op("relux")
    assert "fake_broken" in str(exc.value) and isinstance(exc.value.__cause__, ImportError)


def test_failed_catalogued_provider_raises_plugin_error(install, monkeypatch):
    install("broken")
    monkeypatch.setitem(catalog.KNOWN_OPTIMIZERS, "Broken", "tf-fake-broken")
    with pytest.raises(PluginError, match="tf-fake-broken 0.3.0, whose plugin 'fake_broken' "
                                          "failed to load") as exc:
        reg.get_registry().optimizer_class("Broken")
    assert isinstance(exc.value.__cause__, ImportError)


def test_disabled_catalogued_provider_says_how_to_enable(install, monkeypatch):
    install("blocked")
    monkeypatch.setitem(catalog.KNOWN_OPTIMIZERS, "Blocked", "tf-fake-blocked")
    monkeypatch.setenv("TIDEFLOW_DISABLE_PLUGINS", "fake_blocked")
    reg.refresh()
    with pytest.raises(UnknownNameError, match="installed but its plugin 'fake_blocked' is "
                                               "disabled by TIDEFLOW_DISABLE_PLUGINS"):
        reg.get_registry().optimizer_class("Blocked")


@pytest.mark.parametrize(("site", "where"), [
    ("badrecord", "tideflow_ops returned {'name': 'not_a_record'}, which is not a OpSpec"),
    ("raising", "fake hook failure"),
])
def test_bad_hook_fails_only_that_plugin(install, site, where):
    install("good", site)
    r = reg.get_registry()
    info = _plugin(r, f"fake_{site}")
    assert info.status == "failed"
    assert where in str(info.error) and "hook tideflow_" in info.detail
    assert "lost" not in r.backends  # the bad plugin's valid records are dropped too
    assert "fastcpu" in r.backends


@pytest.mark.parametrize(("site", "text"), [
    ("misspelt", "unknown hook 'tideflow_optimisers'"),
    ("badsig", "tideflow_ops"),
])
def test_invalid_plugin_keeps_pluggy_text(install, site, text):
    install("good", site)
    info = _plugin(reg.get_registry(), f"fake_{site}")
    assert info.status == "failed" and text in str(info.error)
    assert f"tf-fake-{site} 0.1.0" in info.detail


def test_broken_builtin_is_recorded(monkeypatch):
    monkeypatch.setattr(reg, "BUILTIN_PLUGIN", "tf_fake_no_such_module")
    r = reg.get_registry()
    assert r.plugins[0].status == "failed" and "numpy" not in r.backends


def test_trace_prints_hook_calls(install, monkeypatch, capsys):
    install("good")
    monkeypatch.setenv("TIDEFLOW_TRACE_PLUGINS", "1")
    reg.get_registry()
    err = capsys.readouterr().err
    assert "call tideflow_optimizers() -> fake_good" in err


# --- conflicts ----------------------------------------------------------------------------


def test_optimizer_class_conflict_names_both_distributions(install):
    install("conflict_a", "conflict_b")
    with pytest.raises(PluginConflictError) as exc:
        reg.get_registry()
    msg = str(exc.value)
    assert "optimizer class 'Clash'" in msg
    assert "tf-fake-conflict-a 2.0.0 (entry point fake_conflict_a)" in msg
    assert "tf-fake-conflict-b 3.1.0 (entry point fake_conflict_b)" in msg


def test_replaces_wins(install):
    install("good", "replacer")
    r = reg.get_registry()
    assert r.optimizer_class("FakeSGD").__name__ == "FastSGD"
    assert r.optimizer_class("FakeMomentum").__name__ == "FakeMomentum"
    assert r.provider("optimizer", "FakeSGD") == "tf-fake-replacer 0.9.0"
    assert r.kernel("relu", "fastcpu").impl == "tf_fake_replacer.plugin:fast_relu"


def _info(name: str) -> PluginInfo:
    return PluginInfo(name, f"dist-{name}", "1.0")


def _ref(*args):
    return None


CONFLICTS = [
    ("backend 'b'", lambda r: BackendSpec(name="b", device="cpu", priority=0, probe=_ref)),
    ("op 'o'", lambda r: OpSpec(name="o", infer=_ref, reference=_ref)),
    ("kernel of op 'o' for backend 'b'", lambda r: KernelSpec(op="o", backend="b", impl=_ref,
                                                              replaces=r)),
    ("optimizer family 'f'", lambda r: OptimizerSpec(name="f", classes={"F": _ref},
                                                     replaces=r)),
    ("scheduler class 'S'", lambda r: SchedulerSpec(name="s", classes={"S": _ref})),
]


@pytest.mark.parametrize(("what", "make"), CONFLICTS, ids=[c[0].split()[0] for c in CONFLICTS])
def test_duplicate_names_conflict(what, make):
    records = [(_info("x"), make(False)), (_info("y"), make(False))]
    with pytest.raises(PluginConflictError, match=what) as exc:
        reg.Registry([], records)
    assert "dist-x 1.0 (entry point x) and dist-y 1.0 (entry point y)" in str(exc.value)


def test_two_replacing_records_still_conflict():
    records = [(_info("x"), KernelSpec(op="o", backend="b", impl=_ref, replaces=True)),
               (_info("y"), KernelSpec(op="o", backend="b", impl=_ref, replaces=True))]
    with pytest.raises(PluginConflictError, match="2 of them set replaces=True"):
        reg.Registry([], records)


# --- lookups ------------------------------------------------------------------------------


def test_op_is_resolved_and_cached(install):
    install("good")
    r = reg.get_registry()
    op = r.op("relu")
    assert op is r.op("relu") and callable(op.reference) and callable(op.grad)
    assert r.op("add").grad is None and r.op("fake_update").spec.stateful


def test_unknown_optimizer_lists_installed(install):
    install("good")
    with pytest.raises(UnknownNameError) as exc:
        reg.get_registry().optimizer_class("FakeSDG")
    msg = str(exc.value)
    assert "unknown optimizer 'FakeSDG'" in msg and "did you mean FakeSGD" in msg
    assert "FakeMomentum (tf-fake-good 1.2.0), FakeSGD (tf-fake-good 1.2.0)" in msg
    assert exc.value.__cause__ is None


def test_known_but_uninstalled_optimizer_says_how_to_install(install, monkeypatch):
    from tideflow.plugins import catalog

    monkeypatch.setitem(catalog.KNOWN_OPTIMIZERS, "Lion", "tideflow-optim-notinstalled")
    install("good")
    with pytest.raises(UnknownNameError) as exc:
        reg.get_registry().optimizer_class("Lion")
    assert ("flow.optimizer.Lion is provided by the distribution tideflow-optim-notinstalled, "
            "which is not installed; install it with `pip install tideflow-optim-notinstalled` "
            "(from this repository: `pip install -e plugins/tideflow-optim-notinstalled`)"
            ) in str(exc.value)
    assert "FakeSGD (tf-fake-good 1.2.0)" in str(exc.value)


def test_unknown_scheduler_lists_installed(install):
    install("good")
    with pytest.raises(UnknownNameError, match="FakeDecay.*StepScheduler"):
        reg.get_registry().scheduler_class("Nope")


def test_select_backend_by_priority_and_availability(install):
    install("good")
    r = reg.get_registry()
    assert r.select_backend("cpu").name == "fastcpu"
    assert r.select_backend("gpu") is None  # fakegpu unavailable, raisy's probe raises
    assert r.select_backend("cpu", "numpy").name == "numpy"
    assert r.select_backend("gpu", "fastcpu").name == "fastcpu"  # device mismatch allowed


def test_probe_runs_once_and_raising_probe_is_unavailable(install):
    install("good")
    from tf_fake_good.impl import PROBES

    r = reg.get_registry()
    before = PROBES["ok"]
    assert r.backend_available("fastcpu") == r.backend_available("fastcpu")
    assert PROBES["ok"] - before <= 1
    assert r.backend_available("raisy") == (False, "probe raised: RuntimeError: fake probe "
                                                   "exploded")


def test_select_unavailable_backend_gives_reason(install):
    install("good")
    with pytest.raises(BackendUnavailableError, match="unavailable: no fake device visible"):
        reg.get_registry().select_backend("gpu", "fakegpu")


def test_select_unknown_backend_lists_states(install):
    install("good")
    with pytest.raises(UnknownNameError) as exc:
        reg.get_registry().select_backend("cpu", "fastcup")
    msg = str(exc.value)
    assert "did you mean fastcpu" in msg and "numpy (cpu, available)" in msg
    assert "fakegpu (gpu, unavailable: no fake device visible)" in msg


def test_select_catalogued_backend_says_how_to_install():
    with pytest.raises(UnknownNameError, match="distribution tideflow-cuda, which is not "
                                               "installed; install it with `pip install"):
        reg.get_registry().select_backend("gpu", "cuda")


def test_select_backend_rejects_unknown_device():
    with pytest.raises(UnknownNameError, match=r"`device` must be one of 'cpu', 'gpu'; "
                                               r"received device='tpu'"):
        reg.get_registry().select_backend("tpu")


# --- python -m tideflow info --------------------------------------------------------------


def test_info_text(install, capsys):
    from tideflow import info

    install("good", "broken")
    assert info.main(["info"]) == 0
    out = capsys.readouterr().out
    assert "fake_good" in out and "tf-fake-good" in out and "loaded" in out
    assert "fake_broken" in out and "failed" in out and "zzz_missing_dependency" in out
    assert "fakegpu" in out and "unavailable: no fake device visible" in out
    assert "FakeSGD" in out and "fakesgd" in out and "FakeDecay" in out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[-5:] if line.strip()}
    columns = rows["op"]
    assert dict(zip(columns, rows["fake_update"]))["fastcpu"] == "k+fused"
    assert dict(zip(columns, rows["relu"])) == {"numpy": "ref", "fastcpu": "k", "fakegpu": "-",
                                                "raisy": "-"}


def test_info_json_and_timings(install, capsys):
    from tideflow import info

    install("good")
    assert info.main(["info", "--json", "--timings"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"versions", "plugins", "backends", "optimizers", "schedulers", "kernels"} <= set(data)
    assert data["kernels"]["ops"]["fake_update"]["fastcpu"] == "k+fused"
    assert {"class": "FakeSGD", "family": "fakesgd", "provider": "tf-fake-good 1.2.0"} in \
        data["optimizers"]
    # the fake fastcpu backend has no kernels for the reference job: reported, not raised
    timings = {t["backend"]: t for t in data["timings"]}
    assert "fastcpu" in timings and "error" in timings["fastcpu"]


def test_info_reports_conflict(install, capsys):
    from tideflow import info

    install("conflict_a", "conflict_b")
    assert info.main(["info"]) == 1
    assert "tf-fake-conflict-b 3.1.0" in capsys.readouterr().err
