"""``python -m tideflow info --timings``: first-call and steady timings per CPU backend."""

from __future__ import annotations

from tideflow import info
from tideflow.plugins.registry import get_registry


def test_info_timings_measures_the_reference_job(capsys):
    assert info.main(["--timings"]) == 0
    out = capsys.readouterr().out
    assert "Compile timings (LeNet train step, batch 100" in out
    for name, spec in get_registry().backends.items():
        if spec.device == "cpu" and get_registry().backend_available(name)[0]:
            assert f"  {name}: lowering" in out, out
    assert "first run" in out and "steady run" in out and "not measured" not in out
