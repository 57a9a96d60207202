"""Adam, AdamW and LazyAdam trajectories against torch.optim (the v0.5.0 kernel = PyTorch's).

torch.optim.Adam: ``m_hat/(sqrt(v_hat) + eps)`` with the step counted from 1, which is
tideflow's ``do_bias_correction=True`` with t+1. torch.optim.AdamW first multiplies the
parameter by ``1 - lr*lambda`` and then takes the Adam step, whose size depends only on m and
v, so ``w_new = w - lr*lambda*w - step(m, v)`` with the pre-step w: tideflow's AdamW. An
L2 regularizer ``flow.regularizers.l2(c)`` adds ``c*w`` to the gradient, which is
torch.optim.Adam's (coupled) ``weight_decay=c``. Torch runs in float64, tideflow in float32.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tideflow as flow

torch = pytest.importorskip("torch")

RTOL = 1e-4
STEPS = 10
LR = 0.01


def const(lr: float) -> Any:
    return flow.optimizer.PiecewiseConstantScheduler([], [lr])


def torch_trajectory(snap0, feeds, make_torch, clip_norm=None):
    """Train the same loss with torch in float64 from tideflow's initial values."""
    w = torch.tensor(snap0["w"], dtype=torch.float64, requires_grad=True)
    b = torch.tensor(snap0["b"], dtype=torch.float64, requires_grad=True)
    opt = make_torch(w, b)
    out = []
    for mask, x in feeds:
        opt.zero_grad()
        loss = (w * torch.from_numpy(mask)).mean() + (b * b * torch.from_numpy(x)).mean()
        loss.backward()
        if clip_norm is not None:
            torch.nn.utils.clip_grad_norm_([w, b], clip_norm)
        opt.step()
        state = {"w": w.detach().numpy().copy(), "b": b.detach().numpy().copy()}
        for name, p in (("w", w), ("b", b)):
            state[f"{name}-m"] = opt.state[p]["exp_avg"].numpy().copy()
            state[f"{name}-v"] = opt.state[p]["exp_avg_sq"].numpy().copy()
        out.append(state)
    return out


CASES = {
    "adam-bias-corrected-betas": (
        lambda: flow.optimizer.Adam(const(LR), 0.8, 0.95, 1e-6, do_bias_correction=True),
        lambda w, b: torch.optim.Adam([w, b], lr=LR, betas=(0.8, 0.95), eps=1e-6,
                                      foreach=False), None, None),
    "adam-bias-corrected-defaults-l2-on-b": (
        lambda: flow.optimizer.Adam(const(LR), do_bias_correction=True),
        lambda w, b: torch.optim.Adam([{"params": [w]}, {"params": [b], "weight_decay": 0.01}],
                                      lr=LR, foreach=False), None, 0.01),
    "lazyadam": (
        lambda: flow.optimizer.LazyAdam(const(LR), beta2=0.99),
        lambda w, b: torch.optim.Adam([w, b], lr=LR, betas=(0.9, 0.99), foreach=False),
        None, None),
    "adamw-lambda0.1-exclude-b": (
        lambda: flow.optimizer.AdamW(const(LR), do_bias_correction=True, weight_decay=0.1,
                                     weight_decay_excludes="^b$"),
        lambda w, b: torch.optim.AdamW([{"params": [w], "weight_decay": 0.1},
                                        {"params": [b], "weight_decay": 0.0}],
                                       lr=LR, foreach=False), None, None),
    "adamw-lambda0.1-both-clip0.5": (
        lambda: flow.optimizer.AdamW(const(LR), 0.85, 0.99, 1e-7, True, weight_decay=0.1,
                                     grad_clipping=flow.optimizer.grad_clipping.by_global_norm(
                                         0.5)),
        lambda w, b: torch.optim.AdamW([w, b], lr=LR, betas=(0.85, 0.99), eps=1e-7,
                                       weight_decay=0.1, foreach=False), 0.5, None),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_trajectory_matches_torch(case, train_job):
    make_flow, make_torch, clip_norm, l2 = case
    reg = flow.regularizers.l2(l2) if l2 else None
    feeds, snaps = train_job(make_flow, STEPS, feed_scale=10.0 if clip_norm else 1.0,
                             b_regularizer=reg)
    want = torch_trajectory(snaps[0], feeds, make_torch, clip_norm)
    for t, (got, ref) in enumerate(zip(snaps[1:], want)):
        for name, value in ref.items():
            np.testing.assert_allclose(got[name], value, rtol=RTOL,
                                       atol=1e-6 * np.max(np.abs(value)),
                                       err_msg=f"{name} after step {t}")
