"""Kernel samples of the nn ops (see :mod:`tideflow.testing.samples`).

One sample per op, so the layout variants are spread over the ops: ``conv2d`` is NCHW
with groups, dilation, strides and asymmetric pads (its gradient check runs both gradient
kernels with those attributes), ``conv2d_grad_data`` is NHWC with SAME-style pads, and
``conv2d_grad_filter`` is NHWC with groups and dilation; the pooling gradients are NHWC with
``ceil_mode``. Dropout samples use ``rate=0``: a drawn mask changes at every run, which a
finite-difference gradient check cannot follow, and rate 0 keeps every element.
"""

from __future__ import annotations

import numpy as np

from tideflow.testing.samples._common import SampleFn, _n, _pos, sample


def _conv(fmt: str, groups: int, strides: tuple, pads: tuple, dil: tuple) -> dict:
    return {"strides": strides, "pads": pads, "dilations": dil, "groups": groups,
            "data_format": fmt}


_CONV_NCHW = _conv("NCHW", 2, (1, 2), ((2, 1), (0, 1)), (2, 1))
_CONV_NHWC = _conv("NHWC", 1, (2, 2), ((1, 1), (1, 0)), (1, 1))
_CONV_NHWC_G = _conv("NHWC", 3, (1, 1), ((1, 0), (1, 2)), (1, 2))
_POOL_NHWC = {"ksize": (3, 2), "strides": (2, 1), "pads": ((1, 1), (0, 1)), "ceil_mode": True,
              "data_format": "NHWC"}
_BN = {"axis": 1, "epsilon": 1e-3}
_BN_LAST = {"axis": 2, "epsilon": 1e-3}


def _conv_data(rng: np.random.Generator) -> tuple:
    # x (2, 7, 6, 3) NHWC, w (5, 3, 2, 3): output (2, 4, 3, 5)
    attrs = {**_CONV_NHWC, "x_shape": (2, 7, 6, 3)}
    return sample("conv2d_grad_data", attrs, [_n(rng, 2, 4, 3, 5), _n(rng, 5, 3, 2, 3)])


def _conv_filter(rng: np.random.Generator) -> tuple:
    # x (2, 5, 7, 6) NHWC, w (9, 2, 3, 2), groups 3, dilation (1, 2): output (2, 5, 6, 9)
    attrs = {**_CONV_NHWC_G, "w_shape": (9, 2, 3, 2)}
    return sample("conv2d_grad_filter", attrs, [_n(rng, 2, 5, 6, 9), _n(rng, 2, 5, 7, 6)])


def _pool_grad(op: str, rng: np.random.Generator, n: int = 2) -> tuple:
    # x (n, 7, 5, 3) NHWC, window (3, 2), strides (2, 1), ceil: output (n, 4, 5, 3)
    attrs = {**_POOL_NHWC, "x_shape": (n, 7, 5, 3)}
    ins = [_n(rng, n, 4, 5, 3)]
    if op == "max_pool2d_grad":
        ins.append(rng.integers(0, 6, (n, 4, 5, 3)).astype(np.int32))
    return sample(op, attrs, ins)


def _moments_grad(rng: np.random.Generator, shape: tuple = (3, 4, 5)) -> tuple:
    kept = (1, shape[1], 1)
    return sample("moments_grad", {"axes": (0, 2), "has_dmean": True, "has_dvar": True},
                  [_n(rng, *shape), _n(rng, *kept), _n(rng, *kept), _n(rng, *kept)])


def _bn_train_grad(rng: np.random.Generator) -> tuple:
    x = _n(rng, 3, 5, 4) * 2 + 1
    mean = x.mean(axis=(0, 2))
    inv = 1 / np.sqrt(x.var(axis=(0, 2)) + 1e-3)
    return sample("batch_norm_train_grad", _BN,
                  [x, _n(rng, 5), mean, inv, _n(rng, 3, 5, 4)])


def _bn_infer(rng: np.random.Generator, n: int = 3) -> tuple:
    return sample("batch_norm_infer", _BN_LAST, [_n(rng, n, 4, 5), _n(rng, 5), _n(rng, 5),
                                                 _n(rng, 5), _pos(rng, 5)])


