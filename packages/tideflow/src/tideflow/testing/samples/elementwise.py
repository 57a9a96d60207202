"""Kernel samples of the elementwise ops (see :mod:`tideflow.testing.samples`)."""

from __future__ import annotations

from tideflow.testing.samples._common import SampleFn

#: op name -> ``fn(rng) -> (attrs, inputs, output metas)``: float64 inputs with odd sizes.
SAMPLES: dict[str, SampleFn] = {}

#: op name -> a sample with empty arrays, for the ops that allow them.
ZERO_SIZE: dict[str, SampleFn] = {}
