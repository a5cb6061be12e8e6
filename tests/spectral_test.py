"""Parity of ast_jax.audio.spectral with librosa 0.11, and the inverses of every transform.

librosa is [..., bins, frames]; we are [..., frames, bins]: its outputs are transposed here.
Tolerances are stated relative to the signal's scale; each says why it is that value. JAX runs
float32 FFTs and matmuls; librosa runs float32 FFTs (numpy pocketfft) with a float64 window and
float64 filter construction, so the differences are float32 rounding (eps = 1.2e-7) grown over a
length-n FFT (~ eps * log2 n) or a sum of ~n terms.
"""

import dataclasses
import pickle

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from ast_jax.audio import spectral

# float32 FFT / overlap-add parity, relative to the largest |value|: observed errors are 1-2e-7
# (about eps); 1e-5 leaves ~50x margin for other FFT backends (ducc on CPU, cuFFT on GPU) while
# still failing on any wrong window, padding or frame alignment (those give errors of order 1).
FFT_RTOL = 1e-5


@pytest.fixture(scope="module")
def librosa():
  """librosa imported once per module (its first call spends ~14 s compiling numba)."""
  import librosa as lr  # pylint: disable=g-import-not-at-top
  return lr


@pytest.fixture(scope="module")
def noise():
  """1 s of white noise at 16 kHz, unit variance, float32 [16000]."""
  return np.random.default_rng(0).standard_normal(16000).astype(np.float32)


def _max_abs(a):
  return float(np.max(np.abs(a)))


# STFT / inverse STFT.

# (n_fft, hop): the defaults, a hop that does not divide n_fft, an odd n_fft, a hop > n_fft / 16
# (the gather / scatter-add fallback: 64 / 3 > 16 hops per frame), and a hop longer than the frame.
STFT_CASES = [(2048, 512), (512, 160), (511, 128), (64, 3), (256, 300)]


@pytest.mark.parametrize("n_fft, hop", STFT_CASES)
@pytest.mark.parametrize("signal", ["noise", "tone"])
def test_stft_matches_librosa(librosa, request, signal, n_fft, hop):
  x = request.getfixturevalue(signal)
  for center in (True, False):
    ours = np.asarray(spectral.stft(x, n_fft, hop, center=center))
    ref = librosa.stft(x, n_fft=n_fft, hop_length=hop, center=center).T
    assert ours.dtype == np.complex64
    n_frames = spectral.num_frames(len(x), n_fft, hop, center)
    assert ours.shape == ref.shape == (n_frames, n_fft // 2 + 1)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=FFT_RTOL * _max_abs(ref))
  if n_fft % 2 == 0:
    assert ours.shape[0] == 1 + (len(x) - n_fft) // hop
    assert spectral.num_frames(len(x), n_fft, hop) == 1 + len(x) // hop  # centred, even n_fft


@pytest.mark.parametrize("n_fft, hop", STFT_CASES)
def test_istft_matches_librosa_and_inverts_stft(librosa, tone, n_fft, hop):
  x = tone
  spec = librosa.stft(x, n_fft=n_fft, hop_length=hop)
  scale = _max_abs(x)
  # Natural length, longer (zero-padded), shorter (cut), odd.
  for length in (None, len(x) + 37, len(x) - 1001, 12345):
    ours = np.asarray(spectral.istft(spec.T, n_fft, hop, length=length))
    ref = librosa.istft(spec, n_fft=n_fft, hop_length=hop, length=length)
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=0, atol=FFT_RTOL * scale)
  if hop <= n_fft // 2:  # the Hann window's overlap-add covers every sample: perfect reconstruction
    back = np.asarray(spectral.istft(spectral.stft(x, n_fft, hop), n_fft, hop, length=len(x)))
    np.testing.assert_allclose(back, x, rtol=0, atol=FFT_RTOL * scale)
    assert spectral.num_samples(spec.shape[-1], n_fft, hop) == len(
        librosa.istft(spec, n_fft=n_fft, hop_length=hop))


