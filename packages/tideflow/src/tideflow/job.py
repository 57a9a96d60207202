"""``@flow.global_function``: job registration, tracing, and calls.

Decorating registers a :class:`JobFunction` with the default session. The first call of any
job builds all of them (:func:`compile_all`): each body runs once on placeholder blobs, train
jobs get their backward and update ops, variables get storage, and every job is lowered to
a flat plan. A call then validates its arguments, copies them into the feed buffers, runs
the plan and converts the fetched buffers per the return annotation.
"""

from __future__ import annotations

import functools
import inspect
import typing as _t
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tideflow import session as _session
from tideflow import typing as tp
from tideflow.compiler.amp import auto_mixed_precision
from tideflow.compiler.fuse_updates import fuse_updates
from tideflow.compiler.lower import lower
from tideflow.errors import FeedError, FeedTypeError, JobDefinitionError
from tideflow.framework import build, results
from tideflow.framework.blob import Blob
from tideflow.framework.graph import Graph
from tideflow.function_config import FunctionConfig
from tideflow.runtime.backend import Backend
from tideflow.runtime.plan import Plan
from tideflow.runtime.select import select_backends

JOB_TYPES = ("train", "predict")
_ALIASES = {"test": "predict"}


@dataclass
class Param:
    """One job parameter: its name and placeholder class(es)."""

    name: str
    defs: list[type]
    is_tuple: bool


@dataclass
class CompiledJob:
    """A built job: its plan, how to feed it, and how to convert its results.

    Attributes:
        plan: the flat plan.
        params: the job's parameters (placeholder classes).
        recipe: how fetched buffers become the annotated result.
        watches: (value id, handler) pairs called after each run.
        flat_grads: dtype name -> flat gradient buffer laid out like the session's flat
            parameter buffer of that dtype (train jobs; each variable's gradient is a view).
    """

    plan: Plan
    params: list[Param]
    recipe: Any
    watches: list[tuple[int, Callable[..., Any]]] = field(default_factory=list)
    flat_grads: dict[str, Any] = field(default_factory=dict)


