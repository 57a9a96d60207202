"""Learning-rate schedules against float64 formulas written here (spec §4-5).

Golden values: every schedule at s in {0, boundary-1, boundary, boundary+1, D, 2D} (and
a few more), with and without warmup (constant and linear at s in {0, W-1, W}); the
schedule's value must equal the float64 formula rounded to float32, bit for bit.
"""

from __future__ import annotations

import inspect
import math
import re
import warnings

import numpy as np
import pytest

import tideflow as flow
import tideflow.typing as tp
from tideflow.errors import HyperparameterError
from tideflow.optimizer.decay_schedulers import (
    CosineScheduler,
    ExponentialScheduler,
    InverseTimeScheduler,
    LinearCosineScheduler,
    NaturalExpScheduler,
    PolynomialSchduler,
    PolynomialScheduler,
)
from tideflow.optimizer.schedulers import (
    CORE_SCHEDULERS,
    CustomScheduler,
    PiecewiseConstantScheduler,
    PiecewiseScalingScheduler,
)
from tideflow.plugins.registry import get_registry

B = 0.1
B32 = float(np.float32(B))  # the base rate goes through a float32 proto field
D = 100
W = 10
DECAY_STEPS = [0, 1, D // 2, D - 1, D, D + 1, 2 * D - 1, 2 * D, 2 * D + 1, 10 * D]
PIECE_STEPS = [0, 9, 10, 11, 19, 20, 21, 40]


def f32(x: float) -> float:
    return float(np.float32(x))


# ----------------------------------------------------------------- float64 formulas


def cosine(s, alpha):
    c = min(s, D)
    return B32 * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * c / D)) + alpha)


def linear_cosine(s, periods, alpha, beta):
    c = min(s, D)
    lin = (D - c) / D
    cos = 0.5 * (1 + math.cos(2 * math.pi * periods * c / D))
    return B32 * ((alpha + lin) * cos + beta)


def polynomial(s, end, power, cycle):
    if cycle:
        c = 1 if s == 0 else s
        d = D * math.ceil(c / D)
    else:
        c, d = min(s, D), D
    return (B32 - end) * (1 - c / d) ** power + end


def progress(s, staircase):
    return s // D if staircase else s / D


CASES = {
    "cosine": (lambda w: CosineScheduler(B, D, warmup=w), lambda s: cosine(s, 0.0),
               DECAY_STEPS),
    "cosine-alpha": (lambda w: CosineScheduler(B, D, alpha=0.2, warmup=w),
                     lambda s: cosine(s, 0.2), DECAY_STEPS),
    "linear-cosine": (lambda w: LinearCosineScheduler(B, D, warmup=w),
                      lambda s: linear_cosine(s, 0.5, 0.0, 0.001), DECAY_STEPS),
    "linear-cosine-args": (
        lambda w: LinearCosineScheduler(B, D, num_periods=2, alpha=0.05, beta=0.01, warmup=w),
        lambda s: linear_cosine(s, 2, 0.05, 0.01), DECAY_STEPS),
    "polynomial": (lambda w: PolynomialScheduler(B, D, warmup=w),
                   lambda s: polynomial(s, 0.0001, 1.0, False), DECAY_STEPS),
    "polynomial-power": (
        lambda w: PolynomialScheduler(B, D, end_learning_rate=0.001, power=2.0, warmup=w),
        lambda s: polynomial(s, 0.001, 2.0, False), DECAY_STEPS),
    "polynomial-cycle": (
        lambda w: PolynomialScheduler(B, D, end_learning_rate=0.001, power=0.5, cycle=True,
                                      warmup=w),
        lambda s: polynomial(s, 0.001, 0.5, True), DECAY_STEPS),
    "exponential": (lambda w: ExponentialScheduler(B, D, 0.5, warmup=w),
                    lambda s: B32 * 0.5 ** progress(s, False), DECAY_STEPS),
    "exponential-staircase": (
        lambda w: ExponentialScheduler(B, D, 0.5, staircase=True, warmup=w),
        lambda s: B32 * 0.5 ** progress(s, True), DECAY_STEPS),
    "inverse-time": (lambda w: InverseTimeScheduler(B, D, 0.7, warmup=w),
                     lambda s: B32 / (1 + 0.7 * progress(s, False)), DECAY_STEPS),
    "inverse-time-staircase": (
        lambda w: InverseTimeScheduler(B, D, 0.7, staircase=True, warmup=w),
        lambda s: B32 / (1 + 0.7 * progress(s, True)), DECAY_STEPS),
    "natural-exp": (lambda w: NaturalExpScheduler(B, D, 0.3, warmup=w),
                    lambda s: B32 * math.exp(-0.3 * progress(s, False)), DECAY_STEPS),
    "natural-exp-staircase": (
        lambda w: NaturalExpScheduler(B, D, 0.3, staircase=True, warmup=w),
        lambda s: B32 * math.exp(-0.3 * progress(s, True)), DECAY_STEPS),
    "piecewise-constant": (
        lambda w: PiecewiseConstantScheduler([10, 20], [B, 0.05, 0.01], warmup=w),
        lambda s: [B, 0.05, 0.01][0 if s <= 10 else 1 if s <= 20 else 2], PIECE_STEPS),
    "piecewise-scaling": (
        lambda w: PiecewiseScalingScheduler(B, [10, 20], [0.5, 0.1], warmup=w),
        lambda s: B32 * [1, 0.5, 0.1][0 if s <= 10 else 1 if s <= 20 else 2], PIECE_STEPS),
}


