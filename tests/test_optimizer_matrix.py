"""Every optimizer x schedule (with and without warmup) x clipping x regularizer x static
loss scale, trained for 12 steps in a real job and compared after every step, variable by
variable and slot by slot, with an independent float64 implementation of OneFlow's
formulas (``shared/reference/oneflow-optimizer-spec.md`` §1, §3, §4, §5; design §5) written
here. Tolerance: rtol 2e-5, atol 1e-6 (float32 state).
"""

from __future__ import annotations

import itertools
import math
import zlib

import numpy as np
import pytest

import tideflow as flow
import tideflow.typing as tp

STEPS = 12
RTOL, ATOL = 2e-5, 1e-6

# ---------------------------------------------------------------- float64 references


def sched_value(kind, s):
    """lr at step s for the schedules built in `make_schedule` (spec §4), float64."""
    B, D = 0.05, 8
    if kind == "piecewise_constant":
        b, v = [2, 5], [0.05, 0.02, 0.01]
        return v[next((i for i, x in enumerate(b) if s <= x), len(b))]
    if kind == "piecewise_scaling":
        b, sc = [3, 7], [1.0, 0.5, 0.1]
        return B * sc[next((i for i, x in enumerate(b) if s <= x), len(b))]
    if kind == "cosine":
        c = min(s, D)
        return B * ((1 - 0.1) * 0.5 * (1 + math.cos(math.pi * c / D)) + 0.1)
    if kind == "linear_cosine":
        c = min(s, D)
        lin = (D - c) / D
        cos = 0.5 * (1 + math.cos(2 * math.pi * 0.5 * c / D))
        return B * ((0.0 + lin) * cos + 0.001)
    if kind == "polynomial":
        c = min(s, D)
        return (B - 0.001) * (1 - c / D) ** 2.0 + 0.001
    if kind == "polynomial_cycle":
        c = 1 if s == 0 else s
        d = D * math.ceil(c / D)
        return (B - 0.001) * (1 - c / d) ** 1.0 + 0.001
    if kind == "exponential":
        return B * 0.5 ** (s / D)
    if kind == "inverse_time":
        return B / (1 + 0.5 * math.floor(s / D))
    if kind == "natural_exp":
        return B * math.exp(-0.5 * s / D)
    raise AssertionError(kind)


def lr_at(kind, warm, s):
    base = 0.05
    if warm == "linear" and s < 4:
        return float(np.float32(base * (0.2 + 0.8 * s / 4)))
    if warm == "constant" and s < 3:
        return float(np.float32(base * 0.5))
    return float(np.float32(sched_value(kind, s)))


def make_schedule(kind, warm):
    o = flow.optimizer
    w = {None: None, "linear": o.warmup.linear(4, 0.2), "constant": o.warmup.constant(3, 0.5)}
    w = w[warm]
    if kind == "piecewise_constant":
        if warm is not None:
            return o.PiecewiseScalingScheduler(0.05, [2, 5], [0.4, 0.2], warmup=w)
        return o.PiecewiseConstantScheduler([2, 5], [0.05, 0.02, 0.01])
    return {
        "piecewise_scaling": lambda: o.PiecewiseScalingScheduler(0.05, [3, 7], [0.5, 0.1],
                                                                 warmup=w),
        "cosine": lambda: o.CosineScheduler(0.05, 8, alpha=0.1, warmup=w),
        "linear_cosine": lambda: o.LinearCosineScheduler(0.05, 8, warmup=w),
        "polynomial": lambda: o.PolynomialScheduler(0.05, 8, end_learning_rate=0.001,
                                                    power=2.0, warmup=w),
        "polynomial_cycle": lambda: o.PolynomialScheduler(0.05, 8, end_learning_rate=0.001,
                                                          cycle=True, warmup=w),
        "exponential": lambda: o.ExponentialScheduler(0.05, 8, 0.5, warmup=w),
        "inverse_time": lambda: o.InverseTimeScheduler(0.05, 8, 0.5, staircase=True,
                                                       warmup=w),
        "natural_exp": lambda: o.NaturalExpScheduler(0.05, 8, 0.5, warmup=w),
    }[kind]()


def sign0(w):
    return np.where(w >= 0, 1.0, -1.0)  # OneFlow CPU: sign(0) = +1


