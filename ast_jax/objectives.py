"""Losses for spectrogram style transfer, as pure functions.

Feature maps are time-major: `[..., positions M, channels N]`. Every loss sums over one example's
elements and keeps leading batch axes, so `vmap` and batched calls both work.
"""

from collections.abc import Mapping

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


def style_loss(features: Mapping, target_grams: Mapping, weights: Mapping):
  """Gatys et al. 2016 eq. 5: sum over layers l of w_l E_l.

  Args:
    features: layer name -> `[..., M_l, N_l]` features of the output.
    target_grams: layer name -> `[..., N_l, N_l]` M-normalised Grams of the style clip.
    weights: layer name -> w_l; only these layers count.
  """
  return sum(w * style_layer_loss(gram(features[name]), target_grams[name])
             for name, w in weights.items())


def total_variation(x):
  """Squared total variation of a representation `[..., T, F]` along time and frequency -> `[...]`.

  Squared (not absolute) differences keep the loss smooth for L-BFGS.
  """
  dt = jnp.sum(jnp.square(jnp.diff(x, axis=-2)), axis=(-2, -1))
  df = jnp.sum(jnp.square(jnp.diff(x, axis=-1)), axis=(-2, -1))
  return dt + df


def transfer_losses(x, features: Mapping, content_targets: Mapping, style_grams: Mapping, *,
                    content_weights: Mapping, style_weights: Mapping,
                    alpha: float, beta: float, gamma: float):
  """The style-transfer objective alpha * content + beta * style + gamma * TV (Gatys eq. 7, + TV).

  Args:
    x: `[..., T, F]` the representation being optimised (for the TV term).
    features: layer -> `[..., M, N]` features of x.
    content_targets: layer -> `[..., M, N]` features of the content clip.
    style_grams: layer -> `[..., N, N]` Grams of the style clip.
    content_weights, style_weights: layer -> weight (the layers used by each term).
    alpha, beta, gamma: weights of content, style and total variation.

  Returns:
    dict with 'total', 'content', 'style', 'tv' (unweighted terms), each `[...]`.
  """
  zero = jnp.zeros(x.shape[:-2], x.dtype)  # an unused term, with the batch shape of the others
  content = sum((w * content_loss(features[name], content_targets[name])
                 for name, w in content_weights.items()), zero)
  style = style_loss(features, style_grams, style_weights) if style_weights else zero
  tv = total_variation(x) if gamma else zero
  total = alpha * content + beta * style + gamma * tv
  return {'total': total, 'content': content, 'style': style, 'tv': tv}
