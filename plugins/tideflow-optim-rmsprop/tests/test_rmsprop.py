"""tideflow-optim-rmsprop: whole training jobs against float64 formulas, validation, registration.

The float64 reference below is written from the spec (§3.4, OneFlow's RmsPropUpdateFunctor),
not from the plugin's ``reference`` module: s <- (1-rho)*g^2 + rho*s; centered:
gbar <- (1-rho)*g + rho*gbar, d = s - gbar^2, else d = s; w <- w - eta*g/sqrt(d + eps).
The gradient reaching the rule is the averaged gradient plus l1*sign(w) + l2*w (sign(0) =
+1), then clipped to global norm c: g*c/max(||g||, c) (tideflow's documented choice).
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import tideflow as flow
import tideflow.typing as tp
from tideflow.errors import HyperparameterError
from tideflow.plugins.registry import get_registry
from tideflow_optim_rmsprop import reference

RTOL, ATOL = 2e-5, 1e-6
STEPS = 10
SHAPES = {"w": (3, 4), "b": (5,), "z": (2, 2)}  # z starts at 0 (sign(0) = +1 for l1)
SCALE = {"w": 1 / 12, "b": 1.0, "z": 1 / 4}  # d loss / d var = mask * SCALE
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
        loss = (flow.math.reduce_mean(w * mw) + flow.math.reduce_sum(b * mb)
                + flow.math.reduce_mean(z * mz))
        opt_factory().minimize(loss)
        return loss

    return train


def _masks(rng):
    """Per-step masks: signed, magnitudes in [0.1, 1) (never 0)."""
    return [{n: (rng.choice([-1.0, 1.0], s) * rng.uniform(0.1, 1.0, s)).astype(np.float32)
             for n, s in SHAPES.items()} for _ in range(STEPS)]


def _close(name, got, want):
    """rtol, plus an absolute tolerance of ATOL times the array's scale (values cross 0)."""
    scale = float(np.abs(want).max())
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL * scale, err_msg=name)
    big = np.abs(want) > 1e-3 * scale
    if big.any():
        err = float(np.max(np.abs(got[big] - want[big]) / np.abs(want[big])))
        MAX_ERR["rmsprop"] = max(MAX_ERR.get("rmsprop", (0.0, "")), (err, name))


