"""SGD trajectories against ``torch.optim.SGD`` (and ``clip_grad_norm_``).

OneFlow's momentum follows TensorFlow: ``u <- beta*u - lr*g; w <- w + u``. PyTorch keeps
``buf <- beta*buf + g; w <- w - lr*buf``. With a constant rate the two are the same update
and ``u == -lr * buf`` after every step, which is what these tests check. Plain SGD is
``momentum=0`` on both sides. tideflow clips to norm c (``g * c / max(||g||, c)``, design §5),
as ``torch.nn.utils.clip_grad_norm_`` does (up to its ``1e-6`` added to the norm).

The job: two variables, a per-sample loss vector of shape (B,) (so the pipeline averages it;
torch takes ``.mean()``), random inputs and masks fed at every step, 10 steps. Torch runs in
float64 from tideflow's initial values; tideflow in float32.
"""

from __future__ import annotations

import numpy as np
import pytest

import tideflow as flow
import tideflow.typing as tp

torch = pytest.importorskip("torch")

RTOL, ATOL = 1e-4, 1e-5  # ATOL is relative to the array's largest value
STEPS = 10
BATCH = 6
LR = 0.1
MAX_ERR: dict[str, tuple[float, str]] = {}


def _close(name: str, got: np.ndarray, want: np.ndarray) -> None:
    """rtol, plus an absolute tolerance of ATOL times the array's scale (values cross 0).

    The maximum error reported is relative, over the elements above 1% of that scale.
    """
    scale = float(np.abs(want).max())
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL * scale, err_msg=name)
    big = np.abs(want) > 1e-2 * scale
    if big.any():
        err = float(np.max(np.abs(got[big] - want[big]) / np.abs(want[big])))
        MAX_ERR["torch"] = max(MAX_ERR.get("torch", (0.0, "")), (err, name))


def _job(momentum: float, clip: float | None):
    clipping = None if clip is None else flow.optimizer.grad_clipping.by_global_norm(clip)

    @flow.global_function(type="train")
    def train(x: tp.Numpy.Placeholder((BATCH, 3)),
              m: tp.Numpy.Placeholder((BATCH, 4))) -> tp.Numpy:
        w = flow.get_variable("w", shape=(3, 4), initializer=flow.zeros_initializer())
        b = flow.get_variable("b", shape=(4,), initializer=flow.zeros_initializer())
        per_sample = flow.math.reduce_sum((flow.matmul(x, w) + b * b) * m, axis=1)
        flow.optimizer.SGD(flow.optimizer.PiecewiseConstantScheduler([], [LR]),
                           momentum=momentum, grad_clipping=clipping).minimize(per_sample)
        return per_sample

    return train


@pytest.mark.parametrize("clip", [None, 1.0, 0.3], ids=["noclip", "clip1", "clip0.3"])
@pytest.mark.parametrize("momentum", [0.0, 0.9, 0.5], ids=["plain", "mom0.9", "mom0.5"])
def test_sgd_matches_torch(momentum, clip):
    train = _job(momentum, clip)
    rng = np.random.default_rng(11)
    init = {"w": rng.uniform(-1, 1, (3, 4)).astype(np.float32),
            "b": rng.uniform(-1, 1, (4,)).astype(np.float32)}
    flow.load_variables(init)
    params = {n: torch.tensor(v, dtype=torch.float64, requires_grad=True)
              for n, v in init.items()}
    opt = torch.optim.SGD(list(params.values()), lr=LR, momentum=momentum, foreach=False)
    norms = []
    for step in range(STEPS):
        x = rng.normal(0, 1, (BATCH, 3)).astype(np.float32)
        scale = (1.0, 0.3, 0.1)[step % 3]  # gradient norms about 1.8, 0.5, 0.2
        m = (scale * rng.uniform(-2, 2, (BATCH, 4))).astype(np.float32)
        losses = train(x, m)
        opt.zero_grad()
        per_sample = (((torch.from_numpy(x).double() @ params["w"]) + params["b"] ** 2)
                      * torch.from_numpy(m).double()).sum(dim=1)
        np.testing.assert_allclose(losses, per_sample.detach().numpy(), rtol=RTOL,
                                   atol=ATOL)  # forward values, before this step's update
        per_sample.mean().backward()
        norms.append(float(torch.sqrt(sum((p.grad ** 2).sum() for p in params.values()))))
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(list(params.values()), clip)
        opt.step()
        got = flow.get_all_variables()
        for n, p in params.items():
            _close(f"{n} step {step}", got[n].numpy(), p.detach().numpy())
            if momentum:
                _close(f"{n}-momentum step {step}", got[f"{n}-momentum"].numpy(),
                       -LR * opt.state[p]["momentum_buffer"].numpy())
            else:
                assert f"{n}-momentum" not in got
    if clip is not None:  # the data make clipping act on some steps and not on others
        assert min(norms) < clip < max(norms), norms


def test_report_max_error():
    """Not a check: prints the largest relative error seen (run with -s)."""
    print(f"\nSGD max relative error vs torch: {MAX_ERR}")
