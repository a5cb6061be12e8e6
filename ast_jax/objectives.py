"""Losses for spectrogram style transfer, as pure functions.

Feature maps are time-major: `[..., positions M, channels N]`. Every loss sums over one example's
elements and keeps leading batch axes, so `vmap` and batched calls both work.
"""

from collections.abc import Mapping
from typing import NamedTuple

import jax
import jax.numpy as jnp


@jax.custom_vjp
def _gram(f):
  """F^T F over the positions axis: `[..., M, N]` -> `[..., N, N]`."""
  return jnp.einsum('...mi,...mj->...ij', f, f)


def _gram_fwd(f):
  return _gram(f), f


def _gram_bwd(f, g):
  # d<G, g>/dF = F (g + g^T): one matmul. Autodiff of the einsum makes two (F g and F g^T),
  # 2 M N^2 FLOP more per step, 12% of the 4096-filter loss (benchmarks/transfer_step.py).
  return (jnp.einsum('...mi,...ij->...mj', f, g + jnp.swapaxes(g, -1, -2)),)


_gram.defvjp(_gram_fwd, _gram_bwd)


def gram(features):
  """Gram matrix normalised by the number of positions.

  Args:
    features: `[..., M, N]` feature map (M positions, N channels).

  Returns:
    `[..., N, N]` = F^T F / M.

  Dividing by M here (rather than by M^2 in the style loss, as Gatys et al. 2016 write it) makes
  Grams of clips of different lengths comparable, so a style clip need not be as long as the
  content. For equal lengths the style loss below equals Gatys' eq. exactly.
  """
  return _gram(features) / features.shape[-2]


def content_loss(features, target):
  """Gatys et al. 2016 eq. 1: 1/2 sum (F - P)^2 over positions and channels. `[..., M, N]` -> `[...]`."""
  return 0.5 * jnp.sum(jnp.square(features - target), axis=(-2, -1))


def style_layer_loss(g, a):
  """Gatys et al. 2016 eq. 4 for one layer, on M-normalised Grams `[..., N, N]` -> `[...]`.

  sum (G - A)^2 / (4 N^2 M^2) with unnormalised Grams is sum (G/M - A/M)^2 / (4 N^2).
  """
  n = g.shape[-1]
  return jnp.sum(jnp.square(g - a), axis=(-2, -1)) / (4.0 * n * n)


class StyleFeatures(NamedTuple):
  """A style target kept as features rather than a Gram: `features` `[..., Ms, N]` and
  `gram_sq` = ||S^T S / Ms||_F^2 `[...]`, for `style_layer_loss_factored`."""
  features: jax.Array
  gram_sq: jax.Array

  @classmethod
  def of(cls, s):
    ms = s.shape[-2]
    ss = jnp.einsum('...mi,...ki->...mk', s, s)
    return cls(s, jnp.sum(jnp.square(ss), axis=(-2, -1)) / (ms * ms))


def style_layer_loss_factored(f, target: StyleFeatures):
  """`style_layer_loss(gram(f), gram(s))` without forming an N x N Gram.

  ||F^T F / M - S^T S / Ms||^2 = ||F F^T||^2 / M^2 - 2 ||F S^T||^2 / (M Ms) + ||S S^T||^2 / Ms^2,
  so the products are M x M and M x Ms instead of N x N: 4 M (M + Ms) N FLOP with the gradient
  against 4 M N^2, a saving when M + Ms < N (a 10 s window, 421 positions, against 4096 filters).
  The terms cancel as the loss falls: float32 keeps ~7 digits of ||A||^2, which bounds how close
  to the style this form can resolve (transfer.style_form chooses).
  """
  s, gram_sq = target
  m, ms, n = f.shape[-2], s.shape[-2], f.shape[-1]
  ff = jnp.einsum('...mi,...ki->...mk', f, f)
  fs = jnp.einsum('...mi,...ki->...mk', f, s)
  sq = lambda x: jnp.sum(jnp.square(x), axis=(-2, -1))
  return (sq(ff) / (m * m) - 2.0 * sq(fs) / (m * ms) + gram_sq) / (4.0 * n * n)


def style_loss(features: Mapping, targets: Mapping, weights: Mapping):
  """Gatys et al. 2016 eq. 5: sum over layers l of w_l E_l.

  Args:
    features: layer name -> `[..., M_l, N_l]` features of the output.
    targets: layer name -> the style clip's M-normalised Gram `[..., N_l, N_l]`, or its
      `StyleFeatures` (the same loss without an N x N Gram).
    weights: layer name -> w_l; only these layers count.
  """
  def layer(f, t):
    if isinstance(t, StyleFeatures):
      return style_layer_loss_factored(f, t)
    return style_layer_loss(gram(f), t)
  return sum(w * layer(features[name], targets[name]) for name, w in weights.items())


def total_variation(x):
  """Squared total variation of a representation `[..., T, F]` along time and frequency -> `[...]`.

  Squared (not absolute) differences keep the loss smooth for L-BFGS.
  """
  dt = jnp.sum(jnp.square(jnp.diff(x, axis=-2)), axis=(-2, -1))
  df = jnp.sum(jnp.square(jnp.diff(x, axis=-1)), axis=(-2, -1))
  return dt + df


def transfer_losses(x, features: Mapping, content_targets: Mapping, style_targets: Mapping, *,
                    content_weights: Mapping, style_weights: Mapping,
                    alpha: float, beta: float, gamma: float):
  """The style-transfer objective alpha * content + beta * style + gamma * TV (Gatys eq. 7, + TV).

  Args:
    x: `[..., T, F]` the representation being optimised (for the TV term).
    features: layer -> `[..., M, N]` features of x.
    content_targets: layer -> `[..., M, N]` features of the content clip.
    style_targets: layer -> `[..., N, N]` Grams of the style clip, or their `StyleFeatures`.
    content_weights, style_weights: layer -> weight (the layers used by each term).
    alpha, beta, gamma: weights of content, style and total variation.

  Returns:
    dict with 'total', 'content', 'style', 'tv' (unweighted terms), each `[...]`.
  """
  zero = jnp.zeros(x.shape[:-2], x.dtype)  # an unused term, with the batch shape of the others
  content = sum((w * content_loss(features[name], content_targets[name])
                 for name, w in content_weights.items()), zero)
  style = style_loss(features, style_targets, style_weights) if style_weights else zero
  tv = total_variation(x) if gamma else zero
  total = alpha * content + beta * style + gamma * tv
  return {'total': total, 'content': content, 'style': style, 'tv': tv}
