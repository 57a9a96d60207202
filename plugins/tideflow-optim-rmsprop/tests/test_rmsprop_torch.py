"""RMSProp trajectories against ``torch.optim.RMSprop``.

OneFlow puts epsilon inside the square root and PyTorch outside, so the two agree exactly
only with ``epsilon = 0`` (OneFlow's own tests compare with Keras the same way). The masks
are never exactly 0, so no element divides 0 by 0. PyTorch runs in float64 and computes
its gradients by autograd of the same loss.
"""

from __future__ import annotations

import numpy as np
import pytest

import tideflow as flow
import tideflow.typing as tp

torch = pytest.importorskip("torch")

RTOL, ATOL = 1e-4, 1e-6
STEPS = 10
SHAPES = {"w": (3, 4), "b": (5,)}
MAX_ERR: dict[str, tuple[float, str]] = {}


def _close(name, got, want):
    """rtol, plus an absolute tolerance of ATOL times the array's scale (values cross 0)."""
    scale = float(np.abs(want).max())
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL * scale, err_msg=name)
    big = np.abs(want) > 1e-3 * scale
    if big.any():
        err = float(np.max(np.abs(got[big] - want[big]) / np.abs(want[big])))
        MAX_ERR["torch"] = max(MAX_ERR.get("torch", (0.0, "")), (err, name))


@pytest.mark.parametrize("rho", [0.9, 0.99])
@pytest.mark.parametrize("centered", [False, True], ids=["plain", "centered"])
def test_rmsprop_matches_torch_with_zero_epsilon(centered, rho):
    lr = 0.01

    @flow.global_function(type="train")
    def train(mw: tp.Numpy.Placeholder((3, 4)), mb: tp.Numpy.Placeholder((5,))) -> tp.Numpy:
        w = flow.get_variable("w", shape=(3, 4), initializer=flow.zeros_initializer())
        b = flow.get_variable("b", shape=(5,), initializer=flow.zeros_initializer())
        loss = flow.math.reduce_mean(w * mw) + flow.math.reduce_sum(b * mb)
        flow.optimizer.RMSProp(flow.optimizer.PiecewiseConstantScheduler([], [lr]),
                               decay_rate=rho, epsilon=0.0, centered=centered).minimize(loss)
        return loss

    rng = np.random.default_rng(5)
    init = {n: rng.uniform(-1, 1, s).astype(np.float32) for n, s in SHAPES.items()}
    flow.load_variables(init)
    params = {n: torch.tensor(v, dtype=torch.float64, requires_grad=True)
              for n, v in init.items()}
    opt = torch.optim.RMSprop(list(params.values()), lr=lr, alpha=rho, eps=0.0,
                              centered=centered)
    for step in range(STEPS):
        m = {n: (rng.choice([-1.0, 1.0], s) * rng.uniform(0.1, 1.0, s)).astype(np.float32)
             for n, s in SHAPES.items()}
        train(m["w"], m["b"])
        opt.zero_grad()
        loss = ((params["w"] * torch.from_numpy(m["w"]).double()).mean()
                + (params["b"] * torch.from_numpy(m["b"]).double()).sum())
        loss.backward()
        opt.step()
        got = flow.get_all_variables()
        for n, p in params.items():
            state = opt.state[p]
            _close(f"{n} step {step}", got[n].numpy(), p.detach().numpy())
            _close(f"{n}-mean_square step {step}", got[f"{n}-mean_square"].numpy(),
                   state["square_avg"].numpy())
            if centered:
                _close(f"{n}-mean_gradient step {step}", got[f"{n}-mean_gradient"].numpy(),
                       state["grad_avg"].numpy())


def test_report_max_error():
    """Not a check: prints the largest relative error seen (run with -s)."""
    print(f"\nRMSProp max relative error vs torch: {MAX_ERR}")