def ref_update(opt, w, g, st, lr, t, wd):
    """One update of family `opt` (float64), spec §3 / design §5."""
    name, hp = opt
    if name in ("sgd", "sgdw"):
        if hp["momentum"] == 0:
            return w - lr * (g + wd * w)
        st["momentum"] = hp["momentum"] * st["momentum"] - lr * g
        return w + st["momentum"] - lr * wd * w
    if name in ("adam", "adamw", "lazyadam"):
        b1, b2, eps = hp.get("beta1", 0.9), hp.get("beta2", 0.999), hp.get("epsilon", 1e-8)
        st["m"] = b1 * st["m"] + (1 - b1) * g
        st["v"] = b2 * st["v"] + (1 - b2) * g * g
        bc = hp.get("do_bias_correction", name == "lazyadam")
        c1 = 1 - b1 ** (t + 1) if bc else 1.0
        c2 = 1 - b2 ** (t + 1) if bc else 1.0
        return w - (lr / c1) * st["m"] / (np.sqrt(st["v"]) / np.sqrt(c2) + eps) - lr * wd * w
    if name == "lamb":
        b1, b2, eps = hp.get("beta1", 0.9), hp.get("beta2", 0.999), hp.get("epsilon", 1e-6)
        st["beta1_t"] = st["beta1_t"] * b1
        st["beta2_t"] = st["beta2_t"] * b2
        st["m"] = b1 * st["m"] + (1 - b1) * g
        st["v"] = b2 * st["v"] + (1 - b2) * g * g
        r = (st["m"] / (1 - st["beta1_t"])) / (np.sqrt(st["v"] / (1 - st["beta2_t"])) + eps)
        nw, nr = np.linalg.norm(w), np.linalg.norm(r)
        trust = nw / nr if nw > 0 and nr > 0 else 1.0
        return w - lr * trust * (r + wd * w)
    if name == "lars":
        beta, eps, coeff = hp.get("momentum_beta", 0.9), hp.get("epsilon", 1e-9), \
            hp.get("lars_coefficient", 1e-4)
        nw, ng = np.linalg.norm(w), np.linalg.norm(g)
        trust = coeff * nw / (eps + ng + wd * nw) if nw > 0 and ng > 0 else 1.0
        st["momentum"] = beta * st["momentum"] - lr * trust * g
        return w + st["momentum"] - lr * trust * wd * w
    if name == "rmsprop":
        rho, eps = hp.get("decay_rate", 0.99), hp.get("epsilon", 1e-8)
        st["mean_square"] = (1 - rho) * g * g + rho * st["mean_square"]
        d = st["mean_square"]
        if hp.get("centered", False):
            st["mean_gradient"] = (1 - rho) * g + rho * st["mean_gradient"]
            d = d - st["mean_gradient"] ** 2
        return w - lr * g / np.sqrt(d + eps)
    raise AssertionError(name)


SLOTS = {"sgd": lambda hp: ["momentum"] if hp["momentum"] else [],
         "sgdw": lambda hp: ["momentum"] if hp["momentum"] else [],
         "adam": lambda hp: ["m", "v"], "adamw": lambda hp: ["m", "v"],
         "lazyadam": lambda hp: ["m", "v"], "lamb": lambda hp: ["m", "v", "beta1_t", "beta2_t"],
         "lars": lambda hp: ["momentum"],
         "rmsprop": lambda hp: ["mean_square"] + (["mean_gradient"] if hp.get("centered")
                                                  else [])}
CLASSES = {"sgd": "SGD", "sgdw": "SGDW", "adam": "Adam", "adamw": "AdamW",
           "lazyadam": "LazyAdam", "lamb": "LAMB", "lars": "LARS", "rmsprop": "RMSProp"}
DECAYED = {"sgdw", "adamw", "lamb", "lars"}

OPTIMIZERS = [
    ("sgd", {"momentum": 0.0}), ("sgd", {"momentum": 0.9}),
    ("sgdw", {"momentum": 0.0, "weight_decay": 0.1}),
    ("sgdw", {"momentum": 0.8, "weight_decay": 0.05, "weight_decay_excludes": ["bias"]}),
    ("adam", {}), ("adam", {"do_bias_correction": True, "beta1": 0.8, "beta2": 0.95,
                            "epsilon": 1e-6}),
    ("adamw", {"do_bias_correction": True, "weight_decay": 0.1}),
    ("lazyadam", {}),
    ("lamb", {}), ("lamb", {"weight_decay": 0.01, "beta2": 0.99}),
    ("lars", {}), ("lars", {"weight_decay": 0.1, "lars_coefficient": 0.01,
                            "weight_decay_includes": "kernel"}),
    ("rmsprop", {}), ("rmsprop", {"centered": True, "decay_rate": 0.9}),
]
SCHEDULES = ["piecewise_constant", "piecewise_scaling", "cosine", "linear_cosine",
             "polynomial", "polynomial_cycle", "exponential", "inverse_time", "natural_exp"]
