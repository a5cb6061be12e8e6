"""Entry point: `python -m ast_jax.main --config=configs/<experiment>.py[:arg] --workdir=DIR`.

Bad configs and bad inputs end with one line on stderr and a non-zero exit (2 for the command line
and the config, 1 for the input files), never a traceback.
"""

import importlib
import sys

from absl import app, flags, logging
from ml_collections import config_flags

from ast_jax.audio.io import AudioError
from ast_jax.errors import ConfigError

_CONFIG = config_flags.DEFINE_config_file('config', None, 'Experiment config file (configs/*.py).',
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string('workdir', 'runs/default', 'Directory for the outputs.')

# config.task -> module in ast_jax.tasks with run(config, workdir).
TASKS = {'transfer': 'ast_jax.tasks.transfer'}


def _fail(message: str, code: int):
  print(f'error: {" ".join(str(message).split())}', file=sys.stderr)
  sys.exit(code)


def _parse_flags(argv):
  """absl's parser, with config errors (unknown keys, bad types) turned into one line."""
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    # config_flags folds the config file's traceback into the message: keep its last line.
    lines = [l for l in str(e).splitlines() if l.strip()]
    _fail(f'{lines[0].split(":")[0]}: {lines[-1]}' if 'Traceback' in str(e) else e, 2)
  except (KeyError, AttributeError, TypeError, ValueError) as e:
    while e.args and isinstance(e.args[0], BaseException):  # config_flags nests the real error
      e = e.args[0]
    kind = 'unknown config key' if isinstance(e, (KeyError, AttributeError)) else 'bad config value'
    _fail(f'{kind}: {e.args[0] if e.args else e}', 2)


def main(argv):
  if len(argv) > 1:
    _fail(f'unexpected arguments {argv[1:]}', 2)
  config = _CONFIG.value
  if config is None:
    _fail('--config is required, e.g. --config=configs/transfer.py', 2)
  try:
    task_name = config.task
  except OSError as e:  # config_flags reports a missing or unloadable file only on first use
    _fail(str(e).splitlines()[0] + ': ' + str(e).splitlines()[-1].strip(), 2)
  if task_name not in TASKS:
    _fail(f'config.task={task_name!r}; expected one of {sorted(TASKS)}', 2)
  logging.info('task %s, workdir %s', config.task, _WORKDIR.value)
  task = importlib.import_module(TASKS[task_name])
  try:
    task.run(config, _WORKDIR.value)
  except AudioError as e:
    _fail(e, 1)
  except ConfigError as e:
    _fail(e, 2)


def run():
  app.run(main, flags_parser=_parse_flags)


if __name__ == '__main__':
  run()