# (id, constructor kwargs, lr per step, regularizers, clip norm)
CASES = [
    ("plain_rho0.9", {"decay_rate": 0.9},
     flow.optimizer.PiecewiseConstantScheduler([], [0.1]), [0.1] * STEPS, {}, None),
    ("plain_default_rho0.99_clip0.5_changing_lr", {"epsilon": 1e-3},
     flow.optimizer.PiecewiseScalingScheduler(0.05, [3, 6], [0.5, 0.2]),
     [0.05] * 4 + [0.025] * 3 + [0.01] * 3, {}, 0.5),
    ("centered_rho0.9_l1_l2", {"decay_rate": 0.9, "epsilon": 1e-6, "centered": True},
     flow.optimizer.PiecewiseConstantScheduler([], [0.02]), [0.02] * STEPS,
     {"b": (0.01, 0.02), "z": (0.01, 0.02)}, None),
    ("centered_rho0.99_clip0.5_changing_lr", {"decay_rate": 0.99, "centered": True},
     flow.optimizer.PiecewiseScalingScheduler(0.01, [4], 0.5),
     [0.01] * 5 + [0.005] * 5, {}, 0.5),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_rmsprop_job_matches_float64_formula_every_step(case):
    _, kwargs, sched, lrs, regs, clip = case
    regularizers = {n: flow.regularizers.l1_l2(*r) for n, r in regs.items()}
    clipping = None if clip is None else flow.optimizer.grad_clipping.by_global_norm(clip)
    train = _job(lambda: flow.optimizer.RMSProp(sched, grad_clipping=clipping, **kwargs),
                 regularizers)
    rng = np.random.default_rng(11)
    init = {"w": rng.uniform(-1, 1, SHAPES["w"]).astype(np.float32),
            "b": rng.uniform(-2, 2, SHAPES["b"]).astype(np.float32),
            "z": np.zeros(SHAPES["z"], np.float32)}
    flow.load_variables(init)
    rho = kwargs.get("decay_rate", 0.99)
    eps = kwargs.get("epsilon", 1e-8)
    centered = kwargs.get("centered", False)
    w = {n: v.astype(np.float64) for n, v in init.items()}
    s = {n: np.zeros(sh) for n, sh in SHAPES.items()}
    gbar = {n: np.zeros(sh) for n, sh in SHAPES.items()}
    clipped = 0
    for step, m in enumerate(_masks(rng)):
        train(m["w"], m["b"], m["z"])
        g = {}
        for n in SHAPES:
            g[n] = m[n].astype(np.float64) * SCALE[n]
            if n in regs:
                l1, l2 = regs[n]
                g[n] = g[n] + l1 * np.where(w[n] >= 0, 1.0, -1.0) + l2 * w[n]
        if clip is not None:
            norm = np.sqrt(sum(np.sum(v ** 2) for v in g.values()))
            clipped += norm > clip
            g = {n: v * clip / max(norm, clip) for n, v in g.items()}
        for n in SHAPES:
            s[n] = (1 - rho) * g[n] ** 2 + rho * s[n]
            d = s[n]
            if centered:
                gbar[n] = (1 - rho) * g[n] + rho * gbar[n]
                d = s[n] - gbar[n] ** 2
            w[n] = w[n] - lrs[step] * g[n] / np.sqrt(d + eps)
        got = flow.get_all_variables()
        for n in SHAPES:
            _close(f"{n} step {step}", got[n].numpy(), w[n])
            _close(f"{n}-mean_square step {step}", got[f"{n}-mean_square"].numpy(), s[n])
            if centered:
                _close(f"{n}-mean_gradient step {step}", got[f"{n}-mean_gradient"].numpy(),
                       gbar[n])
            else:
                assert f"{n}-mean_gradient" not in got
    assert got["System-Train-TrainStep-train"].numpy()[0] == STEPS
    if clip is not None:
        assert clipped > 0  # the clip was active on some steps


def test_reference_rules_one_step_closed_form():
    w, g = np.array([1.0, -2.0]), np.array([0.5, -0.25])
    s, gbar = np.array([0.04, 0.01]), np.array([0.1, 0.0])
    hyper = {"decay_rate": 0.9, "epsilon": 0.0, "weight_decay": 0.7}  # weight decay ignored
    new_w, (new_s,) = reference.rmsprop_update(w, g, (s,), 0.1, 0, hyper)
    np.testing.assert_allclose(new_s, [0.1 * 0.25 + 0.036, 0.1 * 0.0625 + 0.009])  # .061 .01525
    np.testing.assert_allclose(new_w, [1.0 - 0.05 / np.sqrt(0.061),
                                       -2.0 + 0.025 / np.sqrt(0.01525)])
    new_w, (new_s, new_gbar) = reference.rmsprop_centered_update(w, g, (s, gbar), 0.1, 5, hyper)
    np.testing.assert_allclose(new_gbar, [0.05 + 0.09, -0.025])
    np.testing.assert_allclose(new_w, [1.0 - 0.05 / np.sqrt(0.061 - 0.14 ** 2),
                                       -2.0 + 0.025 / np.sqrt(0.01525 - 0.025 ** 2)])
    # epsilon inside the square root: first step from zero state is g/sqrt((1-rho)*g^2 + eps)
    new_w, _ = reference.rmsprop_update(np.zeros(1), np.array([0.3]), (np.zeros(1),), 1.0, 0,
                                        {"decay_rate": 0.5, "epsilon": 0.055})
    np.testing.assert_allclose(new_w, [-0.3 / np.sqrt(0.5 * 0.09 + 0.055)])  # = -0.3/sqrt(0.1)


@pytest.mark.parametrize("centered,slots", [(False, ["mean_square"]),
                                            (True, ["mean_square", "mean_gradient"])])
def test_slots_named_shaped_and_zero_initialized_as_in_oneflow(centered, slots):
    train = _job(lambda: flow.optimizer.RMSProp(LR, centered=centered), {})
    del train
    v = flow.get_all_variables()
    for n, shape in SHAPES.items():
        for suffix in slots:
            slot = v[f"{n}-{suffix}"].numpy()
            assert slot.shape == shape and slot.dtype == np.float32
            assert not slot.any()
    made = {k.split("-", 1)[1] for k in v if "-" in k and not k.startswith("System")}
    assert made == set(slots)


def test_registered_through_entry_point_and_op_selection():
    reg = get_registry()
    assert reg.optimizer_class("RMSProp") is flow.optimizer.RMSProp
    assert "tideflow-optim-rmsprop" in reg.provider("optimizer", "RMSProp")
    assert {"rmsprop_update", "rmsprop_centered_update"} <= set(reg.ops)
    plain, centered = flow.optimizer.RMSProp(LR), flow.optimizer.RMSProp(LR, centered=True)
    assert plain.update_op == "rmsprop_update"
    assert centered.update_op == "rmsprop_centered_update"
    assert plain.hyperparams() == {"decay_rate": 0.99, "epsilon": 1e-8}  # OneFlow's defaults
    assert plain.weight_decay == 0.0 and plain.weight_decay_for("w") == 0.0


@pytest.mark.parametrize("kwargs,needle", [
    ({"decay_rate": 1.0}, "`decay_rate` must be a number in (0, 1); received decay_rate=1.0"),
    ({"decay_rate": 0.0}, "received decay_rate=0.0"),
    ({"decay_rate": -0.5}, "received decay_rate=-0.5"),
    ({"decay_rate": None}, "received decay_rate=None"),
    ({"epsilon": -1e-8}, "`epsilon` must be a finite number >= 0; received epsilon=-1e-08"),
    ({"epsilon": float("inf")}, "received epsilon=inf"),
    ({"centered": 1}, "`centered` must be a bool; received centered=1"),
    ({"centered": "yes"}, "received centered='yes'"),
    ({"loss_scale_factor": -1.0}, "received loss_scale_factor=-1.0"),
    ({"grad_clipping": 0.5}, "received grad_clipping=0.5"),
    ({"train_step_lbn": 3}, "received train_step_lbn=3"),
    ({"variables": "w"}, "received variables='w'"),
    ({"loss_scale_factor": 2.0,
      "loss_scale_policy": flow.optimizer.loss_scale.static_loss_scale(2.0)}, "exclusive"),
])
def test_rmsprop_rejects_bad_hyperparameters(kwargs, needle):
    with pytest.raises(HyperparameterError, match="^RMSProp: .*" + re.escape(needle)):
        flow.optimizer.RMSProp(LR, **kwargs)


def test_no_weight_decay_argument():
    with pytest.raises(TypeError, match="weight_decay"):
        flow.optimizer.RMSProp(LR, weight_decay=0.1)  # as in OneFlow: no such argument


def test_bad_hyperparameter_in_job_creates_nothing():
    @flow.global_function(type="train")
    def train(x: tp.Numpy.Placeholder((2,))) -> tp.Numpy:
        a = flow.get_variable("a", shape=(2,), initializer=flow.ones_initializer())
        loss = flow.math.reduce_sum(a * x)
        flow.optimizer.RMSProp(LR, decay_rate=1.5).minimize(loss)
        return loss

    with pytest.raises(HyperparameterError, match="received decay_rate=1.5"):
        train(np.ones(2, np.float32))
    sess = flow.session.default_session()
    assert not sess.variables.infos and not sess.compiled  # no variable, slot or plan


def test_report_max_error():
    """Not a check: prints the largest relative error seen (run with -s)."""
    print(f"\nRMSProp max relative error vs float64 formula: {MAX_ERR}")