@pytest.mark.parametrize("n_fft, hop", [(512, 128), (400, 160)])
def test_istft_not_centred_matches_librosa(librosa, noise, n_fft, hop):
  spec = librosa.stft(noise, n_fft=n_fft, hop_length=hop, center=False)
  ours = np.asarray(spectral.istft(spec.T, n_fft, hop, center=False))
  ref = librosa.istft(spec, n_fft=n_fft, hop_length=hop, center=False)
  assert ours.shape == ref.shape
  # Without centring the first and last samples are divided by a window sum-square down to
  # w[1]^2 ~ 1e-10, which amplifies float32 rounding without bound: compare where the sum-square
  # is at least 1e-3 of its peak (all but the outer ~n_fft/20 samples at each end).
  wss = spectral._window_sumsquare(spec.shape[-1], n_fft, hop)[:len(ref)]
  inner = wss > 1e-3 * wss.max()
  np.testing.assert_allclose(ours[inner], ref[inner], rtol=0, atol=FFT_RTOL * _max_abs(noise))
  assert np.all(np.isfinite(ours))


def test_stft_batch_dims_and_jit(noise):
  n_fft, hop = 512, 160
  batch = np.stack([noise[:8000], noise[8000:], -noise[:8000]]).reshape(3, 1, 8000)
  stft = jax.jit(spectral.stft, static_argnums=(1, 2))
  istft = jax.jit(spectral.istft, static_argnums=(1, 2, 3))
  spec = np.asarray(stft(batch, n_fft, hop))
  assert spec.shape == (3, 1, 1 + 8000 // hop, n_fft // 2 + 1)
  for i in range(3):
    np.testing.assert_allclose(spec[i, 0], spectral.stft(batch[i, 0], n_fft, hop), rtol=0,
                               atol=FFT_RTOL * _max_abs(spec))
  back = np.asarray(istft(spec, n_fft, hop, 8000))
  assert back.shape == batch.shape
  np.testing.assert_allclose(back, batch, rtol=0, atol=FFT_RTOL * _max_abs(batch))


def test_stft_too_short_without_centre():
  with pytest.raises(ValueError, match="shorter than n_fft=512"):
    spectral.stft(np.zeros(100, np.float32), 512, 128, center=False)


def test_magnitude(tone):
  spec = spectral.stft(tone, 512, 128)
  np.testing.assert_allclose(spectral.magnitude(spec), np.abs(spec), rtol=1e-6)
  np.testing.assert_allclose(spectral.magnitude(spec, 2.0), np.abs(spec) ** 2, rtol=1e-5,
                             atol=1e-6 * _max_abs(spec) ** 2)


# Mel.

MEL_CASES = [(22050, 2048, 128, 0.0, None), (16000, 512, 80, 30.0, 7600.0),
             (22050, 511, 40, 0.0, None), (44100, 1024, 256, 20.0, 16000.0)]


# The last case has more bands than FFT bins at low frequencies (empty filters, which librosa warns
# about): kept on purpose, the filters must match there too.
@pytest.mark.filterwarnings("ignore:Empty filters detected")
@pytest.mark.parametrize("sr, n_fft, n_mels, fmin, fmax", MEL_CASES)
def test_mel_filterbank_matches_librosa(librosa, sr, n_fft, n_mels, fmin, fmax):
  ours = spectral.mel_filterbank(sr, n_fft, n_mels, fmin, fmax)
  ref = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax).T
  assert ours.dtype == np.float32 and ours.shape == ref.shape == (n_fft // 2 + 1, n_mels)
  # Both build the filters in float64 and round to float32: the only differences are the order of
  # float64 operations (observed 4e-9 against weights of 0.01-0.04); 1e-6 of the peak weight is
  # ~one float32 ulp at the peak, and a misplaced mel point would be off by percent.
  np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-6 * _max_abs(ref))


