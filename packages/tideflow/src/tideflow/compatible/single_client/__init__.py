"""``tideflow.compatible.single_client`` is ``tideflow`` itself (OneFlow v0.5's path).

Programs written as ``from oneflow.compatible import single_client as flow`` and
``from oneflow.compatible.single_client import typing as tp`` run with ``oneflow`` replaced
by ``tideflow``.
"""

import sys

import tideflow

sys.modules[__name__] = tideflow
