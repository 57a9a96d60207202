"""Sample inputs for kernel conformance checks, one module per op area.

``SAMPLES[op](rng)`` returns ``(attrs, inputs, output metas)`` with float64 inputs of odd
sizes (the checks cast them to each dtype a kernel declares); ``ZERO_SIZE[op]`` is a sample
with empty arrays for the ops that allow them. Area modules override earlier entries.
"""

from __future__ import annotations

from tideflow.testing.samples import _base, elementwise, nn, structure, train
from tideflow.testing.samples._common import Sample, SampleFn, out_metas, sample

SAMPLES: dict[str, SampleFn] = {}
ZERO_SIZE: dict[str, SampleFn] = {}
for _module in (_base, elementwise, structure, nn, train):
    SAMPLES.update(_module.SAMPLES)
    ZERO_SIZE.update(_module.ZERO_SIZE)

__all__ = ["SAMPLES", "ZERO_SIZE", "Sample", "SampleFn", "out_metas", "sample"]
