"""LeNet (OneFlow's documentation model), batch 100: tideflow vs PyTorch CPU, side by side.

Reports the median time of a train step (forward, backward, SGD-momentum update) and of a
predict step for each tideflow CPU backend asked for (``--backend numba``, ``numpy``, or
both by default) and for PyTorch, all in one process, and each backend's ratio to PyTorch.
Every backend gets its own tideflow session (same seed, so the same initial variables).

``--order interleaved`` (the default) runs one step of every framework in turn, so all of
them see the same machine state; on a small machine the thread pools of one framework
(OpenBLAS, OpenMP) may still be spinning when the next one starts, which slows whichever
runs next. ``--order blocks`` runs ``--block`` consecutive steps of each framework in turn
instead, which measures each closer to how it runs alone. ``--numba-threads`` sets the
numba backend's thread count (OpenMP workers that spin between parallel kernels compete with
OpenBLAS's threads for the cores of a small machine).

Run: ``nox -s bench`` or ``python benchmarks/lenet_vs_torch.py [--steps N] [--backend B]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))

from lenet_mnist import lenet  # noqa: E402

import tideflow as flow  # noqa: E402
import tideflow.typing as tp  # noqa: E402
from tideflow import session as _session  # noqa: E402

B = 100
BACKENDS = ("numba", "numpy")


@contextmanager
def _active(sess: _session.Session) -> Iterator[None]:
    """Make ``sess`` the default session (jobs run only in their own session)."""
    prev = _session._default
    _session._default = sess
    try:
        yield
    finally:
        _session._default = prev


class TideflowLeNet:
    """Train and predict jobs of one backend, in a session of their own."""

    def __init__(self, backend: str, x: np.ndarray, y: np.ndarray, fallback: bool) -> None:
        self.backend = backend
        self.session = _session.Session()
        cfg = flow.FunctionConfig()
        cfg.allow_reference_fallback(fallback)
        with _active(self.session), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            flow.config.backend(cpu=backend)
            np.random.seed(0)

            @flow.global_function(type="train", function_config=cfg)
            def train(images: tp.Numpy.Placeholder((B, 1, 28, 28)),
                      labels: tp.Numpy.Placeholder((B,), dtype=flow.int32)) -> tp.Numpy:
                logits = lenet(images, train=True)
                loss = flow.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)
                flow.optimizer.SGD(flow.optimizer.PiecewiseConstantScheduler([], [0.01]),
                                   momentum=0.9).minimize(loss)
                return loss

            @flow.global_function(type="predict", function_config=cfg)
            def predict(images: tp.Numpy.Placeholder((B, 1, 28, 28))) -> tp.Numpy:
                return lenet(images, train=False)

            train(x, y)  # builds, lowers (and compiles) both jobs
            predict(x)
        self._train, self._predict = train, predict
        #: ops that ran their NumPy reference kernel (fallback), from the lowering warnings
        self.fallbacks = sorted({str(w.message).split("'")[1] for w in caught
                                 if "running the NumPy reference" in str(w.message)})

    def train(self, x: np.ndarray, y: np.ndarray) -> None:
        """One train step."""
        with _active(self.session):
            self._train(x, y)

    def predict(self, x: np.ndarray) -> None:
        """One predict step."""
        with _active(self.session):
            self._predict(x)


def torch_model(threads: int) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """The same network in PyTorch: train (SGD momentum) and predict closures."""
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3136, 512), nn.ReLU(), nn.Dropout(0.5), nn.Linear(512, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def train(x: Any, y: Any) -> Any:
        model.train()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    def predict(x: Any) -> Any:
        model.eval()
        with torch.no_grad():
            return model(x)

    return train, predict


def _time(fn: Callable[..., Any], *args: Any) -> float:
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Run the benchmark; return ``{"<backend>_train_ratio": ..., ...}`` (tideflow / torch)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30, help="timed steps per framework")
    parser.add_argument("--backend", choices=BACKENDS, action="append",
                        help="tideflow CPU backend (repeatable; default: numba and numpy)")
    parser.add_argument("--torch-threads", type=int, default=2)
    parser.add_argument("--order", choices=("interleaved", "blocks"), default="interleaved")
    parser.add_argument("--block", type=int, default=5, help="steps per block (--order blocks)")
    parser.add_argument("--fallback", action="store_true",
                        help="let ops without a kernel run their NumPy reference kernel")
    parser.add_argument("--numba-threads", type=int, default=0,
                        help="numba.set_num_threads for the numba backend's parallel kernels "
                             "(default: numba's own default, one per core)")
    args = parser.parse_args(argv)
    import torch

    if args.numba_threads:
        import numba

        numba.set_num_threads(args.numba_threads)

    backends = args.backend or list(BACKENDS)
    rng = np.random.default_rng(0)
    x = rng.random((B, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, B).astype(np.int32)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
    t_train, t_predict = torch_model(args.torch_threads)
    runners: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {}
    for be in backends:
        tf = TideflowLeNet(be, x, y, args.fallback)
        if tf.fallbacks:
            print(f"{be}: ops on the NumPy reference kernel: {', '.join(tf.fallbacks)}")
        runners[be] = (lambda tf=tf: tf.train(x, y), lambda tf=tf: tf.predict(x))
    runners["torch"] = (lambda: t_train(tx, ty), lambda: t_predict(tx))
    for _ in range(3):  # warm up (caches, thread pools)
        for tr, pr in runners.values():
            tr(), pr()
    times: dict[str, list[float]] = {f"{k} {m}": [] for k in runners for m in ("train", "pred")}
    block = 1 if args.order == "interleaved" else max(1, args.block)
    done = 0
    while done < args.steps:
        n = min(block, args.steps - done)
        for name, (tr, pr) in runners.items():
            for _ in range(n):
                times[f"{name} train"].append(_time(tr))
            for _ in range(n):
                times[f"{name} pred"].append(_time(pr))
        done += n
    med = {k: statistics.median(v) for k, v in times.items()}
    threads = ""
    if "numba" in backends:
        import numba

        threads = f", numba {numba.get_num_threads()} threads"
    print(f"LeNet batch {B}, torch {torch.__version__} with {torch.get_num_threads()} threads"
          f"{threads}, median of {args.steps} steps ({args.order})")
    result: dict[str, float] = {}
    for kind, label in (("train", "train step"), ("pred", "predict step")):
        torch_t = med[f"torch {kind}"]
        parts = [f"torch {torch_t * 1e3:7.2f} ms"]
        for be in backends:
            t = med[f"{be} {kind}"]
            ratio = t / torch_t
            result[f"{be}_{'train' if kind == 'train' else 'predict'}_ratio"] = ratio
            parts.append(f"{be} {t * 1e3:7.2f} ms ({ratio:.2f}x)")
        print(f"{label + ':':14s} " + "   ".join(parts))
    return result


if __name__ == "__main__":
    main()
