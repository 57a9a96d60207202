"""File-system steps of an atomic checkpoint save.

The checkpoint is written into a temporary directory beside the target (same parent, so the
final rename stays on one file system), every file and directory is fsynced, and the
directory is renamed into place. An existing checkpoint is swapped with the new one in a
single ``renameat2(RENAME_EXCHANGE)`` on Linux, so the target path always shows a complete
checkpoint; where that call is unavailable, the old checkpoint is renamed aside, the new one
renamed in (the old one renamed back if that fails), and the old one removed.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import secrets
import shutil
import sys
from collections.abc import Iterator

import numpy as np

from tideflow.errors import CheckpointError

_CHECKPOINT_FILES = frozenset({"out", "meta"})


def looks_like_checkpoint(path: str, done_name: str) -> bool:
    """Whether ``path`` holds ``done_name`` and otherwise only variable directories."""
    entries = os.listdir(path)
    if done_name not in entries:
        return False
    for entry in entries:
        full = os.path.join(path, entry)
        if entry == done_name:
            if not os.path.isfile(full):
                return False
        elif os.path.islink(full) or not os.path.isdir(full) or \
                not set(os.listdir(full)) <= _CHECKPOINT_FILES:
            return False
    return True


def check_target(path: str, replace: bool, caller: str, done_name: str) -> str:
    """Return the absolute target path after checking it may receive a checkpoint.

    Raises:
        CheckpointError: ``path`` is a file or a symbolic link, or a non-empty directory
            that may not be replaced.
    """
    target = os.path.abspath(path)
    if os.path.islink(target):
        raise CheckpointError(f"{caller}: '{path}' is a symbolic link; give the directory "
                              "itself")
    if os.path.lexists(target) and not os.path.isdir(target):
        raise CheckpointError(f"{caller}: '{path}' is a file; a directory path (absent, empty, "
                              "or an existing checkpoint) should be given")
    if os.path.isdir(target) and os.listdir(target):
        if not replace:
            raise CheckpointError(f"{caller}: '{path}' is a non-empty directory; the legacy "
                                  "model I/O saves only into an empty or absent directory")
        if not looks_like_checkpoint(target, done_name):
            raise CheckpointError(
                f"{caller}: '{path}' is a non-empty directory that is not a checkpoint (it "
                f"needs {done_name} and only variable directories); refusing to replace it. "
                "Give another path or remove the directory")
    return target


def _fresh_name(parent: str, name: str, kind: str) -> str:
    return os.path.join(parent, f".{name}.{kind}-{os.getpid()}-{secrets.token_hex(4)}")


def write_file(path: str, data: bytes | np.ndarray) -> None:
    """Write ``data`` to a new file and fsync it."""
    with open(path, "xb") as f:
        f.write(memoryview(data))
        f.flush()
        os.fsync(f.fileno())


def fsync_dir(path: str) -> None:
    """Flush a directory's entries to disk where the platform allows it."""
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as exc:  # some file systems cannot fsync directories
        if exc.errno not in (errno.EINVAL, errno.EBADF, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


_RENAMEAT2 = None


def exchange(a: str, b: str) -> bool:
    """Swap directories ``a`` and ``b`` atomically; False where the OS cannot."""
    global _RENAMEAT2
    if not sys.platform.startswith("linux"):
        return False
    if _RENAMEAT2 is None:
        try:
            _RENAMEAT2 = ctypes.CDLL(None, use_errno=True).renameat2
        except (OSError, AttributeError):
            _RENAMEAT2 = False
    if not _RENAMEAT2:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if _RENAMEAT2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), b)


def put_in_place(tmp: str, target: str) -> None:
    """Rename the complete directory ``tmp`` to ``target``, replacing what is there."""
    if not os.path.lexists(target):
        os.replace(tmp, target)
    elif not os.listdir(target):
        if os.name != "posix":
            os.rmdir(target)
        os.replace(tmp, target)  # POSIX: a rename onto an empty directory replaces it
    elif exchange(tmp, target):
        shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the old checkpoint
    else:
        parent, name = os.path.split(target)
        aside = _fresh_name(parent, name, "old")
        os.replace(target, aside)
        try:
            os.replace(tmp, target)
        except BaseException:
            os.replace(aside, target)
            raise
        shutil.rmtree(aside, ignore_errors=True)


@contextlib.contextmanager
def staging_dir(target: str, caller: str) -> Iterator[str]:
    """Yield a new temporary directory beside ``target``; move it there on success.

    On any exception the temporary directory is removed and ``target`` is left as it was;
    an ``OSError`` gets a note saying so.
    """
    parent, name = os.path.split(target)
    note = (f"{caller}: saving to '{target}' failed; nothing was written there and any "
            "checkpoint already there is unchanged")
    try:
        os.makedirs(parent, exist_ok=True)
        while True:
            tmp = _fresh_name(parent, name, "tmp")
            try:
                os.mkdir(tmp)
                break
            except FileExistsError:
                continue
    except OSError as exc:
        exc.add_note(note)
        raise
    try:
        yield tmp
        put_in_place(tmp, target)
    except BaseException as exc:
        if os.path.lexists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            exc.add_note(note)
        raise
    fsync_dir(parent)  # the checkpoint is in place; make the rename durable
