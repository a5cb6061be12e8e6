"""Spectrogram style transfer (`task=transfer`).

Variants: `--config=configs/transfer.py:VARIANT[,runlocal]` with VARIANT one of
  default    the Ulyanov net and loss with the two settings measured best here: log1p gain 100 and
             the content as the start (see the comments on those fields)
  ulyanov    Ulyanov & Lebedev 2016 as published: log1p |STFT|, 4096 random filters of width 11,
             L-BFGS from N(0, 1e-3)
  two_layer  seed 004: log-mel dB, a two-layer 1-D CNN, content + noise init, Adam
  style_only Grinstein et al. 2018 on the Ulyanov net: start from the content, style loss only
and `runlocal` shrinks everything so that a run takes seconds (tests, laptops).
Any field can be overridden: `--config.transfer.steps=200 --config.content=path.wav`.
"""

import ml_collections
from ml_collections import config_dict

from ast_jax import assets

VARIANTS = ('default', 'ulyanov', 'two_layer', 'style_only')


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  words = [w for w in (arg or 'default').split(',') if w]
  variants = [w for w in words if w != 'runlocal']
  variant = variants[0] if variants else 'default'
  if len(variants) > 1 or variant not in VARIANTS:
    raise ValueError(f'configs/transfer.py:{arg}; expected one of {VARIANTS}, optionally '
                     f'followed by ",runlocal"')

  c = ml_collections.ConfigDict()
  c.task = 'transfer'
  c.variant = variant
  c.content = str(assets.path('content_piano.ogg'))  # content clip: a Bach chorale on piano
  c.style = str(assets.path('style_guitar.ogg'))  # style clip: another chorale on guitar
  # Optional true rendering of the content on the style instrument; only plotted beside the output.
  c.target = str(assets.path('target_guitar.ogg'))

  c.audio = ml_collections.ConfigDict()
  c.audio.offset = 0.0  # s into each clip
  c.audio.duration = config_dict.placeholder(float)  # s read from each clip; None = all of it
  c.audio.max_seconds = 600.0  # s; longer clips need an explicit duration (guards typos, not a limit)

  c.representation = ml_collections.ConfigDict()
  c.representation.sample_rate = 22050  # Hz; clips are resampled to it (Ulyanov & Lebedev)
  c.representation.n_fft = 2048  # samples; Ulyanov & Lebedev, seeds 000, 001, 003
  c.representation.hop_length = 512  # samples (23 ms at 22.05 kHz); Ulyanov & Lebedev
  c.representation.scale = 'linear'  # 'linear' STFT bins | 'mel'
  c.representation.n_mels = 128  # mel bands when scale='mel' (librosa default)
  c.representation.fmin = 0.0  # Hz, lowest mel edge
  c.representation.fmax = config_dict.placeholder(float)  # Hz, highest mel edge; None = sr / 2
  c.representation.power = 1.0  # 1 = magnitude, 2 = power
  c.representation.transform = 'log1p'  # 'log1p' | 'db' | 'normalised' | 'none'
  # log1p(gain * |S|): the gain moves the noise floor of silent regions (DESIGN.md); 1 = Ulyanov.
  c.representation.log1p_gain = 1.0

  filters = config_dict.FieldReference(4096)
  c.features = ml_collections.ConfigDict()
  c.features.kind = 'ulyanov'  # 'ulyanov' | 'two_layer'
  c.features.filters = filters  # Conv1D filters; 4096 (Ulyanov; seed 001: 64-1024 give noise)
  c.features.width = 11  # frames; kernel width over time (Ulyanov & Lebedev)
  c.features.padding = 'VALID'  # 'VALID' (Ulyanov) | 'SAME'
  c.features.use_bias = False  # random features without bias (Ulyanov; Cifka et al.)
  c.features.seed = 0  # seed of the random weights
  c.features.two_layer_filters = (512, 512)  # seed 004's two layers (its figure gives no sizes)
  c.features.two_layer_widths = (3, 3)  # frames
  c.features.content_layers = {'conv': 1.0}  # layer -> weight in the content loss
  c.features.style_layers = {'conv': 1.0}  # layer -> w_l in the style loss (Gatys eq. 5)

  c.transfer = ml_collections.ConfigDict()
  c.transfer.optimizer = 'lbfgs'  # 'lbfgs' (Ulyanov: scipy L-BFGS-B) | 'adam'
  c.transfer.steps = 300  # optimiser steps (Ulyanov: 300 L-BFGS iterations)
  c.transfer.chunk = 25  # steps per jitted call; progress and early stopping happen between calls
  c.transfer.tol = 1e-3  # stop when a chunk lowers the loss by less than this share of itself
  c.transfer.learning_rate = 1e-3  # Adam step (seed 001: 1e-3; 1e-2 oscillates)
  c.transfer.lbfgs_memory = 10  # L-BFGS history (optax default; scipy's is 10 too)
  c.transfer.linesearch_steps = 20  # zoom line-search evaluations at most (optax default)
  c.transfer.init = 'noise'  # 'content' | 'noise' | 'content+noise'
  c.transfer.noise_std = 1e-3  # std of the noise init, representation units (Ulyanov: N(0, 1e-3))
  c.transfer.seed = 0  # seed of the noise init
  # Ulyanov's loss is 1e-2 sum (F - P)^2 + sum (G - A)^2 with G = F^T F / frames; ours is
  # alpha * 1/2 sum (F - P)^2 + beta * sum (G - A)^2 / (4 N^2), so alpha = 2e-2, beta = 4 N^2.
  c.transfer.alpha = 2e-2  # content weight
  if variant != 'two_layer':
    c.transfer.beta = 4.0 * filters * filters  # style weight (follows features.filters)
  c.transfer.gamma = 0.0  # total-variation weight (Ulyanov: none)
  # 'gram': the N x N Gram (Gatys). 'factored': the same loss through M x M and M x Ms products:
  # 1.42x faster per step on 10 s / 4096 filters (benchmarks/transfer_step.py), but its terms
  # cancel in float32 as the style loss falls, which stalls L-BFGS's line search near convergence
  # (issue 2's note has the numbers). 'auto': factored when window + style frames < filters.
  c.transfer.style_form = 'gram'
  c.transfer.style_only = False  # drop the content loss; needs init='content' (Grinstein et al.)
  c.transfer.window_frames = 430  # frames per optimised window (~10 s, Ulyanov's whole input)
  c.transfer.overlap_frames = 32  # frames cross-faded between neighbouring windows

  c.phase = ml_collections.ConfigDict()
  c.phase.n_iter = 500  # Griffin-Lim iterations (Ulyanov & Lebedev)
  c.phase.momentum = 0.99  # fast Griffin-Lim (Perraudin et al. 2013; librosa's default); 0 = classic
  c.phase.init = 'random'  # 'random' (Ulyanov) | 'content': start from the content clip's phase
  c.phase.seed = 0

  c.output = ml_collections.ConfigDict()
  c.output.peak = 0.9  # peak-normalise output.wav to this (Cifka et al. normalise the peak)

  if variant == 'two_layer':
    c.representation.scale = 'mel'
    c.representation.power = 2.0
    c.representation.transform = 'db'  # seed 004: mel spectrogram in dB
    c.features.kind = 'two_layer'
    c.features.padding = 'SAME'
    c.features.content_layers = {'conv2': 1.0}
    c.features.style_layers = {'conv1': 0.5, 'conv2': 0.5}
    c.transfer.optimizer = 'adam'  # seed 004: gradient descent, lr 0.01, 20,000 iterations
    c.transfer.learning_rate = 0.01  # dB per step
    c.transfer.steps = 20000
    c.transfer.chunk = 500
    c.transfer.init = 'content+noise'  # seed 004: the content plus Gaussian noise
    c.transfer.noise_std = 6.0  # dB; seed 004 gives no value
    c.transfer.alpha = 1.0  # content weight (our choice: seed 004 gives none)
    c.transfer.beta = 1e3  # style weight (our choice)
    c.phase.init = 'content'
  elif variant == 'style_only':
    c.transfer.style_only = True
    c.transfer.init = 'content'
  if variant in ('default', 'style_only'):
    # LSD to the true target on the bundled clips (5 s, 150 L-BFGS steps, from noise): gain 1
    # 19.7 dB, 10 15.7, 100 14.8, 1000 16.4 (content copy 12.2). Gain 1 leaves silent bins
    # jittering at ~0.05, broadband noise ~40 dB below the peaks; 100 puts that floor ~40 dB lower.
    c.representation.log1p_gain = 100.0
  if variant == 'default':
    # From the content rather than noise, gain 100: 13.4 dB against 14.8 (same measurement).
    c.transfer.init = 'content'

  if 'runlocal' in words:
    c.audio.duration = 1.0
    c.representation.n_fft = 512
    c.representation.hop_length = 128
    c.representation.n_mels = 32
    filters.set(64)
    c.features.two_layer_filters = (32, 32)
    c.transfer.steps = 60
    c.transfer.chunk = 20
    c.phase.n_iter = 16
  return c
