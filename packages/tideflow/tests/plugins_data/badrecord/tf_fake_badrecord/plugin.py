# A fake plugin distribution for test_plugins.py (not a real package).
from tideflow.plugins import BackendSpec, KernelSpec, OpSpec, OptimizerSpec, SchedulerSpec, hookimpl  # noqa: F401

@hookimpl
def tideflow_backends():
    return [BackendSpec(name="lost", device="cpu", priority=99, probe="os:getcwd")]


@hookimpl
def tideflow_ops():
    return [{"name": "not_a_record"}]