class JobFunction:
    """The callable that ``@flow.global_function`` returns."""

    def __init__(self, fn: Callable[..., Any], job_type: str, config: FunctionConfig) -> None:
        self.fn = fn
        self.name = fn.__name__
        self.type = job_type
        self.config = config.clone()
        sig = inspect.signature(fn, eval_str=True)
        self.params = _check_params(self.name, sig)
        self.return_annotation = sig.return_annotation
        results.check_annotation(self.return_annotation, f"job '{self.name}'")
        self.session = _session.default_session()
        self.session.add_job(self)
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run one step: check and feed ``args``, run the plan, convert the results."""
        if kwargs:
            raise TypeError(
                f"job '{self.name}' takes positional arguments only; received keyword "
                f"arguments {sorted(kwargs)}"
            )
        if self.session is not _session.default_session():
            raise _session.SessionStateError(
                f"job '{self.name}' belongs to a session cleared by "
                "flow.clear_default_session(); decorate it again after clearing"
            )
        with self.session.lock:  # one step at a time: jobs share variables and buffers
            compiled = self.session.try_init().compiled[self.name]
            _feed(self.name, compiled, args)
            compiled.plan.run()
            for value, handler in compiled.watches:
                handler(compiled.plan.watched[value])
            fetched = [np.array(b) for b in compiled.plan.fetches]
        out = results.rebuild(compiled.recipe, fetched)
        ann = self.return_annotation
        if _t.get_origin(ann) is tp.Callback:
            return lambda callback: callback(out)
        if ann is inspect.Signature.empty:
            return Future(out)
        return out


class Future:
    """Result of a job without a return annotation: ``.get()`` and ``.async_get(cb)``."""

    def __init__(self, value: Any) -> None:
        self._value = value

    def get(self) -> Any:
        """Return the results (each leaf has ``.numpy()``)."""
        return self._value

    def async_get(self, callback: Callable[[Any], None]) -> None:
        """Call ``callback`` with the results once they are ready."""
        callback(self._value)


def global_function(type: Any = "predict", function_config: FunctionConfig | None = None
                    ) -> Callable[[Callable[..., Any]], JobFunction]:  # noqa: A002
    """Decorate a job function: ``@flow.global_function(type="train", function_config=cfg)``.

    ``type`` is ``"train"`` or ``"predict"`` (``"test"`` is accepted as an alias of
    ``"predict"``). The deprecated form ``global_function(cfg)`` is accepted with a warning.

    Raises:
        ValueError: ``type`` is not an allowed value.
    """
    if isinstance(type, FunctionConfig):
        warnings.warn("global_function(function_config) is deprecated; use "
                      "global_function(type=..., function_config=...)", DeprecationWarning,
                      stacklevel=2)
        legacy = type
        train_options = any(k.startswith("train.") for k in legacy.options)
        type, function_config = ("train" if train_options else "predict"), legacy
    job_type = _ALIASES.get(type, type)
    if job_type not in JOB_TYPES:
        raise ValueError(
            f"global_function: type must be one of 'train', 'predict' (or 'test', an alias "
            f"of 'predict'); received type={type!r}"
        )
    config = function_config if function_config is not None else FunctionConfig()
    if not isinstance(config, FunctionConfig):
        raise TypeError(f"global_function: function_config must come from "
                        f"flow.function_config(); received {config!r}")

    def decorate(fn: Callable[..., Any]) -> JobFunction:
        return JobFunction(fn, job_type, config)

    return decorate


def _check_params(name: str, sig: inspect.Signature) -> list[Param]:
    params = []
    for p in sig.parameters.values():
        if p.annotation is p.empty and tp.is_placeholder(p.default):
            warnings.warn(f"job '{name}': a FixedTensorDef/MirroredTensorDef default for "
                          f"'{p.name}' is deprecated; annotate it with "
                          "tp.Numpy.Placeholder(...)", DeprecationWarning, stacklevel=4)
            p = p.replace(annotation=p.default)
        if p.kind != p.POSITIONAL_OR_KEYWORD:
            raise JobDefinitionError(f"job '{name}': parameter '{p.name}' must be a plain "
                                     "positional parameter (no *args, **kwargs or keyword-only)")
        ann = p.annotation
        if tp.is_placeholder(ann):
            params.append(Param(p.name, [ann], False))
        elif _t.get_origin(ann) is tuple and all(tp.is_placeholder(a) for a in _t.get_args(ann)):
            params.append(Param(p.name, list(_t.get_args(ann)), True))
        else:
            raise JobDefinitionError(
                f"job '{name}': parameter '{p.name}' must be annotated with "
                f"tp.Numpy.Placeholder(...) or tp.ListNumpy.Placeholder(...); received {ann!r}"
            )
    return params


def _check_one(job: str, label: str, d: type, arg: Any) -> np.ndarray:
    if d.mirrored:
        if not isinstance(arg, list | tuple) or len(arg) != 1:
            raise FeedError(f"job '{job}': argument '{label}' is mirrored; expected a list "
                            f"with one array per device (1 device); received {type(arg).__name__}"
                            f"{'' if not isinstance(arg, list | tuple) else f' of {len(arg)}'}")
        arg = arg[0]
    if not isinstance(arg, np.ndarray):
        raise FeedTypeError(f"job '{job}': argument '{label}' must be a numpy.ndarray; "
                            f"received {type(arg).__name__}")
    if arg.shape != d.shape:
        raise FeedError(f"job '{job}': argument '{label}' must have shape {d.shape}; "
                        f"received shape {arg.shape}")
    if arg.dtype != d.dtype.np_dtype:
        raise FeedTypeError(f"job '{job}': argument '{label}' must have dtype "
                            f"{d.dtype.name}; received {arg.dtype} (tideflow does not cast "
                            f"silently: use arg.astype(np.{d.dtype.name}))")
    return arg


def _feed(job: str, compiled: CompiledJob, args: tuple[Any, ...]) -> None:
    """Check every argument, then copy them all into the feed buffers."""
    if len(args) != len(compiled.params):
        raise FeedError(f"job '{job}' takes {len(compiled.params)} arguments "
                        f"({', '.join(p.name for p in compiled.params)}); received {len(args)}")
    arrays = []
    for p, arg in zip(compiled.params, args, strict=True):
        if p.is_tuple:
            if not isinstance(arg, tuple) or len(arg) != len(p.defs):
                raise FeedError(f"job '{job}': argument '{p.name}' must be a tuple of "
                                f"{len(p.defs)} arrays; received {type(arg).__name__}")
            arrays += [_check_one(job, f"{p.name}[{i}]", d, a)
                       for i, (d, a) in enumerate(zip(p.defs, arg, strict=True))]
        else:
            arrays.append(_check_one(job, p.name, p.defs[0], arg))
    for buf, a in zip(compiled.plan.feeds, arrays, strict=True):
        np.copyto(buf, a)


# ------------------------------------------------------------------------ building


@dataclass
class Trace:
    """A traced job before lowering."""

    job: JobFunction
    ctx: build.BuildContext
    feed: list[int]
    fetch: list[int]
    recipe: Any
    watches: list[tuple[int, Callable[..., Any]]]


def _default_device(job: JobFunction, session: _session.Session) -> str:
    scope = job.config.get("default_placement_scope")
    if scope is not None:
        return scope.device_tag
    return "gpu" if session.config.gpu_device_num > 0 else "cpu"


def trace(job: JobFunction, session: _session.Session) -> Trace:
    """Run the job body once on placeholders and record its graph."""
    from tideflow.compiler.train import build_train

    ctx = build.BuildContext(Graph(), job.name, job.type == "train",
                             _default_device(job, session), session=session)
    view = job.config.get("default_logical_view") or job.config.get("default_distribute_strategy")
    ctx.extras["default_view"] = view.kind if view is not None else "consistent"
    ctx.extras["default_initializer"] = job.config.get("default_initializer_conf")
    ctx.extras["config"] = job.config
    with build.building(ctx):
        feeds: list[Blob] = []
        args = []
        for p in job.params:
            blobs = [build.add_op("input", [], {"shape": d.shape, "dtype": d.dtype},
                                  name=p.name if not p.is_tuple else f"{p.name}_{i}")
                     for i, d in enumerate(p.defs)]
            feeds += blobs
            args.append(tuple(blobs) if p.is_tuple else blobs[0])
        result = job.fn(*args)
        blobs, recipe = results.flatten(job.return_annotation, result, f"job '{job.name}'")
        fetch = [_detach(b) for b in blobs]
        if job.type == "train":
            build_train(ctx)
        elif "train_conf" in ctx.extras:
            raise JobDefinitionError(
                f"job '{job.name}' is a predict job but calls optimizer.minimize(); declare "
                "it with @flow.global_function(type=\"train\")"
            )
    watches = [(w.value, h) for w, h in ctx.extras.get("watch_values", [])]
    return Trace(job, ctx, [b.value for b in feeds], fetch, recipe, watches)


def _detach(b: Blob) -> int:
    """Fetch a copy of variables, so results show the value the forward pass read."""
    node = b.graph.nodes[b.graph.producer[b.value]]
    if node.type == "variable":
        return build.add_op("copy", [b], {}, name=f"{b.op_name}-fetch").value
    return b.value


def compile_all(session: _session.Session) -> dict[str, CompiledJob]:
    """Build, initialize and lower every job of ``session``."""
    traces = [trace(job, session) for job in session.jobs.values()]
    used = {n.device for t in traces for n in t.ctx.graph.nodes}
    specs = select_backends(session, used)
    session.variables.materialize()
    compiled = {}
    for t in traces:
        allow = bool(t.job.config.get("allow_reference_fallback", False))
        backends = {tag: Backend(spec, allow) for tag, spec in specs.items()}
        graph = t.ctx.graph
        bound = {n.outputs[0]: session.variables.arrays[n.attrs["var_name"]]
                 for n in graph.nodes if n.type == "variable"}
        if t.job.config.get("enable_auto_mixed_precision", False):
            auto_mixed_precision(graph, backends, t.job.name)
        spans, fused_grads = fuse_updates(graph, t.ctx.extras.get("update_groups", []),
                                          session.variables, backends)
        grad_values = dict(t.ctx.extras.get("grad_values", {}))
        grad_values.update({name: v for v, name in fused_grads.items()})
        flat_grads = _bind_flat_grads(session, grad_values, bound)
        for value, key, start, size in spans:
            source = flat_grads[key[1]] if key[0] == "grad" else session.variables.flat[key]
            bound[value] = source[start:start + size]
        keep = {v for v, _ in t.watches} | set(fused_grads)
        plan = lower(graph, backends, bound, t.fetch, t.feed, keep)
        compiled[t.job.name] = CompiledJob(plan, t.job.params, t.recipe, t.watches, flat_grads)
    return compiled


def _bind_flat_grads(session: _session.Session, grad_values: dict[str, int],
                     bound: dict[int, Any]) -> dict[str, Any]:
    """Give each variable's final gradient a view of a flat buffer shaped like its params."""
    store = session.variables
    flats: dict[str, Any] = {}
    for name, value in grad_values.items():
        info = store.infos[name]
        key = (info.group, info.dtype.name)
        if info.group != "param" or key not in store.flat or value in bound:
            continue
        flat = flats.get(info.dtype.name)
        if flat is None:
            flat = flats[info.dtype.name] = np.zeros_like(store.flat[key])
        start, n = store.offsets[name]
        bound[value] = flat[start:start + n].reshape(info.shape)
    return flats
