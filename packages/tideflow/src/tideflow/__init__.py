"""tideflow: run OneFlow legacy-API (``@flow.global_function``) programs.

Change ``import oneflow as flow`` to ``import tideflow as flow`` and ``oneflow.typing`` to
``tideflow.typing``; the rest of the program stays as it is.
"""

from __future__ import annotations

import warnings as _warnings
from typing import Any

from tideflow import (
    checkpoint,
    config,
    data,
    distribute,
    dtypes,
    env,
    initializers,
    layers,
    losses,
    math,
    nn,
    optimizer,
    regularizers,
    scope,
    train,
    typing,
)
from tideflow.checkpoint import load
from tideflow.checkpoint import save_object as save
from tideflow.dtypes import (
    char,
    double,
    float,
    float16,
    float32,
    float64,
    int8,
    int32,
    int64,
    uint8,
)
from tideflow.errors import TideflowError
from tideflow.function_config import ExecutionConfig, FunctionConfig, function_config
from tideflow.initializers import *  # noqa: F403
from tideflow.job import global_function
from tideflow.ops.array import *  # noqa: F403
from tideflow.ops.linalg import matmul
from tideflow.session import clear_default_session, sync_default_session
from tideflow.typing import FixedTensorDef, MirroredTensorDef
from tideflow.variable_io import get_all_variables, load_variables
from tideflow.variables import get_variable
from tideflow.watch import watch, watch_diff

__version__ = "0.1.0"


def name_scope(name: str) -> Any:
    """Deprecated alias of ``flow.scope.namespace``."""
    _warnings.warn("flow.name_scope is deprecated; use flow.scope.namespace", DeprecationWarning,
                   stacklevel=2)
    return scope.namespace(name)


class _FunctionDesc:
    """What layers ask about the job being built."""

    def __init__(self, trainable: bool) -> None:
        self._trainable = trainable

    def IsTrainable(self) -> bool:  # noqa: N802 - OneFlow's name
        """Whether the job being built is a train job."""
        return self._trainable


def current_global_function_desc() -> _FunctionDesc:
    """Describe the job being built (``.IsTrainable()``)."""
    from tideflow.framework import build

    return _FunctionDesc(build.current().trainable)


def enable_eager_execution(val: bool = True) -> None:
    """Eager mode is not supported; ``enable_eager_execution(False)`` is accepted."""
    if val:
        raise TideflowError("eager execution is not supported by tideflow; use "
                            "@flow.global_function jobs (lazy mode)")


__all__ = [
    "FixedTensorDef", "MirroredTensorDef",
    "char", "checkpoint", "clear_default_session", "config", "current_global_function_desc", "data",
    "distribute", "double", "dtypes", "enable_eager_execution", "env", "ExecutionConfig",
    "float", "float16", "float32", "float64", "function_config", "FunctionConfig",
    "get_all_variables", "get_variable", "global_function", "initializers", "int32", "int64",
    "int8", "layers", "load", "load_variables", "losses", "math", "matmul", "name_scope", "nn",
    "optimizer", "regularizers", "save", "scope", "sync_default_session", "TideflowError",
    "train", "typing",
    "uint8", "watch", "watch_diff",
]
