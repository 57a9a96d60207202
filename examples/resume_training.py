"""Stop and resume training exactly: the resumed run's losses continue the uninterrupted run's.

Three sessions train the same MLP on MNIST (SGD with momentum 0.9, a learning rate that
drops at two step boundaries, so the restored step counter matters):

1. an uninterrupted run of ``--steps`` steps, recording every loss;
2. a run that trains ``--save-at`` steps, saves a checkpoint (weights, momentum slots and
   the step counter ``System-Train-TrainStep-train_job``) and stops;
3. a fresh session, with other initial values, that loads the checkpoint and trains the
   remaining steps.

The losses of run 3 are compared with those of run 1 bit for bit.

Run: ``python examples/resume_training.py [--steps 300] [--save-at 120] [--dir DIR]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile

import numpy as np

import tideflow as flow
import tideflow.typing as tp

BATCH_SIZE = 100


def define_train_job(boundaries: list[int]):
    """Define the MLP train job (784 -> 256 relu -> 10) in the current session."""

    @flow.global_function(type="train")
    def train_job(
        images: tp.Numpy.Placeholder((BATCH_SIZE, 1, 28, 28), dtype=flow.float),
        labels: tp.Numpy.Placeholder((BATCH_SIZE,), dtype=flow.int32),
    ) -> tp.Numpy:
        with flow.scope.placement("cpu", "0:0"):
            init = flow.truncated_normal(0.1)
            reshape = flow.reshape(images, [images.shape[0], -1])
            hidden = flow.layers.dense(reshape, 256, activation=flow.nn.relu,
                                       kernel_initializer=init, name="dense1")
            logits = flow.layers.dense(hidden, 10, kernel_initializer=init, name="dense2")
            loss = flow.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)
        lr = flow.optimizer.PiecewiseScalingScheduler(0.05, boundaries, 0.3)
        flow.optimizer.SGD(lr, momentum=0.9).minimize(loss)
        return loss

    return train_job


def train(steps: range, batches, boundaries: list[int], seed: int,
          load_from: str | None = None, save_to: str | None = None) -> list[float]:
    """Train ``steps`` in a fresh session; optionally load before and save after."""
    flow.clear_default_session()
    np.random.seed(seed)  # initial values
    train_job = define_train_job(boundaries)
    if load_from is not None:
        flow.load_variables(flow.checkpoint.get(load_from))
    images, labels = batches
    losses = [float(train_job(images[i], labels[i]).mean()) for i in steps]
    if save_to is not None:
        flow.checkpoint.save(save_to)
    return losses


def main(argv: list[str] | None = None) -> bool:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="total training steps")
    parser.add_argument("--save-at", type=int, default=120, help="step at which to stop")
    parser.add_argument("--dir", default=None, help="checkpoint directory (default: temporary)")
    args = parser.parse_args(argv)
    if not 0 < args.save_at < args.steps <= 600:
        parser.error("need 0 < --save-at < --steps <= 600")
    (train_images, train_labels), _ = flow.data.load_mnist(BATCH_SIZE, BATCH_SIZE)
    batches = (train_images, train_labels)
    boundaries = [args.steps // 3, 2 * args.steps // 3]
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = args.dir or os.path.join(tmp, "resume_ckpt")
        full = train(range(args.steps), batches, boundaries, seed=0)
        first = train(range(args.save_at), batches, boundaries, seed=0, save_to=ckpt)
        print(f"stopped after {args.save_at} steps; checkpoint {ckpt}: "
              f"{len(flow.checkpoint.get(ckpt))} variables")
        rest = train(range(args.save_at, args.steps), batches, boundaries, seed=1,
                     load_from=ckpt)
    resumed = first + rest
    for i in range(max(0, args.save_at - 3), min(args.steps, args.save_at + 5)):
        mark = "  <- resumed here" if i == args.save_at else ""
        print(f"step {i:4d}  uninterrupted {full[i]:.8f}  stop+resume {resumed[i]:.8f}{mark}")
    exact = full == resumed
    print(f"losses after resuming continue exactly: {exact} "
          f"({args.steps - args.save_at} steps compared bit for bit)")
    return exact


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
