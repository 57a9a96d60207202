"""Write the OneFlow-layout checkpoint fixtures by hand, independently of tideflow's writer.

The layout follows the spec's description of OneFlow 0.3-0.5 checkpoints
(``oneflow/python/framework/check_point_v2.py``): one directory per variable holding ``out``
(raw C-order little-endian bytes) and ``meta`` (protobuf text of ``VariableMetaInfo``, as
``text_format.MessageToString`` prints it), and an empty ``snapshot_done`` file. The legacy
fixture (``enable_legacy_model_io(True)``, ``oneflow/core/persistence/snapshot.cpp``) has
``out`` files only. Run ``python make_oneflow_fixture.py`` in this folder to rewrite both;
the tests compare the files with :func:`expected` and :func:`expected_legacy`.
"""

from __future__ import annotations

import os
import shutil
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
NEW_DIR = os.path.join(HERE, "oneflow_checkpoint")
LEGACY_DIR = os.path.join(HERE, "oneflow_legacy_checkpoint")

# Hand-written meta texts, exactly as OneFlow's text_format.MessageToString prints them.
# "scale" is a rank-0 variable whose meta has no shape block at all (protobuf may omit an
# empty sub-message); "counter" has the empty block.
META = {
    "conv1-weight": "shape {\n  dim: 2\n  dim: 1\n  dim: 3\n  dim: 3\n}\ndata_type: kFloat\n",
    "dense-bias": "shape {\n  dim: 3\n}\ndata_type: kDouble\n",
    "embedding-ids": "shape {\n  dim: 2\n  dim: 3\n}\ndata_type: kInt32\n",
    "counter": "shape {\n}\ndata_type: kInt64\n",
    "scale": "data_type: kFloat\n",
    "quant-table": "shape {\n  dim: 2\n  dim: 2\n  dim: 3\n}\ndata_type: kInt8\n",
    "pixels": "shape {\n  dim: 4\n  dim: 4\n}\ndata_type: kUInt8\n",
    "conv1-weight-momentum":
        "shape {\n  dim: 2\n  dim: 1\n  dim: 3\n  dim: 3\n}\ndata_type: kFloat\n",
    "System-Train-TrainStep-train_job": "shape {\n  dim: 1\n}\ndata_type: kInt64\n",
}


def expected() -> dict[str, np.ndarray]:
    """The values stored in ``oneflow_checkpoint`` (native byte order)."""
    return {
        "conv1-weight": (np.arange(18, dtype=np.float32) * 0.25 - 2.0).reshape(2, 1, 3, 3),
        "dense-bias": np.array([1.5, -2.25, 1e-300], dtype=np.float64),
        "embedding-ids": np.array([[0, -1, 2**31 - 1], [-(2**31), 7, 42]], dtype=np.int32),
        "counter": np.array(-(2**40) - 3, dtype=np.int64),
        "scale": np.array(0.1, dtype=np.float32),
        "quant-table": (np.arange(12, dtype=np.int16) * 23 - 128).astype(np.int8)
        .reshape(2, 2, 3),
        "pixels": (np.arange(16) * 17).astype(np.uint8).reshape(4, 4),
        "conv1-weight-momentum": np.full((2, 1, 3, 3), -0.5, dtype=np.float32),
        "System-Train-TrainStep-train_job": np.array([7], dtype=np.int64),
    }


def expected_legacy() -> dict[str, np.ndarray]:
    """The values stored in ``oneflow_legacy_checkpoint`` (no meta files)."""
    return {
        "dense1-weight": (np.arange(6, dtype=np.float32) - 2.5).reshape(3, 2),
        "dense1-bias": np.array([0.5, 0.25, -0.125], dtype=np.float32),
        "System-Train-TrainStep-train_job": np.array([3], dtype=np.int64),
    }


def _write(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def _raw(arr: np.ndarray) -> bytes:
    if arr.dtype == np.int64 and arr.size == 1:  # struct, as a C program would write it
        return struct.pack("<q", int(arr.reshape(-1)[0]))
    return np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes()


def main() -> None:
    for folder in (NEW_DIR, LEGACY_DIR):
        shutil.rmtree(folder, ignore_errors=True)
    for name, arr in expected().items():
        _write(os.path.join(NEW_DIR, name, "out"), _raw(arr))
        _write(os.path.join(NEW_DIR, name, "meta"), META[name].encode("ascii"))
    _write(os.path.join(NEW_DIR, "snapshot_done"), b"")
    for name, arr in expected_legacy().items():
        _write(os.path.join(LEGACY_DIR, name, "out"), _raw(arr))
    _write(os.path.join(LEGACY_DIR, "snapshot_done"), b"")


if __name__ == "__main__":
    main()
