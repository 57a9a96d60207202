"""Which kernel module implements which op (light: no numba import).

Every kernel lives in ``tideflow_numba.kernels.<area>`` as a kernel factory named after its
op. :func:`tideflow_numba.plugin.tideflow_kernels` turns this table into records.
"""

from __future__ import annotations

#: area (module of :mod:`tideflow_numba.kernels`) -> op types it implements.
AREAS: dict[str, tuple[str, ...]] = {
    "elementwise": (
        "add", "subtract", "multiply", "divide", "maximum", "minimum", "minmax_grad_masks",
        "scalar_add", "scalar_mul", "negative", "add_n",
        "pow", "pow_grad", "scalar_pow", "scalar_rpow", "mod", "scalar_mod",
        "clip_by_value", "clip_by_value_grad",
        "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
    ),
    "unary": (
        "exp", "log", "sqrt", "rsqrt", "square", "abs", "sign", "reciprocal",
        "reciprocal_no_nan", "floor", "ceil", "round", "sin", "cos", "log1p", "expm1",
    ),
    "activation": (
        "relu", "relu_grad", "sigmoid", "sigmoid_grad", "tanh", "tanh_grad", "softmax",
        "softmax_grad", "log_softmax", "log_softmax_grad", "leaky_relu", "leaky_relu_grad",
        "relu6", "relu6_grad",
    ),
    "reduce": (
        "reduce_sum", "reduce_sum_to", "reduce_max", "reduce_min", "reduce_extremum_grad",
        "reduce_prod", "reduce_prod_grad", "reduce_any", "reduce_all", "reduce_logsumexp",
        "argmax", "argmin", "top_k",
    ),
    "array": (
        "reshape", "broadcast_to", "transpose", "concat", "split", "slice", "slice_grad",
        "cast", "constant", "constant_like", "identity", "copy", "where", "where_grad",
        "one_hot", "gather", "gather_grad",
    ),
    "linalg": ("matmul",),
    "loss": (
        "sparse_softmax_cross_entropy", "sparse_softmax_cross_entropy_grad",
        "softmax_cross_entropy", "softmax_cross_entropy_grad",
        "softmax_cross_entropy_label_grad", "sigmoid_cross_entropy",
        "sigmoid_cross_entropy_grad",
    ),
    "conv": ("conv2d", "conv2d_grad_data", "conv2d_grad_filter", "bias_add", "bias_add_grad"),
    "pool": ("max_pool2d", "max_pool2d_grad", "avg_pool2d", "avg_pool2d_grad"),
    "normalization": (
        "moments", "moments_grad", "batch_norm_train", "batch_norm_train_grad",
        "batch_norm_infer", "batch_norm_infer_grad", "assign_moving_average",
        "dropout", "dropout_grad",
    ),
    "train_ops": (
        "fill", "l1_l2_regularize", "clip_by_global_norm", "lr_schedule", "step_increment",
        "count_not_finite", "dynamic_loss_scale_schedule",
    ),
}

#: Ops whose outputs the lowering binds itself (placeholders, variables): no kernel runs.
BOUND = ("input", "variable")


def kernel_table() -> list[tuple[str, str]]:
    """``(op, "module:factory")`` for every kernel of the backend, in catalog order."""
    return [(op, f"tideflow_numba.kernels.{area}:{op}")
            for area, ops in AREAS.items() for op in ops]
