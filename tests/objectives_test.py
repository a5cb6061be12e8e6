"""Golden values of the style-transfer losses against a float64 NumPy reference, and the gradient
of the total loss against central finite differences in float64."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ast_jax import objectives
from ast_jax.models import shallow


def _reference(x, f, p, s_feats, alpha, beta, gamma):
  """Gatys et al. 2016 written out with unnormalised Grams, in float64 NumPy."""
  x, f, p, s_feats = (np.asarray(a, np.float64) for a in (x, f, p, s_feats))
  m, n = f.shape
  content = 0.5 * np.sum((f - p) ** 2)
  g, a = f.T @ f, s_feats.T @ s_feats
  style = np.sum((g - a) ** 2) / (4 * n**2 * m**2)
  tv = np.sum(np.diff(x, axis=0) ** 2) + np.sum(np.diff(x, axis=1) ** 2)
  return content, style, tv, alpha * content + beta * style + gamma * tv


def test_losses_match_float64_reference():
  rng = np.random.default_rng(0)
  x = rng.normal(size=(20, 7))
  f, p, s = (rng.normal(size=(20, 5)) for _ in range(3))
  alpha, beta, gamma = 0.3, 40.0, 0.01
  got = objectives.transfer_losses(
      jnp.asarray(x, jnp.float32), {'l': jnp.asarray(f, jnp.float32)},
      {'l': jnp.asarray(p, jnp.float32)}, {'l': objectives.gram(jnp.asarray(s, jnp.float32))},
      content_weights={'l': 1.0}, style_weights={'l': 1.0}, alpha=alpha, beta=beta, gamma=gamma)
  want = _reference(x, f, p, s, alpha, beta, gamma)
  for name, w in zip(('content', 'style', 'tv', 'total'), want):
    # float32 sums of ~100 terms of order 1: relative error ~1e-6; 1e-5 leaves room.
    np.testing.assert_allclose(float(got[name]), w, rtol=1e-5, err_msg=name)


def test_gram_is_length_normalised_and_symmetric():
  f = jnp.asarray(np.random.default_rng(1).normal(size=(3, 50, 4)), jnp.float32)
  g = objectives.gram(f)
  assert g.shape == (3, 4, 4)
  np.testing.assert_allclose(g, jnp.swapaxes(g, -1, -2), rtol=1e-6)
  # Repeating a clip does not change its Gram: style clips of any length are comparable.
  np.testing.assert_allclose(objectives.gram(jnp.concatenate([f, f], axis=1)), g, rtol=1e-5)


def test_style_loss_layer_weights():
  rng = np.random.default_rng(2)
  feats = {k: jnp.asarray(rng.normal(size=(10, 3)), jnp.float32) for k in ('a', 'b')}
  grams = {k: objectives.gram(jnp.asarray(rng.normal(size=(12, 3)), jnp.float32)) for k in 'ab'}
  la = objectives.style_layer_loss(objectives.gram(feats['a']), grams['a'])
  lb = objectives.style_layer_loss(objectives.gram(feats['b']), grams['b'])
  got = objectives.style_loss(feats, grams, {'a': 0.25, 'b': 2.0})
  np.testing.assert_allclose(got, 0.25 * la + 2.0 * lb, rtol=1e-6)
  np.testing.assert_allclose(objectives.style_loss(feats, grams, {'b': 1.0}), lb, rtol=1e-6)


def test_total_loss_gradient_matches_finite_differences_float64():
  """d(total)/dx through the real Ulyanov network, against central differences, all in float64."""
  with jax.enable_x64(True):
    from flax import nnx
    model = shallow.UlyanovCNN(6, filters=8, width=3, rngs=nnx.Rngs(0))
    model = jax.tree.map(lambda v: v.astype(jnp.float64), model)
    rng = np.random.default_rng(3)
    content, style, x0 = (jnp.asarray(rng.normal(size=(1, 12, 6))) for _ in range(3))
    p = model(content)['conv']
    a = objectives.gram(model(style)['conv'])

    def total(x):
      f = model(x)['conv']
      return objectives.transfer_losses(
          x, {'conv': f}, {'conv': p}, {'conv': a}, content_weights={'conv': 1.0},
          style_weights={'conv': 1.0}, alpha=0.5, beta=30.0, gamma=0.1)['total'].sum()

    grad = np.asarray(jax.grad(total)(x0))
    assert grad.dtype == np.float64
    eps = 1e-6
    flat = np.asarray(x0).ravel()
    for i in np.random.default_rng(4).choice(flat.size, 25, replace=False):
      e = np.zeros_like(flat)
      e[i] = eps
      up = float(total(jnp.asarray((flat + e).reshape(x0.shape))))
      down = float(total(jnp.asarray((flat - e).reshape(x0.shape))))
      # Central differences in float64 are accurate to ~eps^2 * f''' ~ 1e-10 here; ReLU kinks
      # are measure-zero for random inputs.
      np.testing.assert_allclose(grad.ravel()[i], (up - down) / (2 * eps), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize('fn', [objectives.content_loss, objectives.style_layer_loss])
def test_losses_are_zero_at_target(fn):
  f = jnp.asarray(np.random.default_rng(5).normal(size=(2, 4, 4)), jnp.float32)
  np.testing.assert_array_equal(fn(f, f), np.zeros(2))


def test_factored_style_loss_equals_gram_form_float64():
  """The factored form is the same function as Gatys' Gram form, for clips of different lengths."""
  with jax.enable_x64(True):
    rng = np.random.default_rng(6)
    f = jnp.asarray(rng.normal(size=(2, 9, 40)))
    s = jnp.asarray(rng.normal(size=(2, 13, 40)))
    want = objectives.style_layer_loss(objectives.gram(f), objectives.gram(s))
    got = objectives.style_layer_loss_factored(f, objectives.StyleFeatures.of(s))
    np.testing.assert_allclose(got, want, rtol=1e-10)
    g_want = jax.grad(lambda x: objectives.style_layer_loss(objectives.gram(x),
                                                            objectives.gram(s)).sum())(f)
    g_got = jax.grad(lambda x: objectives.style_layer_loss_factored(
        x, objectives.StyleFeatures.of(s)).sum())(f)
    np.testing.assert_allclose(g_got, g_want, rtol=1e-9, atol=1e-12)
