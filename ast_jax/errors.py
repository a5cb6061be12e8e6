"""Errors that reach the researcher as one line and a non-zero exit, not a traceback."""


class ConfigError(ValueError):
  """A config value that cannot work; the message names the key (`transfer.init=...`)."""
