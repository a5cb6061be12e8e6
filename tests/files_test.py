"""Tests for ast_jax.files: atomic writes leave either the whole new file or the old one."""

import json

import pytest

from ast_jax import files


def test_atomic_output_temporary_is_hidden_sibling_with_same_suffix(tmp_path):
  path = tmp_path / "out.wav"
  with files.atomic_output(path) as tmp:
    assert tmp.parent == path.parent
    assert tmp.name.startswith(".out.tmp")
    assert tmp.suffix == ".wav"
    assert tmp != path
    tmp.write_bytes(b"data")
    assert not path.exists()  # Nothing visible until the block finishes.
  assert path.read_bytes() == b"data"
  assert [p.name for p in tmp_path.iterdir()] == ["out.wav"]


def test_atomic_output_creates_parent_directories(tmp_path):
  path = tmp_path / "a" / "b" / "c.txt"
  with files.atomic_output(path) as tmp:
    tmp.write_text("x")
  assert path.read_text() == "x"


def test_atomic_output_replaces_existing_file(tmp_path):
  path = tmp_path / "c.txt"
  path.write_text("old")
  with files.atomic_output(path) as tmp:
    tmp.write_text("new")
  assert path.read_text() == "new"


def test_exception_mid_write_keeps_old_file_and_removes_temporary(tmp_path):
  path = tmp_path / "results.json"
  path.write_text("old")
  with pytest.raises(RuntimeError, match="disk full"):
    with files.atomic_output(path) as tmp:
      tmp.write_text("half a fi")
      raise RuntimeError("disk full")
  assert path.read_text() == "old"
  assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_exception_on_new_path_leaves_nothing(tmp_path):
  with pytest.raises(KeyboardInterrupt):
    with files.atomic_output(tmp_path / "new.txt") as tmp:
      tmp.write_text("partial")
      raise KeyboardInterrupt  # Ctrl-C is not an Exception but must still clean up.
  assert list(tmp_path.iterdir()) == []


def test_block_that_writes_nothing_is_an_error(tmp_path):
  path = tmp_path / "never.txt"
  with pytest.raises(FileNotFoundError, match="nothing was written"):
    with files.atomic_output(path):
      pass
  assert list(tmp_path.iterdir()) == []


def test_write_json_round_trip(tmp_path):
  path = tmp_path / "runs" / "metrics.json"
  obj = {"loss": 0.25, "steps": [1, 2, 3], "name": "ü"}
  files.write_json(path, obj)
  assert json.loads(path.read_text(encoding="utf-8")) == obj
  assert path.read_text().endswith("\n")
  assert [p.name for p in path.parent.iterdir()] == ["metrics.json"]


def test_write_json_unserialisable_keeps_old_file(tmp_path):
  path = tmp_path / "metrics.json"
  files.write_json(path, {"loss": 1.0})
  with pytest.raises(TypeError):
    files.write_json(path, {"loss": object()})
  assert json.loads(path.read_text()) == {"loss": 1.0}
  assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_write_text(tmp_path):
  path = tmp_path / "notes.txt"
  files.write_text(path, "line one\nline two\n")
  assert path.read_text() == "line one\nline two\n"
