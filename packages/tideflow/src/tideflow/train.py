"""``flow.train``: OneFlow's older checkpoint API (``CheckPoint``, ``SimpleCheckPointManager``).

See :mod:`tideflow.legacy_checkpoint`; new programs use ``flow.checkpoint.save``/``get``
and ``flow.load_variables``.
"""

from __future__ import annotations

from tideflow.legacy_checkpoint import CheckPoint, SimpleCheckPointManager

__all__ = ["CheckPoint", "SimpleCheckPointManager"]
