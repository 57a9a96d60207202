# A fake plugin distribution for test_plugins.py (not a real package).
from tideflow.plugins import BackendSpec, KernelSpec, OpSpec, OptimizerSpec, SchedulerSpec, hookimpl  # noqa: F401

@hookimpl
def tideflow_backends():
    return [
        BackendSpec(name="fastcpu", device="cpu", priority=10, probe="tf_fake_good.impl:ok"),
        BackendSpec(name="fakegpu", device="gpu", priority=5, probe="tf_fake_good.impl:no_gpu"),
        BackendSpec(name="raisy", device="gpu", priority=1, probe="tf_fake_good.impl:boom"),
    ]


@hookimpl
def tideflow_ops():
    return [OpSpec(name="fake_update", infer="tf_fake_good.impl:infer",
                   reference="tf_fake_good.impl:reference", stateful=True)]


@hookimpl
def tideflow_kernels():
    return [
        KernelSpec(op="relu", backend="fastcpu", impl="tf_fake_good.impl:relu_kernel"),
        KernelSpec(op="fake_update", backend="fastcpu", impl="tf_fake_good.impl:reference"),
        KernelSpec(op="fake_update", backend="fastcpu", impl="tf_fake_good.impl:reference",
                   variant="fused"),
    ]


@hookimpl
def tideflow_optimizers():
    return [OptimizerSpec(name="fakesgd", update_ops=("fake_update",),
                          classes={"FakeSGD": "tf_fake_good.impl:FakeSGD",
                                   "FakeMomentum": "tf_fake_good.impl:FakeMomentum"})]


@hookimpl
def tideflow_lr_schedulers():
    return [SchedulerSpec(name="fake", classes={"FakeDecay": "tf_fake_good.impl:FakeDecay"})]
