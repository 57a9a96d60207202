"""Conformance checks for an optimizer: :class:`OptimizerCase` and :func:`optimizer_checks`.

An optimizer plugin describes one configuration of one optimizer class with an
:class:`OptimizerCase` and runs every check with a parametrized test::

    import numpy as np
    import pytest
    from tideflow.testing import OptimizerCase, optimizer_checks

    def one_step(w, g, lr, step, kwargs):  # float64, from the initial slots
        return w - lr * g / (np.sqrt(0.1 + g * g) + 1e-10)

    CASE = OptimizerCase(name="Adagrad", kwargs={}, slots={"sum": 0.1},
                         closed_form=one_step,
                         bad_hyperparams=[({"epsilon": -1.0}, r"`epsilon` must be")])

    @pytest.mark.parametrize("check", optimizer_checks(CASE))
    def test_conformance(check):
        check()

Every check runs real train jobs. It clears the default session before and after, and
builds a job with two float32 variables, ``w`` of shape (3, 4) and ``b`` of shape (5,), set to
fixed random values by ``flow.load_variables``. The linear loss ``reduce_sum(w * x) +
reduce_sum(b * y)`` has exactly the gradients ``x`` and ``y`` (a scalar loss is not averaged),
fed as placeholders. Values are compared at the case's ``rtol`` with ``atol=1e-6`` (for
values that cross zero). A failing check raises AssertionError saying what differs; the
checks are listed in :func:`optimizer_checks`.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import tideflow as flow
from tideflow.optimizer.base import Optimizer
from tideflow.plugins.registry import get_registry
from tideflow.testing._jobs import SHAPES, close, const, feeds, initial, start, state, step_counter
from tideflow.testing._params import as_params, named

#: Constant learning rate of the closed-form, n-step and checkpoint checks.
LR = 0.1
#: Rates of ``PiecewiseConstantScheduler([0, 1], SCHEDULE)`` in the schedule check.
SCHEDULE = (0.1, 0.04, 0.015)
N_STEPS = 5


@dataclass(frozen=True)
class OptimizerCase:
    """One configuration of one optimizer class, and what the checks expect of it.

    Attributes:
        name: the class name in ``flow.optimizer`` (``"Adagrad"``).
        kwargs: constructor arguments besides ``lr_scheduler``.
        slots: expected slot suffix -> initial value; the slot of variable ``v`` is named
            ``v-<suffix>`` and has ``v``'s shape and dtype.
        closed_form: ``(w, g, lr, step, kwargs) -> new w``: the parameter after ONE update
            from the initial slots, in float64, written by the author from the formulas
            (not by calling the plugin). ``lr`` is the float32-rounded rate the job uses,
            ``step`` the train step of that update (0 for the first).
        bad_hyperparams: ``(kwargs, regex)`` pairs: constructing with ``kwargs`` (merged over
            :attr:`kwargs`) must raise ValueError or TypeError whose message matches
            ``regex`` (``re.search``).
        scalar_slots: suffixes of per-variable scalar slots, of shape ``(1,)``.
        rtol: relative tolerance of every float comparison.
        converge_lr: constant learning rate of the convergence check.
        converge_steps: steps the convergence check may take.
    """

    name: str
    kwargs: Mapping[str, Any]
    slots: Mapping[str, float]
    closed_form: Callable[[np.ndarray, np.ndarray, float, int, Mapping[str, Any]], np.ndarray]
    bad_hyperparams: Sequence[tuple[Mapping[str, Any], str]]
    scalar_slots: tuple[str, ...] = ()
    rtol: float = 2e-5
    converge_lr: float = 0.1
    converge_steps: int = 200


def _class(case: OptimizerCase) -> type:
    try:
        return getattr(flow.optimizer, case.name)
    except AttributeError as exc:
        raise AssertionError(f"flow.optimizer.{case.name} does not resolve: {exc}") from exc


def _start(case: OptimizerCase, sched: Any, *, quadratic: bool = False,
           backend: str | None = None, **extra: Any) -> Callable[..., Any]:
    return start(_class(case), {**case.kwargs, **extra}, sched, quadratic, backend)


def _expected(case: OptimizerCase, var: str, grad: np.ndarray, lr: float, step: int
              ) -> np.ndarray:
    """``closed_form`` from the initial ``var`` at the float32-rounded ``lr``, in float64."""
    w0 = initial()[var].astype(np.float64)
    return np.asarray(case.closed_form(w0, grad.astype(np.float64), float(np.float32(lr)),
                                       step, dict(case.kwargs)), np.float64)


# ---------------------------------------------------------------- the checks


def _check_registered(case: OptimizerCase) -> None:
    """The class, its family's spec and its update op are registered.

    ``flow.optimizer.<name>`` resolves through the registry to an Optimizer subclass; its
    OptimizerSpec lists the case's slots and the update op the instance uses, which is a
    registered, stateful op.
    """
    reg = get_registry()
    family = reg.optimizer_classes.get(case.name)
    if family is None:
        raise AssertionError(f"no installed plugin exports the optimizer class {case.name!r}; "
                             f"registered: {sorted(reg.optimizer_classes)}")
    cls = reg.optimizer_class(case.name)
    assert getattr(flow.optimizer, case.name) is cls, (
        f"flow.optimizer.{case.name} is not the registry's class {cls!r}")
    assert isinstance(cls, type) and issubclass(cls, Optimizer), (
        f"{case.name} must subclass tideflow.optimizer.Optimizer; received {cls!r}")
    spec = reg.optimizers[family]
    missing = sorted(set(case.slots) - set(spec.slots))
    assert not missing, (f"OptimizerSpec {family!r} ({reg.provider('optimizer', family)}) lists "
                         f"slots {list(spec.slots)}; add {missing}")
    opt = cls(const(LR), **case.kwargs)
    extra = sorted(set(opt.slot_defaults()) - set(spec.slots))
    assert not extra, f"{case.name}.slot_defaults() has slots {extra} not listed in the spec"
    op = opt.update_op_for("w")
    assert op in spec.update_ops, (f"{case.name} updates with op {op!r}, which OptimizerSpec "
                                   f"{family!r} does not list in update_ops {spec.update_ops}")
    assert op in reg.ops, f"update op {op!r} is not registered (return it from tideflow_ops)"
    assert reg.ops[op].stateful, f"update op {op!r} must be stateful (update_op_spec does it)"


def _check_slots_created(case: OptimizerCase) -> None:
    """Slot names, shapes, dtypes and initial values.

    Each variable has exactly the slots ``<var>-<suffix>`` of ``case.slots``, with its shape
    (``(1,)`` for ``scalar_slots``) and dtype, filled with the initial value.
    """
    _start(case, const(LR))
    blobs = flow.get_all_variables()
    for var, shape in SHAPES.items():
        found = sorted(n[len(var) + 1:] for n in blobs if n.startswith(var + "-"))
        assert found == sorted(case.slots), (
            f"slots of variable {var!r}: found {found}, expected {sorted(case.slots)} "
            f"(named '{var}-<suffix>')")
        for suffix, init in case.slots.items():
            blob = blobs[f"{var}-{suffix}"]
            want = (1,) if suffix in case.scalar_slots else shape
            assert blob.shape == want, f"slot '{var}-{suffix}' has shape {blob.shape}; " \
                                       f"expected {want}"
            assert blob.dtype == blobs[var].dtype, (
                f"slot '{var}-{suffix}' has dtype {blob.dtype}; expected {blobs[var].dtype}")
            value = blob.numpy()
            assert np.all(value == np.asarray(init, value.dtype)), (
                f"slot '{var}-{suffix}' starts at {value.ravel()[:4]}...; expected {init}")


def _check_single_step(case: OptimizerCase) -> None:
    """One step at lr 0.1 equals ``case.closed_form``."""
    job = _start(case, const(LR))
    grads = feeds(0)
    job(*grads)
    after = state()
    for var, grad in zip(SHAPES, grads, strict=True):
        close(f"{var} after one step at lr={LR}", after[var], _expected(case, var, grad, LR, 0),
              case.rtol)


def _trajectory(case: OptimizerCase, backend: str) -> list[dict[str, np.ndarray]]:
    job = _start(case, const(LR), backend=backend)
    out = []
    for k in range(N_STEPS):
        job(*feeds(k))
        out.append(state())
    return out


def _check_n_steps(case: OptimizerCase) -> None:
    """5 steps on every available cpu backend equal the run on the numpy reference.

    5 steps (new random gradients each step) on the ``numpy`` backend, run twice, are
    bit-identical; every other available ``cpu`` backend (``flow.config.backend(cpu=...)``)
    gives the same variables and slots after every step, at ``rtol``. GPU backends and kernel
    variants are covered by ``kernel_checks``.
    """
    reg = get_registry()
    ref = _trajectory(case, "numpy")
    again = _trajectory(case, "numpy")
    for k, (a, b) in enumerate(zip(ref, again, strict=True)):
        for name in a:
            assert np.array_equal(a[name], b[name]), (
                f"two runs on the numpy backend differ at step {k} in {name!r}: the update is "
                "not deterministic")
    others = [n for n, s in sorted(reg.backends.items())
              if s.device == "cpu" and n != "numpy" and reg.backend_available(n)[0]]
    for backend in others:
        run = _trajectory(case, backend)
        for k, (a, b) in enumerate(zip(run, ref, strict=True)):
            assert set(a) == set(b), f"backend {backend!r} has variables {sorted(a)}"
            for name in a:
                close(f"{name!r} after step {k} on backend {backend!r} vs numpy", a[name],
                      b[name], case.rtol)


def _check_converges(case: OptimizerCase) -> None:
    """The loss of a quadratic ends below 1% of its start.

    ``loss = sum((w - t_w)^2) + sum((b - t_b)^2)`` at ``converge_lr``: after
    ``converge_steps`` steps (all of them: touching 1% while oscillating is not enough).
    """
    job = _start(case, const(case.converge_lr), quadratic=True)
    targets = feeds(99)
    first = float(np.asarray(job(*targets)).ravel()[0])  # the loss before the first update
    losses = [float(np.asarray(job(*targets)).ravel()[0]) for _ in range(case.converge_steps)]
    last = losses[-1] if losses else first
    if not last < 1e-2 * first:
        raise AssertionError(
            f"the quadratic loss went from {first:.4g} to {last:.4g} (lowest "
            f"{min(losses, default=first):.4g}) in {case.converge_steps} steps at "
            f"lr={case.converge_lr}; expected below 1% of the start. If the optimizer is only "
            "slow, raise converge_steps or converge_lr in the OptimizerCase")


def _check_invalid(case: OptimizerCase) -> None:
    """Every bad configuration raises the expected message and leaves nothing behind.

    Each ``bad_hyperparams`` entry raises ValueError or TypeError matching its regex; a job
    whose body constructs it fails to start and leaves no variable and no compiled job.
    """
    cls = _class(case)
    assert case.bad_hyperparams, "bad_hyperparams is empty: list invalid configurations"
    for bad, pattern in case.bad_hyperparams:
        kwargs = {**case.kwargs, **bad}
        call = f"{case.name}(lr_scheduler, **{kwargs!r})"
        try:
            cls(const(LR), **kwargs)
        except (ValueError, TypeError) as exc:
            assert re.search(pattern, str(exc)), (
                f"{call} raised {type(exc).__name__}({str(exc)!r}), which does not match "
                f"{pattern!r}")
        except Exception as exc:
            raise AssertionError(f"{call} raised {type(exc).__name__}: {exc}; expected "
                                 f"ValueError or TypeError matching {pattern!r}") from exc
        else:
            raise AssertionError(f"{call} was accepted; it must raise ValueError or TypeError "
                                 f"matching {pattern!r}")
        try:
            _start(case, const(LR), **bad)  # the job body constructs the bad optimizer
        except Exception:
            pass
        else:
            raise AssertionError(f"a job whose body calls {call} ran")
        sess = flow.session.default_session()
        assert not sess.variables.infos and not sess.compiled, (
            f"after the failed job with {call}, the session holds variables "
            f"{sorted(sess.variables.infos)} and jobs {sorted(sess.compiled)}")


def _check_schedule(case: OptimizerCase) -> None:
    """The learning rate of step k is the schedule's value at k.

    With ``PiecewiseConstantScheduler([0, 1], [0.1, 0.04, 0.015])``: for k = 0, 1, 2 a fresh
    session starts from the same parameters and initial slots with its step counter set to
    k, runs one step and must equal ``closed_form(w, g, schedule(k), k)`` (the closed form
    holds from the initial slots only, so each rate is tested alone). Then 3 consecutive
    steps with the schedule equal a constant-rate run at step 0 and differ at steps 1, 2.
    """
    sched = flow.optimizer.PiecewiseConstantScheduler([0, 1], list(SCHEDULE))
    rates = [sched.value(k) for k in range(3)]
    grads = feeds(0)
    for k, lr in enumerate(rates):
        job = _start(case, sched)
        flow.load_variables({step_counter(state()): np.array([k], np.int64)})
        job(*grads)
        after = state()
        for var, grad in zip(SHAPES, grads, strict=True):
            close(f"{var} after one step at train step {k} (scheduled lr={lr:.6g})", after[var],
                  _expected(case, var, grad, lr, k), case.rtol)
    runs: list[list[np.ndarray]] = []
    for sch in (sched, const(rates[0])):
        job = _start(case, sch)
        runs.append([])
        for k in range(3):
            job(*feeds(k))
            runs[-1].append(state()["w"])
    assert np.array_equal(runs[0][0], runs[1][0]), "step 0 differs from a constant-lr run"
    for k in (1, 2):
        assert not np.array_equal(runs[0][k], runs[1][k]), (
            f"step {k} with the schedule equals a run at constant lr={rates[0]}: the "
            "schedule does not drive the learning rate")


def _check_checkpoint(case: OptimizerCase) -> None:
    """Save, restore in a fresh session and continue: bit-identical.

    3 steps, ``flow.checkpoint.save``, 2 more steps; a fresh session that loads the
    checkpoint (``flow.load_variables(flow.checkpoint.get(path))``) and runs the same 2 steps
    has identical variables, slots and step counter.
    """
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "ckpt")
        job = _start(case, const(LR))
        for k in range(3):
            job(*feeds(k))
        flow.checkpoint.save(path)
        for k in (3, 4):
            job(*feeds(k))
        want = state()
        job = _start(case, const(LR))
        flow.load_variables(flow.checkpoint.get(path))
        for k in (3, 4):
            job(*feeds(k))
        got = state()
    assert set(got) == set(want), f"variables {sorted(got)} after restoring; " \
                                  f"expected {sorted(want)}"
    for name in want:
        assert np.array_equal(got[name], want[name]), (
            f"{name!r} differs after save at step 3, restore and 2 more steps (max abs diff "
            f"{float(np.max(np.abs(got[name] - want[name]))):.3g})")


_CHECKS: dict[str, Callable[[OptimizerCase], None]] = {
    "check_registered": _check_registered,
    "check_slots_created": _check_slots_created,
    "check_single_step_closed_form": _check_single_step,
    "check_matches_reference_n_steps": _check_n_steps,
    "check_converges_on_quadratic": _check_converges,
    "check_invalid_hyperparams": _check_invalid,
    "check_schedule_drives_lr": _check_schedule,
    "check_checkpoint_roundtrip": _check_checkpoint,
}


def optimizer_checks(case: OptimizerCase,
                     expected_failures: Mapping[str, str] | None = None) -> list[Any]:
    """Return the conformance checks of ``case`` as pytest parameters.

    Each parameter is a zero-argument function (call it in the test) whose pytest id is the
    check's name; its docstring says what it checks:

    * ``check_registered``: the class, its family spec and its update op are registered.
    * ``check_slots_created``: slot names, shapes, dtypes and initial values.
    * ``check_single_step_closed_form``: one step equals ``case.closed_form``.
    * ``check_matches_reference_n_steps``: 5 steps on every available cpu backend equal the
      deterministic run on the ``numpy`` reference backend.
    * ``check_converges_on_quadratic``: the loss of a quadratic ends below 1% of its start.
    * ``check_invalid_hyperparams``: each bad configuration raises the expected message, and
      a job that tries it leaves nothing behind.
    * ``check_schedule_drives_lr``: the rate of step k is the schedule's value at k.
    * ``check_checkpoint_roundtrip``: save, restore in a fresh session, continue: identical.

    Args:
        case: the optimizer configuration and its expectations.
        expected_failures: check name -> reason, for known failures (strict xfail: the
            check must fail, with an AssertionError).

    Raises:
        ValueError: ``expected_failures`` names an unknown check.
    """
    checks = {name: named(name, (lambda fn=fn: _isolated(fn, case)), fn.__doc__ or "")
              for name, fn in _CHECKS.items()}
    return as_params(checks, expected_failures, "optimizer_checks")


def _isolated(fn: Callable[[OptimizerCase], None], case: OptimizerCase) -> None:
    flow.clear_default_session()
    try:
        fn(case)
    finally:
        flow.clear_default_session()
