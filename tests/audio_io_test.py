"""Tests for ast_jax.audio.io on small files written here with numpy + soundfile."""

import logging
import pickle

import numpy as np
import pytest
import soundfile as sf

from ast_jax import files
from ast_jax.audio import io


def _sine(freq, seconds, sample_rate, amplitude=0.5):
  """float32 [samples]."""
  t = np.arange(int(round(seconds * sample_rate))) / sample_rate
  return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _peak_frequency(wave, sample_rate):
  spectrum = np.abs(np.fft.rfft(wave * np.hanning(len(wave))))
  return np.argmax(spectrum) * sample_rate / len(wave)


def _load_error(path, *args, **kwargs):
  """Calls io.load expecting an AudioError; returns its message after the shared checks."""
  with pytest.raises(io.AudioError) as excinfo:
    io.load(path, *args, **kwargs)
  message = str(excinfo.value)
  assert "\n" not in message
  assert message.startswith(f"{path}: ")
  return message


# Round trips.


@pytest.mark.parametrize("ext, format, subtype, tolerance", [
    ("wav", "WAV", "PCM_16", 1e-4),
    ("flac", "FLAC", "PCM_16", 1e-4),
    # Lossy codecs: compare relative RMS error (measured 0.035 for vorbis, 0.011 for mp3).
    ("ogg", "OGG", "VORBIS", 0.1),
    ("mp3", "MP3", "MPEG_LAYER_III", 0.1),
])
def test_round_trip(tmp_path, ext, format, subtype, tolerance):
  assert format in sf.available_formats(), (
      f"libsndfile {sf.__libsndfile_version__} cannot write {format}; the project needs "
      f"libsndfile >= 1.1 built with vorbis, LAME and mpg123 (pip soundfile >= 0.12 wheels are)")
  sample_rate = 22050
  wave = _sine(1000, 0.4, sample_rate)
  path = tmp_path / f"sine.{ext}"
  sf.write(path, wave, sample_rate, format=format, subtype=subtype)

  loaded = io.load(path, sample_rate)

  assert loaded.dtype == np.float32
  assert loaded.shape == wave.shape
  if format in ("WAV", "FLAC"):
    np.testing.assert_allclose(loaded, wave, atol=tolerance)
  else:
    relative_rms = np.sqrt(np.mean((loaded - wave) ** 2) / np.mean(wave ** 2))
    assert relative_rms < tolerance
    assert abs(_peak_frequency(loaded, sample_rate) - 1000) < 5


def test_stereo_is_averaged_to_mono(tmp_path):
  sample_rate = 8000
  left, right = _sine(440, 0.3, sample_rate), _sine(1000, 0.3, sample_rate, amplitude=0.2)
  path = tmp_path / "stereo.wav"
  sf.write(path, np.stack([left, right], axis=1), sample_rate, subtype="FLOAT")

  loaded = io.load(path, sample_rate)

  assert loaded.shape == left.shape
  np.testing.assert_allclose(loaded, (left + right) / 2, atol=1e-7)


def test_resampling_keeps_length_and_frequency(tmp_path):
  path = tmp_path / "cd.wav"
  sf.write(path, _sine(1000, 0.5, 44100), 44100)

  loaded = io.load(path, 22050)

  assert loaded.dtype == np.float32
  assert loaded.shape == (11025,)
  # 0.5 s gives 2 Hz FFT bins.
  assert abs(_peak_frequency(loaded, 22050) - 1000) <= 2
  assert np.max(np.abs(loaded)) == pytest.approx(0.5, abs=0.02)


