"""The spectrogram optimiser on small random problems: both optimisers, vmapped pairs, windows for
any length, early stopping, and regression tests for the peers' defects (clamping, argument order,
the 430-frame limit)."""

import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from ast_jax import objectives, transfer
from ast_jax.models import shallow

FEATS = 12
CONTENT = {'conv': 1.0}
STYLE = {'conv': 1.0}


@pytest.fixture(scope='module')
def extractor():
  cfg = ml_collections.ConfigDict(dict(
      kind='ulyanov', filters=32, width=3, padding='VALID', use_bias=False, seed=0,
      content_layers=CONTENT, style_layers=STYLE))
  return shallow.build_feature_extractor(cfg, FEATS)


def _cfg(**kw):
  fields = dict(optimizer='lbfgs', steps=40, chunk=10, tol=0.0, learning_rate=0.05,
                style_form='auto',
                lbfgs_memory=10, linesearch_steps=20, init='noise', noise_std=1e-3, seed=0,
                alpha=1.0, beta=100.0, gamma=0.0, style_only=False, window_frames=64,
                overlap_frames=8)
  return ml_collections.ConfigDict({**fields, **kw})


def _clips(pairs=1, frames=30, style_frames=37, seed=0):
  rng = np.random.default_rng(seed)
  content = jnp.asarray(np.abs(rng.normal(size=(pairs, frames, FEATS))) * 2, jnp.float32)
  style = jnp.asarray(rng.gamma(0.5, size=(pairs, style_frames, FEATS)), jnp.float32)
  return content, style


@pytest.mark.parametrize('optimizer', ['lbfgs', 'adam'])
def test_loss_falls(extractor, optimizer):
  content, style = _clips()
  steps = 60 if optimizer == 'lbfgs' else 300
  res = transfer.optimise(extractor, content, style, _cfg(optimizer=optimizer, steps=steps),
                          CONTENT, STYLE, progress=False)
  assert res.rep.shape == content.shape and res.steps == steps
  assert res.final['total'][0] < res.losses[0, 0] / 10


def test_pairs_under_vmap_equal_separate_runs(extractor):
  content, style = _clips(pairs=2)
  cfg = _cfg(init='content+noise')  # pair 0's noise is the same alone and in a batch
  both = transfer.optimise(extractor, content, style, cfg, CONTENT, STYLE, progress=False)
  for i in range(1):
    one = transfer.optimise(extractor, content[i:i + 1], style[i:i + 1], cfg, CONTENT, STYLE,
                            progress=False)
    # Batched and unbatched matmuls may sum in another order; L-BFGS amplifies that a little.
    np.testing.assert_allclose(both.rep[i], one.rep[0], rtol=1e-3, atol=1e-3)


def test_any_length_windows_stitch_exactly(extractor):
  """A 500-frame clip (longer than the peers' 430-frame limit) in 64-frame windows: with the
  content loss alone and the content as the start, each window is already optimal, so the
  cross-faded result must be the content itself."""
  content, style = _clips(frames=500)
  res = transfer.optimise(extractor, content, style, _cfg(init='content', beta=0.0, steps=3),
                          CONTENT, STYLE, progress=False)
  assert res.rep.shape == (1, 500, FEATS)
  np.testing.assert_allclose(res.rep, content, rtol=1e-6, atol=1e-6)


def test_crossfade_weights_partition_unity():
  for frames, window, overlap, count in [(500, 64, 8, 9), (130, 64, 0, 3), (97, 64, 32, 3),
                                         (96, 64, 32, 1), (431, 430, 32, 1), (64, 64, 8, 1)]:
    starts = transfer.window_starts(frames, window, overlap)
    width = frames if len(starts) == 1 else window
    w = transfer.crossfade_weights(starts, width, frames, overlap)
    total = np.zeros(frames)
    for s, wi in zip(starts, w):
      total[s:s + len(wi)] += wi
    np.testing.assert_allclose(total, 1.0, rtol=1e-6)
    assert len(starts) == count and starts[-1] + width == frames


