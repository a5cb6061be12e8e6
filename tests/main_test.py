"""The command line end to end: `runlocal` writes every output, and bad configs and bad inputs end
with one line on stderr, a non-zero exit and nothing half-written."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

ROOT = pathlib.Path(__file__).resolve().parents[1]
CONFIG = str(ROOT / 'configs' / 'transfer.py')


def _main(*args, workdir):
  env = dict(os.environ, PYTHONPATH=str(ROOT))
  return subprocess.run([sys.executable, '-m', 'ast_jax.main', f'--workdir={workdir}', *args],
                        capture_output=True, text=True, env=env, timeout=600, cwd=ROOT)


@pytest.fixture(scope='module')
def runlocal(tmp_path_factory):
  workdir = tmp_path_factory.mktemp('runlocal')
  proc = _main(f'--config={CONFIG}:runlocal', workdir=workdir)
  assert proc.returncode == 0, proc.stderr[-3000:]
  return workdir


def test_runlocal_writes_every_output(runlocal):
  names = sorted(p.name for p in runlocal.iterdir())
  assert names == ['config.json', 'loss.png', 'metrics.json', 'output.wav', 'spectrograms.png']
  wave, sr = sf.read(runlocal / 'output.wav')
  content, content_sr = sf.read(ROOT / 'ast_jax' / 'assets' / 'content_piano.ogg',
                                frames=22050)  # runlocal reads 1.0 s of each clip
  assert sr == 22050 and len(wave) == len(content) == 22050
  assert 0.5 < np.abs(wave).max() <= 0.9 + 1e-4  # peak-normalised to output.peak
  for png in ('loss.png', 'spectrograms.png'):
    assert (runlocal / png).read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
  config = json.loads((runlocal / 'config.json').read_text())
  assert config['task'] == 'transfer' and config['features']['filters'] == 64


def test_runlocal_loss_falls_tenfold(runlocal):
  metrics = json.loads((runlocal / 'metrics.json').read_text())
  assert metrics['final_losses']['total'] < metrics['initial_loss'] / 10
  assert metrics['backend'] == 'cpu' and metrics['steps'] > 0
  assert 0 < metrics['spectral_convergence'] < 1


def test_same_config_and_seed_give_the_same_output(runlocal, tmp_path):
  proc = _main(f'--config={CONFIG}:runlocal', workdir=tmp_path)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert (tmp_path / 'output.wav').read_bytes() == (runlocal / 'output.wav').read_bytes()


def _assert_one_line_error(proc, code, *fragments):
  assert proc.returncode == code, (proc.returncode, proc.stderr[-2000:])
  lines = [l for l in proc.stderr.splitlines() if l.strip()]
  errors = [l for l in lines if l.startswith('error: ')]
  # absl's log lines may come first; the error is one line, the last, and no traceback.
  assert len(errors) == 1 and lines[-1] == errors[0], proc.stderr[-2000:]
  assert 'Traceback' not in proc.stderr, proc.stderr[-2000:]
  for fragment in fragments:
    assert fragment in errors[0], errors[0]


@pytest.mark.parametrize('override,fragments', [
    ('--config.transfer.stepz=3', ['stepz']),
    ('--config.transfer.steps=many', ['steps']),
    ('--config.transfer.init=zeros', ['transfer.init', "'zeros'"]),
    ('--config.representation.transform=log2', ['representation.transform']),
])
def test_bad_config_is_one_line_exit_2(tmp_path, override, fragments):
  proc = _main(f'--config={CONFIG}:runlocal', override, workdir=tmp_path / 'run')
  _assert_one_line_error(proc, 2, *fragments)
  assert not (tmp_path / 'run').exists() or not any((tmp_path / 'run').iterdir())


def test_bad_variant_is_one_line_exit_2(tmp_path):
  proc = _main(f'--config={CONFIG}:vgg19', workdir=tmp_path)
  _assert_one_line_error(proc, 2, 'vgg19')


def test_missing_config_file_is_one_line_exit_2(tmp_path):
  proc = _main(f'--config={tmp_path}/nope.py', workdir=tmp_path)
  _assert_one_line_error(proc, 2, 'nope.py')


@pytest.mark.parametrize('case', ['missing', 'silent', 'corrupt'])
def test_bad_audio_is_one_line_exit_1_and_writes_nothing(tmp_path, case):
  path = tmp_path / f'{case}.wav'
  if case == 'silent':
    sf.write(path, np.zeros(22050, np.float32), 22050)
  elif case == 'corrupt':
    path.write_bytes(b'RIFF' + os.urandom(200))
  workdir = tmp_path / 'run'
  proc = _main(f'--config={CONFIG}:runlocal', f'--config.content={path}', workdir=workdir)
  _assert_one_line_error(proc, 1, str(path))
  assert not workdir.exists() or not any(workdir.iterdir())
