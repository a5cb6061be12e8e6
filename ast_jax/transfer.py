"""The spectrogram optimiser: optax moves a representation until its features match the content
clip and their Gram matrices match the style clip (Gatys et al. 2016; Ulyanov & Lebedev 2016).

Work is split into independent problems, one per (pair, window): a long content clip is cut into
overlapping windows of `transfer.window_frames` frames, each window is optimised against the Grams
of the whole style clip, and the windows are cross-faded back together, so there is no length
limit. Problems run as a batch (Adam) or one after another through the same compiled function
(L-BFGS, whose line search is global), `transfer.chunk` optimiser steps per call of one jitted
function (a `lax.fori_loop`); Python only reports progress and stops early on convergence.
"""

import dataclasses
import math
import time
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np
import optax
from tqdm import tqdm

from ast_jax import objectives
from ast_jax.models.shallow import FeatureExtractor

OPTIMIZERS = ('lbfgs', 'adam')
INITS = ('content', 'noise', 'content+noise')
STYLE_FORMS = ('auto', 'gram', 'factored')


@dataclasses.dataclass(frozen=True)
class TransferResult:
  """rep: `[pairs, frames, features]` the optimised representation (content length).
  losses: `[pairs, steps]` total loss at each step (summed over windows).
  final: term name -> `[pairs]` final unweighted terms and the total.
  setup_seconds: from the call to the first step (targets, their compile).
  chunk_times: `[chunks, 2]` (steps done by the problem being optimised, seconds since the call)
    at the end of each chunk, for benchmarks.
  """
  rep: np.ndarray
  losses: np.ndarray
  final: dict[str, np.ndarray]
  steps: int
  seconds: float
  converged: bool
  setup_seconds: float
  chunk_times: np.ndarray


def make_optimizer(cfg) -> optax.GradientTransformationExtraArgs:
  """Adam or L-BFGS (with optax's zoom line search) from `config.transfer`."""
  if cfg.optimizer == 'adam':
    return optax.adam(cfg.learning_rate)
  if cfg.optimizer == 'lbfgs':
    # initial_guess_strategy='one' (optax.lbfgs's own choice): a quasi-Newton step's natural size
    # is 1. The line search's own default, 'keep', starts from the last accepted size and spent
    # 14 evaluations on the second step here; 'one' reached an 11% lower loss in 40 steps.
    return optax.lbfgs(
        memory_size=cfg.lbfgs_memory,
        linesearch=optax.scale_by_zoom_linesearch(max_linesearch_steps=cfg.linesearch_steps,
                                                  initial_guess_strategy='one'))
  raise ValueError(f'transfer.optimizer={cfg.optimizer!r}; expected one of {OPTIMIZERS}')


def check_config(cfg):
  """Raises ValueError naming the `transfer.*` key of a value that cannot work."""
  make_optimizer(cfg)
  if cfg.init not in INITS:
    raise ValueError(f'transfer.init={cfg.init!r}; expected one of {INITS}')
  if cfg.style_only and cfg.init != 'content':
    # Grinstein et al. 2018: with no content loss, the content enters only through the start point.
    raise ValueError(f"transfer.style_only=True needs transfer.init='content', got {cfg.init!r}")
  for key in ('steps', 'chunk', 'window_frames'):
    if cfg[key] < 1:
      raise ValueError(f'transfer.{key}={cfg[key]}; expected a positive integer')
  if cfg.style_form not in STYLE_FORMS:
    raise ValueError(f'transfer.style_form={cfg.style_form!r}; expected one of {STYLE_FORMS}')
  if cfg.overlap_frames < 0:
    raise ValueError(f'transfer.overlap_frames={cfg.overlap_frames}; expected >= 0')


def window_starts(frames: int, window: int, overlap: int) -> list[int]:
  """Start frames of overlapping windows covering `frames`; the last window ends at the end.

  A clip up to `window + overlap` frames long is one window: two windows would overlap by almost
  their whole length and double the work (10 s is 431 frames at hop 512, for a 430-frame window).
  """
  if frames <= window + overlap:
    return [0]
  hop = window - overlap
  count = math.ceil((frames - window) / hop) + 1
  return sorted({min(i * hop, frames - window) for i in range(count)})


