"""Shallow 1-D CNN feature extractors over a representation, and the feature-extractor interface.

A representation is `[batch, frames, features]`: frequency bins (or mel bands) are the channels and
time is the one spatial axis (Ulyanov & Lebedev 2016). Modules here hold weights only; the optimiser
sees them through `FeatureExtractor`, so a later issue can plug in pretrained weights or a trained
classifier's blocks by registering another builder.
"""

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

PADDINGS = ('VALID', 'SAME')


def ulyanov_std(in_channels: int, out_channels: int, width: int) -> float:
  """Ulyanov & Lebedev's random-weight scale: sqrt(2) * sqrt(2 / ((in + out) * width)).

  That is sqrt(2) x Glorot-normal, the He-style gain for a ReLU (ANCHORS.md, original TF code).
  """
  return math.sqrt(2.0) * math.sqrt(2.0 / ((in_channels + out_channels) * width))


class Conv1D(nnx.Module):
  """1-D convolution over time computed as one im2col matrix product.

  On this project's CPUs one `[frames, width * in] @ [width * in, out]` product runs the
  1025 -> 4096, width-11 layer ~1.4x faster than XLA's convolution, forward and backward
  (benchmarks/transfer_step.py). The kernel layout is `[width, in, out]` as in `lax.conv` 'WIO'.
  """

  def __init__(self, in_channels: int, out_channels: int, width: int, *, std: float,
               padding: str = 'VALID', use_bias: bool = False, rngs: nnx.Rngs):
    if padding not in PADDINGS:
      raise ValueError(f'padding={padding!r}; expected one of {PADDINGS}')
    self.width, self.padding = width, padding
    self.kernel = nnx.Param(std * jax.random.normal(rngs.params(), (width, in_channels, out_channels)))
    self.bias = nnx.Param(jnp.zeros((out_channels,))) if use_bias else None

  def __call__(self, x):
    """`[batch, frames, in]` -> `[batch, frames', out]` (frames' = frames - width + 1 for VALID)."""
    if self.padding == 'SAME':
      left = (self.width - 1) // 2
      x = jnp.pad(x, ((0, 0), (left, self.width - 1 - left), (0, 0)))
    frames = x.shape[-2] - self.width + 1
    cols = jnp.concatenate([x[:, k:k + frames] for k in range(self.width)], axis=-1)
    kernel = self.kernel[...]
    y = cols @ kernel.reshape(-1, kernel.shape[-1])
    if self.bias is not None:
      y = y + self.bias[...]
    return y


class UlyanovCNN(nnx.Module):
  """Ulyanov & Lebedev's wide shallow random CNN: one Conv1D (width 11, 4096 filters), ReLU.

  Layers: 'conv' (after the ReLU).
  """

  def __init__(self, in_channels: int, *, filters: int = 4096, width: int = 11,
               padding: str = 'VALID', use_bias: bool = False, rngs: nnx.Rngs):
    self.conv = Conv1D(in_channels, filters, width, std=ulyanov_std(in_channels, filters, width),
                       padding=padding, use_bias=use_bias, rngs=rngs)

  layers = ('conv',)

  def receptive_field(self) -> int:
    return self.conv.width

  def __call__(self, x):
    return {'conv': jax.nn.relu(self.conv(x))}


class TwoLayerCNN(nnx.Module):
  """Seed 004's two-layer 1-D CNN over a log-mel dB representation, random weights.

  The paper gives the architecture only as a figure that the text does not describe; filters and
  widths are config fields. Layers: 'conv1', 'conv2' (each after its ReLU).
  """

  def __init__(self, in_channels: int, *, filters: Sequence[int] = (512, 512),
               widths: Sequence[int] = (3, 3), padding: str = 'SAME', use_bias: bool = False,
               rngs: nnx.Rngs):
    (f1, f2), (w1, w2) = filters, widths
    self.conv1 = Conv1D(in_channels, f1, w1, std=ulyanov_std(in_channels, f1, w1),
                        padding=padding, use_bias=use_bias, rngs=rngs)
    self.conv2 = Conv1D(f1, f2, w2, std=ulyanov_std(f1, f2, w2),
                        padding=padding, use_bias=use_bias, rngs=rngs)

  layers = ('conv1', 'conv2')

  def receptive_field(self) -> int:
    return self.conv1.width + self.conv2.width - 1

  def __call__(self, x):
    h1 = jax.nn.relu(self.conv1(x))
    h2 = jax.nn.relu(self.conv2(h1))
    return {'conv1': h1, 'conv2': h2}


@dataclasses.dataclass(frozen=True)
class FeatureExtractor:
  """What the transfer optimiser needs of a network: a pure function and its weights.

  `apply(params, rep)` maps a representation `[batch, frames, features]` to a dict
  layer name -> `[batch, frames', channels]`. `receptive_field` is the fewest input frames that
  give one output frame. `params` is any pytree; `apply` is traced once under jit.
  """
  apply: Callable[[Any, jax.Array], Mapping[str, jax.Array]]
  params: Any
  layers: tuple[str, ...]
  receptive_field: int

  @classmethod
  def from_module(cls, module: nnx.Module) -> 'FeatureExtractor':
    graphdef, state = nnx.split(module)

    def apply(params, rep):
      return nnx.merge(graphdef, params)(rep)

    return cls(apply=apply, params=state, layers=tuple(module.layers),
               receptive_field=module.receptive_field())


def _ulyanov(cfg, in_channels: int) -> FeatureExtractor:
  return FeatureExtractor.from_module(UlyanovCNN(
      in_channels, filters=cfg.filters, width=cfg.width, padding=cfg.padding,
      use_bias=cfg.use_bias, rngs=nnx.Rngs(cfg.seed)))


def _two_layer(cfg, in_channels: int) -> FeatureExtractor:
  return FeatureExtractor.from_module(TwoLayerCNN(
      in_channels, filters=tuple(cfg.two_layer_filters), widths=tuple(cfg.two_layer_widths),
      padding=cfg.padding, use_bias=cfg.use_bias, rngs=nnx.Rngs(cfg.seed)))


# config.features.kind -> builder(features_config, in_channels). Later issues add 'pretrained' and
# 'classifier' here.
BUILDERS: dict[str, Callable[[Any, int], FeatureExtractor]] = {
    'ulyanov': _ulyanov,
    'two_layer': _two_layer,
}


def build_feature_extractor(cfg, in_channels: int) -> FeatureExtractor:
  """Builds the extractor named by `cfg.kind` (config key `features.kind`)."""
  if cfg.kind not in BUILDERS:
    raise ValueError(f'features.kind={cfg.kind!r}; expected one of {sorted(BUILDERS)}')
  extractor = BUILDERS[cfg.kind](cfg, in_channels)
  for key in ('content_layers', 'style_layers'):
    unknown = set(cfg[key]) - set(extractor.layers)
    if unknown:
      raise ValueError(f'features.{key} names {sorted(unknown)}; {cfg.kind} has layers '
                       f'{list(extractor.layers)}')
  return extractor
