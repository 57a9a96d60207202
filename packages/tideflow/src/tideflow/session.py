"""The default session: registered jobs, configuration, variables and compiled plans.

Importing tideflow opens a session. The first job call (or variable/checkpoint call) builds
every registered job, initializes variables and lowers each job to a plan; after that the
configuration is frozen and defining jobs is an error. A failed build leaves the session
open and unchanged, so nothing is half-registered.
"""

from __future__ import annotations

import atexit
import threading
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tideflow.errors import SessionStateError
from tideflow.variables import VariableStore

if TYPE_CHECKING:
    from tideflow.job import CompiledJob, JobFunction


@dataclass
class SessionConfig:
    """Resources and switches set through ``flow.config`` before the first job call."""

    cpu_device_num: int = 1
    gpu_device_num: int = 0
    machine_num: int = 1
    legacy_model_io: bool = False
    debug_mode: bool = False
    backends: dict[str, str | None] = field(default_factory=lambda: {"cpu": None, "gpu": None})


class Session:
    """Jobs, variables and plans of one tideflow program."""

    def __init__(self) -> None:
        self.status = "open"
        self.config = SessionConfig()
        self.jobs: dict[str, JobFunction] = {}
        self.variables = VariableStore()
        self.compiled: dict[str, CompiledJob] = {}
        self.lock = threading.RLock()

    @property
    def running(self) -> bool:
        """Whether the session has been initialized."""
        return self.status == "running"

    def add_job(self, job: JobFunction) -> None:
        """Register ``job``; a later job of the same name replaces it (as in OneFlow)."""
        if self.status != "open":
            raise SessionStateError(
                f"cannot define job '{job.name}': the session is already running (a job was "
                "called or variables were used). Define every job before the first call, or "
                "call flow.clear_default_session() first"
            )
        self.jobs[job.name] = job

    def try_init(self) -> Session:
        """Initialize the session if it is not running yet."""
        if self.status == "closed":
            raise SessionStateError(
                "this session was cleared by flow.clear_default_session(); re-decorate the job "
                "functions after clearing"
            )
        if self.status == "open":
            self._init()
        return self

    def _init(self) -> None:
        from tideflow.job import compile_all

        if not self.jobs:
            raise SessionStateError("no job is defined: decorate a function with "
                                    "@flow.global_function before calling it")
        try:
            self.compiled = compile_all(self)
        except BaseException:
            self.variables = VariableStore()
            self.compiled = {}
            raise
        self.status = "running"

    def sync(self) -> None:
        """Wait for every launched job (calls run synchronously, so nothing is pending)."""

    def close(self) -> None:
        """Close the session; its jobs can no longer be called."""
        self.sync()
        self.status = "closed"


_default = Session()


def default_session() -> Session:
    """Return the current default session."""
    return _default


def clear_default_session() -> None:
    """Close the default session and open a fresh, unconfigured one."""
    global _default
    _default.close()
    _default = Session()


def sync_default_session() -> None:
    """Block until every launched job and its callbacks have finished."""
    _default.sync()


def config_frozen(what: str) -> bool:
    """Warn and return True when ``flow.config`` is used after the session started."""
    if _default.running:
        warnings.warn(f"flow.config.{what}: nothing happened because the session is running",
                      stacklevel=3)
        return True
    return False


atexit.register(sync_default_session)
