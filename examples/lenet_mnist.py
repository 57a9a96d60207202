"""Train OneFlow's documentation LeNet on MNIST, then evaluate it on the 10,000 test images.

Recipe (stated in the README): batch 100, 3 epochs, reshuffled every epoch, SGD with
momentum 0.9, learning rate 0.03 for two epochs then 0.003 (PiecewiseScalingScheduler)
after a linear warmup from 0.003 over the first 300 steps, dropout 0.5 on the hidden
layer, truncated_normal(0.1) initialization, seed 0.

Run: ``nox -s demo`` or ``python examples/lenet_mnist.py [--epochs N] [--seed S]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import tideflow as flow
import tideflow.typing as tp

BATCH_SIZE = 100


def lenet(data: tp.Numpy, train: bool = False) -> tp.Numpy:
    """OneFlow's documentation LeNet (quick_start/lenet_train.py)."""
    initializer = flow.truncated_normal(0.1)
    conv1 = flow.layers.conv2d(data, 32, 5, padding="SAME", activation=flow.nn.relu,
                               name="conv1", kernel_initializer=initializer)
    pool1 = flow.nn.max_pool2d(conv1, ksize=2, strides=2, padding="SAME", name="pool1",
                               data_format="NCHW")
    conv2 = flow.layers.conv2d(pool1, 64, 5, padding="SAME", activation=flow.nn.relu,
                               name="conv2", kernel_initializer=initializer)
    pool2 = flow.nn.max_pool2d(conv2, ksize=2, strides=2, padding="SAME", name="pool2",
                               data_format="NCHW")
    reshape = flow.reshape(pool2, [pool2.shape[0], -1])
    hidden = flow.layers.dense(reshape, 512, activation=flow.nn.relu,
                               kernel_initializer=initializer, name="dense1")
    if train:
        hidden = flow.nn.dropout(hidden, rate=0.5, name="dropout")
    return flow.layers.dense(hidden, 10, kernel_initializer=initializer, name="dense2")


def make_jobs(steps_per_epoch: int, base_lr: float = 0.03, warmup: int = 300):
    """Define the train and eval jobs (before the first call, as OneFlow requires)."""

    @flow.global_function(type="train")
    def train_job(
        images: tp.Numpy.Placeholder((BATCH_SIZE, 1, 28, 28), dtype=flow.float),
        labels: tp.Numpy.Placeholder((BATCH_SIZE,), dtype=flow.int32),
    ) -> tp.Numpy:
        with flow.scope.placement("cpu", "0:0"):
            logits = lenet(images, train=True)
            loss = flow.nn.sparse_softmax_cross_entropy_with_logits(
                labels, logits, name="softmax_loss")
        lr = flow.optimizer.PiecewiseScalingScheduler(
            base_lr, [2 * steps_per_epoch], 0.1,
            warmup=flow.optimizer.warmup.linear(warmup, 0.1) if warmup else None)
        flow.optimizer.SGD(lr, momentum=0.9).minimize(loss)
        return loss

    @flow.global_function(type="predict")
    def eval_job(
        images: tp.Numpy.Placeholder((BATCH_SIZE, 1, 28, 28), dtype=flow.float),
    ) -> tp.Numpy:
        with flow.scope.placement("cpu", "0:0"):
            return flow.math.argmax(lenet(images, train=False))

    return train_job, eval_job


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=0, help="train batches per epoch (0: all)")
    parser.add_argument("--lr", type=float, default=0.03, help="base learning rate")
    parser.add_argument("--warmup", type=int, default=300, help="linear warmup steps")
    args = parser.parse_args(argv)
    np.random.seed(args.seed)
    (train_images, train_labels), (test_images, test_labels) = flow.data.load_mnist(
        BATCH_SIZE, BATCH_SIZE)
    x = train_images.reshape(-1, 1, 28, 28)
    y = train_labels.reshape(-1)
    steps = len(train_images) if not args.limit else args.limit
    train_job, eval_job = make_jobs(steps, args.lr, args.warmup)
    try:
        from tqdm import tqdm
    except ImportError:  # the bar is optional
        tqdm = None
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    for epoch in range(args.epochs):
        order = rng.permutation(len(x))
        bar = range(steps)
        if tqdm is not None:
            bar = tqdm(bar, desc=f"epoch {epoch + 1}/{args.epochs}", unit="step")
        t0 = time.perf_counter()
        for i in bar:
            idx = order[i * BATCH_SIZE:(i + 1) * BATCH_SIZE]
            loss = train_job(np.ascontiguousarray(x[idx]), np.ascontiguousarray(y[idx]))
            if tqdm is not None and i % 20 == 0:
                bar.set_postfix(loss=f"{loss.mean():.4f}")
        print(f"epoch {epoch + 1}: {time.perf_counter() - t0:.1f} s, last loss "
              f"{loss.mean():.4f}")
    correct = sum(int((eval_job(imgs) == labs).sum())
                  for imgs, labs in zip(test_images, test_labels, strict=True))
    accuracy = correct / test_labels.size
    print(f"training: {time.perf_counter() - start:.1f} s")
    print(f"test accuracy: {accuracy * 100:.2f}% ({correct}/{test_labels.size})")
    return accuracy


if __name__ == "__main__":
    main()
