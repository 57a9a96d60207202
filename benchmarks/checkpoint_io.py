"""Checkpoint save/load throughput (MB/s) for a ~100 MB model, side by side with NumPy.

The model is four float32 variables of 2048 x 3072 (100.7 MB). In one process, each
operation runs ``--repeat`` times (median reported):

- ``flow.checkpoint.save``: OneFlow's layout, written into a temporary directory, every file
  fsynced, then renamed into place;
- ``numpy.save`` of the same arrays (one ``.npy`` file each), without and with an fsync of
  each file (the fair comparison for a durable save);
- ``flow.load_variables(flow.checkpoint.get(...))``: validates the checkpoint, reads every
  file, then copies into the variables;
- ``numpy.load`` of the ``.npy`` files.

Loads read files the save just wrote, so they mostly come from the page cache on both sides.

Run: ``python benchmarks/checkpoint_io.py [--repeat 3] [--dir DIR]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable

import numpy as np

import tideflow as flow
import tideflow.typing as tp

SHAPES = {f"layer{i}-weight": (2048, 3072) for i in range(4)}


def _define_model() -> None:
    @flow.global_function(type="predict")
    def model(x: tp.Numpy.Placeholder((1,))) -> tp.Numpy:
        for name, shape in SHAPES.items():
            flow.get_variable(name, shape=shape, initializer=flow.zeros_initializer())
        return x


def _median_seconds(fn: Callable[[int], None], repeat: int) -> float:
    times = []
    for i in range(repeat):
        start = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", default=None, help="scratch directory (default: temporary)")
    args = parser.parse_args(argv)

    flow.clear_default_session()
    _define_model()
    rng = np.random.default_rng(0)
    values = {name: rng.standard_normal(shape, dtype=np.float32) for name, shape in SHAPES.items()}
    flow.load_variables(values)
    megabytes = sum(v.nbytes for v in values.values()) / 1e6

    root = tempfile.mkdtemp(prefix="tideflow-ckpt-bench-", dir=args.dir)
    try:
        def tf_save(i: int) -> None:
            flow.checkpoint.save(os.path.join(root, f"tf{i}"))

        def np_save(i: int, sync: bool = False) -> None:
            folder = os.path.join(root, f"np{'sync' if sync else ''}{i}")
            os.mkdir(folder)
            for name, arr in values.items():
                with open(os.path.join(folder, name + ".npy"), "wb") as f:
                    np.save(f, arr)
                    if sync:
                        f.flush()
                        os.fsync(f.fileno())

        def tf_load(i: int) -> None:
            flow.load_variables(flow.checkpoint.get(os.path.join(root, f"tf{i}")))

        def np_load(i: int) -> None:
            folder = os.path.join(root, f"np{i}")
            for name in values:
                np.load(os.path.join(folder, name + ".npy"))

        results = {
            "tideflow save": _median_seconds(tf_save, args.repeat),
            "numpy.save": _median_seconds(np_save, args.repeat),
            "numpy.save + fsync": _median_seconds(lambda i: np_save(i, True), args.repeat),
            "tideflow load": _median_seconds(tf_load, args.repeat),
            "numpy.load": _median_seconds(np_load, args.repeat),
        }
        loaded = flow.get_all_variables()
        assert all(np.array_equal(loaded[n].numpy(), v) for n, v in values.items())
    finally:
        shutil.rmtree(root, ignore_errors=True)
        flow.clear_default_session()

    rates = {k: megabytes / t for k, t in results.items()}
    print(f"checkpoint I/O, {megabytes:.1f} MB model ({len(SHAPES)} float32 variables), "
          f"median of {args.repeat}")
    for key, seconds in results.items():
        print(f"  {key:20s} {seconds * 1e3:8.1f} ms  {rates[key]:8.0f} MB/s")
    print(f"  save: tideflow / numpy.save = {rates['tideflow save'] / rates['numpy.save']:.2f}x, "
          f"tideflow / numpy.save+fsync = "
          f"{rates['tideflow save'] / rates['numpy.save + fsync']:.2f}x (throughput ratios)")
    print(f"  load: tideflow / numpy.load = {rates['tideflow load'] / rates['numpy.load']:.2f}x")
    return rates


if __name__ == "__main__":
    main()