@pytest.mark.parametrize("case", list(CASES))
def test_golden_values_without_warmup(case):
    factory, ref, steps = CASES[case]
    sched = factory(None)
    for s in steps:
        assert sched.value(s) == f32(ref(s)), (case, s)


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("kind", ["constant", "linear"])
def test_golden_values_with_warmup(case, kind):
    factory, ref, steps = CASES[case]
    if kind == "constant":
        sched = factory(flow.optimizer.warmup.constant(W, 0.25))
        warm = lambda s: B32 * 0.25  # noqa: E731
    else:
        sched = factory(flow.optimizer.warmup.linear(W, 0.1))
        warm = lambda s: B32 * (0.1 + 0.9 * s / W)  # noqa: E731
    for s in [0, 1, W - 1]:
        assert sched.value(s) == f32(warm(s)), (case, kind, s)
    # no offset: from s = W on, the decay at the absolute step
    for s in [W, W + 1, *[t for t in steps if t > W]]:
        assert sched.value(s) == f32(ref(s)), (case, kind, s)


def test_linear_warmup_jumps_to_the_absolute_decay():
    sched = PolynomialScheduler(1.0, 100, end_learning_rate=0.0,
                                warmup=flow.optimizer.warmup.linear(10, 0.0))
    assert sched.value(9) == f32(0.9)
    assert sched.value(10) == f32(1 - 10 / 100)  # not 1.0: the decay already ran 10 steps


def test_results_are_float32_rounded_double_arithmetic():
    sched = CosineScheduler(B, D, alpha=0.1)
    exact = cosine(37, 0.1)
    got = sched.value(37)
    assert isinstance(got, float)
    assert got == f32(exact) != exact
    assert sched.base_lr == B32 != B
    # the decay itself runs in double: rounding only the result
    assert sched.decay(37) == exact


def test_cycle_restarts_with_c_equal_one_at_zero_and_hits_the_end_at_multiples():
    sched = PolynomialScheduler(B, D, end_learning_rate=0.001, power=1.0, cycle=True)
    assert sched.value(0) == sched.value(1) == f32((B32 - 0.001) * (1 - 1 / D) + 0.001)
    for k in (1, 2, 3):
        assert sched.value(k * D) == f32(0.001)
    assert sched.value(D + 1) == f32((B32 - 0.001) * (1 - (D + 1) / (2 * D)) + 0.001)


def test_non_cycle_polynomial_and_cosine_clamp_after_steps():
    assert PolynomialScheduler(B, D, end_learning_rate=0.002).value(5 * D) == f32(0.002)
    assert CosineScheduler(B, D, alpha=0.3).value(7 * D) == f32(B32 * 0.3)


# ----------------------------------------------------------------- alias and registry


def test_polynomial_schduler_alias_warns_and_matches():
    with pytest.warns(DeprecationWarning, match="PolynomialScheduler"):
        alias = PolynomialSchduler(B, D, end_learning_rate=0.001, power=2.0, cycle=True)
    real = PolynomialScheduler(B, D, end_learning_rate=0.001, power=2.0, cycle=True)
    assert isinstance(alias, PolynomialScheduler)
    assert [alias.value(s) for s in DECAY_STEPS] == [real.value(s) for s in DECAY_STEPS]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        PolynomialScheduler(B, D)  # the real name does not warn