@pytest.mark.parametrize("signal, sr", [("noise", 16000), ("tone", 22050)])
def test_mel_spectrogram_matches_librosa(librosa, request, signal, sr):
  x = request.getfixturevalue(signal)
  rep = spectral.Representation(sample_rate=sr, n_fft=512, hop_length=160, scale="mel", n_mels=64,
                                power=2.0, transform="none")
  power = np.abs(librosa.stft(x, n_fft=512, hop_length=160)) ** 2
  ref = librosa.feature.melspectrogram(S=power, sr=sr, n_fft=512, n_mels=64).T
  ours = np.asarray(rep(x))
  # A float32 sum of ~30 positive products per band: relative error ~ eps * 30; 1e-5 of the peak.
  np.testing.assert_allclose(ours, ref, rtol=0, atol=FFT_RTOL * _max_abs(ref))


def test_mel_pseudo_inverse():
  fb = spectral.mel_filterbank(22050, 2048, 128)
  pinv = spectral.mel_pseudo_inverse(fb)
  assert pinv.shape == (128, 1025) and pinv.dtype == np.float32
  np.testing.assert_allclose(pinv, np.linalg.pinv(fb.astype(np.float64)), rtol=0,
                             atol=1e-5 * _max_abs(pinv))
  # The filters are linearly independent here, so pinv is a left inverse of the projection:
  # mel(pinv(mel(S))) = mel(S) for any S, before the clamp of negative magnitudes. float32 matmuls
  # over 1025 terms, relative to the largest mel value.
  S = np.abs(np.random.default_rng(2).standard_normal((50, 1025))).astype(np.float32)
  mel = S @ fb
  np.testing.assert_allclose((mel @ pinv) @ fb, mel, rtol=0, atol=1e-4 * _max_abs(mel))
  # librosa.feature.inverse.mel_to_stft solves a non-negative least-squares problem instead (no
  # negatives to clamp, iterative, slow), so it is not compared here: the two differ by design.


# Elementwise transforms.


def test_db_transforms_match_librosa(librosa, tone):
  S = np.abs(librosa.stft(tone, n_fft=512, hop_length=128)).T
  S[:3] = 0.0  # exercise the amin floor
  power = S ** 2
  # float32 log10 of values over ~200 dB: |error| <= a few eps * |dB|; 1e-4 dB is inaudible and
  # far below any transform mistake (a wrong factor 10 vs 20 is tens of dB).
  np.testing.assert_allclose(spectral.power_to_db(power),
                             librosa.power_to_db(power, ref=1.0, top_db=None), rtol=0, atol=1e-4)
  np.testing.assert_allclose(spectral.amplitude_to_db(S),
                             librosa.amplitude_to_db(S, ref=1.0, top_db=None), rtol=0, atol=1e-4)
  assert float(spectral.power_to_db(np.float32(0.0))) == -100.0  # amin 1e-10, not clipped to top_db
  assert float(spectral.amplitude_to_db(np.float32(0.0))) == -100.0  # amin 1e-5
  db = np.linspace(-120.0, 40.0, 1001, dtype=np.float32)
  # 10 ** (x / 10) in float32: relative error ~ ln(10) / 10 * eps * |x| ~ 3e-6 at 120 dB.
  np.testing.assert_allclose(spectral.db_to_power(db), librosa.db_to_power(db), rtol=2e-5)
  np.testing.assert_allclose(spectral.db_to_amplitude(db), librosa.db_to_amplitude(db), rtol=2e-5)


