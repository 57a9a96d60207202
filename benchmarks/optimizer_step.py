"""Fused optimizer steps on 16.8M float32 parameters against torch.optim and the roofline.

The model is four 2048x2048 dense layers (16,785,408 parameters) with a trivial loss
(``reduce_mean`` of the output) on a batch of 4, so a train step is dominated by memory
traffic: writing the gradients and the optimizer's pass over parameters, gradients and
slots. For each optimizer this reports, measured interleaved in one process (median of
``--repeat`` runs):

* ``update``: tideflow's fused update call alone (the plan step that runs it) against
  ``torch.optim.<X>.step()`` with ``fused=True`` where torch has a fused CPU kernel and
  ``foreach=True`` otherwise (LARS and LAMB, which torch.optim lacks, are written here with
  ``torch._foreach_*`` multi-tensor ops, as torch's own foreach optimizers are);
* ``roofline``: the time the bytes the update must move (below) take at the triad bandwidth
  (in-place ``a = a + s*c`` with numba over 2 x 67 MB, measured in every round), as a
  fraction of the measured update time (100% = at the bandwidth of the triad);
* ``step``: one full train step (forward, backward, update) against the same in torch.

Bytes per parameter that an update must move (float32, read + write): SGD 12, momentum 20,
Adam/AdamW 28, RMSProp 20, LARS 28 (one extra read of w and g for the per-layer norms),
LAMB 40 (pass 1 reads w, g, m, v and writes m, v to get the norms of w and of the update;
pass 2 reads w, m, v and writes w); clipping adds one read of g (4).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import tideflow as flow
import tideflow.typing as tp

WIDTH, LAYERS, BATCH = 2048, 4, 4

#: name -> (tideflow optimizer factory, bytes per parameter, torch factory)
CASES: dict[str, tuple[Callable[[Any], Any], int, Callable[[Any], Any]]] = {}


def _cases() -> None:
    import torch

    lr = 1e-4

    def sched():
        return flow.optimizer.PiecewiseConstantScheduler([], [lr])

    def fused_or_foreach(cls, params, **kw):
        try:
            opt = cls(params, lr=lr, fused=True, **kw)
            return opt, "fused"
        except (RuntimeError, TypeError, ValueError):
            return cls(params, lr=lr, foreach=True, **kw), "foreach"

    CASES.update({
        "SGD": (lambda: flow.optimizer.SGD(sched(), momentum=0), 12,
                lambda p: fused_or_foreach(torch.optim.SGD, p)),
        "momentum": (lambda: flow.optimizer.SGD(sched(), momentum=0.9), 20,
                     lambda p: fused_or_foreach(torch.optim.SGD, p, momentum=0.9)),
        "Adam": (lambda: flow.optimizer.Adam(sched(), do_bias_correction=True), 28,
                 lambda p: fused_or_foreach(torch.optim.Adam, p)),
        "AdamW": (lambda: flow.optimizer.AdamW(sched(), do_bias_correction=True,
                                               weight_decay=0.01), 28,
                  lambda p: fused_or_foreach(torch.optim.AdamW, p, weight_decay=0.01)),
        "RMSProp": (lambda: flow.optimizer.RMSProp(sched(), decay_rate=0.99, epsilon=1e-8),
                    20, lambda p: fused_or_foreach(torch.optim.RMSprop, p, alpha=0.99)),
        "LARS": (lambda: flow.optimizer.LARS(sched(), momentum_beta=0.9), 28,
                 lambda p: (ForeachLARS(p, lr), "foreach")),
        "LAMB": (lambda: flow.optimizer.LAMB(sched()), 40,
                 lambda p: (ForeachLAMB(p, lr), "foreach")),
    })


class ForeachLARS:
    """LARS (OneFlow's rule) with torch multi-tensor ops, as torch.optim would write it."""

    def __init__(self, params: list[Any], lr: float, beta: float = 0.9, coeff: float = 1e-4,
                 eps: float = 1e-9) -> None:
        import torch

        self.p, self.lr, self.beta, self.coeff, self.eps = list(params), lr, beta, coeff, eps
        self.buf = [torch.zeros_like(p) for p in self.p]

    def step(self) -> None:
        import torch

        with torch.no_grad():
            self._step()

    def _step(self) -> None:
        import torch

        grads = [p.grad for p in self.p]
        wn = torch._foreach_norm(self.p)
        gn = torch._foreach_norm(grads)
        local = [self.lr * self.coeff * w / (g + self.eps) for w, g in zip(wn, gn, strict=True)]
        torch._foreach_mul_(self.buf, self.beta)
        torch._foreach_add_(self.buf, torch._foreach_mul(grads, local))
        torch._foreach_sub_(self.p, self.buf)


class ForeachLAMB:
    """LAMB (OneFlow's rule) with torch multi-tensor ops."""

    def __init__(self, params: list[Any], lr: float, b1: float = 0.9, b2: float = 0.999,
                 eps: float = 1e-6) -> None:
        import torch

        self.p, self.lr, self.b1, self.b2, self.eps = list(params), lr, b1, b2, eps
        self.m = [torch.zeros_like(p) for p in self.p]
        self.v = [torch.zeros_like(p) for p in self.p]
        self.t = 0

    def step(self) -> None:
        import torch

        with torch.no_grad():
            self._step()

    def _step(self) -> None:
        import torch

        self.t += 1
        grads = [p.grad for p in self.p]
        torch._foreach_lerp_(self.m, grads, 1 - self.b1)
        torch._foreach_mul_(self.v, self.b2)
        torch._foreach_addcmul_(self.v, grads, grads, 1 - self.b2)
        c1, c2 = 1 - self.b1 ** self.t, 1 - self.b2 ** self.t
        denom = torch._foreach_add(torch._foreach_sqrt(torch._foreach_div(self.v, c2)), self.eps)
        r = torch._foreach_div(torch._foreach_div(self.m, c1), denom)
        wn, rn = torch._foreach_norm(self.p), torch._foreach_norm(r)
        trust = [float(w / q) if w > 0 and q > 0 else 1.0 for w, q in zip(wn, rn, strict=True)]
        torch._foreach_mul_(r, [self.lr * t for t in trust])
        torch._foreach_sub_(self.p, r)


def make_triad(n: int) -> Callable[[], float]:
    """A timed STREAM triad over ``n`` float32 elements: returns seconds per call.

    The in-place form ``a = a + s*c`` (12 bytes per element, the access pattern of an
    in-place optimizer update, with no read-for-ownership of a separate output), over
    chunks with unsigned bounds so that LLVM vectorizes it, on all numba threads.
    """
    from numba import njit, prange

    @njit(parallel=True, cache=False)
    def triad(a, c, s, lo, hi):  # pragma: no cover - compiled
        for k in prange(lo.size):
            for i in range(lo[k], hi[k]):
                a[i] = a[i] + s * c[i]

    chunk = 1 << 15
    lo = np.arange(0, n, chunk, dtype=np.uint64)
    hi = np.minimum(lo + np.uint64(chunk), np.uint64(n))
    a, c = np.ones(n, np.float32), np.ones(n, np.float32)
    s = np.float32(1e-7)
    triad(a, c, s, lo, hi)

    def timed() -> float:
        t0 = time.perf_counter()
        triad(a, c, s, lo, hi)
        return time.perf_counter() - t0

    return timed


def tideflow_job(make_opt: Callable[[], Any]) -> tuple[Callable[[], None], Callable[[], None]]:
    """A train job on the MLP; returns (full step, the fused update plan step alone)."""
    flow.clear_default_session()
    x = np.random.default_rng(0).standard_normal((BATCH, WIDTH)).astype(np.float32)

    @flow.global_function(type="train")
    def train(a: tp.Numpy.Placeholder((BATCH, WIDTH))) -> tp.Numpy:
        h = a
        for k in range(LAYERS):
            h = flow.layers.dense(h, WIDTH, name=f"fc{k}",
                                  kernel_initializer=flow.random_normal_initializer(0, 0.01))
        loss = flow.math.reduce_mean(h)
        make_opt().minimize(loss)
        return loss

    train(x)
    plan = flow.session.default_session().compiled["train"].plan
    fused = [s for s, n in zip(plan.steps, plan.names, strict=True)
             if n.endswith("-fused_optimizer")]
    if len(fused) != 1:
        raise RuntimeError(f"expected one fused update in the plan; ops: {plan.names}")
    return (lambda: train(x)), fused[0]


def torch_job(make_opt: Callable[[Any], Any]) -> tuple[Callable[[], None], Callable[[], None],
                                                        str]:
    """The same model in torch; returns (full step, optimizer step alone, kind)."""
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(*[torch.nn.Linear(WIDTH, WIDTH) for _ in range(LAYERS)])
    opt, kind = make_opt(list(model.parameters()))
    x = torch.randn(BATCH, WIDTH)

    def step() -> None:
        opt.zero_grad(set_to_none=False) if hasattr(opt, "zero_grad") else None
        model(x).mean().backward()
        opt.step()

    step()
    return step, opt.step, kind


def _once(fn: Callable[[], None]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Print the table; return its rows."""
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--only", nargs="*", default=None, help="optimizer names")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    from tideflow_numba.cache import configure

    configure()  # numba's threading layer as tideflow sets it, before the triad compiles
    _cases()
    n = LAYERS * (WIDTH * WIDTH + WIDTH)
    triad = make_triad(n)
    print(f"\n== fused optimizer step, {n / 1e6:.1f}M float32 parameters (torch "
          f"{torch.__version__}, {torch.get_num_threads()} threads; triad measured in every "
          "round) ==")
    print(f"{'optimizer':<10} {'torch':<8} {'update tf/torch':>16} {'roofline':>9} "
          f"{'step tf/torch':>14}  (median ms: update tf, torch; step tf, torch; triad GB/s)")
    rows = []
    for name, (make_tf, nbytes, make_torch) in CASES.items():
        if args.only and name not in args.only:
            continue
        tf_step, tf_update = tideflow_job(make_tf)
        th_step, th_update, kind = torch_job(make_torch)
        t = {"tu": [], "hu": [], "ts": [], "hs": [], "triad": []}
        for _ in range(args.repeat):
            t["triad"].append(triad())
            t["tu"].append(_once(tf_update))
            t["hu"].append(_once(th_update))
            t["ts"].append(_once(tf_step))
            t["hs"].append(_once(th_step))
        m = {k: statistics.median(v) for k, v in t.items()}
        bw = 12 * n / m["triad"]
        roof = nbytes * n / bw / m["tu"]
        row = {"optimizer": name, "torch": kind, "update_ratio": m["tu"] / m["hu"],
               "roofline_fraction": roof, "step_ratio": m["ts"] / m["hs"],
               "triad_GBps": bw / 1e9,
               **{k: v * 1e3 for k, v in m.items()}}
        rows.append(row)
        print(f"{name:<10} {kind:<8} {row['update_ratio']:>16.2f} {roof:>8.0%} "
              f"{row['step_ratio']:>14.2f}  ({row['tu']:.1f}, {row['hu']:.1f}; "
              f"{row['ts']:.1f}, {row['hs']:.1f}; {bw / 1e9:.0f})")
    return rows


if __name__ == "__main__":
    main()
