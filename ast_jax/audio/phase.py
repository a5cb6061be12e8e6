"""Phase reconstruction: Griffin-Lim (classic and fast), jitted, and its quality measure.

Layout as everywhere (docs/INTERFACES.md): magnitudes [..., frames, bins], waves [..., samples].
"""

from __future__ import annotations

import functools
from typing import Optional

import jax
import jax.numpy as jnp
import numpy as np

from ast_jax.audio import spectral

INITS = ("random", "given")

# Guards the division that projects onto unit modulus; the same value librosa.griffinlim uses
# (util.tiny of complex64), so a bin whose rebuilt STFT is exactly 0 keeps phase 0 instead of NaN.
_EPS = float(np.finfo(np.float32).tiny)


def griffin_lim(magnitude: jax.Array, *, n_fft: int, hop_length: int, n_iter: int = 100,
                momentum: float = 0.99, init: str = "random", phase: Optional[jax.Array] = None,
                seed: int = 0, length: Optional[int] = None) -> jax.Array:
  """A waveform whose STFT magnitude approximates `magnitude` (centred periodic-Hann STFT).

  momentum = 0 is classic Griffin-Lim (Griffin & Lim 1984); momentum > 0 is the fast Griffin-Lim of
  Perraudin, Balazs & Sondergaard (2013), with the update of librosa.griffinlim:
    rebuilt = stft(istft(angles * S));  angles = rebuilt - momentum / (1 + momentum) * previous;
    angles /= |angles| + eps.

  Args:
    magnitude: linear STFT amplitude S [..., frames, n_fft // 2 + 1] (any leading batch dims).
    n_fft, hop_length: of the STFT that S came from.
    n_iter: iterations (0 returns the inverse of the initial estimate).
    momentum: fast Griffin-Lim momentum; 0.99 as librosa.
    init: 'random' (uniform phase from jax.random.key(seed), a different draw per batch element)
      or 'given' (start from `phase`, e.g. the content clip's STFT). Never zero phase, never a
      copy of the magnitudes (both defects of peer implementations).
    phase: for init='given', complex [..., frames, bins] with S's shape: an STFT or unit phasors
      (only its angle is used).
    seed: random seed for init='random'.
    length: output samples (cut or zero-padded like istft). When a signal of that length has
      exactly `frames` frames, the iterations are constrained to it (as librosa does); otherwise
      they run at the natural length num_samples(frames) and only the result is cut or padded.

  Returns:
    float32 [..., samples].
  """
  magnitude = jnp.asarray(magnitude)
  n_bins = n_fft // 2 + 1
  if magnitude.ndim < 2 or magnitude.shape[-1] != n_bins:
    raise ValueError(f"griffin_lim: magnitude must be [..., frames, {n_bins}] for n_fft={n_fft}; "
                     f"got shape {tuple(magnitude.shape)}")
  if init not in INITS:
    raise ValueError(f"griffin_lim: init={init!r} is not one of {', '.join(map(repr, INITS))}")
  if init == "given":
    if phase is None:
      raise ValueError("griffin_lim: init='given' needs phase= (a complex STFT or unit phasors)")
    phase = jnp.asarray(phase)
    if phase.shape != magnitude.shape:
      raise ValueError(f"griffin_lim: phase shape {tuple(phase.shape)} differs from magnitude "
                       f"shape {tuple(magnitude.shape)}")
    if not jnp.issubdtype(phase.dtype, jnp.complexfloating):
      raise ValueError(
          f"griffin_lim: phase must be complex (an STFT or unit phasors), got {phase.dtype}; "
          "for angles in radians pass jnp.exp(1j * angles)")
  elif phase is not None:
    raise ValueError("griffin_lim: phase= is only used with init='given'")
  # momentum, n_iter and seed may be tracers (griffin_lim called inside a jitted function): only
  # concrete values can be checked here.
  if isinstance(momentum, (int, float)) and momentum < 0:
    raise ValueError(f"griffin_lim: momentum={momentum} must be >= 0")
  if isinstance(n_iter, int) and n_iter < 0:
    raise ValueError(f"griffin_lim: n_iter={n_iter} must be >= 0")

  n_frames = magnitude.shape[-2]
  loop_length = None
  if length is not None:
    if length < 0:
      raise ValueError(f"griffin_lim: length={length} must be >= 0")
    if spectral.num_frames(length, n_fft, hop_length) == n_frames:
      loop_length = int(length)
  return _griffin_lim(
      magnitude.astype(jnp.float32), None if phase is None else phase.astype(jnp.complex64),
      jnp.asarray(momentum, jnp.float32), jnp.asarray(seed, jnp.int32),
      jnp.asarray(n_iter, jnp.int32), n_fft=n_fft, hop_length=hop_length, loop_length=loop_length,
      length=None if length is None else int(length))


def _with_modulus(spec: jax.Array, modulus: jax.Array) -> jax.Array:
  """spec / (|spec| + eps) * modulus, in real arithmetic (a complex division measured 2x slower)."""
  re, im = jnp.real(spec), jnp.imag(spec)
  scale = modulus / (jnp.sqrt(re * re + im * im) + _EPS)
  return jax.lax.complex(re * scale, im * scale)


# n_iter, momentum and seed are traced: changing them does not recompile.
@functools.partial(jax.jit, static_argnames=("n_fft", "hop_length", "loop_length", "length"))
def _griffin_lim(magnitude, phase, momentum, seed, n_iter, *, n_fft, hop_length, loop_length,
                 length):
  if phase is None:
    uniform = jax.random.uniform(jax.random.key(seed), magnitude.shape, jnp.float32)
    spec = magnitude * jnp.exp(1j * (2 * jnp.pi) * uniform)
  else:
    spec = _with_modulus(phase, magnitude)
  shrink = momentum / (1.0 + momentum)

  def step(_, carry):
    spec, previous = carry  # spec = angles * S, as in librosa
    # XLA fuses istft's division by the window sum-square and its trim with stft's padding and
    # framing; a hand-fused version measured no faster.
    rebuilt = spectral.stft(spectral.istft(spec, n_fft, hop_length, length=loop_length), n_fft,
                            hop_length)
    # On the first step `previous` is 0: no momentum yet, as librosa (tprev is None).
    return _with_modulus(rebuilt - shrink * previous, magnitude), rebuilt

  spec, _ = jax.lax.fori_loop(0, n_iter, step, (spec, jnp.zeros_like(spec)))
  return spectral.istft(spec, n_fft, hop_length, length=length)


@functools.partial(jax.jit, static_argnames=("n_fft", "hop_length"))
def spectral_convergence(magnitude: jax.Array, wave: jax.Array, *, n_fft: int,
                         hop_length: int) -> jax.Array:
  """|| |STFT(wave)| - M ||_F / || M ||_F over the last two axes -> [...].

  magnitude M [..., frames, bins]; wave [..., samples] with num_frames(samples) == frames.
  0 is a perfect match; a random-phase reconstruction starts near 1.
  """
  rebuilt = jnp.abs(spectral.stft(wave, n_fft, hop_length))
  if rebuilt.shape[-2:] != magnitude.shape[-2:]:
    raise ValueError(f"spectral_convergence: wave gives STFT {rebuilt.shape[-2:]}, magnitude is "
                     f"{magnitude.shape[-2:]}; pass the wave at the length the magnitude came from")
  error = jnp.sqrt(jnp.sum((rebuilt - magnitude) ** 2, axis=(-2, -1)))
  return error / jnp.sqrt(jnp.sum(magnitude ** 2, axis=(-2, -1)))
