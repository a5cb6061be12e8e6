"""The shallow feature extractors: the im2col convolution against lax.conv, the initialisation
scale, layer names, seeding and config errors."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
from flax import nnx

from ast_jax.models import shallow


@pytest.mark.parametrize('padding', ['VALID', 'SAME'])
@pytest.mark.parametrize('width', [1, 4, 11])
def test_conv1d_matches_lax_conv(padding, width):
  conv = shallow.Conv1D(5, 7, width, std=0.3, padding=padding, use_bias=True, rngs=nnx.Rngs(0))
  conv.bias[...] = jnp.arange(7.0)
  x = jnp.asarray(np.random.default_rng(0).normal(size=(2, 23, 5)), jnp.float32)
  want = jax.lax.conv_general_dilated(x, conv.kernel[...], (1,), padding,
                                      dimension_numbers=('NWC', 'WIO', 'NWC')) + jnp.arange(7.0)
  got = conv(x)
  assert got.shape == want.shape
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_ulyanov_init_scale_and_seed():
  model = shallow.UlyanovCNN(1025, filters=512, width=11, rngs=nnx.Rngs(3))
  std = float(jnp.std(model.conv.kernel[...]))
  want = np.sqrt(2) * np.sqrt(2 / ((1025 + 512) * 11))  # neural-style-audio-tf's scale
  assert abs(std / want - 1) < 0.01  # 5.8M samples: sampling error of the std ~0.03%
  again = shallow.UlyanovCNN(1025, filters=512, width=11, rngs=nnx.Rngs(3))
  np.testing.assert_array_equal(model.conv.kernel[...], again.conv.kernel[...])
  other = shallow.UlyanovCNN(1025, filters=512, width=11, rngs=nnx.Rngs(4))
  assert not np.allclose(model.conv.kernel[...], other.conv.kernel[...])


def _features_config(kind='ulyanov', **kw):
  fields = dict(kind=kind, filters=16, width=5, padding='VALID', use_bias=False, seed=0,
                two_layer_filters=(8, 6), two_layer_widths=(3, 5),
                content_layers={'conv': 1.0}, style_layers={'conv': 1.0})
  return ml_collections.ConfigDict({**fields, **kw})


def test_feature_extractor_shapes_and_receptive_field():
  ex = shallow.build_feature_extractor(_features_config(), 12)
  out = ex.apply(ex.params, jnp.zeros((3, 20, 12)))
  assert ex.layers == ('conv',) and ex.receptive_field == 5
  assert out['conv'].shape == (3, 16, 16)
  assert float(out['conv'].min()) >= 0  # after the ReLU
  ex2 = shallow.build_feature_extractor(
      _features_config('two_layer', padding='SAME', content_layers={'conv2': 1.0},
                       style_layers={'conv1': 1.0, 'conv2': 1.0}), 12)
  out2 = ex2.apply(ex2.params, jnp.ones((1, 20, 12)))
  assert ex2.layers == ('conv1', 'conv2') and ex2.receptive_field == 7
  assert out2['conv1'].shape == (1, 20, 8) and out2['conv2'].shape == (1, 20, 6)


def test_feature_extractor_config_errors():
  with pytest.raises(ValueError, match=r"features.kind='vgg'"):
    shallow.build_feature_extractor(_features_config('vgg'), 12)
  with pytest.raises(ValueError, match=r"features.style_layers names \['conv9'\]"):
    shallow.build_feature_extractor(_features_config(style_layers={'conv9': 1.0}), 12)
  with pytest.raises(ValueError, match='padding'):
    shallow.build_feature_extractor(_features_config(padding='FULL'), 12)
