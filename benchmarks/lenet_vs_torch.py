"""LeNet (OneFlow's documentation model), batch 100: tideflow vs PyTorch CPU, side by side.

Reports the median time of a train step (forward, backward, SGD-momentum update) and of a
predict step for both frameworks, measured interleaved in one process, and their ratio.
Run: ``nox -s bench`` or ``python benchmarks/lenet_vs_torch.py [--steps N]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))

from lenet_mnist import lenet  # noqa: E402

import tideflow as flow  # noqa: E402
import tideflow.typing as tp  # noqa: E402

B = 100


def tideflow_jobs():
    @flow.global_function(type="train")
    def train(images: tp.Numpy.Placeholder((B, 1, 28, 28)),
              labels: tp.Numpy.Placeholder((B,), dtype=flow.int32)) -> tp.Numpy:
        logits = lenet(images, train=True)
        loss = flow.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)
        flow.optimizer.SGD(flow.optimizer.PiecewiseConstantScheduler([], [0.01]),
                           momentum=0.9).minimize(loss)
        return loss

    @flow.global_function(type="predict")
    def predict(images: tp.Numpy.Placeholder((B, 1, 28, 28))) -> tp.Numpy:
        return lenet(images, train=False)

    return train, predict


def torch_model():
    import torch
    from torch import nn

    model = nn.Sequential(
        nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3136, 512), nn.ReLU(), nn.Dropout(0.5), nn.Linear(512, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def train(x, y):
        model.train()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    def predict(x):
        model.eval()
        with torch.no_grad():
            return model(x)

    return train, predict


def _time(fn, *args):
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args(argv)
    import torch

    rng = np.random.default_rng(0)
    x = rng.random((B, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, B).astype(np.int32)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
    tf_train, tf_predict = tideflow_jobs()
    t_train, t_predict = torch_model()
    for _ in range(3):  # warm up (compile, caches)
        tf_train(x, y), t_train(tx, ty), tf_predict(x), t_predict(tx)
    times: dict[str, list[float]] = {k: [] for k in ("tf_train", "pt_train", "tf_pred",
                                                      "pt_pred")}
    for _ in range(args.steps):
        times["tf_train"].append(_time(tf_train, x, y))
        times["pt_train"].append(_time(t_train, tx, ty))
        times["tf_pred"].append(_time(tf_predict, x))
        times["pt_pred"].append(_time(t_predict, tx))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"LeNet batch {B}, torch {torch.__version__} with {torch.get_num_threads()} threads, "
          f"median of {args.steps}")
    print(f"train step:   tideflow {med['tf_train'] * 1e3:7.2f} ms   torch "
          f"{med['pt_train'] * 1e3:7.2f} ms   ratio {med['tf_train'] / med['pt_train']:.2f}x")
    print(f"predict step: tideflow {med['tf_pred'] * 1e3:7.2f} ms   torch "
          f"{med['pt_pred'] * 1e3:7.2f} ms   ratio {med['tf_pred'] / med['pt_pred']:.2f}x")
    return {"train_ratio": med["tf_train"] / med["pt_train"],
            "predict_ratio": med["tf_pred"] / med["pt_pred"]}


if __name__ == "__main__":
    main()
