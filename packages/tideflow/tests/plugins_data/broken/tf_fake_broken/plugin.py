# A fake plugin distribution for test_plugins.py (not a real package).
from tideflow.plugins import BackendSpec, KernelSpec, OpSpec, OptimizerSpec, SchedulerSpec, hookimpl  # noqa: F401

raise ImportError("fake broken plugin: no module named 'zzz_missing_dependency'")
