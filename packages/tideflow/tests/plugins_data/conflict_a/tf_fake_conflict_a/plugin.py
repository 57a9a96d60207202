# A fake plugin distribution for test_plugins.py (not a real package).
from tideflow.plugins import BackendSpec, KernelSpec, OpSpec, OptimizerSpec, SchedulerSpec, hookimpl  # noqa: F401

class Clash:
    pass


@hookimpl
def tideflow_optimizers():
    return [OptimizerSpec(name="clasha",
                          classes={"Clash": "tf_fake_conflict_a.plugin:Clash"})]
