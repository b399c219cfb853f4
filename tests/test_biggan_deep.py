"""BigGAN-deep (Brock et al. 2019, Appendix B): the paper's 128x128 model sizes, shapes, and the
identity-preserving skips (G drops channels, D pools and concatenates)."""
import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan.models import biggan_deep
from tests.test_resnet import shapes

KEY = jax.random.PRNGKey(0)


def count(params):
  return sum(x.size for x in jax.tree.leaves(params))


def test_128x128_model_sizes_match_the_paper():
  """The paper reports 50.4M (G) and 34.6M (D) parameters for BigGAN-deep at 128x128 (ch 128, 1000
  classes, z 128, attention at 64). D matches to the paper's precision; G has 50.24M here: the paper's
  count would also include the spectral-norm vectors (0.09M) and biases in the conditional BN's
  linear layers (0.04M) if its implementation had them as variables (the number is not itemised)."""
  g = biggan_deep.BigGANDeepGenerator(resolution=128, width=128, attention_resolution=64, num_classes=1000)
  d = biggan_deep.BigGANDeepDiscriminator(width=128, attention_resolution=64, num_classes=1000)
  g_params, x_shape, d_params, _ = shapes(g, d, z_dim=128, labels=jnp.zeros((2,), jnp.int32))
  assert x_shape == (2, 128, 128, 3)
  assert round(count(d_params) / 1e5) == 346
  assert 50.2e6 < count(g_params) < 50.4e6
  assert g_params["Dense_0"]["kernel"].shape == (128 + 128, 4 * 4 * 2048)  # [z, shared embedding]
  # Two bottleneck blocks per resolution: 4 convs each (G: 5 up-steps x 2 blocks, plus the output conv).
  assert sum(k.startswith("Conv_") for k in g_params) == 5 * 2 * 4 + 1


@pytest.mark.parametrize("resolution", [8, 16, 32, 64])
def test_shapes_and_attention_placement(resolution):
  g = biggan_deep.BigGANDeepGenerator(resolution=resolution, width=8, attention_resolution=8,
                                      conditioning="none", spectral_norm=False)
  d = biggan_deep.BigGANDeepDiscriminator(width=8, attention_resolution=8, conditioning="none")
  g_params, x_shape, d_params, logits_shape = shapes(g, d)
  assert x_shape == (2, resolution, resolution, 3) and logits_shape == (2,)
  assert sum(k.startswith("SelfAttention") for k in g_params) == 1
  assert sum(k.startswith("SelfAttention") for k in d_params) == (resolution > 8)


def zero_all_but(params, keep):
  flat = flax.traverse_util.flatten_dict(params)
  return flax.traverse_util.unflatten_dict(
      {k: v if k[0] in keep else jnp.zeros_like(v) for k, v in flat.items()})


def test_generator_skips_keep_the_first_channels():
  """With every residual conv zeroed each block is its skip: the first C_out channels of its input,
  upsampled. So G(z) = tanh(conv(relu(BN(upsample^n(Dense(z)[..., :C_last]))))) at init BN statistics."""
  g = biggan_deep.BigGANDeepGenerator(resolution=16, channels=3, width=4, conditioning="none",
                                      spectral_norm=False)
  z = jax.random.normal(KEY, (2, 6))
  variables = g.init(KEY, z, train=False)
  last_conv = max((k for k in variables["params"] if k.startswith("Conv_")), key=lambda k: int(k[5:]))
  params = zero_all_but(variables["params"], {"Dense_0", last_conv, "BatchNorm_16"})
  out = g.apply({**variables, "params": params}, z, train=False)

  h = (z @ params["Dense_0"]["kernel"] + params["Dense_0"]["bias"]).reshape(2, 4, 4, -1)  # 4 x 4 x 4ch
  c_last = 1 * 4  # architecture(16): G widths 4ch -> 2ch -> ch
  h = jnp.repeat(jnp.repeat(h[..., :c_last], 4, axis=1), 4, axis=2)
  h = jax.nn.relu(h / np.sqrt(1.0 + 1e-5))  # BN with its initial running statistics (0, 1)
  expected = jnp.tanh(nn.Conv(3, (3, 3), padding="SAME").apply({"params": params[last_conv]}, h))
  np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_discriminator_skips_pool_and_concatenate():
  """With every residual conv and the widening 1x1 convs zeroed, D's features are the input conv's
  output, average-pooled by the down-blocks, then zeros for the added channels."""
  d = biggan_deep.BigGANDeepDiscriminator(width=4, conditioning="none", spectral_norm=False)
  x = jax.random.normal(KEY, (2, 16, 16, 3))
  variables = d.init(KEY, x, train=False)
  params = zero_all_but(variables["params"], {"Conv_0", "Dense_0"})
  params["Dense_0"]["kernel"] = jnp.arange(1.0, 1.0 + params["Dense_0"]["kernel"].size).reshape(-1, 1)
  logits = d.apply({**variables, "params": params}, x, train=False)

  h = nn.Conv(4, (3, 3), padding="SAME").apply({"params": params["Conv_0"]}, x)  # ch at 16 x 16
  h = nn.avg_pool(nn.avg_pool(h, (2, 2), strides=(2, 2)), (2, 2), strides=(2, 2))  # two down-blocks
  features = jnp.sum(jax.nn.relu(h), axis=(1, 2))
  features = jnp.concatenate([features, jnp.zeros((2, 4 * 4 - 4))], axis=-1)  # widths ch -> 2ch -> 4ch
  expected = features @ params["Dense_0"]["kernel"][:, 0] + params["Dense_0"]["bias"][0]
  np.testing.assert_allclose(logits, expected, rtol=1e-5)