def test_offset_and_duration_read_the_right_samples(tmp_path):
  sample_rate = 8000
  # Every sample is distinct and positive, so a shifted read cannot match by accident.
  ramp = np.linspace(0.05, 0.95, sample_rate, dtype=np.float32)
  path = tmp_path / "ramp.wav"
  sf.write(path, ramp, sample_rate, subtype="FLOAT")

  np.testing.assert_array_equal(io.load(path, sample_rate, offset=0.25, duration=0.1),
                                ramp[2000:2800])
  np.testing.assert_array_equal(io.load(path, sample_rate, offset=0.5), ramp[4000:])
  # A part that runs past the end is cut at the end.
  np.testing.assert_array_equal(io.load(path, sample_rate, offset=0.9, duration=1.0),
                                ramp[7200:])


@pytest.fixture(scope="module")
def twenty_minute_file(tmp_path_factory):
  """20 min at 8 kHz, 16-bit (19 MB); minute k is a sine of amplitude (k + 1) / 25."""
  sample_rate = 8000
  path = tmp_path_factory.mktemp("long") / "long.wav"
  minute = _sine(440, 60, sample_rate, amplitude=1.0)
  with sf.SoundFile(path, "w", samplerate=sample_rate, channels=1, subtype="PCM_16") as f:
    for k in range(20):  # Written a minute at a time to keep memory small.
      f.write(minute * (k + 1) / 25)
  return path


def test_long_file_reads_only_the_requested_part(twenty_minute_file):
  wave = io.load(twenty_minute_file, 8000, offset=600.5, duration=1.0, max_seconds=60)

  assert wave.shape == (8000,)
  assert np.max(np.abs(wave)) == pytest.approx(11 / 25, abs=1e-3)  # From minute 10.


def test_long_file_without_duration_over_max_seconds_raises(twenty_minute_file):
  message = _load_error(twenty_minute_file, 8000, max_seconds=60)
  assert "1200.0 s of audio" in message
  assert "at most 60 s" in message
  assert "offset=" in message and "duration=" in message

  message = _load_error(twenty_minute_file, 8000, offset=1100, max_seconds=60)
  assert "100.0 s of audio" in message


# Bad inputs: each an AudioError with a one-line message that starts with the path.


def test_missing_file(tmp_path):
  assert "no such file" in _load_error(tmp_path / "nope.wav", 16000)


def test_directory(tmp_path):
  assert "is a directory" in _load_error(tmp_path, 16000)


def test_random_bytes_named_wav(tmp_path):
  path = tmp_path / "corrupt.wav"
  path.write_bytes(np.random.default_rng(0).bytes(2000))
  message = _load_error(path, 16000)
  assert "not a readable audio file (wav, flac, ogg, mp3): " in message
  assert "not recognised" in message  # libsndfile's reason is passed on.


def test_truncated_header(tmp_path):
  good = tmp_path / "good.wav"
  sf.write(good, _sine(440, 0.1, 8000), 8000)
  path = tmp_path / "truncated.wav"
  path.write_bytes(good.read_bytes()[:30])  # Ends inside the fmt chunk.
  assert "not a readable audio file" in _load_error(path, 8000)


def test_empty_file(tmp_path):
  path = tmp_path / "empty.wav"
  path.write_bytes(b"")
  assert "not a readable audio file" in _load_error(path, 8000)


def test_zero_length(tmp_path):
  path = tmp_path / "zero.wav"
  sf.write(path, np.zeros(0, np.float32), 8000)
  assert "0.000 s of audio" in _load_error(path, 8000)


def test_all_silent(tmp_path):
  path = tmp_path / "silent.wav"
  sf.write(path, np.zeros(800, np.float32), 8000)
  assert "all silent" in _load_error(path, 8000)


def test_silence_threshold_is_minus_100_dbfs(tmp_path):
  quiet, audible = tmp_path / "quiet.wav", tmp_path / "audible.wav"
  sf.write(quiet, _sine(440, 0.1, 8000, amplitude=5e-6), 8000, subtype="FLOAT")
  sf.write(audible, _sine(440, 0.1, 8000, amplitude=5e-5), 8000, subtype="FLOAT")
  assert "below -100 dBFS" in _load_error(quiet, 8000)
  assert io.load(audible, 8000).shape == (800,)


