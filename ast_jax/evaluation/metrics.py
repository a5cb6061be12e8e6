"""Objective measures of a transfer."""

import numpy as np

from ast_jax.audio import spectral

LSD_LOUDNESS_DBFS = -20.0  # both signals are brought to this RMS first, so level does not count


def log_spectral_distance(a, b, *, sample_rate: int, n_fft: int = 2048, hop_length: int = 512,
                          n_mels: int = 128) -> float:
  """RMS of the mel-dB difference between two clips (Cifka et al. 2021), lower is closer.

  Args:
    a, b: waveforms `[samples]`; the longer is cut to the shorter.
  Both are first scaled to the same RMS (LSD_LOUDNESS_DBFS) so that only the spectral shape
  counts, then compared frame by frame on a 128-band Slaney mel power spectrogram in dB, floored at
  -100 dB (power_to_db's amin=1e-10) so that silence stays finite.
  """
  n = min(len(a), len(b))
  if n == 0:
    raise ValueError('log_spectral_distance: an empty clip')
  rep = spectral.Representation(sample_rate=sample_rate, n_fft=n_fft, hop_length=hop_length,
                                scale='mel', n_mels=n_mels, power=2.0, transform='db')
  dbs = []
  for x in (a, b):
    x = np.asarray(x[:n], np.float64)
    rms = np.sqrt(np.mean(x**2))
    x = x * (10 ** (LSD_LOUDNESS_DBFS / 20) / max(rms, 1e-12))
    dbs.append(np.asarray(rep(x.astype(np.float32)), np.float64))
  return float(np.sqrt(np.mean(np.square(dbs[0] - dbs[1]))))
