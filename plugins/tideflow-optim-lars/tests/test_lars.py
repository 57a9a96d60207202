"""tideflow-optim-lars: whole training jobs against float64 formulas, validation, registration.

The float64 reference below is written from the spec (§3.5, OneFlow v0.4.0+ kernel), not
from the plugin's ``reference`` module:
trust = coeff*||w||/(eps + ||g|| + lambda*||w||) if ||w|| > 0 and ||g|| > 0 else 1;
eta_loc = eta*trust; u <- beta*u - eta_loc*g; w <- w + u - eta_loc*lambda*w.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import tideflow as flow
import tideflow.typing as tp
from tideflow.errors import HyperparameterError
from tideflow.plugins.registry import get_registry
from tideflow_optim_lars import reference

RTOL, ATOL = 2e-5, 1e-6
STEPS = 10
SHAPES = {"w": (3, 4), "b": (5,), "z": (2, 2)}  # z starts at 0: trust = 1 on its first step
LR = flow.optimizer.PiecewiseConstantScheduler([], [0.1])
MAX_ERR: dict[str, tuple[float, str]] = {}


def _job(opt_factory, regularizers):
    @flow.global_function(type="train")
    def train(mw: tp.Numpy.Placeholder((3, 4)), mb: tp.Numpy.Placeholder((5,)),
              mz: tp.Numpy.Placeholder((2, 2))) -> tp.Numpy:
        w = flow.get_variable("w", shape=(3, 4), initializer=flow.zeros_initializer(),
                              regularizer=regularizers.get("w"))
        b = flow.get_variable("b", shape=(5,), initializer=flow.zeros_initializer(),
                              regularizer=regularizers.get("b"))
        z = flow.get_variable("z", shape=(2, 2), initializer=flow.zeros_initializer(),
                              regularizer=regularizers.get("z"))
        # d/dw = mw/12, d/db = mb (a sum), d/dz = mz/4
        loss = (flow.math.reduce_mean(w * mw) + flow.math.reduce_sum(b * mb)
                + flow.math.reduce_mean(z * mz))
        opt_factory().minimize(loss)
        return loss

    return train


def _masks(rng, zero_grad_step=None):
    """Per-step masks, signed and never close to 0; b's mask is all 0 at ``zero_grad_step``."""
    out = []
    for step in range(STEPS):
        m = {n: (rng.choice([-1.0, 1.0], s) * rng.uniform(0.1, 1.0, s)).astype(np.float32)
             for n, s in SHAPES.items()}
        if step == zero_grad_step:
            m["b"] = np.zeros(SHAPES["b"], np.float32)
        out.append(m)
    return out


def _np_lars(w, g, u, lr, beta, eps, coeff, lam):
    w_norm, g_norm = np.linalg.norm(w), np.linalg.norm(g)
    trust = coeff * w_norm / (eps + g_norm + lam * w_norm) if w_norm > 0 and g_norm > 0 else 1.0
    eta = lr * trust
    u = beta * u - eta * g
    return w + u - eta * lam * w, u


def _close(name, got, want):
    """rtol, plus an absolute tolerance of ATOL times the array's scale (values cross 0)."""
    scale = float(np.abs(want).max())
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL * scale, err_msg=name)
    big = np.abs(want) > 1e-3 * scale
    if big.any():
        err = float(np.max(np.abs(got[big] - want[big]) / np.abs(want[big])))
        MAX_ERR["lars"] = max(MAX_ERR.get("lars", (0.0, "")), (err, name))