def test_nan_samples(tmp_path):
  wave = _sine(440, 0.1, 8000)
  wave[[10, 20, 30]] = np.nan
  path = tmp_path / "nan.wav"
  sf.write(path, wave, 8000, subtype="FLOAT")
  assert "3 NaN and 0 inf values" in _load_error(path, 8000)


def test_inf_samples(tmp_path):
  wave = _sine(440, 0.1, 8000)
  wave[5], wave[6] = np.inf, -np.inf
  path = tmp_path / "inf.wav"
  sf.write(path, wave, 8000, subtype="FLOAT")
  assert "0 NaN and 2 inf values" in _load_error(path, 8000)


def test_shorter_than_min_samples(tmp_path):
  path = tmp_path / "short.wav"
  sf.write(path, _sine(440, 0.1, 8000), 8000)
  message = _load_error(path, 8000, min_samples=4088)
  assert "0.100 s of audio (800 samples at 8000 Hz)" in message
  assert "expected at least 0.511 s (4088 samples)" in message
  assert io.load(path, 8000, min_samples=800).shape == (800,)


def test_min_samples_counts_after_resampling(tmp_path):
  path = tmp_path / "short16k.wav"
  sf.write(path, _sine(440, 0.1, 16000), 16000)  # 1600 samples, 800 once at 8 kHz.
  assert "800 samples at 8000 Hz" in _load_error(path, 8000, min_samples=801)
  assert io.load(path, 8000, min_samples=800).shape == (800,)


def test_offset_past_end(tmp_path):
  path = tmp_path / "short.wav"
  sf.write(path, _sine(440, 0.1, 8000), 8000)
  message = _load_error(path, 8000, offset=0.5)
  assert "offset 0.500 s is past the end of the file (0.100 s long)" in message


def test_invalid_offset_and_duration(tmp_path):
  path = tmp_path / "short.wav"
  sf.write(path, _sine(440, 0.1, 8000), 8000)
  assert "negative" in _load_error(path, 8000, offset=-1.0)
  assert "expected a positive duration" in _load_error(path, 8000, duration=0.0)


def test_audio_error_survives_pickling():
  # Data-loader workers send exceptions between processes.
  error = pickle.loads(pickle.dumps(io.AudioError("a.wav", "all silent")))
  assert isinstance(error, io.AudioError)
  assert str(error) == "a.wav: all silent"
  assert error.path == "a.wav"


# Clipping and loud float files.


def test_clipping_warns_and_keeps_samples(tmp_path, caplog):
  path = tmp_path / "clipped.wav"
  sf.write(path, np.clip(_sine(440, 0.2, 8000, amplitude=1.5), -1, 1), 8000)
  stored, _ = sf.read(path, dtype="float32")

  with caplog.at_level(logging.WARNING):
    loaded = io.load(path, 8000)

  np.testing.assert_array_equal(loaded, stored)
  warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
  assert len(warnings) == 1
  message = warnings[0].getMessage()
  assert message.startswith(f"{path}: ") and "clipped" in message and "\n" not in message


def test_a_few_full_scale_peaks_do_not_warn(tmp_path, caplog):
  wave = _sine(440, 0.5, 8000)
  wave[[100, 2000, 3000]] = 1.0  # 3 of 4000 samples: 0.075%, under the 0.1% limit.
  path = tmp_path / "peaks.wav"
  sf.write(path, wave, 8000, subtype="FLOAT")

  with caplog.at_level(logging.WARNING):
    io.load(path, 8000)

  assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_float_file_above_full_scale_is_not_clipped(tmp_path):
  wave = _sine(440, 0.1, 8000, amplitude=1.5)
  path = tmp_path / "loud.wav"
  sf.write(path, wave, 8000, subtype="FLOAT")
  np.testing.assert_array_equal(io.load(path, 8000), wave)


# save_wav and peak_normalise.


