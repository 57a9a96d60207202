# A fake plugin distribution for test_plugins.py (not a real package).
from tideflow.plugins import BackendSpec, KernelSpec, OpSpec, OptimizerSpec, SchedulerSpec, hookimpl  # noqa: F401

class FastSGD:
    pass


def fast_relu(attrs, in_metas, out_metas):
    raise NotImplementedError


@hookimpl
def tideflow_optimizers():
    return [OptimizerSpec(name="fastsgd", replaces=True,
                          classes={"FakeSGD": "tf_fake_replacer.plugin:FastSGD"})]


@hookimpl
def tideflow_kernels():
    return [KernelSpec(op="relu", backend="fastcpu", impl="tf_fake_replacer.plugin:fast_relu",
                       replaces=True)]
