"""``flow.checkpoint``: save and read checkpoints in OneFlow's on-disk layout.

A checkpoint is a directory with one sub-directory per variable, holding ``out`` (the raw
bytes of the whole tensor, C order, little-endian) and ``meta`` (protobuf text: shape and
data type, see :mod:`tideflow.checkpoint_meta`), plus an empty file ``snapshot_done`` at the
top, written last (OneFlow v0.3.4 ``oneflow/python/framework/check_point_v2.py``).
Checkpoints written by OneFlow 0.3-0.5 load into tideflow and the reverse.

Differences from OneFlow, all on the side of safety:

- ``save`` writes into a temporary directory beside the target (``.<name>.tmp-<pid>-<hex>``),
  fsyncs every file, writes ``snapshot_done`` last and renames the directory into place, so
  ``path`` never holds a half-written checkpoint. Saving over an existing *checkpoint*
  replaces it atomically (OneFlow refuses any non-empty directory); a non-empty directory
  that is not a checkpoint, a file, or a symbolic link is refused. On any error the
  temporary directory is removed and an existing checkpoint is left as it was.
- ``get`` validates the whole checkpoint before returning: ``snapshot_done`` is present,
  every ``meta`` parses, every ``out`` has exactly the bytes its shape and type need, and no
  variable directory has a ``meta`` without its ``out``. Any problem raises
  :class:`~tideflow.errors.CheckpointError` naming the variable and the file.
- Variable names containing ``/`` (which OneFlow would save as nested directories that its
  own ``get`` cannot find) are refused, as are ``""``, ``"."``, ``".."`` and
  ``"snapshot_done"``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from tideflow import _checkpoint_fs as fs
from tideflow import session as _session
from tideflow.checkpoint_meta import MetaFormatError, format_meta, parse_meta
from tideflow.dtypes import DType, as_dtype
from tideflow.errors import CheckpointError

__all__ = ["FileBackendVariableBlob", "get", "load", "save", "save_object"]

DATA_FILENAME = "out"
META_FILENAME = "meta"
DONE_FILENAME = "snapshot_done"


def _nbytes(shape: tuple[int, ...], dtype: DType) -> int:
    return int(np.prod(shape, dtype=np.int64)) * dtype.np_dtype.itemsize


def _describe(shape: tuple[int, ...], dtype: DType) -> str:
    return f"{dtype.name}{list(shape)}"


class FileBackendVariableBlob:
    """One variable of a checkpoint on disk: ``.numpy()``, ``.shape``, ``.dtype``.

    A variable saved without ``meta`` (the legacy layout) has ``shape`` and ``dtype`` None
    until :func:`tideflow.load_variables` binds it to the variable it is loaded into, whose
    shape and dtype then give the expected size of ``out``.

    Attributes:
        name: the variable's name (its directory name).
        var_dir: the variable's directory.
        shape: its shape, or None for a meta-less variable.
        dtype: its data type, or None for a meta-less variable.
    """

    def __init__(self, var_dir: str, name: str, shape: tuple[int, ...] | None,
                 dtype: DType | None) -> None:
        self.var_dir = var_dir
        self.name = name
        self.shape = shape
        self.dtype = dtype

    @property
    def file_path(self) -> str:
        """Path of the ``out`` file holding the values."""
        return os.path.join(self.var_dir, DATA_FILENAME)

    @property
    def has_meta_info(self) -> bool:
        """Whether shape and dtype are known (from ``meta`` or by binding)."""
        return self.shape is not None

    def bind(self, shape: tuple[int, ...], dtype: DType) -> FileBackendVariableBlob:
        """Return this variable read as ``shape``/``dtype`` (for a meta-less variable).

        Raises:
            CheckpointError: ``out`` does not hold exactly the bytes they need.
        """
        blob = FileBackendVariableBlob(self.var_dir, self.name, tuple(shape), as_dtype(dtype))
        blob._check_size(os.path.getsize(blob.file_path), "has no meta file; the variable it "
                         f"is loaded into is {_describe(blob.shape, blob.dtype)}")
        return blob

    def _check_size(self, found: int, context: str = "") -> None:
        assert self.shape is not None and self.dtype is not None
        need = _nbytes(self.shape, self.dtype)
        if found != need:
            why = context or f"its meta says {_describe(self.shape, self.dtype)}"
            raise CheckpointError(
                f"checkpoint variable '{self.name}': {self.file_path} holds {found} bytes, but "
                f"{why}, which needs {need} bytes (truncated or corrupted checkpoint)")

    def numpy(self) -> np.ndarray:
        """Read the values (a new array, native byte order).

        Raises:
            CheckpointError: the variable has no meta information, or ``out`` changed size.
        """
        if self.shape is None or self.dtype is None:
            raise CheckpointError(
                f"checkpoint variable '{self.name}' has no meta file ({self.var_dir}); its "
                "shape and dtype are unknown. Load it with flow.load_variables, which takes "
                "them from the variable")
        stored = self.dtype.np_dtype.newbyteorder("<")
        count = int(np.prod(self.shape, dtype=np.int64))
        with open(self.file_path, "rb") as f:
            self._check_size(os.fstat(f.fileno()).st_size)
            arr = np.fromfile(f, dtype=stored, count=count)
        if arr.size != count:
            self._check_size(arr.nbytes)
        return arr.astype(self.dtype.np_dtype, copy=False).reshape(self.shape)

    def __repr__(self) -> str:
        what = _describe(self.shape, self.dtype) if self.dtype is not None else "no meta"
        return f"FileBackendVariableBlob({self.name!r}, {what}, {self.var_dir!r})"


def _read_variable(var_dir: str, name: str) -> FileBackendVariableBlob:
    meta_path = os.path.join(var_dir, META_FILENAME)
    blob = FileBackendVariableBlob(var_dir, name, None, None)
    if os.path.lexists(meta_path):
        try:
            with open(meta_path, encoding="utf-8") as f:
                blob.shape, blob.dtype = parse_meta(f.read())
        except (MetaFormatError, UnicodeDecodeError, OSError) as exc:
            raise CheckpointError(f"checkpoint variable '{name}': cannot read {meta_path}: "
                                  f"{exc}") from exc
        blob._check_size(os.path.getsize(blob.file_path))
    return blob


def _maybe_init_session() -> None:
    """Start the session like OneFlow does, when there is a job to build."""
    sess = _session.default_session()
    if sess.status == "open" and sess.jobs:
        sess.try_init()


def get(path: str | os.PathLike[str]) -> dict[str, FileBackendVariableBlob] | \
        FileBackendVariableBlob:
    """Read a checkpoint (OneFlow's ``flow.checkpoint.get``) after validating all of it.

    Args:
        path: a checkpoint directory, or one variable's directory (holding ``out``).

    Returns:
        ``{name: FileBackendVariableBlob}`` for every immediate sub-directory holding an
        ``out`` file (other entries are ignored), or one blob if ``path/out`` exists. Pass
        it to :func:`tideflow.load_variables`. Values are read from disk when used.

    Raises:
        CheckpointError: ``path`` is missing, ``snapshot_done`` is missing, a ``meta`` does
            not parse, an ``out`` has the wrong size, or a ``meta`` has no ``out``.

    Example:
        >>> flow.load_variables(flow.checkpoint.get("./lenet_models_1"))  # doctest: +SKIP
    """
    _maybe_init_session()
    path = os.fspath(path)
    if not os.path.isdir(path):
        what = "is not a directory" if os.path.lexists(path) else "does not exist"
        raise CheckpointError(f"checkpoint.get: '{path}' {what}; expected a checkpoint "
                              "directory written by flow.checkpoint.save")
    if os.path.isfile(os.path.join(path, DATA_FILENAME)):
        return _read_variable(path, os.path.basename(os.path.normpath(path)))
    if not os.path.isfile(os.path.join(path, DONE_FILENAME)):
        raise CheckpointError(
            f"checkpoint.get: '{path}' has no {DONE_FILENAME} file: the checkpoint is "
            "incomplete (its save was interrupted) or the directory is not a checkpoint")
    found = {}
    for entry in sorted(os.listdir(path)):
        var_dir = os.path.join(path, entry)
        if os.path.isfile(os.path.join(var_dir, DATA_FILENAME)):
            found[entry] = _read_variable(var_dir, entry)
        elif os.path.lexists(os.path.join(var_dir, META_FILENAME)):
            raise CheckpointError(f"checkpoint variable '{entry}': {var_dir} has a meta file "
                                  f"but no '{DATA_FILENAME}' file (corrupted checkpoint)")
    return found


def check_name(name: Any, caller: str) -> str:
    """Return ``name`` if it can be a checkpoint directory name, else raise CheckpointError."""
    bad = (not isinstance(name, str) or name in ("", ".", "..", DONE_FILENAME)
           or "/" in name or "\0" in name or (os.altsep is not None and os.altsep in name)
           or os.sep in name)
    if bad:
        raise CheckpointError(
            f"{caller}: variable name {name!r} cannot be a checkpoint directory (names must be "
            f"non-empty strings without '/', other than '.', '..' and '{DONE_FILENAME}'); "
            "rename the variable")
    return name


def _as_array(name: str, value: Any) -> tuple[np.ndarray, DType]:
    from tideflow.variable_io import VariableBlob

    if isinstance(value, VariableBlob):  # the live storage: no copy
        return np.asarray(value._array), value.dtype
    if isinstance(value, FileBackendVariableBlob):
        return value.numpy(), value.dtype  # type: ignore[return-value]
    if isinstance(value, np.ndarray):
        return value, as_dtype(value.dtype)
    if hasattr(value, "numpy") and callable(value.numpy):
        arr = np.asarray(value.numpy())
        return arr, as_dtype(getattr(value, "dtype", None) or arr.dtype)
    raise CheckpointError(f"checkpoint.save: value of '{name}' must be a numpy array or a "
                          f"blob with .numpy(); received {type(value).__name__}")


def save_variables(path: str | os.PathLike[str], var_dict: Mapping[str, Any] | None, *,
                   with_meta: bool = True, replace: bool = True,
                   caller: str = "checkpoint.save") -> None:
    """Write ``var_dict`` (default: every variable) to ``path`` atomically.

    Args:
        path: the checkpoint directory to create or replace.
        var_dict: name -> numpy array or blob; None means ``flow.get_all_variables()``.
        with_meta: write ``meta`` files (False: OneFlow's legacy layout, ``out`` only).
        replace: replace an existing checkpoint at ``path`` (False: ``path`` must be absent
            or an empty directory, as in OneFlow's legacy model I/O).
        caller: the API name used in error messages.
    """
    from tideflow.variable_io import get_all_variables

    if var_dict is None:
        var_dict = get_all_variables()
    else:
        _maybe_init_session()
    if not isinstance(var_dict, Mapping):
        raise CheckpointError(f"{caller}: var_dict must be a dict of name -> value; received "
                              f"{type(var_dict).__name__}")
    path = os.fspath(path)
    target = fs.check_target(path, replace, caller, DONE_FILENAME)
    sess = _session.default_session()
    with sess.lock:  # no job step runs while the values are written
        items = []
        for name, value in var_dict.items():
            check_name(name, caller)
            arr, dtype = _as_array(name, value)
            items.append((name, arr, dtype))
        with fs.staging_dir(target, caller) as tmp:
            for name, arr, dtype in items:
                var_dir = os.path.join(tmp, name)
                os.mkdir(var_dir)
                data = np.ascontiguousarray(arr, dtype=dtype.np_dtype.newbyteorder("<"))
                fs.write_file(os.path.join(var_dir, DATA_FILENAME), data.reshape(-1).view(np.uint8))
                if with_meta:
                    fs.write_file(os.path.join(var_dir, META_FILENAME),
                                  format_meta(tuple(arr.shape), dtype).encode())
                fs.fsync_dir(var_dir)
            fs.write_file(os.path.join(tmp, DONE_FILENAME), b"")
            fs.fsync_dir(tmp)


def save(path: str | os.PathLike[str], var_dict: Mapping[str, Any] | None = None) -> None:
    """Save variables to ``path`` in OneFlow's layout (OneFlow's ``flow.checkpoint.save``).

    Args:
        path: the checkpoint directory. Parent directories are created. An existing
            checkpoint there is replaced atomically; a file, a symbolic link, or a non-empty
            directory that is not a checkpoint is refused.
        var_dict: name -> numpy array or blob (``get_all_variables()`` values,
            ``checkpoint.get`` values). Default: every variable of every job, optimizer
            slots and train steps included, which starts the session if needed.

    Raises:
        CheckpointError: ``path`` cannot be replaced, or a name or value cannot be saved.
        OSError: writing failed; nothing was written at ``path``.

    Example:
        >>> flow.checkpoint.save("./lenet_models_1")  # doctest: +SKIP
    """
    save_variables(path, var_dict)


def load(path: str | os.PathLike[str]) -> dict[str, FileBackendVariableBlob] | \
        FileBackendVariableBlob:
    """OneFlow v0.4's ``flow.load(path)``: the same as :func:`get`."""
    return get(path)


def save_object(obj: Mapping[str, Any], save_dir: str | os.PathLike[str]) -> None:
    """OneFlow v0.4's ``flow.save(obj, save_dir)``: ``checkpoint.save(save_dir, obj)``."""
    save_variables(save_dir, obj, caller="flow.save")
