"""Spectral representations and their inverses, in pure JAX.

Layout is time-major with features last (docs/INTERFACES.md):

  waveform        float32   [..., samples]
  STFT            complex64 [..., frames, bins]      bins = n_fft // 2 + 1
  representation  float32   [..., frames, features]  features = bins or n_mels

librosa 0.11 is the reference for every definition here (tests/spectral_test.py checks parity),
but librosa itself is never imported: it costs ~14 s of numba compilation in a fresh environment
and runs on the CPU only. FFT sizes and hops are static Python ints, so every function jits.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
from typing import Any, Optional

import jax
import jax.numpy as jnp
import numpy as np

# Frames are cut from and overlap-added into [..., chunks, hop] views of the signal (one slice per
# hop a frame spans) when a frame spans at most this many hops (n_fft / hop <= 16 covers every
# usual setting: 4 at 75 % overlap); past it the graph grows too large and we fall back to a
# gather / scatter-add with an index array.
_MAX_HOPS_PER_FRAME = 16

# librosa.istft divides by the window sum-square only where it exceeds the smallest normal float32
# (util.tiny); the same threshold keeps the edges of non-centred transforms finite.
_TINY32 = float(np.finfo(np.float32).tiny)


# --------------------------------------------------------------------------------------------
# STFT / inverse STFT
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=32)
def hann_window(n_fft: int) -> np.ndarray:
  """Periodic Hann window [n_fft], as scipy.signal.get_window('hann', n_fft, fftbins=True)."""
  n = np.arange(n_fft, dtype=np.float64)
  window = (0.5 - 0.5 * np.cos(2.0 * np.pi * n / n_fft)).astype(np.float32)
  window.flags.writeable = False
  return window


def num_frames(num_samples: int, n_fft: int, hop_length: int, center: bool = True) -> int:
  """Frames of stft() for a signal of num_samples samples."""
  padded = num_samples + 2 * (n_fft // 2) if center else num_samples
  if padded < n_fft:
    raise ValueError(
        f"stft: {num_samples} samples is shorter than n_fft={n_fft} (center={center}); "
        "pad the signal" + ("" if center else " or use center=True"))
  return 1 + (padded - n_fft) // hop_length


def num_samples(n_frames: int, n_fft: int, hop_length: int, center: bool = True) -> int:
  """Samples of istft(length=None) for n_frames frames (librosa's default output length)."""
  full = n_fft + hop_length * (n_frames - 1)
  return full - 2 * (n_fft // 2) if center else full


def _frame(x: jax.Array, n_fft: int, hop_length: int) -> jax.Array:
  """Frames [..., frames, n_fft] of an already padded signal x [..., samples]."""
  n_samples = x.shape[-1]
  n_frames = 1 + (n_samples - n_fft) // hop_length
  hops_per_frame = -(-n_fft // hop_length)
  if hops_per_frame > _MAX_HOPS_PER_FRAME:
    index = np.arange(n_frames)[:, None] * hop_length + np.arange(n_fft)[None, :]
    return x[..., index]
  # View the signal as [..., chunks, hop]; frame k is chunks k .. k + hops_per_frame - 1 end to end,
  # cut to n_fft: a stack of shifted slices. On the CPU (431 frames of 2048) this measured fastest
  # of the forms tried, alone (stft 1.3 ms; a gather with an index array 1.5 ms, slices +
  # concatenate 1.6 ms) and inside Griffin-Lim's istft -> stft (3.2 ms; gather 4.6, concatenate
  # 3.5, the two FFTs alone 2.6).
  n_chunks = n_frames - 1 + hops_per_frame
  needed = n_chunks * hop_length
  if n_samples < needed:  # the tail past the last frame's end only feeds the cut-off part
    x = jnp.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, needed - n_samples)])
  chunks = x[..., :needed].reshape(x.shape[:-1] + (n_chunks, hop_length))
  frames = jnp.stack([chunks[..., i:i + n_frames, :] for i in range(hops_per_frame)], axis=-2)
  return frames.reshape(x.shape[:-1] + (n_frames, hops_per_frame * hop_length))[..., :n_fft]


