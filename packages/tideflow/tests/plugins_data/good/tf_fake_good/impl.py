"""Implementations named by tf_fake_good.plugin; imported only on use."""

PROBES = {"ok": 0}


def ok():
    PROBES["ok"] += 1
    return True, "fake cpu is always there"


def no_gpu():
    return False, "no fake device visible"


def boom():
    raise RuntimeError("fake probe exploded")


def infer(attrs, *metas):
    return metas[0]


def reference(attrs, in_metas, out_metas):
    def run(ins, outs):
        outs[0][...] = ins[0]
    return run


def relu_kernel(attrs, in_metas, out_metas):
    return reference(attrs, in_metas, out_metas)


class FakeSGD:
    pass


class FakeMomentum(FakeSGD):
    pass


class FakeDecay:
    pass
