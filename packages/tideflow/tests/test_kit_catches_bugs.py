"""The conformance kit (``tideflow.testing``) catches broken plugins, by name.

Each broken plugin is a copy of the example third-party plugin
(``tests/data/tideflow-optim-example/src``) written to ``tmp_path`` under a new package and
distribution name, with one deliberate bug, and selected alone with ``TIDEFLOW_PLUGINS``. The
test asserts that the check named for that bug fails, and that the same check passes on an
unbroken copy. A fake backend distribution does the same for the kernel checks.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from tideflow.plugins import registry as reg
from tideflow.testing import (
    SAMPLES,
    OptimizerCase,
    kernel_checks,
    optimizer_checks,
    plugin_checks,
)
from tideflow.testing.distributions import write_distribution
from tideflow.testing.kernel_checks import sample

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "tests" / "data" / "tideflow-optim-example" / "src" / "tideflow_optim_example"
FAKE_HEAVY = "tideflow_kit_fake_heavy"  # stands in for numba in the light-import check


def adagrad_one_step(w, g, lr, step, kwargs):
    return w - lr * g / (np.sqrt(0.1 + g * g) + 1e-10)


CASE = OptimizerCase(name="Adagrad", kwargs={}, slots={"sum": 0.1},
                     closed_form=adagrad_one_step, converge_lr=0.5,
                     bad_hyperparams=[({"epsilon": -1.0}, r"^Adagrad: `epsilon` must be a "
                                                         r"number >= 0; received epsilon=-1.0$")])

#: bug -> (file, text, replacement, the check that must fail, what its message says)
BUGS = {
    "wrong_slot_shape": (
        "adagrad.py", "    def hyperparams(self)",
        "    def slot_shape(self, suffix, var_shape):\n        return (1,)\n\n"
        "    def hyperparams(self)",
        "check_slots_created", r"slot 'w-sum' has shape \(1,\); expected \(3, 4\)"),
    "formula_error": (
        "reference.py", "(np.sqrt(s_new) + ", "(s_new + ",
        "check_single_step_closed_form", r"w after one step at lr=0.1: \d+/12 elements differ"),
    "accepts_negative_epsilon": (
        "adagrad.py", "is_real(epsilon) and epsilon >= 0", "is_real(epsilon)",
        "check_invalid_hyperparams", r"epsilon.*-1.0.* was accepted"),
    "heavy_import_in_plugin_py": (
        "plugin.py", "from tideflow.plugins import",
        f"import {FAKE_HEAVY}  # noqa: F401\nfrom tideflow.plugins import",
        "check_plugin_module_is_light", f"imports {FAKE_HEAVY}"),
    "plugin_fails_to_import": (
        "plugin.py", "from tideflow.plugins import",
        "raise ImportError('boom')\nfrom tideflow.plugins import",
        "check_plugin_loaded", r"did not load \(failed\): import of .* failed: ImportError: boom"),
    "misspelt_impl_string": (
        "plugin.py", "adagrad:Adagrad", "adagrad:Adagrd",
        "check_records_valid", r"OptimizerSpec 'adagrad': AttributeError: .* attribute 'Adagrd'"),
}


@pytest.fixture
def install(tmp_path, monkeypatch):
    """Install a fake distribution on ``sys.path`` and load only it (plus the core)."""
    prefixes = []

    def _install(package: str, files: dict[str, str]) -> str:
        dist, entry_point = package.replace("_", "-"), package
        site = tmp_path / package
        write_distribution(site, dist, package, entry_point, files)
        (site / f"{FAKE_HEAVY}.py").write_text("HEAVY = True\n")
        monkeypatch.syspath_prepend(str(site))
        monkeypatch.setenv("TIDEFLOW_PLUGINS", entry_point)
        monkeypatch.delenv("TIDEFLOW_CPU_BACKEND", raising=False)  # only this plugin loads
        prefixes.append(package)
        reg.refresh()
        return dist

    yield _install
    reg.refresh()
    for name in [m for m in sys.modules if m.split(".")[0] in prefixes]:
        del sys.modules[name]


def example_copy(install, package: str, bug: str | None = None) -> str:
    """Install a copy of the example plugin as ``package``, with ``bug`` applied."""
    files = {p.name: p.read_text().replace("tideflow_optim_example", package)
             for p in EXAMPLE.glob("*.py")}
    if bug is not None:
        name, old, new = BUGS[bug][:3]
        assert old in files[name], f"the example changed: {old!r} is not in {name}"
        files[name] = files[name].replace(old, new)
    return install(package, files)


def named_check(name: str, dist: str):
    params = optimizer_checks(CASE) + plugin_checks(dist, heavy_modules=(FAKE_HEAVY,))
    (param,) = [p for p in params if p.id == name]
    return param.values[0]


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_named_check_fails_on_broken_copy(bug, install):
    dist = example_copy(install, f"tideflow_optim_broken_{bug}", bug)
    check_name, message = BUGS[bug][3:]
    with pytest.raises(AssertionError, match=message):
        named_check(check_name, dist)()


@pytest.mark.parametrize("check_name", sorted({b[3] for b in BUGS.values()}))
def test_same_check_passes_on_unbroken_copy(check_name, install):
    dist = example_copy(install, "tideflow_optim_unbroken")
    named_check(check_name, dist)()


def test_every_check_passes_on_unbroken_copy(install):
    dist = example_copy(install, "tideflow_optim_unbroken")
    for param in optimizer_checks(CASE) + plugin_checks(dist):
        param.values[0]()


def test_check_names_are_stable():
    ids = [p.id for p in optimizer_checks(CASE)]
    assert ids == ["check_registered", "check_slots_created", "check_single_step_closed_form",
                   "check_matches_reference_n_steps", "check_converges_on_quadratic",
                   "check_invalid_hyperparams", "check_schedule_drives_lr",
                   "check_checkpoint_roundtrip"]
    assert [p.id for p in plugin_checks("tideflow")] == [
        "check_entry_point_loads", "check_plugin_loaded", "check_records_valid",
        "check_plugin_module_is_light"]


def test_expected_failures_are_strict_xfails():
    params = optimizer_checks(CASE, expected_failures={"check_converges_on_quadratic": "slow"})
    marked = {p.id: p.marks for p in params if p.marks}
    (mark,) = marked.pop("check_converges_on_quadratic")
    assert not marked
    assert mark.name == "xfail" and mark.kwargs["strict"] and mark.kwargs["reason"] == "slow"
    with pytest.raises(ValueError, match=r"unknown checks \['check_convergence'\]"):
        optimizer_checks(CASE, expected_failures={"check_convergence": "typo"})


def test_missing_distribution_is_named():
    check = next(p.values[0] for p in plugin_checks("tideflow-optim-nowhere")
                 if p.id == "check_entry_point_loads")
    with pytest.raises(AssertionError, match="'tideflow-optim-nowhere' is not installed"):
        check()


def test_unknown_optimizer_class_is_named(install):
    example_copy(install, "tideflow_optim_unbroken")
    case = OptimizerCase(name="Adagard", kwargs={}, slots={}, closed_form=adagrad_one_step,
                         bad_hyperparams=[])
    check = optimizer_checks(case)[0].values[0]
    with pytest.raises(AssertionError, match="no installed plugin exports the optimizer class "
                                             "'Adagard'"):
        check()


# ---------------------------------------------------------------- kernels

KERNELS = '''
import numpy as np
from numpy.lib.stride_tricks import as_strided


def probe():
    return True, "always"


def relu(attrs, ins, outs):
    def run(i, o):
        np.maximum(i[0], 0, out=o[0])
    return run


def add_wrong(attrs, ins, outs):
    def run(i, o):
        np.subtract(i[0], i[1], out=o[0])
    return run


def sigmoid_assumes_contiguous(attrs, ins, outs):
    def run(i, o):
        x = as_strided(i[0], shape=(i[0].size,), strides=(i[0].itemsize,))
        o[0][...] = (1 / (1 + np.exp(-x))).reshape(o[0].shape)
    return run


def softmax(attrs, ins, outs):
    def run(i, o):
        e = np.exp(i[0] - i[0].max(axis=attrs["axis"], keepdims=True))
        o[0][...] = e / e.sum(axis=attrs["axis"], keepdims=True)
    return run


def kit_sgd_rule(param, grad, slots, lr, step, hyper):
    return param - lr * (grad + hyper["weight_decay"] * param), ()


def kit_momentum_rule(param, grad, slots, lr, step, hyper):
    (u,) = slots
    u_new = hyper["beta"] * u - lr * grad
    return param + u_new - lr * hyper["weight_decay"] * param, (u_new,)


def sgd_fused(attrs, ins, outs):
    seg, wd, c = attrs["segments"], attrs["weight_decay"], attrs["clip_norm"]

    def run(i, o):
        if attrs["has_skip"] and i[4][0]:
            return
        p, g, lr = i[0], i[1], float(i[2][0])
        if c is not None:
            g = g * (c / max(float(np.sqrt(np.dot(g, g))), c))
        for j, w in enumerate(wd):
            a, b = seg[j], seg[j + 1]
            p[a:b] = p[a:b] - lr * (g[a:b] + w * p[a:b])
    return run


def momentum_fused_ignores_clip(attrs, ins, outs):
    seg, wd, beta = attrs["segments"], attrs["weight_decay"], attrs["beta"]

    def run(i, o):
        if attrs["has_skip"] and i[5][0]:
            return
        p, g, u, lr = i[0], i[1], i[2], float(i[3][0])
        for j, w in enumerate(wd):
            a, b = seg[j], seg[j + 1]
            u[a:b] = beta * u[a:b] - lr * g[a:b]
            p[a:b] = p[a:b] + u[a:b] - lr * w * p[a:b]
    return run
'''

KERNEL_PLUGIN = '''
from tideflow.optimizer import update_op_spec
from tideflow.plugins import BackendSpec, KernelSpec, hookimpl


@hookimpl
def tideflow_ops():
    from tideflow_kit_backend.kernels import kit_momentum_rule, kit_sgd_rule
    return [update_op_spec("kit_sgd_update", kit_sgd_rule, 0),
            update_op_spec("kit_momentum_update", kit_momentum_rule, 1)]


@hookimpl
def tideflow_backends():
    return [BackendSpec(name="kitcpu", device="cpu", priority=-1,
                        probe="tideflow_kit_backend.kernels:probe")]


@hookimpl
def tideflow_kernels():
    k = "tideflow_kit_backend.kernels:"
    return [KernelSpec(op="relu", backend="kitcpu", impl=k + "relu"),
            KernelSpec(op="add", backend="kitcpu", impl=k + "add_wrong"),
            KernelSpec(op="sigmoid", backend="kitcpu", impl=k + "sigmoid_assumes_contiguous"),
            KernelSpec(op="softmax", backend="kitcpu", impl=k + "softmax"),
            KernelSpec(op="kit_sgd_update", backend="kitcpu", impl=k + "sgd_fused",
                       variant="fused"),
            KernelSpec(op="kit_momentum_update", backend="kitcpu", variant="fused",
                       impl=k + "momentum_fused_ignores_clip"),
            KernelSpec(op="abs", backend="kitcpu", impl=k + "relu")]
'''


def _update_sample(op, slots):
    """The sample of a kit update op: ``(param, grad, *slots, lr, step)``."""

    def fn(rng):
        ins = [rng.standard_normal((3, 5)) for _ in range(2 + slots)]
        return sample(op, {"beta": 0.9, "weight_decay": 0.01},
                      [*ins, np.array([0.1], np.float32), np.array([3], np.int64)])

    return fn


def test_kernel_checks_of_a_backend(install, monkeypatch):
    install("tideflow_kit_backend", {"__init__.py": "", "plugin.py": KERNEL_PLUGIN,
                                     "kernels.py": KERNELS})
    monkeypatch.delitem(SAMPLES, "abs", raising=False)  # an op without a sample
    samples = {"kit_sgd_update": _update_sample("kit_sgd_update", 0),
               "kit_momentum_update": _update_sample("kit_momentum_update", 1)}
    checks = {p.id: p.values[0] for p in kernel_checks("kitcpu", samples=samples)}
    kernels = sorted(name for name in checks if name.startswith("check_kernel_"))
    assert kernels == ["check_kernel_abs", "check_kernel_add",
                       "check_kernel_kit_momentum_update_fused",
                       "check_kernel_kit_sgd_update_fused", "check_kernel_relu",
                       "check_kernel_sigmoid", "check_kernel_softmax"]
    checks["check_kernel_relu"]()
    checks["check_kernel_softmax"]()
    checks["check_kernel_kit_sgd_update_fused"]()  # three variables, clipped, skipped
    with pytest.raises(AssertionError, match=r"kernel kit_momentum_update@kitcpu:fused .*fused "
                                             r"clip_norm=[\d.]+, skip=0, float32, param: "
                                             r"\d+/33 elements differ"):
        checks["check_kernel_kit_momentum_update_fused"]()
    checks["check_gradients_relu"]()  # relu on kitcpu, relu_grad by the reference
    with pytest.raises(AssertionError, match=r"kernel add@kitcpu:default .*odd sizes, float32, "
                                             r"output 0: \d+/60 elements differ"):
        checks["check_kernel_add"]()
    with pytest.raises(AssertionError, match=r"sigmoid@kitcpu:default .*non-contiguous"):
        checks["check_kernel_sigmoid"]()
    with pytest.raises(AssertionError, match="no sample inputs for op abs; add one"):
        checks["check_kernel_abs"]()
    with pytest.raises(AssertionError, match="gradient of input 1"):
        checks["check_gradients_add"]()  # the forward subtracts: d/db is -1, the rule says 1


def test_kernel_checks_of_numpy_are_the_gradient_checks():
    params = kernel_checks("numpy")
    assert params and all(p.id.startswith("check_gradients_") for p in params)
    for p in params:
        p.values[0]()


def test_samples_cover_the_core_ops():
    needed = {"add", "multiply", "divide", "matmul", "reduce_sum", "relu", "softmax", "conv2d",
              "max_pool2d", "bias_add", "sgd_update", "momentum_update"}
    assert needed <= set(SAMPLES)
