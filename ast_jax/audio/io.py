"""Reading and writing audio files, with every bad input caught here, once.

`load` is the single door through which audio enters the project. It reads wav, flac, ogg and
mp3 with libsndfile (through soundfile; no ffmpeg), mixes to mono, resamples, and refuses files
that would otherwise fail later with an unhelpful NaN loss or shape error: missing, corrupt,
empty, silent, non-finite, too short or too long. Each refusal is an `AudioError` whose one-line
message starts with the file path, so a researcher can grep a log and fix the file.
"""

import os

from absl import logging
import numpy as np
import soundfile as sf

from ast_jax import files

# Peak |x| below which a file counts as silent: 1e-5 is -100 dBFS, under the noise floor of
# 16-bit audio (-96 dBFS). A silent file is nearly always a failed export or a wrong channel,
# and its features are all at the log floor: no style or content to transfer.
SILENCE_PEAK = 1e-5

# A sample with |x| at or above this counts as clipped (one 16-bit step below full scale).
CLIP_LEVEL = 0.999
# Warn when more than this fraction of samples is clipped: a few full-scale peaks are normal
# in mastered music; 0.1% means audible distortion that the style features will pick up.
CLIP_WARN_FRACTION = 1e-3

_FORMATS = "wav, flac, ogg, mp3"


class AudioError(ValueError):
  """An audio file that cannot be used; the message is one line starting with the path."""

  def __init__(self, path: str | os.PathLike, problem: str):
    self.path = os.fspath(path)
    self.problem = " ".join(problem.split())  # One line, whatever libsndfile said.
    super().__init__(f"{self.path}: {self.problem}")

  def __reduce__(self):
    # Data-loader workers send exceptions across processes by pickling them; the default
    # reduction would call AudioError(message) and fail for want of `problem`.
    return (AudioError, (self.path, self.problem))


def _libsndfile_reason(err: Exception) -> str:
  # LibsndfileError's str() repeats the path and often ends in ': '; error_string holds the
  # reason alone ("Format not recognised.").
  return getattr(err, "error_string", None) or str(err)


def load(
    path: str | os.PathLike,
    sample_rate: int,
    *,
    offset: float = 0.0,
    duration: float | None = None,
    min_samples: int = 0,
    max_seconds: float | None = None,
) -> np.ndarray:
  """Reads an audio file as mono float32 at `sample_rate`.

  Args:
    path: a wav, flac, ogg or mp3 file.
    sample_rate: rate of the returned samples in Hz; the file is resampled (soxr_hq) if its
      own rate differs.
    offset: start of the part to read, in seconds from the start of the file.
    duration: length of the part to read in seconds; None reads to the end. Only this part
      is read from disk, so a short excerpt of a long file is cheap. A part that runs past
      the end of the file is cut at the end.
    min_samples: fewest samples acceptable after resampling (e.g. a model's receptive field).
    max_seconds: most seconds acceptable to read (before resampling); None for no limit.
      Guards against reading an hour-long file into memory by mistake.

  Returns:
    wave: float32 [samples], channels averaged. Values are as stored: float files may exceed
    1.0 and are not clipped.

  Raises:
    AudioError: the file is missing, unreadable, empty, silent, contains NaN or inf, or is
      shorter than `min_samples` or longer than `max_seconds`; or offset/duration are invalid.
  """
  if not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
    raise ValueError(f"sample_rate must be a positive int in Hz, got {sample_rate!r}")
  if not os.path.exists(path):
    raise AudioError(path, "no such file")
  if os.path.isdir(path):
    raise AudioError(path, f"is a directory; expected an audio file ({_FORMATS})")
  if offset < 0:
    raise AudioError(path, f"offset {offset} s is negative; expected offset >= 0")
  if duration is not None and duration <= 0:
    raise AudioError(path, f"duration {duration} s; expected a positive duration or None")

  try:
    info = sf.info(path)
  except (sf.SoundFileError, RuntimeError) as err:
    raise AudioError(
        path, f"not a readable audio file ({_FORMATS}): {_libsndfile_reason(err)}") from None
  file_rate = info.samplerate
  file_seconds = info.frames / file_rate
  if info.frames == 0:
    raise AudioError(path, "0.000 s of audio; expected a non-empty file")

  start = int(round(offset * file_rate))
  if start >= info.frames:
    raise AudioError(
        path, f"offset {offset:.3f} s is past the end of the file ({file_seconds:.3f} s long)")
  stop = info.frames
  if duration is not None:
    stop = min(stop, start + int(round(duration * file_rate)))
  read_seconds = (stop - start) / file_rate
  if max_seconds is not None and read_seconds > max_seconds:
    raise AudioError(
        path,
        f"{read_seconds:.1f} s of audio to read; expected at most {max_seconds} s "
        f"(pass offset= and duration= to read part of a long file)")

  try:
    # [samples, channels]; libsndfile seeks to `start`, so only this part is decoded.
    data, _ = sf.read(path, start=start, stop=stop, dtype="float32", always_2d=True)
  except (sf.SoundFileError, RuntimeError) as err:
    raise AudioError(
        path, f"not a readable audio file ({_FORMATS}): {_libsndfile_reason(err)}") from None
  if data.shape[0] == 0:
    # The header promised samples that the file does not hold (truncated download).
    raise AudioError(
        path, f"0.000 s of audio from offset {offset:.3f} s; expected some samples")

  finite = np.isfinite(data)
  if not finite.all():
    num_nan = int(np.isnan(data).sum())
    num_inf = data.size - int(finite.sum()) - num_nan
    raise AudioError(
        path,
        f"{num_nan} NaN and {num_inf} inf values of {data.size}; expected finite samples")

  # Measured per channel before mixing: averaging a clipped channel with a clean one hides
  # the clipping but not the distortion.
  clipped_fraction = np.mean(np.abs(data) >= CLIP_LEVEL)
  if clipped_fraction > CLIP_WARN_FRACTION:
    logging.warning("%s: %.2f%% of samples are clipped (|x| >= %s); the audio is distorted",
                    os.fspath(path), 100 * clipped_fraction, CLIP_LEVEL)

  wave = data.mean(axis=1, dtype=np.float32)
  peak = float(np.max(np.abs(wave)))
  if peak < SILENCE_PEAK:
    raise AudioError(
        path, f"all silent (peak {peak:.2g}, below -100 dBFS); expected audible audio")

  if file_rate != sample_rate:
    logging.info("%s: resampling from %d Hz to %d Hz", os.fspath(path), file_rate, sample_rate)
    import librosa  # Imported here: importing librosa takes seconds.
    wave = librosa.resample(
        wave, orig_sr=file_rate, target_sr=sample_rate, res_type="soxr_hq").astype(np.float32)

  if wave.shape[0] < min_samples:
    raise AudioError(
        path,
        f"{wave.shape[0] / sample_rate:.3f} s of audio ({wave.shape[0]} samples at "
        f"{sample_rate} Hz); expected at least {min_samples / sample_rate:.3f} s "
        f"({min_samples} samples)")
  return wave