def test_transforms_invert(tone):
  S = np.abs(np.asarray(spectral.stft(tone, 512, 128)))
  power = S ** 2
  mask = S > 1e-5  # above amplitude_to_db's amin, where the dB transforms are invertible
  # Relative round-trip error of a float32 log then exp: a few eps times |log x| (<= ~25).
  rtol = 2e-5
  np.testing.assert_allclose(spectral.db_to_power(spectral.power_to_db(power))[mask], power[mask],
                             rtol=rtol)
  np.testing.assert_allclose(spectral.db_to_amplitude(spectral.amplitude_to_db(S))[mask], S[mask],
                             rtol=rtol)
  for gain in (1.0, 100.0):
    np.testing.assert_allclose(spectral.log1p(S, gain), np.log1p(gain * S.astype(np.float64)),
                               rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(spectral.inv_log1p(spectral.log1p(S, gain), gain), S, rtol=rtol,
                               atol=1e-7 / gain)


def test_normalisation(tone, noise):
  features = np.abs(np.asarray(spectral.stft(np.stack([tone[:16000], noise]), 512, 128))) ** 2
  stats = spectral.fit_norm_stats(features)
  assert stats.sigma_x == pytest.approx(float(features.astype(np.float64).std()), rel=1e-6)
  assert stats.sigma_f.shape == (257,)
  y = np.asarray(spectral.normalise(features, stats))
  # Seed 002, section 2.2: after the last step every feature has unit standard deviation over the
  # training data (float32 log10 of the data vs float64 statistics: 1e-4).
  np.testing.assert_allclose(y.reshape(-1, 257).std(axis=0), 1.0, rtol=1e-4)
  ref = np.log10(1.0 + features / stats.sigma_x) / stats.sigma_f
  np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)
  back = np.asarray(spectral.denormalise(y, stats))
  # 10 ** x - 1 loses relative precision near 0: absolute error ~ eps * sigma_x, so compare with
  # an absolute tolerance of 1e-5 of the peak.
  np.testing.assert_allclose(back, features, rtol=1e-4, atol=1e-5 * _max_abs(features))
  # Immutable, hashable and picklable by value (a Representation holding it is a static argument).
  same = spectral.NormStats(stats.sigma_x, stats.sigma_f.copy())
  assert same == stats and hash(same) == hash(stats)
  assert pickle.loads(pickle.dumps(stats)) == stats
  with pytest.raises(dataclasses.FrozenInstanceError):
    stats.sigma_x = 1.0
  with pytest.raises(ValueError, match="standard deviation"):
    spectral.fit_norm_stats(np.zeros((10, 4)))


# The representation.

PAIRS = [(scale, transform, power) for scale in spectral.SCALES for transform in spectral.TRANSFORMS
         for power in spectral.POWERS]


@pytest.mark.parametrize("scale, transform, power", PAIRS)
def test_representation_round_trip(tone, scale, transform, power):
  rep = spectral.Representation(sample_rate=22050, n_fft=512, hop_length=128, scale=scale,
                                n_mels=64, power=power, transform=transform, log1p_gain=10.0)
  if transform == "normalised":
    with pytest.raises(ValueError, match="no norm_stats"):
      rep(tone)
    rep = rep.fit(tone[None])
  out = np.asarray(rep(tone))
  n_frames = rep.num_frames(len(tone))
  assert out.shape == (n_frames, rep.num_features) and out.dtype == np.float32
  assert np.all(np.isfinite(out))
  np.testing.assert_allclose(out, rep.from_stft(rep.stft(tone)), rtol=1e-6)
  mag = np.asarray(rep.to_magnitude(out))
  assert mag.shape == (n_frames, rep.num_bins) and np.all(mag >= 0)
  truth = np.abs(np.asarray(spectral.stft(tone, 512, 128)))
  peak = _max_abs(truth)
  if scale == "linear":
    # Exact inverse up to float32 log/exp rounding; the dB floor (amin: 1e-5 in amplitude) caps
    # how small a magnitude comes back, so an absolute 1e-4 of the peak (peak ~ 20 here) as well.
    np.testing.assert_allclose(mag, truth, rtol=1e-4, atol=1e-4 * peak)
  else:
    # The mel projection loses information; what must hold is that projecting the inverse again
    # gives back the representation, up to the clamp of the pseudo-inverse's negative values (it
    # only adds energy between filter centres). Measured relative error of the mel features: 1.3 %
    # for power 1, 5.3 % for power 2 (the power spectrum's pseudo-inverse dips below 0 more);
    # 10 % bounds both, and a wrong (e.g. transposed or unnormalised) inverse gives > 50 %.
    again = np.asarray(rep.from_stft(mag))
    features = np.asarray(rep._features(rep.stft(tone)))
    features_again = np.asarray(rep._features(mag))
    err = np.linalg.norm(features_again - features) / np.linalg.norm(features)
    assert err < 0.1, err
    assert np.all(np.isfinite(again))
    # Without the clamp the pseudo-inverse is exact on the mel features (float32 matmuls).
    unclamped = np.asarray(rep._inverse_transform(out)) @ rep.mel_pseudo_inverse
    np.testing.assert_allclose(unclamped @ rep.mel_filterbank, features, rtol=0,
                               atol=1e-3 * _max_abs(features))


