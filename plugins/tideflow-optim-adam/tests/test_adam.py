"""tideflow-optim-adam, Adam family: real jobs against float64 formulas, slots, validation.

The formulas below are written from spec §3.2/§3.3 and design §5 (OneFlow v0.5.0 kernel),
independently of the plugin's reference kernel:

    m <- b1*m + (1-b1)*g;  v <- b2*v + (1-b2)*g^2
    m_hat, v_hat = m/(1-b1^(t+1)), v/(1-b2^(t+1))   (bias correction; else m, v)
    w <- w - lr*m_hat/(sqrt(v_hat) + eps) - lr*lambda*w

with the core's gradient pipeline: g = dloss/dw (+ l2*w for a regularized variable), then
clipped jointly over both variables to g*c/max(||g||, c).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

import tideflow as flow
import tideflow.typing as tp
from tideflow.errors import HyperparameterError
from tideflow.optimizer import Optimizer
from tideflow.plugins.registry import get_registry
from tideflow_optim_adam import reference

RTOL = 2e-5
STEPS = 12


def const(lr: float) -> Any:
    return flow.optimizer.PiecewiseConstantScheduler([], [lr])


def clip(c: float) -> Any:
    return flow.optimizer.grad_clipping.by_global_norm(c)


def grads(w, b, mask, x, l2=0.0, clip_norm=None):
    """dloss/dw, dloss/db (+ l2*b), jointly clipped to norm clip_norm; and the raw norm."""
    gw = mask / 10.0
    gb = 2.0 * b * x / 6.0 + l2 * b
    norm = np.sqrt(np.sum(gw ** 2) + np.sum(gb ** 2))
    if clip_norm is not None:
        f = clip_norm / max(norm, clip_norm)
        gw, gb = gw * f, gb * f
    return gw, gb, norm


def adam_formula(w, m, v, g, lr, t, b1, b2, eps, bias, lam):
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g ** 2
    if bias:
        m_hat, v_hat = m / (1 - b1 ** (t + 1)), v / (1 - b2 ** (t + 1))
    else:
        m_hat, v_hat = m, v
    return w - lr * m_hat / (np.sqrt(v_hat) + eps) - lr * lam * w, m, v


def assert_close(got, want, what):
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-6 * np.max(np.abs(want)),
                               err_msg=what)


@dataclass
class Case:
    make: Callable[[], Any]
    b1: float = 0.9
    b2: float = 0.999
    eps: float = 1e-8
    bias: bool = False
    lam: dict = field(default_factory=lambda: {"w": 0.0, "b": 0.0})
    lr: Callable[[int], float] = lambda t: 0.01
    clip: float | None = None
    l2: float = 0.0
    scale: float = 1.0


CASES = {
    # OneFlow's default: no bias correction; a static loss scale that must cancel.
    "adam-default-loss-scale": Case(lambda: flow.optimizer.Adam(const(0.01),
                                                                loss_scale_factor=1024.0)),
    # lr halves after step 4 (step <= boundary keeps the earlier value); clip to norm 1.
    "adam-bias-betas-schedule-clip1": Case(
        lambda: flow.optimizer.Adam(flow.optimizer.PiecewiseScalingScheduler(0.01, [4], 0.5),
                                    beta1=0.8, beta2=0.95, epsilon=1e-6,
                                    do_bias_correction=True, grad_clipping=clip(1.0)),
        b1=0.8, b2=0.95, eps=1e-6, bias=True, lr=lambda t: 0.01 if t <= 4 else 0.005,
        clip=1.0, scale=10.0),
    # decay on w only (b excluded), l2 regularizer on b, clip to norm 0.5.
    "adamw-exclude-b-l2-clip05": Case(
        lambda: flow.optimizer.AdamW(const(0.01), do_bias_correction=True, weight_decay=0.1,
                                     weight_decay_excludes=["^b$"], grad_clipping=clip(0.5)),
        bias=True, lam={"w": 0.1, "b": 0.0}, clip=0.5, l2=0.01, scale=10.0),
    # positional call in OneFlow's keyword order; decay on b only, no bias correction.
    "adamw-positional-includes-b": Case(
        lambda: flow.optimizer.AdamW(const(0.02), 0.85, 0.99, 1e-7, False, None, 0.05, "b"),
        b1=0.85, b2=0.99, eps=1e-7, lam={"w": 0.0, "b": 0.05}, lr=lambda t: 0.02),
    # always bias-corrected; two lr boundaries; l2 regularizer on b.
    "lazyadam-schedule-l2": Case(
        lambda: flow.optimizer.LazyAdam(
            flow.optimizer.PiecewiseScalingScheduler(0.02, [3, 7], [0.5, 0.1])),
        bias=True, lr=lambda t: 0.02 if t <= 3 else (0.01 if t <= 7 else 0.002), l2=0.01),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_real_job_matches_float64_formula_every_step(case, train_job):
    reg = flow.regularizers.l2(case.l2) if case.l2 else None
    feeds, snaps = train_job(case.make, STEPS, feed_scale=case.scale, b_regularizer=reg)
    s0 = snaps[0]
    p = {"w": s0["w"], "b": s0["b"]}
    m = {n: np.zeros_like(a) for n, a in p.items()}
    v = {n: np.zeros_like(a) for n, a in p.items()}
    clipped = False
    for t, ((mask, x), got) in enumerate(zip(feeds, snaps[1:])):
        gw, gb, norm = grads(p["w"], p["b"], mask, x, case.l2, case.clip)
        clipped |= case.clip is not None and norm > case.clip
        for n, g in (("w", gw), ("b", gb)):
            p[n], m[n], v[n] = adam_formula(p[n], m[n], v[n], g, case.lr(t), t, case.b1,
                                            case.b2, case.eps, case.bias, case.lam[n])
            assert_close(got[n], p[n], f"{n} after step {t}")
            assert_close(got[f"{n}-m"], m[n], f"{n}-m after step {t}")
            assert_close(got[f"{n}-v"], v[n], f"{n}-v after step {t}")
        assert got["System-Train-TrainStep-train"][0] == t + 1
    assert clipped or case.clip is None  # the clip cases do clip


def test_lazyadam_equals_bias_corrected_adam_on_dense_gradients(train_job):
    _, lazy = train_job(lambda: flow.optimizer.LazyAdam(const(0.01), 0.8, 0.9, 1e-7), 10)
    flow.clear_default_session()
    _, adam = train_job(lambda: flow.optimizer.Adam(const(0.01), 0.8, 0.9, 1e-7, True), 10)
    for a, b in zip(lazy, adam):
        assert a.keys() == b.keys()
        for name in a:
            np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_reference_rule_one_step_closed_form():
    w, g = np.array([1.0, -2.0, 0.5]), np.array([0.5, 0.25, -1.0])
    m, v = np.array([0.1, 0.0, -0.2]), np.array([0.01, 0.0, 0.04])
    hyper = {"beta1": 0.9, "beta2": 0.99, "epsilon": 1e-8, "do_bias_correction": True,
             "weight_decay": 0.2}
    new_w, (new_m, new_v) = reference.adam_update(w, g, (m, v), 0.1, 2, hyper)
    want_m, want_v = 0.9 * m + 0.1 * g, 0.99 * v + 0.01 * g * g
    np.testing.assert_allclose(new_m, want_m)
    np.testing.assert_allclose(new_v, want_v)
    m_hat, v_hat = want_m / (1 - 0.9 ** 3), want_v / (1 - 0.99 ** 3)
    np.testing.assert_allclose(new_w, w - 0.1 * m_hat / (np.sqrt(v_hat) + 1e-8) - 0.1 * 0.2 * w)
    # first step without bias correction from zero state: w - lr*(1-b1)/sqrt(1-b2)*sign(g)
    hyper = {**hyper, "do_bias_correction": False, "epsilon": 0.0, "weight_decay": 0.0}
    z = np.zeros(3)
    new_w, _ = reference.adam_update(w, g, (z, z), 0.1, 0, hyper)
    np.testing.assert_allclose(new_w, w - 0.1 * 0.1 / np.sqrt(0.01) * np.sign(g))


def test_reference_rule_keeps_float32():
    f32 = np.float32
    w, g = np.ones(3, f32), np.full(3, 0.5, f32)
    hyper = {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "do_bias_correction": True,
             "weight_decay": 0.1}
    new_w, slots = reference.adam_update(w, g, (np.zeros(3, f32), np.zeros(3, f32)), 0.1, 5,
                                         hyper)
    assert new_w.dtype == f32 and all(s.dtype == f32 for s in slots)


def test_registered_through_entry_point():
    reg = get_registry()
    for name in ("Adam", "AdamW", "LazyAdam"):
        assert getattr(flow.optimizer, name) is reg.optimizer_class(name)
        assert reg.provider("optimizer", name).startswith("tideflow-optim-adam ")
    assert reg.provider("optimizer", "adam").startswith("tideflow-optim-adam ")
    assert "adam_update" in reg.ops
    assert reg.provider("op", "adam_update").startswith("tideflow-optim-adam ")


@pytest.mark.parametrize("make,bias", [
    (lambda: flow.optimizer.Adam(const(0.1)), False),
    (lambda: flow.optimizer.AdamW(const(0.1), weight_decay=0.1), False),
    (lambda: flow.optimizer.LazyAdam(const(0.1)), True),
], ids=["Adam", "AdamW", "LazyAdam"])
def test_slots_as_oneflow_names_them(make, bias, train_job, variables_now):
    opt = make()
    assert opt.update_op_for("w") == "adam_update"
    assert opt.slot_defaults() == {"m": 0.0, "v": 0.0}
    assert opt.hyperparams() == {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8,
                                 "do_bias_correction": bias}
    _, snaps = train_job(make, 1)
    init = snaps[0]
    assert set(init) == {"w", "b", "w-m", "w-v", "b-m", "b-v", "System-Train-TrainStep-train"}
    for var, shape in (("w", (10,)), ("b", (2, 3))):
        for s in ("m", "v"):
            assert init[f"{var}-{s}"].shape == shape
            np.testing.assert_array_equal(init[f"{var}-{s}"], 0.0)
    assert flow.get_all_variables()["w-m"].numpy().dtype == np.float32


def test_oneflow_defaults_and_positional_order():
    opt = flow.optimizer.Adam(const(0.1))
    assert (opt.beta1, opt.beta2, opt.epsilon, opt.do_bias_correction) == (0.9, 0.999, 1e-8,
                                                                           False)
    assert opt.weight_decay_for("w") == 0.0
    opt = flow.optimizer.Adam(const(0.1), 0.8, 0.9, 1e-6, True, 8.0, clip(1.0))
    assert (opt.beta1, opt.beta2, opt.epsilon, opt.do_bias_correction) == (0.8, 0.9, 1e-6, True)
    assert opt.loss_scale_policy.loss_scale_factor == 8.0 and opt.grad_clipping == clip(1.0)
    opt = flow.optimizer.AdamW(const(0.1), 0.8, 0.9, 1e-6, True, None, 0.5, None, ["bias"])
    assert opt.weight_decay_for("dense-weight") == 0.5 and opt.weight_decay_for("dense-bias") == 0
    opt = flow.optimizer.LazyAdam(const(0.1), 0.8, 0.9, 1e-6, 4.0, clip(2.0))
    assert opt.do_bias_correction and opt.loss_scale_policy.loss_scale_factor == 4.0
    assert opt.grad_clipping == clip(2.0)
    with pytest.raises(TypeError):
        flow.optimizer.LazyAdam(const(0.1), do_bias_correction=False)
    assert flow.optimizer.Adam(const(0.1), epsilon=0).epsilon == 0.0  # eps >= 0 for Adam
    assert flow.optimizer.Adam(const(0.1), do_bias_correction=np.bool_(True)).do_bias_correction


BAD_OWN = [
    ("beta1", 1.0), ("beta1", -0.1), ("beta1", "0.9"), ("beta1", True), ("beta1", float("nan")),
    ("beta2", 1.0), ("beta2", -1e-3), ("beta2", None),
    ("epsilon", -1e-8), ("epsilon", float("inf")), ("epsilon", "1e-8"),
]
BAD = {
    "Adam": [*BAD_OWN, ("do_bias_correction", 1), ("do_bias_correction", "True"),
             ("do_bias_correction", None)],
    "AdamW": [*BAD_OWN, ("do_bias_correction", 0), ("weight_decay", -0.5),
              ("weight_decay", "0.1"), ("weight_decay", float("inf")),
              ("weight_decay_excludes", 3), ("weight_decay_includes", [1])],
    "LazyAdam": BAD_OWN,
}
#: Arguments that the core's Optimizer.__init__ validates (also before creating anything).
BAD_BASE = [("loss_scale_factor", 0), ("loss_scale_factor", -2.0), ("grad_clipping", 1.0),
            ("train_step_lbn", 3), ("variables", "w"), ("lr_scheduler", 0.1)]


def _message(cls, arg, value):
    return rf"^{cls}: `{arg}` must be .*; received {arg}={re.escape(repr(value))}$"


def _ids(x):
    return x if isinstance(x, str) else repr(x)


@pytest.mark.parametrize("cls,arg,value", [(c, a, v) for c, bad in BAD.items()
                                           for a, v in bad], ids=_ids)
def test_bad_hyperparameter_names_class_argument_value_and_creates_nothing(
        cls, arg, value, monkeypatch):
    calls = []
    monkeypatch.setattr(Optimizer, "__init__", lambda self, *a, **k: calls.append(a))
    kwargs = {"lr_scheduler": const(0.1), arg: value}
    with pytest.raises(HyperparameterError, match=_message(cls, arg, value)):
        getattr(flow.optimizer, cls)(**kwargs)
    assert not calls  # rejected before the base class stored anything


@pytest.mark.parametrize("cls", ["Adam", "AdamW", "LazyAdam"])
@pytest.mark.parametrize("arg,value", BAD_BASE, ids=_ids)
def test_bad_base_argument_names_class_argument_value(cls, arg, value):
    kwargs = {"lr_scheduler": const(0.1), arg: value}
    with pytest.raises(HyperparameterError, match=_message(cls, arg, value)):
        getattr(flow.optimizer, cls)(**kwargs)


@pytest.mark.parametrize("kwargs,needle", [
    ({"weight_decay": 0.1, "weight_decay_includes": ["("]}, "invalid regex"),
    ({"weight_decay": 0.1, "weight_decay_includes": "a", "weight_decay_excludes": "b"},
     "at most one"),
    ({"loss_scale_factor": 2.0,
      "loss_scale_policy": flow.optimizer.loss_scale.static_loss_scale(2.0)}, "exclusive"),
])
def test_adamw_rejects_bad_combinations(kwargs, needle):
    with pytest.raises(HyperparameterError, match=r"^AdamW: .*" + re.escape(needle)):
        flow.optimizer.AdamW(const(0.1), **kwargs)


def test_bad_hyperparameter_in_a_job_leaves_no_slot(train_job):
    def make():
        with pytest.raises(HyperparameterError, match="received beta2=1"):
            flow.optimizer.AdamW(const(0.1), beta2=1, weight_decay=0.1)
        return flow.optimizer.SGD(const(0.1), momentum=0)

    _, snaps = train_job(make, 1)
    assert not [n for n in snaps[-1] if n.endswith(("-m", "-v"))]


@pytest.mark.parametrize("cls,bc", [("LazyAdam", True), ("Adam", False)])
def test_indexed_slices_lazy_rows_match_numpy(cls, bc):
    """Only rows present in the gather move; m and v of absent rows are not decayed."""
    cfg = flow.function_config()
    cfg.indexed_slices_optimizer_conf(dict(include_op_names=dict(op_name=["emb"])))
    lr, b1, b2, eps = 0.1, 0.9, 0.99, 1e-6

    @flow.global_function(type="train", function_config=cfg)
    def train(ids: tp.Numpy.Placeholder((6, 3), dtype=flow.int32)) -> tp.Numpy:
        table = flow.get_variable("emb", shape=(50, 4),
                                  initializer=flow.random_uniform_initializer(-1, 1),
                                  random_seed=1)
        rows = flow.gather(table, ids)
        loss = flow.math.reduce_sum(rows * rows * 0.5, axis=2)
        getattr(flow.optimizer, cls)(flow.optimizer.PiecewiseConstantScheduler([], [lr]),
                                     beta1=b1, beta2=b2, epsilon=eps).minimize(loss)
        return loss

    flow.load_variables({})
    w = flow.get_all_variables()["emb"].numpy().astype(np.float64)
    m, v = np.zeros_like(w), np.zeros_like(w)
    rng = np.random.default_rng(5)
    for t in range(10):
        ids = rng.integers(0, 12, (6, 3)).astype(np.int32)
        train(ids)
        g = np.zeros_like(w)
        np.add.at(g, ids.reshape(-1), w[ids].reshape(-1, 4) / 18)  # N = 18 loss elements
        r = np.unique(ids)
        m[r] = b1 * m[r] + (1 - b1) * g[r]
        v[r] = b2 * v[r] + (1 - b2) * g[r] ** 2
        c1 = 1 - b1 ** (t + 1) if bc else 1.0
        c2 = 1 - b2 ** (t + 1) if bc else 1.0
        w[r] = w[r] - (lr / c1) * m[r] / (np.sqrt(v[r]) / np.sqrt(c2) + eps)
    got = flow.get_all_variables()
    np.testing.assert_allclose(got["emb"].numpy(), w, rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(got["emb-m"].numpy(), m, rtol=2e-5, atol=1e-7)
    np.testing.assert_allclose(got["emb-v"].numpy(), v, rtol=2e-5, atol=1e-9)