def _overlap_add(frames: jax.Array, hop_length: int) -> jax.Array:
  """Overlap-add frames [..., frames, n_fft] -> [..., n_fft + hop * (frames - 1)]."""
  n_frames, n_fft = frames.shape[-2:]
  out_len = n_fft + hop_length * (n_frames - 1)
  batch = frames.shape[:-2]
  hops_per_frame = -(-n_fft // hop_length)
  if hops_per_frame > _MAX_HOPS_PER_FRAME:
    index = np.arange(n_frames)[:, None] * hop_length + np.arange(n_fft)[None, :]
    return jnp.zeros(batch + (out_len,), frames.dtype).at[..., index].add(frames)
  # Zero-pad each frame to a whole number of hops, view it as [..., frames, hops, hop], and add the
  # i-th hop of every frame into output chunk (frame + i): a sum of shifted copies, no scatter.
  width = hops_per_frame * hop_length
  if width > n_fft:
    frames = jnp.pad(frames, [(0, 0)] * (frames.ndim - 1) + [(0, width - n_fft)])
  parts = frames.reshape(batch + (n_frames, hops_per_frame, hop_length))
  n_chunks = n_frames + hops_per_frame - 1
  no_pad = [(0, 0)] * len(batch)
  out = None
  for i in range(hops_per_frame):
    shifted = jnp.pad(parts[..., i, :], no_pad + [(i, hops_per_frame - 1 - i), (0, 0)])
    out = shifted if out is None else out + shifted
  return out.reshape(batch + (n_chunks * hop_length,))[..., :out_len]


def _window_sumsquare(n_frames: int, n_fft: int, hop_length: int) -> np.ndarray:
  """Sum of the shifted squared windows [n_fft + hop * (frames - 1)].

  As librosa.filters.window_sumsquare; computed once per shape, in numpy.
  """
  window_sq = hann_window(n_fft).astype(np.float64) ** 2
  out = np.zeros(n_fft + hop_length * (n_frames - 1))
  index = np.arange(n_frames)[:, None] * hop_length + np.arange(n_fft)[None, :]
  np.add.at(out, index, np.broadcast_to(window_sq, index.shape))
  return out.astype(np.float32)


def stft(x: jax.Array, n_fft: int, hop_length: int, center: bool = True) -> jax.Array:
  """Short-time Fourier transform, as librosa.stft with its 0.11 defaults, transposed.

  Args:
    x: waveform [..., samples].
    n_fft: FFT size = window length (periodic Hann).
    hop_length: hop between frames, in samples.
    center: pad n_fft // 2 zeros on both sides so frame k is centred on sample k * hop.

  Returns:
    complex64 [..., frames, n_fft // 2 + 1]; frames = num_frames(samples, n_fft, hop, center),
    i.e. 1 + samples // hop for a centred even n_fft.
  """
  x = jnp.asarray(x)
  if not jnp.issubdtype(x.dtype, jnp.floating):
    x = x.astype(jnp.float32)
  num_frames(x.shape[-1], n_fft, hop_length, center)  # validates the length
  if center:
    pad = n_fft // 2
    x = jnp.pad(x, [(0, 0)] * (x.ndim - 1) + [(pad, pad)])
  frames = _frame(x, n_fft, hop_length) * hann_window(n_fft)
  return jnp.fft.rfft(frames, n=n_fft, axis=-1)


def istft(spec: jax.Array, n_fft: int, hop_length: int, length: Optional[int] = None,
          center: bool = True) -> jax.Array:
  """Inverse STFT, as librosa.istft (windowed overlap-add / window sum-square).

  Args:
    spec: complex [..., frames, n_fft // 2 + 1].
    n_fft, hop_length, center: as given to stft().
    length: number of output samples; the signal is cut or zero-padded to it exactly as
      librosa.istft(length=...) does. None gives num_samples(frames, n_fft, hop, center).

  Returns:
    float32 [..., samples].
  """
  spec = jnp.asarray(spec)
  n_frames = spec.shape[-2]
  if spec.shape[-1] != n_fft // 2 + 1:
    raise ValueError(f"istft: spec has {spec.shape[-1]} bins; n_fft={n_fft} needs {n_fft // 2 + 1}")
  frames = jnp.fft.irfft(spec, n=n_fft, axis=-1) * hann_window(n_fft)
  y = _overlap_add(frames, hop_length)
  wss = _window_sumsquare(n_frames, n_fft, hop_length)
  y = y * np.where(wss > _TINY32, 1.0 / np.maximum(wss, _TINY32), 1.0).astype(np.float32)
  start = n_fft // 2 if center else 0
  if length is None:
    length = num_samples(n_frames, n_fft, hop_length, center)
  y = y[..., start:start + length]
  if y.shape[-1] < length:
    y = jnp.pad(y, [(0, 0)] * (y.ndim - 1) + [(0, length - y.shape[-1])])
  return y


def magnitude(spec: jax.Array, power: float = 1.0) -> jax.Array:
  """|spec| ** power (power 1: amplitude, 2: power), float32, same shape."""
  if power == 2.0:
    return jnp.real(spec) ** 2 + jnp.imag(spec) ** 2  # skips the sqrt inside abs
  if power == 1.0:
    return jnp.abs(spec)
  return jnp.abs(spec) ** power


# --------------------------------------------------------------------------------------------
# Mel filterbank
# --------------------------------------------------------------------------------------------

# Slaney's Auditory Toolbox mel scale (librosa htk=False): linear below 1 kHz, log above.
_F_SP = 200.0 / 3.0  # Hz per mel in the linear part
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = math.log(6.4) / 27.0  # 27 mels per factor 6.4 in the log part


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
  hz = np.asarray(hz, np.float64)
  linear = hz / _F_SP
  log = _MIN_LOG_MEL + np.log(np.maximum(hz, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOGSTEP
  return np.where(hz >= _MIN_LOG_HZ, log, linear)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
  mel = np.asarray(mel, np.float64)
  linear = _F_SP * mel
  log = _MIN_LOG_HZ * np.exp(_LOGSTEP * (mel - _MIN_LOG_MEL))
  return np.where(mel >= _MIN_LOG_MEL, log, linear)


@functools.lru_cache(maxsize=32)
def _mel_matrices(sample_rate: float, n_fft: int, n_mels: int, fmin: float,
                  fmax: Optional[float]) -> tuple[np.ndarray, np.ndarray]:
  fb = mel_filterbank(sample_rate, n_fft, n_mels, fmin, fmax)
  pinv = mel_pseudo_inverse(fb)
  fb.flags.writeable = False  # cached and shared: nobody may modify them in place
  pinv.flags.writeable = False
  return fb, pinv


def mel_filterbank(sample_rate: float, n_fft: int, n_mels: int, fmin: float = 0.0,
                   fmax: Optional[float] = None) -> np.ndarray:
  """Triangular mel filters [bins, n_mels]: librosa.filters.mel(...).T (htk=False, norm='slaney').

  Each filter rises from mel point i to i + 1 and falls to i + 2 (n_mels + 2 points evenly spaced on
  Slaney's mel scale between fmin and fmax) and is scaled by 2 / (its width in Hz), so that every
  filter has (about) the same area: the 'slaney' area normalisation.
  """
  if fmax is None:
    fmax = sample_rate / 2.0
  fft_freqs = np.fft.rfftfreq(n_fft, d=1.0 / sample_rate)  # [bins]
  mel_points = _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2))
  widths = np.diff(mel_points)  # [n_mels + 1]
  ramps = mel_points[:, None] - fft_freqs[None, :]  # [n_mels + 2, bins]
  lower = -ramps[:-2] / widths[:-1, None]
  upper = ramps[2:] / widths[1:, None]
  weights = np.maximum(0.0, np.minimum(lower, upper))  # [n_mels, bins]
  weights *= (2.0 / (mel_points[2:] - mel_points[:-2]))[:, None]
  return np.ascontiguousarray(weights.T.astype(np.float32))


def mel_pseudo_inverse(fb: np.ndarray) -> np.ndarray:
  """Moore-Penrose pseudo-inverse [n_mels, bins] of a filterbank fb [bins, n_mels].

  mel @ pinv is the minimum-norm linear spectrum whose mel projection is `mel` (exactly, when the
  filters are linearly independent). It can go negative between filter centres: callers that want
  magnitudes clamp it at 0 (Representation.to_magnitude does).
  """
  return np.linalg.pinv(np.asarray(fb, np.float64)).astype(np.float32)


def _matmul(x: jax.Array, matrix: np.ndarray) -> jax.Array:
  # HIGHEST: GPUs otherwise use TF32 for float32 matmuls (10-bit mantissa), far from librosa parity.
  return jnp.matmul(x, matrix, precision=jax.lax.Precision.HIGHEST)


# --------------------------------------------------------------------------------------------
# Elementwise transforms and their inverses
# --------------------------------------------------------------------------------------------


def log1p(x: jax.Array, gain: float = 1.0) -> jax.Array:
  """log(1 + gain * x): the gain sets where the noise floor left by the optimiser lands."""
  return jnp.log1p(gain * x)


def inv_log1p(y: jax.Array, gain: float = 1.0) -> jax.Array:
  return jnp.expm1(y) / gain


def power_to_db(S: jax.Array, amin: float = 1e-10) -> jax.Array:
  """10 log10(max(S, amin)), librosa.power_to_db(S, ref=1.0, amin, top_db=None).

  No top_db clipping: the log spectrogram is never clamped (clamping it every step is a known
  peer defect).
  """
  return 10.0 * jnp.log10(jnp.maximum(S, amin))


def db_to_power(S_db: jax.Array) -> jax.Array:
  return jnp.power(10.0, 0.1 * S_db)


def amplitude_to_db(S: jax.Array, amin: float = 1e-5) -> jax.Array:
  """20 log10(max(S, amin)), librosa.amplitude_to_db(S, ref=1.0, amin, top_db=None)."""
  return 20.0 * jnp.log10(jnp.maximum(S, amin))


def db_to_amplitude(S_db: jax.Array) -> jax.Array:
  return jnp.power(10.0, 0.05 * S_db)


class NormStats:
  """Statistics of seed 002's normalisation (section 2.2), fitted on training data.

  sigma_x: overall standard deviation of the features X.
  sigma_f: [features] standard deviation of log10(1 + X / sigma_x) per feature (mel bin).

  Immutable, hashable and comparable by value, so a Representation holding it stays a valid
  static argument for jax.jit.
  """

  __slots__ = ("sigma_x", "sigma_f")

  def __init__(self, sigma_x: float, sigma_f: Any):
    sigma_f = np.array(sigma_f, np.float32).reshape(-1)
    sigma_f.flags.writeable = False
    object.__setattr__(self, "sigma_x", float(sigma_x))
    object.__setattr__(self, "sigma_f", sigma_f)

  def __setattr__(self, name, value):
    raise dataclasses.FrozenInstanceError(f"NormStats is immutable; cannot set {name}")

  def __eq__(self, other):
    return (isinstance(other, NormStats) and self.sigma_x == other.sigma_x
            and np.array_equal(self.sigma_f, other.sigma_f))

  def __hash__(self):
    return hash((self.sigma_x, self.sigma_f.tobytes()))

  def __reduce__(self):  # pickle through __init__ (the frozen __setattr__ blocks the default)
    return (NormStats, (self.sigma_x, np.array(self.sigma_f)))

  def __repr__(self):
    return f"NormStats(sigma_x={self.sigma_x:.6g}, sigma_f=<{self.sigma_f.shape[0]} features>)"


def fit_norm_stats(x: Any) -> NormStats:
  """Fits NormStats on training features x [..., frames, features] (non-negative, e.g. mel power).

  Not jitted (returns Python/numpy values); float64 on the host.
  """
  x = np.asarray(x, np.float64)
  sigma_x = float(x.std())
  if not np.isfinite(sigma_x) or sigma_x <= 0.0:
    raise ValueError(
        f"fit_norm_stats: features have standard deviation {sigma_x}; "
        "need non-constant, finite data")
  x2 = np.log10(1.0 + x / sigma_x)
  sigma_f = x2.reshape(-1, x2.shape[-1]).std(axis=0)
  # A bin that is constant over the training data (e.g. an empty mel filter) has sigma_f = 0;
  # leave it unscaled rather than divide by zero.
  sigma_f = np.where(sigma_f > 0.0, sigma_f, 1.0)
  return NormStats(sigma_x, sigma_f)


def normalise(x: jax.Array, stats: NormStats) -> jax.Array:
  """Xn = log10(1 + X / sigma_x) / sigma_f (seed 002, section 2.2); x [..., frames, features]."""
  return jnp.log10(1.0 + x / stats.sigma_x) / stats.sigma_f


def denormalise(y: jax.Array, stats: NormStats) -> jax.Array:
  """Inverse of normalise: X = sigma_x (10 ** (y sigma_f) - 1)."""
  return stats.sigma_x * (jnp.power(10.0, y * stats.sigma_f) - 1.0)


# --------------------------------------------------------------------------------------------
# The representation
# --------------------------------------------------------------------------------------------

SCALES = ("linear", "mel")
TRANSFORMS = ("log1p", "db", "normalised", "none")
POWERS = (1.0, 2.0)


@dataclasses.dataclass(frozen=True)
class Representation:
  """The representation: waveform -> [..., frames, features] and back to linear STFT magnitudes.

  One object knows the forward map and its inverse, so optimisers and models never care which
  representation is in use. Frozen and hashable: pass it as a static argument to jax.jit or close
  over it.

  Forward: stft -> |.| ** power -> mel filterbank (scale='mel') -> transform.
  Inverse (to_magnitude): inverse transform -> mel pseudo-inverse (clamped at 0) -> ** (1 / power).
  """

  sample_rate: int = 22050  # Hz
  n_fft: int = 2048  # samples; FFT size = Hann window length
  hop_length: int = 512  # samples
  scale: str = "linear"  # 'linear' STFT bins | 'mel'
  n_mels: int = 128  # mel bands (scale='mel' only)
  fmin: float = 0.0  # Hz, lowest mel filter edge
  fmax: Optional[float] = None  # Hz, highest mel filter edge; None = sample_rate / 2
  power: float = 1.0  # 1.0 magnitude, 2.0 power
  transform: str = "log1p"  # 'log1p' | 'db' | 'normalised' | 'none'
  log1p_gain: float = 1.0  # g in log(1 + g x)
  norm_stats: Optional[NormStats] = None  # fitted by fit() for transform='normalised'

  def __post_init__(self):
    problem = _check_fields({f.name: getattr(self, f.name) for f in dataclasses.fields(self)})
    if problem:
      raise ValueError(f"Representation: {problem}")

  @classmethod
  def from_config(cls, cfg: Any) -> "Representation":
    """Builds from an ml_collections ConfigDict (config.representation) with the field names.

    Keys left out take the dataclass defaults; norm_stats is never read from a config (call fit()).
    Raises ValueError with a one-line message naming `representation.<key>` for a bad value.
    """
    values = dict(cfg.items()) if hasattr(cfg, "items") else dict(cfg)
    names = [f.name for f in dataclasses.fields(cls) if f.name != "norm_stats"]
    unknown = sorted(set(values) - set(names))
    if unknown:
      raise ValueError(
          f"representation.{unknown[0]}: unknown key; allowed keys: {', '.join(names)}")
    problem = _check_fields(values, prefix="representation.")
    if problem:
      raise ValueError(problem)
    for key in ("sample_rate", "n_fft", "hop_length", "n_mels"):
      if key in values:
        values[key] = int(values[key])
    for key in ("fmin", "power", "log1p_gain"):
      if key in values:
        values[key] = float(values[key])
    if values.get("fmax") is not None:
      values["fmax"] = float(values["fmax"])
    return cls(**values)

  # --- sizes -----------------------------------------------------------------------------------

  @property
  def num_bins(self) -> int:
    return self.n_fft // 2 + 1

  @property
  def num_features(self) -> int:
    return self.n_mels if self.scale == "mel" else self.num_bins

  def num_frames(self, num_samples_: int) -> int:
    """Frames of the representation of a num_samples-long waveform."""
    return num_frames(num_samples_, self.n_fft, self.hop_length)

  def num_samples(self, num_frames_: int) -> int:
    """Samples of the waveform that inverting num_frames frames gives (istft's default length)."""
    return num_samples(num_frames_, self.n_fft, self.hop_length)

  frames_for = num_frames  # names used in docs/INTERFACES.md
  samples_for = num_samples

  # --- forward ---------------------------------------------------------------------------------

  def stft(self, wave: jax.Array) -> jax.Array:
    """Complex STFT [..., frames, bins] of wave [..., samples] (e.g. a phase to start from)."""
    return stft(wave, self.n_fft, self.hop_length)

  def __call__(self, wave: jax.Array) -> jax.Array:
    """wave [..., samples] -> representation float32 [..., frames, features]."""
    return self.from_stft(self.stft(wave))

  def from_stft(self, spec: jax.Array) -> jax.Array:
    """Complex STFT [..., frames, bins] -> representation [..., frames, features]."""
    return self._transform(self._features(spec))

  def _features(self, spec: jax.Array) -> jax.Array:
    """Pre-transform features: |spec| ** power, mel-projected if scale='mel'."""
    x = magnitude(spec, self.power)
    if self.scale == "mel":
      x = _matmul(x, self.mel_filterbank)
    return x

  def _transform(self, x: jax.Array) -> jax.Array:
    if self.transform == "log1p":
      return log1p(x, self.log1p_gain)
    if self.transform == "db":
      return power_to_db(x) if self.power == 2.0 else amplitude_to_db(x)
    if self.transform == "normalised":
      return normalise(x, self._require_stats())
    return x

  # --- inverse ---------------------------------------------------------------------------------

  def to_magnitude(self, rep: jax.Array) -> jax.Array:
    """Representation [..., frames, features] -> linear STFT amplitude [..., frames, bins]."""
    x = self._inverse_transform(rep)
    if self.scale == "mel":
      x = _matmul(x, self.mel_pseudo_inverse)
    # Magnitudes cannot be negative: an optimised representation can invert to small negative
    # values (log1p below 0, the pseudo-inverse between filter centres); clamp them to 0, which
    # also keeps the 1/power root real.
    x = jnp.maximum(x, 0.0)
    if self.power == 2.0:
      return jnp.sqrt(x)
    return x if self.power == 1.0 else x ** (1.0 / self.power)

  def _inverse_transform(self, rep: jax.Array) -> jax.Array:
    if self.transform == "log1p":
      return inv_log1p(rep, self.log1p_gain)
    if self.transform == "db":
      return db_to_power(rep) if self.power == 2.0 else db_to_amplitude(rep)
    if self.transform == "normalised":
      return denormalise(rep, self._require_stats())
    return rep

  # --- mel matrices (numpy, cached per (sr, n_fft, n_mels, fmin, fmax)) ------------------------

  @property
  def mel_filterbank(self) -> np.ndarray:
    """[bins, n_mels] float32."""
    return _mel_matrices(self.sample_rate, self.n_fft, self.n_mels, self.fmin, self.fmax)[0]

  @property
  def mel_pseudo_inverse(self) -> np.ndarray:
    """[n_mels, bins] float32."""
    return _mel_matrices(self.sample_rate, self.n_fft, self.n_mels, self.fmin, self.fmax)[1]

  # --- normalisation statistics ----------------------------------------------------------------

  def fit(self, waves: Any = None, *, features: Any = None) -> "Representation":
    """A copy with norm_stats fitted on training data (transform='normalised' only).

    Args:
      waves: training waveforms [..., samples].
      features: or the pre-transform features [..., frames, features] (|STFT| ** power, mel
        projected when scale='mel'), e.g. gathered over a dataset.
    """
    if self.transform != "normalised":
      raise ValueError(
          f"Representation.fit: transform={self.transform!r} has no statistics to fit; "
          "only 'normalised' does")
    if (waves is None) == (features is None):
      raise ValueError("Representation.fit: pass exactly one of waves or features")
    if features is None:
      features = self._features(self.stft(waves))
    features = np.asarray(features)
    if features.shape[-1] != self.num_features:
      raise ValueError(f"Representation.fit: features have {features.shape[-1]} bins; "
                       f"this representation has {self.num_features}")
    return dataclasses.replace(self, norm_stats=fit_norm_stats(features))

  def _require_stats(self) -> NormStats:
    if self.norm_stats is None:
      raise ValueError(
          "Representation(transform='normalised') has no norm_stats: "
          "call rep = rep.fit(training_waves) first")
    if self.norm_stats.sigma_f.shape[0] != self.num_features:
      raise ValueError(f"Representation: norm_stats has {self.norm_stats.sigma_f.shape[0]} "
                       f"features; this representation has {self.num_features}")
    return self.norm_stats


def _check_fields(values: dict, prefix: str = "") -> Optional[str]:
  """The first problem with representation field values, as a one-line message, or None."""

  def positive_int(key):
    v = values.get(key)
    if v is None:
      return None
    if (isinstance(v, bool) or not isinstance(v, numbers.Real) or not float(v).is_integer()
        or v <= 0):
      return f"{prefix}{key}: {v!r} is not a positive integer"
    return None

  for key in ("sample_rate", "n_fft", "hop_length", "n_mels"):
    problem = positive_int(key)
    if problem:
      return problem
  if "scale" in values and values["scale"] not in SCALES:
    return f"{prefix}scale: {values['scale']!r} is not one of {', '.join(map(repr, SCALES))}"
  if "transform" in values and values["transform"] not in TRANSFORMS:
    return (f"{prefix}transform: {values['transform']!r} is not one of "
            f"{', '.join(map(repr, TRANSFORMS))}")
  if "power" in values and values["power"] not in POWERS:
    return f"{prefix}power: {values['power']!r} is not one of 1.0 (magnitude), 2.0 (power)"
  for key in ("fmin", "log1p_gain"):
    v = values.get(key)
    if v is not None and (isinstance(v, bool) or not isinstance(v, numbers.Real)):
      return f"{prefix}{key}: {v!r} is not a number"
  if values.get("fmax") is not None and not isinstance(values["fmax"], numbers.Real):
    return f"{prefix}fmax: {values['fmax']!r} is not a number (Hz) or None"
  if "log1p_gain" in values and not values["log1p_gain"] > 0:
    return f"{prefix}log1p_gain: {values['log1p_gain']!r} must be > 0"
  sr = values.get("sample_rate")
  fmin = values.get("fmin", 0.0)
  fmax = values.get("fmax")
  if fmin is None or fmin < 0:
    return f"{prefix}fmin: {fmin!r} must be >= 0 Hz"
  if fmax is not None and (fmax <= fmin or (sr is not None and fmax > sr / 2)):
    return f"{prefix}fmax: {fmax!r} must be in (fmin={fmin}, sample_rate / 2] Hz, or None"
  return None
