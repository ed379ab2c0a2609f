"""Named parameters and their .npz files."""

from __future__ import annotations

import os

import numpy as np
import pytest

from seqgraph.layers import GRU, LSTM, Bidirectional
from seqgraph.params import ParameterError, atomic_write, load_npz, save_npz


def test_save_load_round_trip(tmp_path):
    model = Bidirectional(LSTM(3, 4, peepholes=True, learn_init=True, seed=0), seed=1)
    path = tmp_path / "model.npz"
    model.save(path)
    other = Bidirectional(LSTM(3, 4, peepholes=True, learn_init=True, seed=5), seed=6)
    other.load(path)
    for (name, a), (name_b, b) in zip(model.get_values().items(), other.get_values().items()):
        assert name == name_b
        np.testing.assert_array_equal(a, b)
    assert sorted(load_npz(path)) == sorted(model.named_params())


def test_missing_name_and_shape_mismatch_change_nothing(tmp_path):
    model = GRU(3, 4, seed=0)
    before = model.get_values()
    path = tmp_path / "gru.npz"
    values = dict(before)
    del values["cell.b"]
    save_npz(path, values)
    with pytest.raises(ParameterError, match=r"missing parameters \['cell.b'\]"):
        model.load(path)
    values = {k: v + 1 for k, v in before.items()}
    values["cell.W_hid"] = np.zeros((5, 12))
    save_npz(path, values)
    with pytest.raises(ParameterError, match=r"'cell.W_hid' has shape \(4, 12\); the value"):
        model.load(path)
    for name, value in model.get_values().items():  # nothing was half-loaded
        np.testing.assert_array_equal(value, before[name])
    with pytest.raises(ParameterError, match="unknown parameters"):
        model.set_values({**before, "extra": np.zeros(2)})
    model.set_values({"cell.b": np.ones(12)}, strict=False)
    np.testing.assert_array_equal(model.cell.b.get_value(), 1)


def test_failed_save_keeps_existing_file(tmp_path):
    path = tmp_path / "ckpt.npz"
    save_npz(path, {"a": np.arange(3)})

    def crash(handle):
        handle.write(b"partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(path, crash)
    np.testing.assert_array_equal(load_npz(path)["a"], np.arange(3))
    assert os.listdir(tmp_path) == ["ckpt.npz"]  # no temporary file left behind


def test_a_folder_or_a_missing_folder_is_named(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a folder; give the file to write"):
        save_npz(tmp_path, {"a": np.arange(3)})
    with pytest.raises(FileNotFoundError, match="the folder .*missing.* does not exist"):
        save_npz(tmp_path / "missing" / "m.npz", {"a": np.arange(3)})
    assert os.listdir(tmp_path) == []  # nothing written, not even beside the folder
    assert not [n for n in os.listdir(tmp_path.parent) if n.startswith(".tmp-")]


def test_saved_files_get_the_umask_permissions(tmp_path):
    # (a tempfile.mkstemp file is readable by its owner only)
    umask = os.umask(0o022)
    try:
        save_npz(tmp_path / "ckpt.npz", {"a": np.arange(3)})
    finally:
        os.umask(umask)
    assert (tmp_path / "ckpt.npz").stat().st_mode & 0o777 == 0o644


def test_loading_never_unpickles(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, a=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ValueError, match="allow_pickle"):
        load_npz(path)
    with pytest.raises(TypeError, match="dtype object"):
        save_npz(tmp_path / "x.npz", {"a": np.array([None], dtype=object)})
