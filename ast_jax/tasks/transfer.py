"""`task=transfer`: one content clip in the style of one style clip, written to the workdir.

Outputs (each written atomically): output.wav, spectrograms.png (content, style, output and the
true target when given; Hz against seconds), loss.png, metrics.json, config.json.
"""

import pathlib
import time

import jax
import numpy as np
from absl import logging

from ast_jax import files, transfer
from ast_jax.errors import ConfigError
from ast_jax.evaluation import metrics as eval_metrics
from ast_jax.audio import io, phase, spectral
from ast_jax.models import shallow


def build(config) -> tuple[spectral.Representation, shallow.FeatureExtractor]:
  """The representation and feature extractor; a bad config value raises ConfigError."""
  try:
    rep = spectral.Representation.from_config(config.representation)
    extractor = shallow.build_feature_extractor(config.features, rep.num_features)
    transfer.check_config(config.transfer)
    if config.phase.init not in ('random', 'content'):
      raise ValueError(f"phase.init={config.phase.init!r}; expected 'random' or 'content'")
  except ValueError as e:
    raise ConfigError(str(e)) from e
  return rep, extractor


def load_clip(path: str, rep: spectral.Representation, audio_cfg, min_samples: int) -> np.ndarray:
  return io.load(path, rep.sample_rate, offset=audio_cfg.offset, duration=audio_cfg.duration,
                 min_samples=min_samples, max_seconds=audio_cfg.max_seconds)


def run(config, workdir: str) -> dict:
  """Runs the transfer described by `config` and writes its outputs to `workdir`."""
  workdir = pathlib.Path(workdir)
  started = time.perf_counter()
  rep, extractor = build(config)
  # The fewest samples whose (centred) STFT has as many frames as the receptive field.
  min_samples = (extractor.receptive_field - 1) * rep.hop_length + 1
  content = load_clip(config.content, rep, config.audio, min_samples)
  style = load_clip(config.style, rep, config.audio, min_samples)
  logging.info('content %s: %.2f s; style %s: %.2f s', config.content,
               len(content) / rep.sample_rate, config.style, len(style) / rep.sample_rate)

  if rep.transform == 'normalised':  # seed 002's statistics, here from the two clips at hand
    rep = rep.fit(np.concatenate([content, style]))
  content_rep, style_rep = rep(content)[None], rep(style)[None]

  result = transfer.optimise(extractor, content_rep, style_rep, config.transfer,
                             config.features.content_layers, config.features.style_layers)
  logging.info('transfer: %d steps in %.1f s, final %s', result.steps, result.seconds,
               {k: float(v[0]) for k, v in result.final.items()})

  t = time.perf_counter()
  magnitude = rep.to_magnitude(result.rep[0])
  init_phase = rep.stft(content) if config.phase.init == 'content' else None
  wave = phase.griffin_lim(
      magnitude, n_fft=rep.n_fft, hop_length=rep.hop_length, n_iter=config.phase.n_iter,
      momentum=config.phase.momentum, init='given' if init_phase is not None else 'random',
      phase=init_phase, seed=config.phase.seed, length=len(content))
  convergence = float(phase.spectral_convergence(magnitude, wave, n_fft=rep.n_fft,
                                                 hop_length=rep.hop_length))
  wave = io.peak_normalise(np.asarray(wave), config.output.peak)
  phase_seconds = time.perf_counter() - t

  io.save_wav(workdir / 'output.wav', wave, rep.sample_rate)
  target = _optional_clip(config.target, rep, config.audio, len(content))
  _plot_spectrograms(workdir / 'spectrograms.png', rep,
                     [('content', content), ('style', style), ('output', wave)]
                     + ([('true target', target)] if target is not None else []))
  _plot_losses(workdir / 'loss.png', result.losses[0])
  device = jax.devices()[0]
  metrics = {
      'initial_loss': float(result.losses[0, 0]),
      'final_losses': {k: float(v[0]) for k, v in result.final.items()},
      'steps': result.steps,
      'converged': result.converged,
      'transfer_seconds': result.seconds,
      'phase_seconds': phase_seconds,
      'total_seconds': time.perf_counter() - started,
      'spectral_convergence': convergence,
      'content_seconds': len(content) / rep.sample_rate,
      'style_seconds': len(style) / rep.sample_rate,
      'backend': jax.default_backend(),
      'device': device.device_kind,
      'jax_version': jax.__version__,
  }
  if target is not None:
    # Distance to the true rendering, beside doing nothing (content copy) and copying the style:
    # a transfer helps only where it beats the content copy.
    lsd = lambda x: eval_metrics.log_spectral_distance(x, target, sample_rate=rep.sample_rate)
    metrics['lsd_to_target_db'] = {'output': lsd(wave), 'content_copy': lsd(content),
                                   'style_copy': lsd(style)}
  files.write_json(workdir / 'metrics.json', metrics)
  files.write_text(workdir / 'config.json', config.to_json_best_effort(indent=2) + '\n')
  logging.info('wrote %s', workdir)
  return metrics


def _optional_clip(path, rep, audio_cfg, length):
  if not path:
    return None
  clip = load_clip(path, rep, audio_cfg, 1)
  return clip[:length]


def _plot_spectrograms(path, rep, clips):
  """One panel per clip: |STFT| in dB, frequency in Hz against time in seconds."""
  import matplotlib
  matplotlib.use('Agg')
  from matplotlib import pyplot as plt

  fig, axes = plt.subplots(len(clips), 1, figsize=(10, 2.6 * len(clips)), squeeze=False)
  for ax, (name, wave) in zip(axes[:, 0], clips):
    mag = np.abs(np.asarray(spectral.stft(np.asarray(wave, np.float32), rep.n_fft, rep.hop_length)))
    db = 20 * np.log10(np.maximum(mag, 1e-5))  # display only: floor at -100 dB
    seconds = len(wave) / rep.sample_rate
    im = ax.imshow(db.T, origin='lower', aspect='auto', cmap='magma', vmin=db.max() - 80,
                   vmax=db.max(), extent=(0, seconds, 0, rep.sample_rate / 2))
    ax.set(title=name, ylabel='frequency (Hz)')
    fig.colorbar(im, ax=ax, label='dB')
  axes[-1, 0].set_xlabel('time (s)')
  fig.tight_layout()
  with files.atomic_output(path) as tmp:
    fig.savefig(tmp, dpi=80, format='png')
  plt.close(fig)


def _plot_losses(path, losses):
  import matplotlib
  matplotlib.use('Agg')
  from matplotlib import pyplot as plt

  fig, ax = plt.subplots(figsize=(6, 4))
  ax.semilogy(np.arange(len(losses)), losses)
  ax.set(xlabel='optimiser step', ylabel='total loss', title='transfer loss')
  ax.grid(True, which='both', alpha=0.3)
  fig.tight_layout()
  with files.atomic_output(path) as tmp:
    fig.savefig(tmp, dpi=80, format='png')
  plt.close(fig)