def save_wav(
    path: str | os.PathLike,
    wave: np.ndarray,
    sample_rate: int,
    subtype: str = "PCM_16",
) -> None:
  """Writes a wav file atomically: `path` is either the complete new file or untouched.

  Args:
    path: output file; parent directories are created.
    wave: float [samples] or [samples, channels], nominally in [-1, 1].
    sample_rate: in Hz.
    subtype: soundfile subtype, e.g. 'PCM_16', 'PCM_24', 'FLOAT'.

  Raises:
    ValueError: `wave` is empty, not float, not 1-D/2-D, or has NaN/inf; or its peak exceeds
      1.0 for an integer subtype (which would clip: scale it with `peak_normalise` first).
  """
  wave = np.asarray(wave)
  if wave.dtype.kind in "biuc":
    # Integer samples are ambiguous (which full scale?) and complex ones are a bug upstream.
    raise ValueError(f"{path}: wave has dtype {wave.dtype}; expected float samples in [-1, 1]")
  if wave.dtype != np.float64:
    wave = wave.astype(np.float32)  # float16 / bfloat16 from a model: libsndfile lacks them.
  if not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
    raise ValueError(f"{path}: sample_rate must be a positive int in Hz, got {sample_rate!r}")
  if wave.ndim not in (1, 2):
    raise ValueError(f"{path}: wave has shape {wave.shape}; expected [samples] or "
                     f"[samples, channels]")
  if wave.size == 0:
    raise ValueError(f"{path}: wave is empty (shape {wave.shape}); expected some samples")
  finite = np.isfinite(wave)
  if not finite.all():
    raise ValueError(f"{path}: wave has {wave.size - int(finite.sum())} NaN/inf samples of "
                     f"{wave.size}; expected finite samples")
  peak = float(np.max(np.abs(wave)))
  if subtype not in ("FLOAT", "DOUBLE") and peak > 1.0:
    raise ValueError(f"{path}: wave peak {peak:.3f} exceeds 1.0 and {subtype} would clip it; "
                     f"scale it first, e.g. with peak_normalise(wave)")
  with files.atomic_output(path) as tmp:
    sf.write(tmp, wave, sample_rate, subtype=subtype, format="WAV")


def peak_normalise(wave: np.ndarray, peak: float = 0.99) -> np.ndarray:
  """Scales `wave` (any shape) so that max |x| equals `peak`; all-zero input is returned as is.

  The default 0.99 leaves headroom so that 16-bit quantisation does not clip.
  """
  wave = np.asarray(wave)
  current = float(np.max(np.abs(wave))) if wave.size else 0.0
  if not np.isfinite(current):
    raise ValueError("peak_normalise: wave has NaN/inf samples; expected finite samples")
  if current == 0.0:
    return wave
  return (wave * (peak / current)).astype(wave.dtype, copy=False)