# (id, constructor kwargs, lr per step, regularizers, step where b's gradient is exactly 0)
CASES = [
    ("defaults_changing_lr", {},
     flow.optimizer.PiecewiseScalingScheduler(50.0, [2, 5], [0.5, 0.1]),
     [50.0, 50.0, 50.0, 25.0, 25.0, 25.0, 5.0, 5.0, 5.0, 5.0], {}, None),
    ("oneflow_test_setting", {"momentum_beta": 0.9, "epsilon": 1e-9,
                              "lars_coefficient": 1e-4, "weight_decay": 0.9},
     flow.optimizer.PiecewiseConstantScheduler([], [1.0]), [1.0] * STEPS, {}, 3),
    ("wd_includes_regularized", {"momentum_beta": 0.5, "epsilon": 0.05,
                                 "lars_coefficient": 0.02, "weight_decay": 0.1,
                                 "weight_decay_includes": ["^w$", "z"]},
     flow.optimizer.PiecewiseScalingScheduler(2.0, [4], 0.25),
     [2.0] * 5 + [0.5] * 5, {"b": (0.01, 0.02)}, None),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_lars_job_matches_float64_formula_every_step(case):
    _, kwargs, sched, lrs, regs, zero_step = case
    regularizers = {n: flow.regularizers.l1_l2(*r) for n, r in regs.items()}
    train = _job(lambda: flow.optimizer.LARS(sched, **kwargs), regularizers)
    rng = np.random.default_rng(7)
    init = {"w": rng.uniform(-1, 1, SHAPES["w"]).astype(np.float32),
            "b": rng.uniform(-2, 2, SHAPES["b"]).astype(np.float32),
            "z": np.zeros(SHAPES["z"], np.float32)}
    flow.load_variables(init)
    beta = kwargs.get("momentum_beta", 0.9)
    eps = kwargs.get("epsilon", 1e-9)
    coeff = kwargs.get("lars_coefficient", 1e-4)
    decay = kwargs.get("weight_decay", 0.0)
    includes = kwargs.get("weight_decay_includes")
    lam = {n: decay if includes is None or any(re.search(p, n) for p in includes) else 0.0
           for n in SHAPES}
    w = {n: v.astype(np.float64) for n, v in init.items()}
    u = {n: np.zeros(s) for n, s in SHAPES.items()}
    scale = {"w": 1 / 12, "b": 1.0, "z": 1 / 4}
    for step, m in enumerate(_masks(rng, zero_step)):
        train(m["w"], m["b"], m["z"])
        for n in SHAPES:
            g = m[n].astype(np.float64) * scale[n]
            if n in regs:
                l1, l2 = regs[n]
                g = g + l1 * np.where(w[n] >= 0, 1.0, -1.0) + l2 * w[n]
            if n == "z" and step == 0:  # ||w|| = 0: the trust = 1 branch
                assert np.linalg.norm(w[n]) == 0
            w[n], u[n] = _np_lars(w[n], g, u[n], lrs[step], beta, eps, coeff, lam[n])
        got = flow.get_all_variables()
        for n in SHAPES:
            _close(f"{n} step {step}", got[n].numpy(), w[n])
            _close(f"{n}-momentum step {step}", got[f"{n}-momentum"].numpy(), u[n])
    assert got["System-Train-TrainStep-train"].numpy()[0] == STEPS


def test_zero_gradient_uses_trust_one_and_full_rate_weight_decay():
    """||g|| = 0 with ||w|| > 0: eta_loc = eta, so w <- w + beta*u - eta*lambda*w."""
    w = np.array([3.0, 4.0], np.float32)
    u = np.array([0.5, -1.0], np.float32)
    hyper = {"beta": 0.9, "epsilon": 1e-9, "lars_coefficient": 1e-4, "weight_decay": 0.5}
    new_w, (new_u,) = reference.lars_update(w, np.zeros(2, np.float32), (u,), 0.2, 0, hyper)
    np.testing.assert_allclose(new_u, [0.45, -0.9], rtol=1e-6)
    np.testing.assert_allclose(new_w, [3.0 + 0.45 - 0.2 * 0.5 * 3.0,
                                       4.0 - 0.9 - 0.2 * 0.5 * 4.0], rtol=1e-6)


def test_reference_rule_one_step_closed_form():
    # ||w|| = 5, ||g|| = 1: trust = 0.01*5/(0 + 1 + 0.5*5) = 1/70, eta_loc = 0.5/70 = 1/140
    w, g, u = np.array([3.0, 4.0]), np.array([0.6, 0.8]), np.array([0.1, -0.2])
    hyper = {"beta": 0.9, "epsilon": 0.0, "lars_coefficient": 0.01, "weight_decay": 0.5}
    assert reference.trust_ratio(w, g, hyper) == pytest.approx(1 / 70)
    new_w, (new_u,) = reference.lars_update(w, g, (u,), 0.5, 4, hyper)
    np.testing.assert_allclose(new_u, [0.09 - 0.6 / 140, -0.18 - 0.8 / 140])
    np.testing.assert_allclose(new_w, w + new_u - 0.5 / 140 * w)
    # ||w|| = 0: trust = 1, eta_loc = eta
    zero_w, (zero_u,) = reference.lars_update(np.zeros(2), g, (u,), 0.5, 0, hyper)
    np.testing.assert_allclose(zero_u, 0.9 * u - 0.5 * g)
    np.testing.assert_allclose(zero_w, zero_u)


def test_slots_named_shaped_and_zero_initialized_as_in_oneflow():
    train = _job(lambda: flow.optimizer.LARS(LR), {})
    del train
    v = flow.get_all_variables()
    for n, shape in SHAPES.items():
        slot = v[f"{n}-momentum"].numpy()
        assert slot.shape == shape and slot.dtype == np.float32
        assert not slot.any()
    assert not any(k.endswith(("-m", "-v", "-mean_square")) for k in v)


def test_registered_through_entry_point():
    reg = get_registry()
    assert reg.optimizer_class("LARS") is flow.optimizer.LARS
    assert "tideflow-optim-lars" in reg.provider("optimizer", "LARS")
    assert "lars_update" in set(reg.ops)
    opt = flow.optimizer.LARS(LR)
    assert opt.update_op == "lars_update"
    assert opt.hyperparams() == {"beta": 0.9, "epsilon": 1e-9, "lars_coefficient": 1e-4}
    assert opt.weight_decay == 0.0


@pytest.mark.parametrize("kwargs,needle", [
    ({"momentum_beta": 1.0}, "`momentum_beta` must be a number in [0, 1); "
                             "received momentum_beta=1.0"),
    ({"momentum_beta": -0.1}, "received momentum_beta=-0.1"),
    ({"momentum_beta": "0.9"}, "received momentum_beta='0.9'"),
    ({"epsilon": -1e-9}, "`epsilon` must be a finite number >= 0; received epsilon=-1e-09"),
    ({"epsilon": float("nan")}, "received epsilon=nan"),
    ({"lars_coefficient": 0.0}, "`lars_coefficient` must be a finite number > 0; "
                                "received lars_coefficient=0.0"),
    ({"lars_coefficient": True}, "received lars_coefficient=True"),
    ({"weight_decay": -0.5}, "received weight_decay=-0.5"),
    ({"weight_decay": 0.1, "weight_decay_includes": ["("]}, "invalid regex"),
    ({"weight_decay": 0.1, "weight_decay_excludes": 3}, "received weight_decay_excludes=3"),
    ({"weight_decay": 0.1, "weight_decay_includes": "a", "weight_decay_excludes": "b"},
     "at most one"),
    ({"loss_scale_factor": 0}, "received loss_scale_factor=0"),
    ({"grad_clipping": 1.0}, "received grad_clipping=1.0"),
    ({"train_step_lbn": 3}, "received train_step_lbn=3"),
    ({"variables": "w"}, "received variables='w'"),
])
def test_lars_rejects_bad_hyperparameters(kwargs, needle):
    with pytest.raises(HyperparameterError, match="^LARS: .*" + re.escape(needle)):
        flow.optimizer.LARS(LR, **kwargs)


def test_bad_hyperparameter_in_job_creates_nothing():
    @flow.global_function(type="train")
    def train(x: tp.Numpy.Placeholder((2,))) -> tp.Numpy:
        a = flow.get_variable("a", shape=(2,), initializer=flow.ones_initializer())
        loss = flow.math.reduce_sum(a * x)
        flow.optimizer.LARS(LR, lars_coefficient=-1.0).minimize(loss)
        return loss

    with pytest.raises(HyperparameterError, match="received lars_coefficient=-1.0"):
        train(np.ones(2, np.float32))
    sess = flow.session.default_session()
    assert not sess.variables.infos and not sess.compiled  # no variable, slot or plan


def test_weight_decay_filters_select_lambda():
    opt = flow.optimizer.LARS(LR, weight_decay=0.1, weight_decay_excludes=["bias"])
    assert opt.weight_decay_for("dense-weight") == 0.1
    assert opt.weight_decay_for("dense-bias") == 0.0
    opt = flow.optimizer.LARS(LR, weight_decay=0.1, weight_decay_includes="conv")
    assert opt.weight_decay_for("conv1-weight") == 0.1
    assert opt.weight_decay_for("dense-weight") == 0.0


def test_report_max_error():
    """Not a check: prints the largest relative error seen (run with -s)."""
    print(f"\nLARS max relative error vs float64 formula: {MAX_ERR}")
