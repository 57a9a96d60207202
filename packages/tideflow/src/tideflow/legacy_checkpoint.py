"""``flow.train.CheckPoint`` and ``flow.train.SimpleCheckPointManager``: the older API.

As in OneFlow v0.3.4-v0.5 (``oneflow/python/framework/check_point.py``), what
:class:`CheckPoint` does depends on ``flow.config.enable_legacy_model_io``:

- **new model I/O** (the default): every method emits OneFlow's deprecation notice as a
  ``DeprecationWarning``; ``save(path)`` is ``flow.checkpoint.save(path)``, ``load(path)``
  is ``flow.load_variables(flow.checkpoint.get(path))`` and ``init()`` does nothing
  ("It has no effect"), because variables were initialized when the session started.
- **legacy model I/O** (``flow.config.enable_legacy_model_io(True)``): ``init()`` refills
  every variable from its initializer (with its own seed, so the values are those the
  session started with); ``save(path)`` writes only ``<path>/<var>/out`` and
  ``snapshot_done``, no ``meta``, into an absent or empty directory; ``load(path)`` reads
  ``out`` files with each variable's own shape and dtype (checking the size) and
  re-initializes a variable whose file is missing, with OneFlow's "WARNING! CANNOT find
  variable path in : <path>/<var>/out. It will be initialized." as a ``UserWarning``.

tideflow initializes variables when the session starts in both modes (OneFlow leaves them
uninitialized under legacy model I/O until ``init()`` or ``load()``); every save is atomic
and every load validates the whole checkpoint first (see :mod:`tideflow.checkpoint`).
"""

from __future__ import annotations

import datetime
import os
import warnings

from tideflow import checkpoint as _checkpoint
from tideflow import session as _session
from tideflow.errors import CheckpointError
from tideflow.variable_io import load_variables

__all__ = ["CheckPoint", "SimpleCheckPointManager"]

_NOTICES = {
    "save": "'checkpoint.save()' is deprecated. Please use the new checkpoint API",
    "init": "'checkpoint.init()' is deprecated. It has no effect and will be removed in the "
            "future",
    "load": "'checkpoint.load()' is deprecated. Please use the new checkpoint API",
}


def _legacy() -> bool:
    return _session.default_session().config.legacy_model_io


def _check_path(method: str, path: object) -> str:
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"CheckPoint.{method}: `path` must be a str; received {path!r}")
    return os.fspath(path)  # type: ignore[arg-type]


class CheckPoint:
    """Save, load or initialize every variable (OneFlow's ``flow.train.CheckPoint``).

    Example:
        >>> check_point = flow.train.CheckPoint()  # doctest: +SKIP
        >>> check_point.init()                     # doctest: +SKIP
        >>> check_point.save("./lenet_models_1")   # doctest: +SKIP
    """

    def save(self, path: str) -> None:
        """Save every variable to ``path`` (see the module docstring for both modes).

        Raises:
            CheckpointError: ``path`` cannot receive the checkpoint (nothing is written).
        """
        path = _check_path("save", path)
        if not _legacy():
            warnings.warn(_NOTICES["save"], DeprecationWarning, stacklevel=2)
            _checkpoint.save(path)
            return
        _checkpoint.save_variables(path, None, with_meta=False, replace=False,
                                   caller="CheckPoint.save")

    def init(self) -> None:
        """Legacy model I/O: refill every variable from its initializer; else do nothing."""
        sess = _session.default_session().try_init()
        if not _legacy():
            warnings.warn(_NOTICES["init"], DeprecationWarning, stacklevel=2)
            return
        with sess.lock:
            sess.variables.reinitialize()

    def load(self, path: str) -> None:
        """Load every variable found in ``path``; see the module docstring for both modes.

        Raises:
            CheckpointError: the checkpoint is incomplete or corrupted (nothing changes).
            ShapeError: a saved variable's shape or dtype differs (nothing changes).
        """
        path = _check_path("load", path)
        if not _legacy():
            warnings.warn(_NOTICES["load"], DeprecationWarning, stacklevel=2)
            load_variables(_checkpoint.get(path))
            return
        sess = _session.default_session().try_init()
        found = _checkpoint.get(path)
        if not isinstance(found, dict):
            found = {found.name: found}
        missing = [name for name in sess.variables.infos if name not in found]
        load_variables(found)  # validates everything before changing anything
        for name in missing:
            warnings.warn(f"WARNING! CANNOT find variable path in : "
                          f"{os.path.join(path, name, 'out')}. It will be initialized.",
                          UserWarning, stacklevel=2)
        with sess.lock:
            sess.variables.reinitialize(missing)


class SimpleCheckPointManager:
    """Keep timestamped checkpoints under one directory (``flow.train.SimpleCheckPointManager``).

    Checkpoints are named ``prefix + %Y%m%d_%H%M%S_%f``; only directories holding a
    ``snapshot_done`` file count, so an interrupted save is never picked up.

    Args:
        root_path: the directory holding the checkpoints (created if absent).
        prefix: name prefix of each checkpoint (default ``"snapshot_"``).

    Example:
        >>> manager = flow.train.SimpleCheckPointManager("./ckpts")  # doctest: +SKIP
        >>> manager.initialize_or_restore()                          # doctest: +SKIP
        >>> manager.save()                                           # doctest: +SKIP
    """

    def __init__(self, root_path: str, prefix: str = "snapshot_") -> None:
        root_path = os.fspath(root_path)
        if os.path.lexists(root_path) and not os.path.isdir(root_path):
            raise CheckpointError(
                f"SimpleCheckPointManager: root_path '{root_path}' exists and is not a "
                "directory")
        os.makedirs(root_path, exist_ok=True)
        self._root_path = root_path
        self._prefix = prefix
        self._checkpoint = CheckPoint()

    def list_checkpoints(self) -> list[str]:
        """Names of the complete checkpoints under ``root_path``, oldest first."""
        def done(name: str) -> bool:
            marker = os.path.join(self._root_path, name, _checkpoint.DONE_FILENAME)
            return name.startswith(self._prefix) and os.path.isfile(marker)

        return sorted(f for f in os.listdir(self._root_path) if done(f))

    def latest_checkpoint(self) -> str | None:
        """The newest checkpoint's name, or None."""
        names = self.list_checkpoints()
        return names[-1] if names else None

    def initialize_or_restore(self) -> None:
        """Load the newest checkpoint, or initialize and save a first one."""
        name = self.latest_checkpoint()
        if name:
            self._checkpoint.load(os.path.join(self._root_path, name))
        else:
            self._checkpoint.init()
            self.save()

    def save(self) -> None:
        """Save a new checkpoint named ``prefix`` + the current time."""
        name = self._prefix + datetime.datetime.now().strftime("%Y%m%d_%H%M%S_%f")
        self._checkpoint.save(os.path.join(self._root_path, name))
