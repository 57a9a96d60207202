"""``flow.losses``: the pre-v0.3 ``add_loss`` (use ``optimizer.minimize`` in new code)."""

from tideflow.optimizer.legacy import add_loss

__all__ = ["add_loss"]