def test_never_clamped(extractor):
  """A content with values far outside [0, 1] is reproduced, not clipped (a peer clamped the log
  spectrogram to [0, 1] every step)."""
  content, style = _clips()
  content = content * 3 - 2  # values from -2 to ~10
  res = transfer.optimise(extractor, content, style, _cfg(beta=0.0, steps=80), CONTENT, STYLE,
                          progress=False)
  assert res.rep.max() > 2.0 and res.rep.min() < -0.5


def test_content_and_style_are_not_swapped(extractor):
  content, style = _clips()
  only_content = transfer.optimise(extractor, content, style, _cfg(beta=0.0, steps=80), CONTENT,
                                   STYLE, progress=False)
  feats = lambda x: extractor.apply(extractor.params, jnp.asarray(x))['conv']
  to_content = np.linalg.norm(feats(only_content.rep) - feats(content))
  assert to_content < 0.1 * np.linalg.norm(feats(content))

  only_style = transfer.optimise(extractor, content, style, _cfg(alpha=0.0, steps=80), CONTENT,
                                 STYLE, progress=False)
  gram = lambda x: objectives.gram(feats(x))
  to_style = objectives.style_layer_loss(gram(only_style.rep), gram(style))
  content_to_style = objectives.style_layer_loss(gram(content), gram(style))
  assert float(to_style[0]) < 0.05 * float(content_to_style[0])  # 20x closer to the style


def test_style_only_starts_from_content_and_ignores_content_loss(extractor):
  content, style = _clips()
  res = transfer.optimise(extractor, content, style, _cfg(style_only=True, init='content',
                                                          steps=1, optimizer='adam',
                                                          learning_rate=1e-6),
                          CONTENT, STYLE, progress=False)
  np.testing.assert_allclose(res.rep, content, atol=1e-4)  # one tiny step from the content
  assert res.final['content'][0] == 0.0
  with pytest.raises(ValueError, match="transfer.style_only=True needs transfer.init='content'"):
    transfer.optimise(extractor, content, style, _cfg(style_only=True), CONTENT, STYLE,
                      progress=False)


def test_early_stop_and_determinism(extractor):
  content, style = _clips()
  cfg = _cfg(steps=400, chunk=10, tol=1e-3)
  a = transfer.optimise(extractor, content, style, cfg, CONTENT, STYLE, progress=False)
  b = transfer.optimise(extractor, content, style, cfg, CONTENT, STYLE, progress=False)
  assert a.converged and a.steps < 400
  np.testing.assert_array_equal(a.rep, b.rep)


def test_divergence_is_reported(extractor):
  content, style = _clips()
  with pytest.raises(FloatingPointError, match='non-finite'):
    transfer.optimise(extractor, content, style, _cfg(optimizer='adam', learning_rate=1e30,
                                                      steps=20), CONTENT, STYLE, progress=False)


@pytest.mark.parametrize('key,value,match', [
    ('optimizer', 'sgd', 'transfer.optimizer'), ('init', 'zeros', 'transfer.init'),
    ('steps', 0, 'transfer.steps'), ('overlap_frames', -1, 'transfer.overlap_frames')])
def test_config_errors(key, value, match):
  with pytest.raises(ValueError, match=match):
    transfer.check_config(_cfg(**{key: value}))


def test_factored_and_gram_style_forms_agree(extractor):
  """Both forms of the style loss give the same optimisation on a problem where M + Ms < N."""
  content, style = _clips(frames=12, style_frames=14)  # M = 10, Ms = 12, N = 32 filters
  runs = {form: transfer.optimise(extractor, content, style, _cfg(style_form=form, steps=30),
                                  CONTENT, STYLE, progress=False) for form in ('gram', 'factored')}
  # float32 cancellation in the factored form perturbs the line search slightly.
  np.testing.assert_allclose(runs['factored'].losses, runs['gram'].losses, rtol=2e-3)
  np.testing.assert_allclose(runs['factored'].rep, runs['gram'].rep, rtol=1e-2, atol=1e-2)
