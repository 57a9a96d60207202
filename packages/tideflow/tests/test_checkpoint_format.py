"""Checkpoints in OneFlow's on-disk layout: reader, writer, validation and atomic saves.

Only predict jobs are used, so these tests run with the core alone (no optimizer plugin).
The fixtures under ``data/`` were written by ``data/make_oneflow_fixture.py`` with plain file
writes, independently of tideflow's writer.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

import tideflow as flow
import tideflow.typing as tp
from tideflow import _checkpoint_fs
from tideflow.checkpoint_meta import MetaFormatError, format_meta, parse_meta
from tideflow.errors import CheckpointError, ShapeError

DATA = Path(__file__).parent / "data"
FIXTURE = DATA / "oneflow_checkpoint"
LEGACY = DATA / "oneflow_legacy_checkpoint"


def _maker():
    spec = importlib.util.spec_from_file_location("make_oneflow_fixture",
                                                  DATA / "make_oneflow_fixture.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


EXPECTED = _maker().expected()
EXPECTED_LEGACY = _maker().expected_legacy()
DTYPES = [flow.float32, flow.float64, flow.int32, flow.int64, flow.int8, flow.uint8]


def _init(dtype):
    if dtype.is_floating:
        return flow.random_uniform_initializer(-1, 1, dtype=dtype)
    return flow.zeros_initializer(dtype) if dtype != flow.uint8 else flow.zeros_initializer()


def _define(specs: dict, name: str = "probe"):
    """A predict job declaring variables ``{name: (shape, dtype)}``."""

    def body() -> tp.Numpy:
        last = None
        for var, (shape, dtype) in specs.items():
            last = flow.get_variable(var, shape=shape, dtype=dtype, initializer=_init(dtype))
        return last

    body.__name__ = name
    return flow.global_function(type="predict")(body)


def _fixture_specs(**changes) -> dict:
    specs = {n: (a.shape, flow.dtypes.as_dtype(a.dtype)) for n, a in EXPECTED.items()}
    specs.update(changes)
    return specs


def _scramble() -> dict[str, np.ndarray]:
    """Give every variable distinctive values; return a copy of them."""
    rng = np.random.default_rng(1)
    values = {}
    for name, blob in flow.get_all_variables().items():
        dt = blob.dtype.np_dtype
        raw = rng.integers(1, 100, blob.shape) if dt.kind in "iu" else rng.normal(size=blob.shape)
        values[name] = np.asarray(raw).astype(dt)
    flow.load_variables(values)
    return {n: b.numpy() for n, b in flow.get_all_variables().items()}


def _assert_unchanged(before: dict[str, np.ndarray]) -> None:
    after = {n: b.numpy() for n, b in flow.get_all_variables().items()}
    assert after.keys() == before.keys()
    for name in before:
        assert np.array_equal(after[name], before[name]), name


def _copy_fixture(tmp_path: Path, src: Path = FIXTURE) -> Path:
    dst = tmp_path / "ckpt"
    shutil.copytree(src, dst)
    return dst


def _siblings(path: Path) -> list[str]:
    return sorted(os.listdir(path.parent))


# --- meta text -------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(), (5,), (2, 3), (2, 1, 3), (32, 1, 5, 5)])
@pytest.mark.parametrize("dtype", DTYPES + [flow.float16])
def test_meta_round_trip(shape, dtype):
    text = format_meta(shape, dtype)
    assert parse_meta(text) == (shape, dtype)
    assert text.endswith(f"data_type: {dtype.proto_name}\n")


def test_meta_text_is_what_oneflow_writes():
    assert format_meta((32, 1, 5, 5), flow.float32) == (
        "shape {\n  dim: 32\n  dim: 1\n  dim: 5\n  dim: 5\n}\ndata_type: kFloat\n")
    assert format_meta((), flow.int64) == "shape {\n}\ndata_type: kInt64\n"
    for name in EXPECTED:
        if name != "scale":  # the fixture's one meta without a shape block
            text = (FIXTURE / name / "meta").read_text()
            assert format_meta(*parse_meta(text)) == text


@pytest.mark.parametrize(("text", "shape", "dtype"), [
    ("shape { dim: 32 dim: 1 dim: 5 dim: 5 } data_type: kFloat", (32, 1, 5, 5), flow.float32),
    ("shape { } data_type: kDouble", (), flow.float64),
    ("data_type: 6", (), flow.int64),
    ("shape: { dim: [2, 3] }\ndata_type: 5  # comment", (2, 3), flow.int32),
    ("shape < dim: 0x10; dim: 010 >, data_type: kUInt8", (16, 8), flow.uint8),
    ("data_type: kChar shape {dim: 4}", (4,), flow.int8),
])
def test_meta_reader_accepts_protobuf_text_variants(text, shape, dtype):
    assert parse_meta(text) == (shape, dtype)


@pytest.mark.parametrize(("text", "message"), [
    ("", "'data_type' is missing"),
    ("shape { dim: 2 }", "'data_type' is missing"),
    ("shape { dim: 2 data_type: kFloat", "unknown field 'data_type' in shape"),
    ("shape { dim: 2 ", "unexpected end"),
    ("data_type: kFloat data_type: kFloat", "given twice"),
    ("data_type: kOFRecord", "kOFRecord"),
    ("data_type: 42", "'42'"),
    ("shape { dim: -3 } data_type: kFloat", "negative"),
    ("shape { dim: 2.5 } data_type: kFloat", "unexpected character"),
    ("name: 'w' data_type: kFloat", "unexpected character"),
    ("dims: 3 data_type: kFloat", "unknown field 'dims'"),
    ("shape { dim: 99999999999999999999 } data_type: kFloat", "int64"),
])
def test_meta_reader_rejects_malformed_text(text, message):
    with pytest.raises(MetaFormatError, match=message):
        parse_meta(text)


def test_meta_matches_protobuf_when_installed():
    pb = pytest.importorskip("google.protobuf")
    del pb
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format

    fdp = descriptor_pb2.FileDescriptorProto(name="vmi.proto", package="oneflow",
                                             syntax="proto2")
    enum = fdp.enum_type.add(name="DataType")
    for name, number in [("kInvalidDataType", 0), ("kChar", 1), ("kFloat", 2), ("kDouble", 3),
                         ("kInt8", 4), ("kInt32", 5), ("kInt64", 6), ("kUInt8", 7),
                         ("kOFRecord", 8), ("kFloat16", 9)]:
        enum.value.add(name=name, number=number)
    field = descriptor_pb2.FieldDescriptorProto
    shape = fdp.message_type.add(name="ShapeProto")
    shape.field.add(name="dim", number=1, type=field.TYPE_INT64, label=field.LABEL_REPEATED)
    meta = fdp.message_type.add(name="VariableMetaInfo")
    meta.field.add(name="shape", number=2, type=field.TYPE_MESSAGE,
                   type_name=".oneflow.ShapeProto", label=field.LABEL_OPTIONAL)
    meta.field.add(name="data_type", number=3, type=field.TYPE_ENUM,
                   type_name=".oneflow.DataType", label=field.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    cls = message_factory.GetMessageClass(pool.FindMessageTypeByName("oneflow.VariableMetaInfo"))
    for dims in [(), (3,), (2, 3), (2, 1, 3), (32, 1, 5, 5)]:
        for dtype in DTYPES:
            msg = cls()
            msg.shape.dim[:] = dims  # as OneFlow's _SaveVarDict does
            msg.data_type = dtype.proto_enum
            assert text_format.MessageToString(msg) == format_meta(dims, dtype)
            parsed = text_format.Parse(format_meta(dims, dtype), cls())
            assert tuple(parsed.shape.dim) == dims and parsed.data_type == dtype.proto_enum


# --- reading OneFlow's layout ----------------------------------------------------------------

def test_get_reads_every_fixture_variable_exactly():
    got = flow.checkpoint.get(str(FIXTURE))
    assert sorted(got) == sorted(EXPECTED)
    for name, arr in EXPECTED.items():
        blob = got[name]
        assert blob.shape == arr.shape and blob.dtype.np_dtype == arr.dtype
        value = blob.numpy()
        assert value.dtype == arr.dtype and value.shape == arr.shape
        assert np.array_equal(value, arr), name
    assert flow.load(FIXTURE)["pixels"].shape == (4, 4)  # OneFlow v0.4's flow.load alias


def test_get_of_one_variable_directory():
    blob = flow.checkpoint.get(FIXTURE / "quant-table")
    assert blob.name == "quant-table"
    assert np.array_equal(blob.numpy(), EXPECTED["quant-table"])


def test_get_ignores_other_entries(tmp_path):
    ckpt = _copy_fixture(tmp_path)
    (ckpt / "notes.txt").write_text("hello")
    (ckpt / "empty_dir").mkdir()
    assert sorted(flow.checkpoint.get(ckpt)) == sorted(EXPECTED)


def test_fixture_loads_into_variables_of_every_dtype_and_rank():
    _define(_fixture_specs())
    _scramble()
    flow.load_variables(flow.checkpoint.get(FIXTURE))
    got = flow.get_all_variables()
    for name, arr in EXPECTED.items():
        assert got[name].dtype.np_dtype == arr.dtype
        assert np.array_equal(got[name].numpy(), arr), name


def test_get_starts_the_session_when_jobs_exist():
    from tideflow import session

    flow.checkpoint.get(FIXTURE)  # no job defined: it only reads
    assert session.default_session().status == "open"
    _define(_fixture_specs())
    assert not session.default_session().running
    flow.checkpoint.get(FIXTURE)
    assert session.default_session().running


def test_tideflow_checkpoint_is_byte_identical_to_the_fixture(tmp_path):
    _define(_fixture_specs())
    flow.load_variables(flow.checkpoint.get(FIXTURE))
    out = tmp_path / "saved"
    flow.checkpoint.save(out)
    assert sorted(os.listdir(out)) == sorted([*EXPECTED, "snapshot_done"])
    assert (out / "snapshot_done").read_bytes() == b""
    for name in EXPECTED:
        assert (out / name / "out").read_bytes() == (FIXTURE / name / "out").read_bytes()
        if name != "scale":
            assert (out / name / "meta").read_text() == (FIXTURE / name / "meta").read_text()
    again = flow.checkpoint.get(out)
    for name, arr in EXPECTED.items():
        assert np.array_equal(again[name].numpy(), arr)


def test_save_of_a_var_dict_copies_a_checkpoint(tmp_path):
    flow.save(flow.checkpoint.get(FIXTURE), tmp_path / "copy")  # flow.save(obj, dir)
    flow.checkpoint.save(tmp_path / "arrays", {"a": np.arange(3.0), "b": np.int8(5) * np.ones(
        (1, 2, 1, 2), np.int8)})
    for name in EXPECTED:
        assert (tmp_path / "copy" / name / "out").read_bytes() == \
            (FIXTURE / name / "out").read_bytes()
    arrays = flow.checkpoint.get(tmp_path / "arrays")
    assert arrays["a"].dtype == flow.float64 and arrays["b"].shape == (1, 2, 1, 2)


def test_save_starts_the_session_and_saves_every_variable(tmp_path):
    _define({"w": ((2, 2), flow.float32), "n": ((1,), flow.int64)})
    flow.checkpoint.save(tmp_path / "c")
    from tideflow import session

    assert session.default_session().running
    assert sorted(flow.checkpoint.get(tmp_path / "c")) == ["n", "w"]


# --- legacy (meta-less) layout ---------------------------------------------------------------

def test_legacy_fixture_binds_to_the_variables():
    got = flow.checkpoint.get(LEGACY)
    assert sorted(got) == sorted(EXPECTED_LEGACY)
    assert got["dense1-weight"].shape is None and got["dense1-weight"].dtype is None
    with pytest.raises(CheckpointError, match="'dense1-weight' has no meta file"):
        got["dense1-weight"].numpy()
    _define({n: (a.shape, flow.dtypes.as_dtype(a.dtype)) for n, a in EXPECTED_LEGACY.items()})
    flow.load_variables(got)
    for name, arr in EXPECTED_LEGACY.items():
        assert np.array_equal(flow.get_all_variables()[name].numpy(), arr)


def test_legacy_file_of_the_wrong_size_changes_nothing():
    _define({"dense1-bias": ((3,), flow.float32), "dense1-weight": ((3, 3), flow.float32)})
    before = _scramble()
    path = os.path.join(str(LEGACY), "dense1-weight", "out")
    with pytest.raises(CheckpointError, match=f"'dense1-weight': {path} holds 24 bytes.*"
                                              r"float32\[3, 3\].*36 bytes"):
        flow.load_variables(flow.checkpoint.get(LEGACY))
    _assert_unchanged(before)


# --- corruption: a clear error naming the variable and the file; no variable changes ---------

def _corrupt_and_load(ckpt: Path, match: str, error=CheckpointError, specs=None):
    _define(specs or _fixture_specs())
    before = _scramble()
    with pytest.raises(error, match=match):
        flow.load_variables(flow.checkpoint.get(ckpt))
    _assert_unchanged(before)


def test_missing_snapshot_done(tmp_path):
    ckpt = _copy_fixture(tmp_path)
    (ckpt / "snapshot_done").unlink()
    _corrupt_and_load(ckpt, "has no snapshot_done file: the checkpoint is incomplete")


@pytest.mark.parametrize("delta", [-1, -4, 4])
def test_out_of_the_wrong_size(tmp_path, delta):
    ckpt = _copy_fixture(tmp_path)
    out = ckpt / "pixels" / "out"  # late in the order: earlier variables are valid
    data = out.read_bytes()
    out.write_bytes(data[:delta] if delta < 0 else data + b"\0" * delta)
    size = 16 + delta
    _corrupt_and_load(ckpt, rf"'pixels': {out} holds {size} bytes, but its meta says "
                            r"uint8\[4, 4\], which needs 16 bytes")


@pytest.mark.parametrize("text", ["shape { dim: 4 dim: 4 }", "garbage!", "shape { dim: 4 "
                                  "dim: 4 } data_type: kBool", "\udcff"])
def test_malformed_meta(tmp_path, text):
    ckpt = _copy_fixture(tmp_path)
    meta = ckpt / "pixels" / "meta"
    meta.write_bytes(text.encode("utf-8", "surrogateescape"))
    _corrupt_and_load(ckpt, f"'pixels': cannot read {meta}")


def test_meta_without_out(tmp_path):
    ckpt = _copy_fixture(tmp_path)
    (ckpt / "pixels" / "out").unlink()
    _corrupt_and_load(ckpt, f"'pixels': {ckpt / 'pixels'} has a meta file but no 'out'")


def test_shape_mismatch_names_variable_and_file(tmp_path):
    _corrupt_and_load(FIXTURE, r"'pixels' is uint8\[2, 8\]; received uint8\[4, 4\] from "
                      f"{FIXTURE / 'pixels' / 'out'}", ShapeError,
                      _fixture_specs(pixels=((2, 8), flow.uint8)))


def test_dtype_mismatch_names_variable_and_file(tmp_path):
    _corrupt_and_load(FIXTURE, r"'embedding-ids' is int64\[2, 3\]; received int32\[2, 3\] "
                      f"from {FIXTURE / 'embedding-ids' / 'out'}", ShapeError,
                      _fixture_specs(**{"embedding-ids": ((2, 3), flow.int64)}))


def test_missing_directory(tmp_path):
    _corrupt_and_load(tmp_path / "nowhere", f"'{tmp_path / 'nowhere'}' does not exist")


def test_checkpoint_path_that_is_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    _corrupt_and_load(tmp_path / "f", "is not a directory")


def test_file_truncated_after_get_changes_nothing(tmp_path):
    ckpt = _copy_fixture(tmp_path)
    _define(_fixture_specs())
    before = _scramble()
    got = flow.checkpoint.get(ckpt)
    (ckpt / "scale" / "out").write_bytes(b"\0\0")
    with pytest.raises(CheckpointError, match="'scale'.* holds 2 bytes"):
        flow.load_variables(got)
    _assert_unchanged(before)


def test_partial_checkpoint_keeps_other_variables(tmp_path):
    ckpt = _copy_fixture(tmp_path)
    shutil.rmtree(ckpt / "dense-bias")
    _define(_fixture_specs(extra=((3,), flow.float32)))
    before = _scramble()
    flow.load_variables(flow.checkpoint.get(ckpt))
    after = {n: b.numpy() for n, b in flow.get_all_variables().items()}
    assert np.array_equal(after["dense-bias"], before["dense-bias"])
    assert np.array_equal(after["extra"], before["extra"])
    assert np.array_equal(after["pixels"], EXPECTED["pixels"])


# --- save safety -----------------------------------------------------------------------------

@pytest.fixture
def saved(tmp_path):
    """A job with two variables and a checkpoint of their values at ``tmp_path/ckpt``."""
    _define({"w": ((3, 2), flow.float32), "b": ((2,), flow.float64)})
    before = _scramble()
    ckpt = tmp_path / "ckpt"
    flow.checkpoint.save(ckpt)
    flow.load_variables({"w": np.zeros((3, 2), np.float32)})  # values now differ from disk
    return ckpt, before


def _assert_checkpoint_holds(ckpt: Path, values: dict[str, np.ndarray]) -> None:
    got = flow.checkpoint.get(ckpt)
    assert sorted(got) == sorted(values)
    for name, arr in values.items():
        assert np.array_equal(got[name].numpy(), arr)


def test_save_replaces_an_existing_checkpoint_atomically(saved):
    ckpt, _ = saved
    flow.checkpoint.save(ckpt)
    _assert_checkpoint_holds(ckpt, {n: b.numpy() for n, b in flow.get_all_variables().items()})
    assert _siblings(ckpt) == ["ckpt"]


def test_replace_without_rename_exchange(saved, monkeypatch):
    ckpt, _ = saved
    monkeypatch.setattr(_checkpoint_fs, "exchange", lambda a, b: False)
    flow.checkpoint.save(ckpt)
    _assert_checkpoint_holds(ckpt, {n: b.numpy() for n, b in flow.get_all_variables().items()})
    assert _siblings(ckpt) == ["ckpt"]


@pytest.mark.parametrize("exchange", [True, False])
def test_failed_rename_leaves_the_old_checkpoint(saved, monkeypatch, exchange):
    ckpt, before = saved

    def boom(*args):
        raise PermissionError(13, "Permission denied (test)")

    monkeypatch.setattr(_checkpoint_fs.os, "replace", boom)
    if exchange:
        monkeypatch.setattr(_checkpoint_fs, "exchange", boom)
    else:
        monkeypatch.setattr(_checkpoint_fs, "exchange", lambda a, b: False)
    with pytest.raises(PermissionError) as info:
        flow.checkpoint.save(ckpt)
    assert "any checkpoint already there is unchanged" in "".join(info.value.__notes__)
    monkeypatch.undo()
    _assert_checkpoint_holds(ckpt, before)
    assert _siblings(ckpt) == ["ckpt"]


def test_second_rename_failing_puts_the_old_checkpoint_back(saved, monkeypatch):
    ckpt, before = saved
    real = os.replace
    calls = []

    def second_fails(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:
            raise OSError(28, "No space left on device (test)")
        real(src, dst)

    monkeypatch.setattr(_checkpoint_fs, "exchange", lambda a, b: False)
    monkeypatch.setattr(_checkpoint_fs.os, "replace", second_fails)
    with pytest.raises(OSError, match="No space left"):
        flow.checkpoint.save(ckpt)
    monkeypatch.undo()
    _assert_checkpoint_holds(ckpt, before)
    assert _siblings(ckpt) == ["ckpt"]


@pytest.mark.parametrize("exc", [OSError(5, "Input/output error (test)"), KeyboardInterrupt()])
def test_failure_while_writing_leaves_no_trace(saved, monkeypatch, exc):
    ckpt, before = saved
    real = _checkpoint_fs.write_file
    calls = []

    def third_fails(path, data):
        calls.append(path)
        if len(calls) == 3:
            raise exc
        real(path, data)

    monkeypatch.setattr(_checkpoint_fs, "write_file", third_fails)
    with pytest.raises(type(exc)):
        flow.checkpoint.save(ckpt)
    calls.clear()
    with pytest.raises(type(exc)):
        flow.checkpoint.save(ckpt.parent / "new")
    monkeypatch.undo()
    _assert_checkpoint_holds(ckpt, before)
    assert _siblings(ckpt) == ["ckpt"]


def test_unwritable_place_raises_and_writes_nothing(saved):
    ckpt, before = saved
    blocker = ckpt.parent / "blocker"
    blocker.write_text("a file, not a directory")
    with pytest.raises(OSError) as info:
        flow.checkpoint.save(blocker / "sub" / "ckpt")
    assert "nothing was written there" in "".join(info.value.__notes__)
    assert blocker.read_text() == "a file, not a directory"
    _assert_checkpoint_holds(ckpt, before)
    assert _siblings(ckpt) == ["blocker", "ckpt"]


def test_refused_targets(saved, tmp_path):
    ckpt, before = saved
    (tmp_path / "file").write_text("keep")
    with pytest.raises(CheckpointError, match="is a file"):
        flow.checkpoint.save(tmp_path / "file")
    assert (tmp_path / "file").read_text() == "keep"
    project = tmp_path / "project"
    project.mkdir()
    (project / "train.py").write_text("keep")
    with pytest.raises(CheckpointError, match="not a checkpoint.*refusing to replace"):
        flow.checkpoint.save(project)
    assert os.listdir(project) == ["train.py"]
    os.symlink(ckpt, tmp_path / "link")
    with pytest.raises(CheckpointError, match="symbolic link"):
        flow.checkpoint.save(tmp_path / "link")
    _assert_checkpoint_holds(ckpt, before)


def test_save_into_an_empty_directory_and_new_parents(tmp_path):
    _define({"w": ((2,), flow.float32)})
    (tmp_path / "empty").mkdir()
    flow.checkpoint.save(tmp_path / "empty")
    flow.checkpoint.save(tmp_path / "a" / "b" / "c")
    assert sorted(os.listdir(tmp_path / "a" / "b" / "c")) == ["snapshot_done", "w"]
    assert sorted(os.listdir(tmp_path / "empty")) == ["snapshot_done", "w"]


@pytest.mark.parametrize("name", ["a/b", "", "..", "snapshot_done"])
def test_bad_variable_names_are_refused(tmp_path, name):
    with pytest.raises(CheckpointError, match="cannot be a checkpoint directory"):
        flow.checkpoint.save(tmp_path / "c", {"ok": np.zeros(2), name: np.zeros(2)})
    assert os.listdir(tmp_path) == []


def test_bad_values_are_refused(tmp_path):
    with pytest.raises(CheckpointError, match="value of 'x' must be a numpy array"):
        flow.checkpoint.save(tmp_path / "c", {"x": [1, 2]})
    with pytest.raises(TypeError, match="complex128 is not supported"):
        flow.checkpoint.save(tmp_path / "c", {"x": np.zeros(2, complex)})
    assert os.listdir(tmp_path) == []


# --- flow.train.CheckPoint and SimpleCheckPointManager ---------------------------------------

def test_checkpoint_class_with_new_model_io(saved, tmp_path):
    ckpt, before = saved
    current = {n: b.numpy() for n, b in flow.get_all_variables().items()}
    check_point = flow.train.CheckPoint()
    with pytest.deprecated_call(match=r"'checkpoint.init\(\)' is deprecated. It has no effect"):
        check_point.init()
    _assert_unchanged(current)
    with pytest.deprecated_call(match=r"'checkpoint.load\(\)' is deprecated"):
        check_point.load(str(ckpt))
    _assert_unchanged(before)
    with pytest.deprecated_call(match=r"'checkpoint.save\(\)' is deprecated"):
        check_point.save(str(tmp_path / "other"))
    _assert_checkpoint_holds(tmp_path / "other", before)


def test_checkpoint_class_with_legacy_model_io(tmp_path):
    flow.config.enable_legacy_model_io(True)
    _define({"dense1-weight": ((3, 2), flow.float32), "dense1-bias": ((3,), flow.float32),
             "dense2-weight": ((2, 2), flow.float32)})
    initial = {n: b.numpy() for n, b in flow.get_all_variables().items()}
    _scramble()
    check_point = flow.train.CheckPoint()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no deprecation notice in legacy mode
        check_point.init()
    _assert_unchanged(initial)
    _scramble()
    path = str(LEGACY)
    with pytest.warns(UserWarning) as record:
        check_point.load(path)
    assert [str(w.message) for w in record] == [
        f"WARNING! CANNOT find variable path in : {path}/dense2-weight/out. It will be "
        "initialized."]
    got = {n: b.numpy() for n, b in flow.get_all_variables().items()}
    assert np.array_equal(got["dense1-weight"], EXPECTED_LEGACY["dense1-weight"])
    assert np.array_equal(got["dense2-weight"], initial["dense2-weight"])
    check_point.save(str(tmp_path / "legacy"))
    assert sorted(os.listdir(tmp_path / "legacy" / "dense1-bias")) == ["out"]
    assert (tmp_path / "legacy" / "snapshot_done").is_file()
    with pytest.raises(CheckpointError, match="legacy model I/O saves only into an empty"):
        check_point.save(str(tmp_path / "legacy"))
    _scramble()
    check_point.load(str(tmp_path / "legacy"))  # its own legacy checkpoint, all variables
    _assert_unchanged(got)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_simple_checkpoint_manager(tmp_path):
    _define({"w": ((2,), flow.float32)})
    manager = flow.train.SimpleCheckPointManager(str(tmp_path / "root"), prefix="snap_")
    assert manager.list_checkpoints() == [] and manager.latest_checkpoint() is None
    initial = flow.get_all_variables()["w"].numpy()
    manager.initialize_or_restore()
    first = manager.latest_checkpoint()
    assert first.startswith("snap_") and len(first) == len("snap_20240101_120000_000000")
    flow.load_variables({"w": np.array([5, 6], np.float32)})
    manager.save()
    names = manager.list_checkpoints()
    assert len(names) == 2 and names[0] == first and names[1] > first
    (tmp_path / "root" / "snap_99999999_incomplete").mkdir()  # no snapshot_done: ignored
    (tmp_path / "root" / "other").mkdir()
    assert manager.list_checkpoints() == names
    flow.load_variables({"w": np.zeros(2, np.float32)})
    manager.initialize_or_restore()
    assert np.array_equal(flow.get_all_variables()["w"].numpy(), [5, 6])
    _assert_checkpoint_holds(tmp_path / "root" / first, {"w": initial})
    (tmp_path / "file").write_text("x")
    with pytest.raises(CheckpointError, match="not a directory"):
        flow.train.SimpleCheckPointManager(str(tmp_path / "file"))
