"""Evaluation metrics on cases with a known answer."""

import numpy as np
import pytest

from ast_jax.audio import spectral
from ast_jax.evaluation import metrics

SR = 16000


def _sine(freq, seconds=1.0, amp=0.5):
  t = np.arange(int(seconds * SR)) / SR
  return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_lsd_is_zero_for_the_same_clip_at_any_level():
  x = _sine(440) + 0.01 * np.random.default_rng(0).standard_normal(SR).astype(np.float32)
  assert metrics.log_spectral_distance(x, x, sample_rate=SR) == 0.0
  # Loudness is normalised away: 20 dB quieter is the same spectrum (float32 rounding only).
  assert metrics.log_spectral_distance(x, 0.1 * x, sample_rate=SR) < 1e-3


def test_lsd_orders_spectral_similarity():
  a, near, far = _sine(440), _sine(450), _sine(3000)
  d_near = metrics.log_spectral_distance(a, near, sample_rate=SR)
  d_far = metrics.log_spectral_distance(a, far, sample_rate=SR)
  assert 0 < d_near < d_far


def test_lsd_of_a_known_spectral_gap():
  """White noise against itself with the upper half of its band 20 dB down: after RMS matching
  the lower bands rise by 10 log10(1 / 0.505) = 2.97 dB and the upper ones fall by 17.03 dB, so the
  distance is the RMS of those over the mel bands."""
  rng = np.random.default_rng(1)
  noise = rng.standard_normal(8 * SR)
  spectrum = np.fft.rfft(noise)
  half = len(spectrum) // 2
  spectrum[half:] *= 0.1
  tilted = np.fft.irfft(spectrum, len(noise))
  d = metrics.log_spectral_distance(noise, tilted, sample_rate=SR, n_mels=64)
  fb = spectral.mel_filterbank(SR, 2048, 64)  # [bins, mels]
  upper = fb[512:].sum(0) / fb.sum(0)  # share of each band's weight above SR / 4 (bin 512)
  rise = 10 * np.log10(1 / 0.505)
  gains = 10 * np.log10((1 - upper) + upper * 0.01) + rise  # per band, in dB
  expected = np.sqrt(np.mean(gains**2))
  # Noise makes each band's level fluctuate by ~0.1 dB over 8 s: 0.3 dB is ample.
  assert abs(d - expected) < 0.3, (d, expected)


def test_lsd_rejects_empty():
  with pytest.raises(ValueError, match='empty'):
    metrics.log_spectral_distance(np.zeros(0), np.zeros(10), sample_rate=SR)
