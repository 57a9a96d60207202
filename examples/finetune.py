"""Fine-tune from a saved model: OneFlow's mlp_mnist_origin.py + mlp_mnist_finetune.py pattern.

1. Train an MLP (784 -> 512 relu -> 10, layers ``dense1`` and ``dense2``) on MNIST for one
   epoch (SGD, learning rate 0.1) and save it to ``<dir>/mlp_models_1``.
2. In a new session, build a bigger model that adds ``dense3`` (10 -> 10) on top, load the
   partial checkpoint: ``dense1-*`` and ``dense2-*`` (and the train step) are overwritten,
   ``dense3-*`` keep their initial values. Train one epoch and save
   ``<dir>/mlp_ext_models_1``.

Each phase prints its test accuracy.

Run: ``python examples/finetune.py [--limit STEPS] [--dir DIR]``.
"""

from __future__ import annotations

import argparse
import os

import numpy as np

import tideflow as flow
import tideflow.typing as tp

BATCH_SIZE = 100


def mlp(images, extra_layer: bool):
    """dense1 (512, relu) -> dense2 (10) [-> dense3 (10)], as in OneFlow's docs."""
    initializer = flow.truncated_normal(0.1)
    reshape = flow.reshape(images, [images.shape[0], -1])
    hidden = flow.layers.dense(reshape, 512, activation=flow.nn.relu,
                               kernel_initializer=initializer, name="dense1")
    logits = flow.layers.dense(hidden, 10, kernel_initializer=initializer, name="dense2")
    if extra_layer:
        logits = flow.layers.dense(logits, 10, kernel_initializer=initializer, name="dense3")
    return logits


def define_jobs(extra_layer: bool):
    """A train job and an eval job sharing the model's variables."""

    @flow.global_function(type="train")
    def train_job(
        images: tp.Numpy.Placeholder((BATCH_SIZE, 1, 28, 28), dtype=flow.float),
        labels: tp.Numpy.Placeholder((BATCH_SIZE,), dtype=flow.int32),
    ) -> tp.Numpy:
        with flow.scope.placement("cpu", "0:0"):
            logits = mlp(images, extra_layer)
            loss = flow.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)
        lr_scheduler = flow.optimizer.PiecewiseConstantScheduler([], [0.1])
        flow.optimizer.SGD(lr_scheduler, momentum=0).minimize(loss)
        return loss

    @flow.global_function(type="predict")
    def eval_job(
        images: tp.Numpy.Placeholder((BATCH_SIZE, 1, 28, 28), dtype=flow.float),
    ) -> tp.Numpy:
        with flow.scope.placement("cpu", "0:0"):
            return flow.math.argmax(mlp(images, extra_layer))

    return train_job, eval_job


def run_epoch(train_job, eval_job, data, limit: int) -> float:
    """Train one epoch (or ``limit`` steps), print losses, return the test accuracy."""
    (train_images, train_labels), (test_images, test_labels) = data
    for i, (images, labels) in enumerate(zip(train_images, train_labels, strict=True)):
        if limit and i == limit:
            break
        loss = train_job(images, labels)
        if i % 100 == 0:
            print(f"  step {i:4d}  loss {loss.mean():.4f}")
    correct = sum(int((eval_job(images) == labels).sum())
                  for images, labels in zip(test_images, test_labels, strict=True))
    return correct / test_labels.size


def main(argv: list[str] | None = None) -> tuple[float, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="train steps per phase (0: 600)")
    parser.add_argument("--dir", default=".", help="where the two checkpoints are saved")
    args = parser.parse_args(argv)
    data = flow.data.load_mnist(BATCH_SIZE, BATCH_SIZE)
    base_dir = os.path.join(args.dir, "mlp_models_1")
    ext_dir = os.path.join(args.dir, "mlp_ext_models_1")

    flow.clear_default_session()
    np.random.seed(0)
    train_job, eval_job = define_jobs(extra_layer=False)
    print("phase 1: dense1 + dense2")
    base_accuracy = run_epoch(train_job, eval_job, data, args.limit)
    flow.checkpoint.save(base_dir)
    print(f"  test accuracy {base_accuracy:.2%}; saved {base_dir}")

    flow.clear_default_session()
    np.random.seed(1)
    train_job, eval_job = define_jobs(extra_layer=True)
    initial = {name: blob.numpy() for name, blob in flow.get_all_variables().items()}
    checkpoint = flow.checkpoint.get(base_dir)
    flow.load_variables(checkpoint)
    now = flow.get_all_variables()
    loaded = sorted(name for name in initial if name in checkpoint)
    kept = sorted(name for name in initial if name not in checkpoint)
    assert all(np.array_equal(now[name].numpy(), initial[name]) for name in kept)
    print(f"phase 2: dense1 + dense2 + dense3; loaded {', '.join(loaded)}; "
          f"kept initial values: {', '.join(kept)}")
    ext_accuracy = run_epoch(train_job, eval_job, data, args.limit)
    flow.checkpoint.save(ext_dir)
    print(f"  test accuracy {ext_accuracy:.2%}; saved {ext_dir}")
    return base_accuracy, ext_accuracy


if __name__ == "__main__":
    main()
