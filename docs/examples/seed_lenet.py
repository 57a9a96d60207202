"""The brief's seed program: OneFlow LeNet training with only the import changed.

Originally ``import oneflow as flow`` / ``import oneflow.typing as tp``. It trains a few
steps on real MNIST with a GPU placement (which runs on the CPU, with one warning, on a
machine without a GPU) and prints the losses.
"""

import numpy as np

import tideflow as flow
import tideflow.typing as tp

BATCH_SIZE = 100


def lenet(data, train=False):
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


@flow.global_function(type="train")
def train_job(images: tp.Numpy.Placeholder((100, 1, 28, 28), dtype=flow.float),
              labels: tp.Numpy.Placeholder((100,), dtype=flow.int32)) -> tp.Numpy:
    with flow.scope.placement("gpu", "0:0"):
        logits = lenet(images, train=True)
        loss = flow.nn.sparse_softmax_cross_entropy_with_logits(labels, logits,
                                                                name="softmax_loss")
    lr = flow.optimizer.PiecewiseScalingScheduler(0.001, [30, 60, 90], 0.1)
    flow.optimizer.SGD(lr, momentum=0.9,
                       grad_clipping=flow.optimizer.grad_clipping.by_global_norm(1.0)
                       ).minimize(loss)
    return loss


def main(steps: int = 20) -> list:
    (train_images, train_labels), _ = flow.data.load_mnist(BATCH_SIZE, BATCH_SIZE)
    losses = []
    for i, (images, labels) in enumerate(zip(train_images, train_labels)):
        if i == steps:
            break
        loss = train_job(images, labels)
        losses.append(float(loss.mean()))
        if i % 5 == 0:
            print(i, losses[-1])
    return losses


if __name__ == "__main__":
    np.random.seed(0)
    main()
