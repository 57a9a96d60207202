"""``flow.nn``: convolution, pooling, activations, dropout, losses and normalization."""

from tideflow.ops.activation import *  # noqa: F403
from tideflow.ops.conv import *  # noqa: F403
from tideflow.ops.dropout import *  # noqa: F403
from tideflow.ops.loss import *  # noqa: F403
from tideflow.ops.normalization import *  # noqa: F403
from tideflow.ops.pool import *  # noqa: F403