def test_representation_sizes_and_static():
  rep = spectral.Representation(sample_rate=16000, n_fft=512, hop_length=160, scale="mel",
                                n_mels=80, transform="db", power=2.0)
  assert rep.num_bins == 257 and rep.num_features == 80
  assert rep.num_frames(16000) == 101 and rep.frames_for(16000) == 101
  assert rep.num_samples(101) == 16000 and rep.samples_for(101) == 16000
  # Hashable by value: usable as a jit static argument without recompiling for an equal copy.
  twin = dataclasses.replace(rep)
  assert twin == rep and hash(twin) == hash(rep)
  traces = []

  @jax.jit
  def mean_rep(wave):
    traces.append(1)
    return jnp.mean(rep(wave))

  f = jax.jit(lambda r, w: r(w), static_argnums=0)
  wave = np.random.default_rng(3).standard_normal((2, 4000)).astype(np.float32)
  np.testing.assert_allclose(f(rep, wave), f(twin, wave))
  assert f(rep, wave).shape == (2, rep.num_frames(4000), 80)
  mean_rep(wave)
  mean_rep(wave + 1)
  assert len(traces) == 1


def test_representation_from_config():
  cfg = ml_collections.ConfigDict(dict(
      sample_rate=16000, n_fft=512, hop_length=128, scale="mel", n_mels=40, fmin=0.0, fmax=None,
      power=2.0, transform="db", log1p_gain=1.0))
  rep = spectral.Representation.from_config(cfg)
  assert rep == spectral.Representation(16000, 512, 128, "mel", 40, 0.0, None, 2.0, "db", 1.0)
  bad = {
      "scale": ("bark", "representation.scale: 'bark' is not one of 'linear', 'mel'"),
      "transform": ("log", "representation.transform: 'log' is not one of 'log1p', 'db', "
                           "'normalised', 'none'"),
      "power": (3.0, "representation.power: 3.0 is not one of 1.0"),
      "n_fft": (0, "representation.n_fft: 0 is not a positive integer"),
      "hop_length": (12.5, "representation.hop_length: 12.5 is not a positive integer"),
      "fmax": (9000.0, "representation.fmax: 9000.0 must be in"),
      "log1p_gain": (0.0, "representation.log1p_gain: 0.0 must be > 0"),
  }
  for key, (value, message) in bad.items():
    broken = ml_collections.ConfigDict({**cfg.to_dict(), key: value})
    with pytest.raises(ValueError) as excinfo:
      spectral.Representation.from_config(broken)
    assert str(excinfo.value).startswith(message), str(excinfo.value)
    assert "\n" not in str(excinfo.value)
  with pytest.raises(ValueError, match="representation.n_ftt: unknown key"):
    spectral.Representation.from_config(ml_collections.ConfigDict(dict(n_ftt=512)))


def test_fit_only_for_normalised(tone):
  with pytest.raises(ValueError, match="only 'normalised'"):
    spectral.Representation(transform="log1p").fit(tone)
  rep = spectral.Representation(n_fft=512, hop_length=128, transform="normalised")
  fitted = rep.fit(tone)
  features = np.abs(np.asarray(spectral.stft(tone, 512, 128)))
  from_features = rep.fit(features=features).norm_stats
  assert fitted.norm_stats.sigma_x == pytest.approx(from_features.sigma_x, rel=1e-6)
  np.testing.assert_allclose(fitted.norm_stats.sigma_f, from_features.sigma_f, rtol=1e-5)
  assert rep.norm_stats is None  # fit returns a copy