def test_every_core_schedule_resolves_through_the_registry():
    registry = get_registry()
    assert len(CORE_SCHEDULERS) == 10
    for name in CORE_SCHEDULERS:
        cls = getattr(flow.optimizer, name)
        assert cls.__name__ == name
        assert registry.scheduler_class(name) is cls
        assert registry.provider("scheduler", name).startswith("tideflow ")
    assert flow.optimizer.CosineScheduler is CosineScheduler
    with pytest.raises(AttributeError, match="CosineDecayScheduler"):
        flow.optimizer.CosineDecayScheduler  # noqa: B018  (not in OneFlow's legacy API)


# ----------------------------------------------------------------- validation


def test_seed_document_swapped_cosine_call_is_explained():
    with pytest.raises(HyperparameterError) as info:
        flow.optimizer.CosineScheduler(10000, 0.01,
                                       warmup=flow.optimizer.warmup.linear(100, 0.0))
    msg = str(info.value)
    assert "CosineScheduler: `steps` must be a positive int" in msg
    assert "steps=0.01" in msg
    assert "CosineScheduler(0.01, 10000, ...)" in msg


@pytest.mark.parametrize("cls,args,hint", [
    (ExponentialScheduler, (1000, 0.1, 0.5), "ExponentialScheduler(0.1, 1000, ...)"),
    (PolynomialScheduler, (500.0, 0.003), "PolynomialScheduler(0.003, 500, ...)"),
    (CosineScheduler, (0.1, 0.5), None),  # base_lr does not look like a step count
    (CosineScheduler, (10000, 0), None),  # steps does not look like a learning rate
    (CosineScheduler, (10000, 2.5), None),
])
def test_swap_hint_only_when_it_fits(cls, args, hint):
    with pytest.raises(HyperparameterError, match=re.escape(f"steps={args[1]!r}")) as info:
        cls(*args)
    if hint is None:
        assert "did you mean" not in str(info.value)
    else:
        assert hint in str(info.value)


BAD = [
    (CosineScheduler, (B, 0), {}, "steps", 0),
    (CosineScheduler, (B, -5), {}, "steps", -5),
    (CosineScheduler, (B, 100.0), {}, "steps", 100.0),
    (CosineScheduler, (B, True), {}, "steps", True),
    (CosineScheduler, (B, "100"), {}, "steps", "100"),
    (CosineScheduler, (float("nan"), 100), {}, "base_lr", float("nan")),
    (CosineScheduler, ("0.1", 100), {}, "base_lr", "0.1"),
    (CosineScheduler, (B, 100), {"alpha": -0.1}, "alpha", -0.1),
    (CosineScheduler, (B, 100), {"alpha": 1.5}, "alpha", 1.5),
    (CosineScheduler, (B, 100), {"alpha": float("inf")}, "alpha", float("inf")),
    (CosineScheduler, (B, 100), {"warmup": 5}, "warmup", 5),
    (LinearCosineScheduler, (B, 100), {"num_periods": -1}, "num_periods", -1),
    (LinearCosineScheduler, (B, 100), {"alpha": -0.5}, "alpha", -0.5),
    (LinearCosineScheduler, (B, 100), {"beta": -0.001}, "beta", -0.001),
    (LinearCosineScheduler, (B, 100), {"beta": None}, "beta", None),
    (PolynomialScheduler, (B, 100), {"end_learning_rate": -1e-4}, "end_learning_rate", -1e-4),
    (PolynomialScheduler, (B, 100), {"power": 0}, "power", 0),
    (PolynomialScheduler, (B, 100), {"power": -1.0}, "power", -1.0),
    (PolynomialScheduler, (B, 100), {"cycle": 1}, "cycle", 1),
    (PolynomialScheduler, (B, 100), {"cycle": "yes"}, "cycle", "yes"),
    (ExponentialScheduler, (B, 100, 0), {}, "decay_rate", 0),
    (ExponentialScheduler, (B, 100, -0.5), {}, "decay_rate", -0.5),
    (ExponentialScheduler, (B, 100, 0.5), {"staircase": 0}, "staircase", 0),
    (InverseTimeScheduler, (B, 100, None), {}, "decay_rate", None),
    (InverseTimeScheduler, (B, 0.5, 0.5), {}, "steps", 0.5),
    (NaturalExpScheduler, (B, 100, float("nan")), {}, "decay_rate", float("nan")),
    (NaturalExpScheduler, (B, 100, 0.5), {"staircase": "no"}, "staircase", "no"),
    (CustomScheduler, ("lr/out",), {}, "lbn", "lr/out"),
]


