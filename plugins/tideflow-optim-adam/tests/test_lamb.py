"""tideflow-optim-adam, LAMB: real jobs against a float64 formula, slots, validation.

The formula below is written from spec §3.6 (OneFlow v0.4.0/v0.5.0), independently of the
plugin's reference kernel. Per variable, on every update:

    beta1_t <- beta1_t*beta1;  beta2_t <- beta2_t*beta2     (slots start at beta1, beta2)
    m <- b1*m + (1-b1)*g;  v <- b2*v + (1-b2)*g^2
    r = (m/(1-beta1_t)) / (sqrt(v/(1-beta2_t)) + eps)
    trust = ||w||/||r|| (1 if either is 0);  w <- w - lr*trust*(r + lambda*w)

with the core's gradient pipeline (l2 regularizer, then joint clipping to norm c).
There is no torch.optim LAMB to compare with.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

import tideflow as flow
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


def lamb_formula(w, m, v, b1t, b2t, g, lr, b1, b2, eps, lam):
    b1t, b2t = b1t * b1, b2t * b2
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g ** 2
    r = (m / (1 - b1t)) / (np.sqrt(v / (1 - b2t)) + eps)
    w_norm, r_norm = np.linalg.norm(w), np.linalg.norm(r)
    trust = w_norm / r_norm if w_norm > 0 and r_norm > 0 else 1.0
    return w - lr * trust * (r + lam * w), m, v, b1t, b2t


def assert_close(got, want, what):
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-6 * np.max(np.abs(want)),
                               err_msg=what)


@dataclass
class Case:
    make: Callable[[], Any]
    b1: float = 0.9
    b2: float = 0.999
    eps: float = 1e-6
    lam: dict = field(default_factory=lambda: {"w": 0.0, "b": 0.0})
    lr: Callable[[int], float] = lambda t: 0.01
    clip: float | None = None
    l2: float = 0.0
    scale: float = 1.0


CASES = {
    # OneFlow's defaults; lr halves after step 5.
    "lamb-default-schedule": Case(
        lambda: flow.optimizer.LAMB(flow.optimizer.PiecewiseScalingScheduler(0.01, [5], 0.5)),
        lr=lambda t: 0.01 if t <= 5 else 0.005),
    # weight decay 0.01 on both variables, l2 regularizer on b, clip to norm 0.5.
    "lamb-wd-l2-clip05": Case(
        lambda: flow.optimizer.LAMB(const(0.01), weight_decay=0.01, grad_clipping=clip(0.5)),
        lam={"w": 0.01, "b": 0.01}, clip=0.5, l2=0.01, scale=10.0),
    # positional call in OneFlow's keyword order: static loss scale 64, decay on w only,
    # clip to norm 1.
    "lamb-positional-loss-scale-excludes-b": Case(
        lambda: flow.optimizer.LAMB(const(0.02), 0.8, 0.9, 1e-4, 64.0, 0.05, None, "^b",
                                    clip(1.0)),
        b1=0.8, b2=0.9, eps=1e-4, lam={"w": 0.05, "b": 0.0}, lr=lambda t: 0.02, clip=1.0,
        scale=10.0),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_real_job_matches_float64_formula_every_step(case, train_job):
    reg = flow.regularizers.l2(case.l2) if case.l2 else None
    feeds, snaps = train_job(case.make, STEPS, feed_scale=case.scale, b_regularizer=reg)
    s0 = snaps[0]
    p = {"w": s0["w"], "b": s0["b"]}
    m = {n: np.zeros_like(a) for n, a in p.items()}
    v = {n: np.zeros_like(a) for n, a in p.items()}
    b1t = {n: case.b1 for n in p}
    b2t = {n: case.b2 for n in p}
    clipped = False
    for t, ((mask, x), got) in enumerate(zip(feeds, snaps[1:])):
        gw, gb, norm = grads(p["w"], p["b"], mask, x, case.l2, case.clip)
        clipped |= case.clip is not None and norm > case.clip
        for n, g in (("w", gw), ("b", gb)):
            p[n], m[n], v[n], b1t[n], b2t[n] = lamb_formula(
                p[n], m[n], v[n], b1t[n], b2t[n], g, case.lr(t), case.b1, case.b2, case.eps,
                case.lam[n])
            assert_close(got[n], p[n], f"{n} after step {t}")
            assert_close(got[f"{n}-m"], m[n], f"{n}-m after step {t}")
            assert_close(got[f"{n}-v"], v[n], f"{n}-v after step {t}")
            assert_close(got[f"{n}-beta1_t"], [b1t[n]], f"{n}-beta1_t after step {t}")
            assert_close(got[f"{n}-beta2_t"], [b2t[n]], f"{n}-beta2_t after step {t}")
        assert got["System-Train-TrainStep-train"][0] == t + 1
    assert clipped or case.clip is None


def test_reference_rule_one_step_closed_form():
    w, g = np.array([1.0, -2.0, 0.5]), np.array([0.5, 0.25, -1.0])
    m, v = np.array([0.1, 0.0, -0.2]), np.array([0.01, 0.0, 0.04])
    b1t, b2t = np.array([0.9 ** 3]), np.array([0.99 ** 3])
    hyper = {"beta1": 0.9, "beta2": 0.99, "epsilon": 1e-6, "weight_decay": 0.2}
    new_w, (nm, nv, nb1t, nb2t) = reference.lamb_update(w, g, (m, v, b1t, b2t), 0.1, 7, hyper)
    np.testing.assert_allclose(nb1t, [0.9 ** 4])
    np.testing.assert_allclose(nb2t, [0.99 ** 4])
    np.testing.assert_allclose(nm, 0.9 * m + 0.1 * g)
    np.testing.assert_allclose(nv, 0.99 * v + 0.01 * g * g)
    r = (nm / (1 - 0.9 ** 4)) / (np.sqrt(nv / (1 - 0.99 ** 4)) + 1e-6)
    trust = np.sqrt(np.sum(w * w)) / np.sqrt(np.sum(r * r))
    np.testing.assert_allclose(new_w, w - 0.1 * trust * (r + 0.2 * w))
    # a zero parameter: trust 1; the first update from the initial slots uses beta^2
    z = np.zeros(3)
    new_w, _ = reference.lamb_update(z, g, (z, z, np.array([0.9]), np.array([0.99])), 0.1, 0,
                                     hyper)
    r = (0.1 * g / (1 - 0.81)) / (np.sqrt(0.01 * g * g / (1 - 0.99 ** 2)) + 1e-6)
    np.testing.assert_allclose(new_w, -0.1 * r)


def test_reference_rule_keeps_float32_and_any_shape():
    f32 = np.float32
    for shape in ((), (3,), (2, 1, 2)):
        w, g = np.ones(shape, f32), np.full(shape, 0.5, f32)
        slots = (np.zeros(shape, f32), np.zeros(shape, f32), np.full(1, 0.9, f32),
                 np.full(1, 0.999, f32))
        new_w, new = reference.lamb_update(w, g, slots, 0.1, 0, {
            "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-6, "weight_decay": 0.1})
        assert new_w.shape == shape and new_w.dtype == f32
        assert [s.shape for s in new] == [shape, shape, (1,), (1,)]
        assert all(s.dtype == f32 for s in new)


def test_registered_through_entry_point():
    reg = get_registry()
    assert flow.optimizer.LAMB is reg.optimizer_class("LAMB")
    assert reg.provider("optimizer", "LAMB").startswith("tideflow-optim-adam ")
    assert reg.provider("op", "lamb_update").startswith("tideflow-optim-adam ")


def test_slots_as_oneflow_names_them(train_job):
    opt = flow.optimizer.LAMB(const(0.1), beta1=0.8, beta2=0.95)
    assert opt.update_op_for("w") == "lamb_update"
    assert opt.slot_defaults() == {"m": 0.0, "v": 0.0, "beta1_t": 0.8, "beta2_t": 0.95}
    assert opt.slot_shape("beta1_t", (2, 3)) == (1,) and opt.slot_shape("m", (2, 3)) == (2, 3)
    assert opt.hyperparams() == {"beta1": 0.8, "beta2": 0.95, "epsilon": 1e-6}
    _, snaps = train_job(lambda: flow.optimizer.LAMB(const(0.1), beta1=0.8, beta2=0.95), 1)
    init = snaps[0]
    assert set(init) == {"w", "b", "System-Train-TrainStep-train",
                         *[f"{v}-{s}" for v in "wb" for s in ("m", "v", "beta1_t", "beta2_t")]}
    for var, shape in (("w", (10,)), ("b", (2, 3))):
        for s in ("m", "v"):
            assert init[f"{var}-{s}"].shape == shape
            np.testing.assert_array_equal(init[f"{var}-{s}"], 0.0)
        np.testing.assert_array_equal(init[f"{var}-beta1_t"], [np.float32(0.8)])
        np.testing.assert_array_equal(init[f"{var}-beta2_t"], [np.float32(0.95)])
    np.testing.assert_allclose(snaps[1]["w-beta1_t"], [0.8 ** 2], rtol=1e-6)


def test_oneflow_defaults_and_positional_order():
    opt = flow.optimizer.LAMB(const(0.1))
    assert (opt.beta1, opt.beta2, opt.epsilon, opt.weight_decay) == (0.9, 0.999, 1e-6, 0.0)
    opt = flow.optimizer.LAMB(const(0.1), 0.8, 0.9, 1e-5, 8.0, 0.5, "kernel", None, clip(1.0))
    assert (opt.beta1, opt.beta2, opt.epsilon) == (0.8, 0.9, 1e-5)
    assert opt.loss_scale_policy.loss_scale_factor == 8.0 and opt.grad_clipping == clip(1.0)
    assert opt.weight_decay_for("dense-kernel") == 0.5 and opt.weight_decay_for("bias") == 0.0


BAD = [
    ("beta1", 1.0), ("beta1", -0.1), ("beta1", "0.9"), ("beta1", False),
    ("beta2", 1.0), ("beta2", float("nan")), ("beta2", None),
    ("epsilon", 0), ("epsilon", 0.0), ("epsilon", -1e-6), ("epsilon", float("inf")),
    ("weight_decay", -0.01), ("weight_decay", "0.01"), ("weight_decay_includes", 3),
    ("weight_decay_excludes", [None]),
]


def _message(arg, value):
    return rf"^LAMB: `{arg}` must be .*; received {arg}={re.escape(repr(value))}$"


def _ids(x):
    return x if isinstance(x, str) else repr(x)


@pytest.mark.parametrize("arg,value", BAD, ids=_ids)
def test_bad_hyperparameter_names_class_argument_value_and_creates_nothing(
        arg, value, monkeypatch):
    calls = []
    monkeypatch.setattr(Optimizer, "__init__", lambda self, *a, **k: calls.append(a))
    with pytest.raises(HyperparameterError, match=_message(arg, value)):
        flow.optimizer.LAMB(const(0.1), **{arg: value})
    assert not calls


@pytest.mark.parametrize("arg,value", [
    ("loss_scale_factor", 0), ("grad_clipping", 1.0), ("train_step_lbn", 3),
    ("variables", "w"), ("lr_scheduler", 0.1)], ids=_ids)
def test_bad_base_argument_names_class_argument_value(arg, value):
    kwargs = {"lr_scheduler": const(0.1), arg: value}
    with pytest.raises(HyperparameterError, match=_message(arg, value)):
        flow.optimizer.LAMB(**kwargs)


def test_bad_combinations():
    with pytest.raises(HyperparameterError, match="^LAMB: .*at most one"):
        flow.optimizer.LAMB(const(0.1), weight_decay=0.1, weight_decay_includes="a",
                            weight_decay_excludes="b")
    with pytest.raises(HyperparameterError, match="^LAMB: .*invalid regex"):
        flow.optimizer.LAMB(const(0.1), weight_decay=0.1, weight_decay_excludes="[")
