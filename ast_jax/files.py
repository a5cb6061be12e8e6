"""Atomic file output: a reader never sees a half-written file.

A run killed mid-write (pre-emption, out of memory, Ctrl-C) must not leave a truncated
`results.json` or `.wav` that a later step would read as if it were complete. Everything is
written to a temporary file beside the target and renamed onto it only once the writer has
finished; `os.replace` is atomic on POSIX when both paths are on the same filesystem, which is
why the temporary lives in the target's own directory.
"""

import contextlib
import json
import os
import pathlib
import secrets
from typing import Any, Iterator


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[pathlib.Path]:
  """Yields a temporary path to write to; moves it onto `path` if the block succeeds.

  The temporary is `.{stem}.tmp{random}{suffix}` in `path`'s directory: hidden, unique, and
  with the same suffix so that writers which pick the format from the extension (soundfile,
  numpy, matplotlib) still work. The file is not created in advance: the block creates it.
  On an exception the temporary is removed and the exception re-raised; `path` is left as it
  was (absent, or its old contents). Parent directories are created.
  """
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  tmp = path.with_name(f".{path.stem}.tmp{secrets.token_hex(4)}{path.suffix}")
  try:
    yield tmp
    if not tmp.exists():
      raise FileNotFoundError(
          f"{path}: nothing was written to the temporary {tmp.name} inside atomic_output")
    # Flush to disk before the rename: otherwise a power cut can leave `path` renamed but
    # empty on filesystems with delayed allocation (ext4).
    fd = os.open(tmp, os.O_RDONLY)
    try:
      os.fsync(fd)
    finally:
      os.close(fd)
    os.replace(tmp, path)
  except BaseException:
    tmp.unlink(missing_ok=True)
    raise


def write_text(path: str | os.PathLike, text: str) -> None:
  """Writes `text` (UTF-8) to `path` atomically."""
  with atomic_output(path) as tmp:
    tmp.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike, obj: Any, *, indent: int = 2) -> None:
  """Writes `obj` as JSON to `path` atomically (ends with a newline).

  The object is serialised before anything is opened, so an unserialisable value raises
  TypeError without touching the file system.
  """
  write_text(path, json.dumps(obj, indent=indent) + "\n")