def crossfade_weights(starts: list[int], window: int, frames: int, overlap: int) -> np.ndarray:
  """`[windows, window]` weights: linear ramps over the overlaps, normalised to sum to 1 per frame."""
  if len(starts) == 1:
    return np.ones((1, min(window, frames)), np.float32)
  ramp = np.ones(window, np.float32)
  if overlap:
    fade = (np.arange(overlap, dtype=np.float32) + 1.0) / (overlap + 1.0)
    ramp[:overlap], ramp[-overlap:] = fade, fade[::-1]
  total = np.zeros(frames, np.float32)
  for s in starts:
    total[s:s + window] += ramp
  return np.stack([ramp / total[s:s + window] for s in starts])


def _layer_weights(layers: Mapping) -> dict[str, float]:
  return {name: float(w) for name, w in layers.items() if float(w)}


def optimise(extractor: FeatureExtractor, content: jax.Array, style: jax.Array, cfg,
             content_layers: Mapping, style_layers: Mapping, *, progress: bool = True,
             description: str = 'transfer') -> TransferResult:
  """Style transfer by optimisation of the representation.

  Args:
    extractor: the feature extractor (weights fixed).
    content: `[pairs, frames, features]` content representations (equal shapes across pairs).
    style: `[pairs, style_frames, features]` style representations.
    cfg: `config.transfer`.
    content_layers, style_layers: layer name -> weight.
    progress: show a progress bar with the loss and ETA.

  Returns:
    A TransferResult; the representation is never clamped.
  """
  called = time.perf_counter()
  check_config(cfg)
  content_w = {} if cfg.style_only else _layer_weights(content_layers)
  style_w = _layer_weights(style_layers)
  pairs, frames, feats = content.shape
  window = max(int(cfg.window_frames), extractor.receptive_field)
  overlap = min(int(cfg.overlap_frames), window // 2)
  starts = window_starts(frames, window, overlap)
  width = frames if len(starts) == 1 else window
  windows = len(starts)
  problems = pairs * windows

  apply, params = extractor.apply, extractor.params

  # Targets, computed once: content features per (pair, window) problem, style targets per pair.
  content_win = jnp.stack([content[:, s:s + width] for s in starts], axis=1)
  content_win = content_win.reshape(problems, width, feats)  # [problems, T, F]
  content_targets = {k: v for k, v in jax.jit(apply)(params, content_win).items() if k in content_w}
  out_shapes = jax.eval_shape(apply, params, content_win[:1])
  style_feats = {k: v for k, v in jax.jit(apply)(params, style).items() if k in style_w}

  def style_target(name, s):  # s [pairs, Ms, N] -> Gram [pairs, N, N] or StyleFeatures
    m, (ms, n) = out_shapes[name].shape[-2], s.shape[-2:]
    factored = cfg.style_form == 'factored' or (cfg.style_form == 'auto' and m + ms < n)
    return jax.jit(objectives.StyleFeatures.of if factored else objectives.gram)(s)

  style_targets = {k: style_target(k, v) for k, v in style_feats.items()}
  pair_of = np.arange(problems) // windows  # problem -> its pair
  weights = dict(content_weights=content_w, style_weights=style_w,
                 alpha=float(cfg.alpha), beta=float(cfg.beta), gamma=float(cfg.gamma))

  # The weights travel as an argument, never closed over: a closed-over array is embedded in the
  # compiled program as a constant (185 MB for 4096 filters), which makes XLA compile for minutes.
  def terms(x, targets, params):  # x [b, T, F] -> term -> [b]; the b problems are independent
    return objectives.transfer_losses(x, apply(params, x), *targets, **weights)

  tx = make_optimizer(cfg)
  is_lbfgs = cfg.optimizer == 'lbfgs'

  def run_chunk(x, opt_state, targets, params, n):
    """Up to `cfg.chunk` steps on problems x `[b, T, F]`; returns the loss of each before each step.

    The loss is the sum over the b problems: their gradients do not interact, so Adam on the sum is
    Adam on each. L-BFGS is only ever given one problem (b = 1): its line search is global.
    """
    per_problem = lambda y: terms(y, targets, params)['total']
    if is_lbfgs:
      loss_fn = lambda y: per_problem(y).sum()
      value_and_grad = optax.value_and_grad_from_state(loss_fn)
    else:
      def loss_and_each(y):
        each = per_problem(y)
        return each.sum(), each
      value_and_grad = jax.value_and_grad(loss_and_each, has_aux=True)

    def body(i, carry):
      x, state, losses = carry
      if is_lbfgs:
        value, grad = value_and_grad(x, state=state)
        updates, state = tx.update(grad, state, x, value=value, grad=grad, value_fn=loss_fn)
        values = value[None]
      else:
        (_, values), grad = value_and_grad(x)
        updates, state = tx.update(grad, state, x)
      return optax.apply_updates(x, updates), state, losses.at[:, i].set(values)

    losses = jnp.full((x.shape[0], cfg.chunk), jnp.nan, x.dtype)
    return jax.lax.fori_loop(0, n, body, (x, opt_state, losses))

  # Not vmap for L-BFGS: under vmap the line search's lax.cond becomes a select that evaluates both
  # branches, and the batched while-loop runs to the slowest problem (3x slower per step here).
  chunk_fn = jax.jit(run_chunk, donate_argnums=(0, 1))

  # One key per (pair, window) problem, so a problem's start does not depend on the batch size.
  keys = jax.vmap(jax.random.fold_in, (None, 0))(jax.random.key(cfg.seed), jnp.arange(problems))
  noise = cfg.noise_std * jax.vmap(
      lambda k: jax.random.normal(k, content_win.shape[1:], content_win.dtype))(keys)
  x0 = {'content': content_win, 'noise': noise, 'content+noise': content_win + noise}[cfg.init]
  groups = [slice(i, i + 1) for i in range(problems)] if is_lbfgs else [slice(0, problems)]
  terms_fn = jax.jit(terms)

  outputs, curves, finals, chunk_times, converged = [], [], [], [], True
  start = time.perf_counter()
  with tqdm(total=cfg.steps * len(groups), desc=description, disable=not progress, unit='step',
            dynamic_ncols=True) as bar:
    for group in groups:
      x = jnp.array(x0[group])  # a fresh buffer: x is donated to the chunk function
      targets = (jax.tree.map(lambda t: t[group], content_targets),
                 jax.tree.map(lambda t: t[pair_of[group]], style_targets))
      # Fresh buffers per leaf: the L-BFGS state shares arrays, and the chunk function donates it.
      opt_state = jax.tree.map(jnp.copy, tx.init(x))
      curve, done, group_converged = np.zeros((x.shape[0], 0), np.float32), 0, False
      while done < cfg.steps:
        n = min(cfg.chunk, cfg.steps - done)
        x, opt_state, losses = chunk_fn(x, opt_state, targets, params, n)
        losses = np.asarray(losses[:, :n])  # blocks: the one host sync per chunk
        if not np.all(np.isfinite(losses)):
          raise FloatingPointError(
              f'{description}: the loss became non-finite between steps {done} and {done + n}; '
              f'lower transfer.learning_rate or the loss weights')
        curve, done = np.concatenate([curve, losses], 1), done + n
        chunk_times.append((done, time.perf_counter() - called))
        bar.update(n)
        bar.set_postfix(loss=f'{float(curve[:, -1].sum()):.4g}')
        if cfg.tol > 0 and done > cfg.chunk:
          # Converged when the last chunk improved every problem by under tol of its current loss.
          gain = (curve[:, -cfg.chunk - 1] - curve[:, -1]) / np.maximum(np.abs(curve[:, -1]), 1e-30)
          if np.all(gain < cfg.tol):
            group_converged = True
            break
      bar.update(cfg.steps - done)
      converged &= group_converged
      outputs.append(x)
      curves.append(curve)
      finals.append(terms_fn(x, targets, params))
  seconds = time.perf_counter() - start

  x = jnp.concatenate(outputs)
  steps = max(c.shape[1] for c in curves)
  # A problem that stopped early keeps its last loss for the remaining steps.
  curve = np.concatenate([np.pad(c, ((0, 0), (0, steps - c.shape[1])), mode='edge')
                          for c in curves])
  final = jax.tree.map(lambda *v: np.concatenate(v).reshape(pairs, windows).sum(1), *finals)
  weights_cf = crossfade_weights(starts, width, frames, overlap)
  xw = np.asarray(x).reshape(pairs, windows, width, feats)
  rep = np.zeros((pairs, frames, feats), np.float32)
  for i, s in enumerate(starts):
    rep[:, s:s + width] += weights_cf[i][None, :, None] * xw[:, i]
  return TransferResult(rep=rep, losses=curve.reshape(pairs, windows, steps).sum(1), final=final,
                        steps=steps, seconds=seconds, converged=converged,
                        setup_seconds=start - called, chunk_times=np.array(chunk_times))