def _bn_infer_grad(rng: np.random.Generator, n: int = 3) -> tuple:
    return sample("batch_norm_infer_grad", _BN_LAST, [_n(rng, n, 4, 5), _n(rng, 5), _n(rng, 5),
                                                      _pos(rng, 5), _n(rng, n, 4, 5)])


def _dropout(rng: np.random.Generator, n: int = 3) -> tuple:
    return sample("dropout", {"rate": 0.0, "seed": 7, "noise_shape": (n, 1, 5) if n else None},
                  [_n(rng, n, 4, 5)])


def _dropout_grad(rng: np.random.Generator, n: int = 3) -> tuple:
    mask = (rng.random((n, 1, 5)) >= 0.4).astype(np.uint8)
    return sample("dropout_grad", {"rate": 0.4}, [_n(rng, n, 4, 5), mask])


#: op name -> ``fn(rng) -> (attrs, inputs, output metas)``: float64 inputs with odd sizes.
SAMPLES: dict[str, SampleFn] = {
    "conv2d": lambda rng: sample("conv2d", _CONV_NCHW, [_n(rng, 2, 4, 7, 6),
                                                        _n(rng, 6, 2, 3, 2)]),
    "conv2d_grad_data": _conv_data,
    "conv2d_grad_filter": _conv_filter,
    "bias_add_grad": lambda rng: sample("bias_add_grad", {"axis": 1}, [_n(rng, 7, 5)]),
    "max_pool2d_grad": lambda rng: _pool_grad("max_pool2d_grad", rng),
    "avg_pool2d_grad": lambda rng: _pool_grad("avg_pool2d_grad", rng),
    "moments": lambda rng: sample("moments", {"axes": (0, 2), "keepdims": True},
                                  [_n(rng, 3, 4, 5)]),
    "moments_grad": _moments_grad,
    "batch_norm_train": lambda rng: sample("batch_norm_train", _BN, [
        _n(rng, 3, 5, 4) * 2 + 1, _n(rng, 5), _n(rng, 5)]),
    "batch_norm_train_grad": _bn_train_grad,
    "batch_norm_infer": _bn_infer,
    "batch_norm_infer_grad": _bn_infer_grad,
    "assign_moving_average": lambda rng: sample("assign_moving_average", {"momentum": 0.9},
                                                [_n(rng, 3, 5), _n(rng, 3, 5)]),
    "dropout": _dropout,
    "dropout_grad": _dropout_grad,
}

#: op name -> a sample with empty arrays, for the ops that allow them.
ZERO_SIZE: dict[str, SampleFn] = {
    "bias_add_grad": lambda rng: sample("bias_add_grad", {"axis": 1}, [_n(rng, 0, 5, 3)]),
    "max_pool2d": lambda rng: sample("max_pool2d", {**_POOL_NHWC, "ceil_mode": False},
                                     [_n(rng, 0, 7, 5, 3)]),
    "avg_pool2d": lambda rng: sample("avg_pool2d", {**_POOL_NHWC, "ceil_mode": False},
                                     [_n(rng, 0, 7, 5, 3)]),
    "max_pool2d_grad": lambda rng: _pool_grad("max_pool2d_grad", rng, 0),
    "avg_pool2d_grad": lambda rng: _pool_grad("avg_pool2d_grad", rng, 0),
    "moments": lambda rng: sample("moments", {"axes": (0,), "keepdims": False},
                                  [_n(rng, 3, 0)]),
    "moments_grad": lambda rng: _moments_grad(rng, (3, 0, 5)),
    "batch_norm_infer": lambda rng: _bn_infer(rng, 0),
    "batch_norm_infer_grad": lambda rng: _bn_infer_grad(rng, 0),
    "assign_moving_average": lambda rng: sample("assign_moving_average", {"momentum": 0.9},
                                                [_n(rng, 0), _n(rng, 0)]),
    "dropout": lambda rng: _dropout(rng, 0),
    "dropout_grad": lambda rng: _dropout_grad(rng, 0),
}
