"""``flow.math``: elementwise arithmetic, unary functions, comparisons and reductions."""

from tideflow.ops.activation import relu, sigmoid, tanh  # noqa: F401
from tideflow.ops.math import (  # noqa: F401
    add,
    add_n,
    broadcast_to,
    divide,
    maximum,
    minimum,
    multiply,
    negative,
    reduce_mean,
    reduce_sum,
    scalar_mul,
    subtract,
)
from tideflow.ops.math_unary import *  # noqa: F403
from tideflow.ops.reduce import *  # noqa: F403
