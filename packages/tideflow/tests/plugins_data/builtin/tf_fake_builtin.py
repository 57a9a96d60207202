"""A stand-in for tideflow._builtin.plugin: a reference backend, two ops, a schedule."""
from tideflow.plugins import BackendSpec, OpSpec, SchedulerSpec, hookimpl


def always():
    return True, "always available"


def infer(attrs, *metas):
    return metas[0]


def reference(attrs, in_metas, out_metas):
    def run(ins, outs):
        outs[0][...] = ins[0]
    return run


class StepScheduler:
    pass


@hookimpl
def tideflow_backends():
    return [BackendSpec(name="numpy", device="cpu", priority=0, probe=always, reference=True)]


@hookimpl
def tideflow_ops():
    return [
        OpSpec(name="relu", infer=infer, reference=reference, grad="tf_fake_builtin:infer"),
        OpSpec(name="add", infer=infer, reference=reference),
    ]


@hookimpl
def tideflow_lr_schedulers():
    return [SchedulerSpec(name="core", classes={"StepScheduler": StepScheduler})]
