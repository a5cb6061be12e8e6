"""The small example clips bundled with the package (see README.md beside this file)."""

import pathlib

_HERE = pathlib.Path(__file__).parent


def path(name: str) -> pathlib.Path:
  """Absolute path of a bundled asset, e.g. `path('content_piano.ogg')`."""
  return _HERE / name