WARMUPS = [None, "linear", "constant"]
CASES = []
for i, ((opt, hp), sched) in enumerate(itertools.product(OPTIMIZERS, SCHEDULES)):
    CASES.append(pytest.param(opt, hp, sched, WARMUPS[i % 3], [None, 1.0, 0.02][(i // 3) % 3],
                              i % 2 == 0, [None, 64.0][(i // 2) % 2],
                              id=f"{opt}{i}-{sched}"))


def _weight_decay(opt, hp, name):
    if opt not in DECAYED:
        return 0.0
    lam = hp.get("weight_decay", 0.0) or 0.0
    inc, exc = hp.get("weight_decay_includes"), hp.get("weight_decay_excludes")
    if inc is not None:
        return lam if any(p in name for p in ([inc] if isinstance(inc, str) else inc)) else 0.0
    if exc is not None:
        return 0.0 if any(p in name for p in exc) else lam
    return lam


@pytest.mark.parametrize("opt,hp,sched,warm,clip,reg,scale", CASES)
def test_trajectory_matches_float64_formulas(opt, hp, sched, warm, clip, reg, scale):
    kwargs = dict(hp)
    if clip is not None:
        kwargs["grad_clipping"] = flow.optimizer.grad_clipping.by_global_norm(clip)
    if scale is not None:
        kwargs["loss_scale_factor"] = scale
    l1, l2 = 0.01, 0.02
    init = {"kernel": np.linspace(-1, 1, 12).reshape(3, 4), "bias": np.zeros(4)}

    @flow.global_function(type="train")
    def train(m1: tp.Numpy.Placeholder((3, 4)), m2: tp.Numpy.Placeholder((4,))) -> tp.Numpy:
        k = flow.get_variable("kernel", shape=(3, 4), initializer=flow.zeros_initializer(),
                              regularizer=flow.regularizers.l1_l2(l1, l2) if reg else None)
        b = flow.get_variable("bias", shape=(4,), initializer=flow.zeros_initializer())
        loss = flow.math.reduce_sum(k * m1, axis=0) + b * m2  # shape (4,): N = 4
        getattr(flow.optimizer, CLASSES[opt])(make_schedule(sched, warm), **kwargs
                                             ).minimize(loss)
        return loss

    flow.load_variables({k: v.astype(np.float32) for k, v in init.items()})
    w = {k: v.astype(np.float64).copy() for k, v in init.items()}
    slots = {n: {} for n in w}
    for n in w:
        for s in SLOTS[opt](hp):
            shape = (1,) if s.endswith("_t") else w[n].shape
            start = {"beta1_t": hp.get("beta1", 0.9), "beta2_t": hp.get("beta2", 0.999)}
            slots[n][s] = np.full(shape, start.get(s, 0.0), np.float64)
    rng = np.random.default_rng(zlib.crc32(f"{opt}{hp}{sched}".encode()))
    for t in range(STEPS):
        m1 = rng.uniform(-1, 1, (3, 4)).astype(np.float32)
        m2 = rng.uniform(-1, 1, 4).astype(np.float32)
        train(m1, m2)
        g = {"kernel": m1.astype(np.float64) / 4, "bias": m2.astype(np.float64) / 4}
        if reg:
            g["kernel"] = g["kernel"] + l1 * sign0(w["kernel"]) + l2 * w["kernel"]
        if clip is not None:
            norm = math.sqrt(sum(float((x * x).sum()) for x in g.values()))
            g = {n: x * clip / max(norm, clip) for n, x in g.items()}
        lr = lr_at(sched, warm, t)
        for n in w:
            w[n] = ref_update((opt, hp), w[n], g[n], slots[n], lr, t,
                              _weight_decay(opt, hp, n))
        got = flow.get_all_variables()
        for n in w:
            np.testing.assert_allclose(got[n].numpy(), w[n], rtol=RTOL, atol=ATOL,
                                       err_msg=f"{n} after step {t}")
            for s, ref in slots[n].items():
                np.testing.assert_allclose(got[f"{n}-{s}"].numpy(), ref, rtol=RTOL, atol=ATOL,
                                           err_msg=f"{n}-{s} after step {t}")
        assert got["System-Train-TrainStep-train"].numpy()[0] == t + 1