def test_save_wav_round_trip(tmp_path):
  wave = _sine(440, 0.2, 16000)
  path = tmp_path / "out" / "sine.wav"  # Parent directory created.
  io.save_wav(path, wave, 16000)

  info = sf.info(path)
  assert (info.samplerate, info.subtype, info.frames) == (16000, "PCM_16", 3200)
  np.testing.assert_allclose(io.load(path, 16000), wave, atol=1e-4)
  assert [p.name for p in path.parent.iterdir()] == ["sine.wav"]


def test_save_wav_stereo_and_float_subtype(tmp_path):
  wave = np.stack([_sine(440, 0.1, 8000, 1.5), _sine(880, 0.1, 8000)], axis=1)
  path = tmp_path / "stereo.wav"
  io.save_wav(path, wave, 8000, subtype="FLOAT")  # Float files may exceed 1.0.
  stored, _ = sf.read(path, dtype="float32")
  np.testing.assert_array_equal(stored, wave)


def test_save_wav_accepts_float16(tmp_path):
  wave = _sine(440, 0.1, 8000).astype(np.float16)
  path = tmp_path / "half.wav"
  io.save_wav(path, wave, 8000)
  np.testing.assert_allclose(io.load(path, 8000), wave.astype(np.float32), atol=1e-4)


@pytest.mark.parametrize("bad, fact", [
    (np.array([0.1, np.nan, 0.2], np.float32), "1 NaN/inf samples"),
    (np.array([0.1, np.inf], np.float32), "1 NaN/inf samples"),
    (np.zeros(0, np.float32), "empty"),
    (np.array([0.5, 1.25, -0.5], np.float32), "peak 1.250 exceeds 1.0"),
    (np.array([1, 2, 3], np.int16), "dtype int16"),
    (np.zeros((2, 3, 4), np.float32), "shape (2, 3, 4)"),
])
def test_save_wav_refuses_bad_input_and_writes_nothing(tmp_path, bad, fact):
  path = tmp_path / "bad.wav"
  with pytest.raises(ValueError, match=r"^" + str(path).replace(".", r"\.")) as excinfo:
    io.save_wav(path, bad, 8000)
  assert fact in str(excinfo.value)
  assert list(tmp_path.iterdir()) == []


def test_save_wav_failure_keeps_old_file(tmp_path):
  path = tmp_path / "keep.wav"
  io.save_wav(path, _sine(440, 0.1, 8000), 8000)
  before = path.read_bytes()
  with pytest.raises(ValueError):  # libsndfile refuses vorbis in a wav container.
    io.save_wav(path, _sine(880, 0.1, 8000), 8000, subtype="VORBIS")
  assert path.read_bytes() == before
  assert [p.name for p in tmp_path.iterdir()] == ["keep.wav"]


def test_exception_after_partial_audio_write_leaves_nothing(tmp_path):
  path = tmp_path / "partial.wav"
  with pytest.raises(RuntimeError, match="interrupted"):
    with files.atomic_output(path) as tmp:
      with sf.SoundFile(tmp, "w", samplerate=8000, channels=1) as f:
        f.write(_sine(440, 0.1, 8000))
        raise RuntimeError("interrupted")
  assert list(tmp_path.iterdir()) == []


def test_peak_normalise():
  wave = np.array([0.1, -0.4, 0.2], np.float32)
  normalised = io.peak_normalise(wave)
  assert normalised.dtype == np.float32
  np.testing.assert_allclose(normalised, [0.2475, -0.99, 0.495], rtol=1e-6)
  np.testing.assert_allclose(io.peak_normalise(wave, peak=0.5), [0.125, -0.5, 0.25], rtol=1e-6)
  np.testing.assert_array_equal(io.peak_normalise(np.zeros(4, np.float32)), np.zeros(4))
  with pytest.raises(ValueError, match="NaN"):
    io.peak_normalise(np.array([0.1, np.nan]))