@pytest.mark.parametrize("cls,args,kwargs,arg,value", BAD,
                         ids=[f"{c.__name__}-{a}-{v!r}" for c, _, _, a, v in BAD])
def test_validation_names_class_argument_and_value(cls, args, kwargs, arg, value):
    with pytest.raises(HyperparameterError) as info:
        cls(*args, **kwargs)
    msg = str(info.value)
    assert msg.startswith(f"{cls.__name__}: `{arg}` must be "), msg
    assert f"received {arg}={value!r}" in msg, msg


# ----------------------------------------------------------------- config, repr, plot


def test_every_scheduler_takes_warmup_last_and_repr_shows_arguments():
    for name in CORE_SCHEDULERS:
        params = list(inspect.signature(getattr(flow.optimizer, name).__init__).parameters)
        assert params[-1] == "warmup", name
    sched = CosineScheduler(0.5, 100, alpha=0.25)
    assert sched.get_config() == {"base_lr": 0.5, "steps": 100, "alpha": 0.25, "warmup": None}
    assert repr(sched) == "CosineScheduler(base_lr=0.5, steps=100, alpha=0.25, warmup=None)"
    poly = PolynomialScheduler(0.5, 10, power=2.0, cycle=True,
                               warmup=flow.optimizer.warmup.constant(3, 0.5))
    assert repr(poly) == ("PolynomialScheduler(base_lr=0.5, steps=10, end_learning_rate=0.0001, "
                          "power=2.0, cycle=True, warmup=ConstantWarmup(steps=3, "
                          "multiplier=0.5))")
    assert repr(ExponentialScheduler(0.5, 10, 0.9)) == (
        "ExponentialScheduler(base_lr=0.5, steps=10, decay_rate=0.9, staircase=False, "
        "warmup=None)")
    assert list(LinearCosineScheduler(0.5, 10).get_config()) == [
        "base_lr", "steps", "num_periods", "alpha", "beta", "warmup"]
    assert list(PiecewiseScalingScheduler(0.5, [1], 0.1).get_config()) == [
        "base_lr", "boundaries", "scale", "warmup"]
    assert list(PiecewiseConstantScheduler([1], [0.5, 0.1]).get_config()) == [
        "boundaries", "values", "warmup"]


def test_plot_returns_matplotlib_axes_with_the_values():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.axes import Axes

    sched = CosineScheduler(B, 20, warmup=flow.optimizer.warmup.linear(5, 0.0))
    ax = sched.plot(30)
    try:
        assert isinstance(ax, Axes)
        ys = ax.lines[0].get_ydata()
        assert list(ys) == [sched.value(s) for s in range(30)]
        assert ax.get_title() == "CosineScheduler"
    finally:
        plt.close(ax.figure)


# ----------------------------------------------------------------- CustomScheduler


def _custom_in_job(**kwargs):
    """Build CustomScheduler(blob, **kwargs) inside a job body; return it or the error."""
    out: dict = {}

    @flow.global_function(type="predict")
    def job(x: tp.Numpy.Placeholder((1,))) -> tp.Numpy:
        try:
            out["sched"] = CustomScheduler(flow.constant(0.1, flow.float), **kwargs)
        except HyperparameterError as exc:
            out["error"] = exc
        return x

    job(np.zeros(1, np.float32))
    return out


def test_custom_scheduler_has_no_value_outside_the_job():
    sched = _custom_in_job()["sched"]
    assert sched.warmup is None
    assert sched.lbn is sched.blob
    assert repr(sched).startswith("CustomScheduler(lbn=Blob(")
    with pytest.raises(TypeError, match="computed in the job"):
        sched.value(0)


def test_custom_scheduler_rejects_warmup():
    err = _custom_in_job(warmup=flow.optimizer.warmup.linear(5, 0.0))["error"]
    assert str(err).startswith("CustomScheduler: `warmup` must be None")
    assert "received warmup=LinearWarmup(steps=5" in str(err)
