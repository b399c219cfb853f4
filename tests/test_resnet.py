"""SNGAN ResNet G/D (widths of the papers' tables) and SAGAN self-attention against a direct computation."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan.models import attention, conditioning, resnet

KEY = jax.random.PRNGKey(0)


def shapes(g, d, z_dim=16, labels=None):
  z = jnp.ones((2, z_dim))
  g_vars = jax.eval_shape(lambda: g.init(KEY, z, labels, train=False))
  x = jax.eval_shape(lambda v: g.apply(v, z, labels, train=False), g_vars)
  d_vars = jax.eval_shape(lambda: d.init(KEY, jnp.zeros(x.shape), labels, train=False))
  logits = jax.eval_shape(lambda v: d.apply(v, jnp.zeros(x.shape), labels, train=False), d_vars)
  return g_vars["params"], x.shape, d_vars["params"], logits.shape


@pytest.mark.parametrize("resolution", [8, 16, 32, 64])
def test_shapes_and_attention_placement(resolution):
  g = resnet.ResNetGenerator(resolution=resolution, channels=3, width=4, attention_resolution=8)
  d = resnet.ResNetDiscriminator(width=4, attention_resolution=8)
  g_params, x_shape, d_params, logits_shape = shapes(g, d)
  assert x_shape == (2, resolution, resolution, 3) and logits_shape == (2,)
  assert sum(k.startswith("SelfAttention") for k in g_params) == 1
  # D's blocks down-sample first: an 8x8 input never leaves a block at 8x8.
  assert sum(k.startswith("SelfAttention") for k in d_params) == (resolution > 8)


def test_sngan_32_widths_follow_the_paper():
  """Miyato et al. 2018, Tables 4-5 with ch = 64: G 4x4x256 and three 256-wide up-blocks; D 128 wide."""
  g_params, _, d_params, _ = shapes(resnet.ResNetGenerator(resolution=32, width=64),
                                    resnet.ResNetDiscriminator(width=64), z_dim=128)
  assert g_params["Dense_0"]["kernel"].shape == (128, 4 * 4 * 256)
  g_convs = [v["kernel"].shape[-1] for k, v in g_params.items() if k.startswith("Conv_")]
  assert set(g_convs) == {256, 3} and len(g_convs) == 3 * 3 + 1  # 2 convs + 1x1 shortcut per block
  assert {v["kernel"].shape[-1] for k, v in d_params.items() if k.startswith("Conv_")} == {128}
  count = lambda p: sum(x.size for x in jax.tree.leaves(p))  # noqa: E731
  # By hand. G: Dense 128*4096+4096; per block BN 512, two 3x3 convs 256->256 (590,080 each), 1x1
  # shortcut 65,792, BN 512; final BN 512 and 3x3 conv 256->3 (6,915).
  assert count(g_params) == 528_384 + 3 * (512 + 2 * 590_080 + 65_792 + 512) + 512 + 6_915
  # D: block 1: 3x3 3->128 (3,584), 3x3 128->128 (147,584), 1x1 3->128 (512); block 2: two 3x3
  # (295,168) + 1x1 (16,512); blocks 3-4: two 3x3 each, identity shortcut; Dense 128->1 (129).
  assert count(d_params) == (3_584 + 147_584 + 512) + (295_168 + 16_512) + 2 * 295_168 + 129


def test_sngan_64_discriminator_downsamples_in_all_five_blocks():
  """pfnet-research/sngan_projection, dis_models/snresnet_64.py: OptimizedBlock(3, ch), then Blocks to
  2ch, 4ch, 8ch, 16ch, all with downsample=True: block outputs 32x32xch, 16x16x2ch, 8x8x4ch, 4x4x8ch,
  2x2x16ch. Each block's output is read as the input of a self-attention block placed at its resolution."""
  width, x = 4, jnp.zeros((2, 64, 64, 3))
  reference = {r: (2, r, r, m * width) for r, m in [(32, 1), (16, 2), (8, 4), (4, 8), (2, 16)]}
  ours = {}
  for resolution in reference:
    d = resnet.ResNetDiscriminator(width=width, attention_resolution=resolution)
    variables = jax.eval_shape(lambda d=d: d.init(KEY, x, train=False))
    _, state = jax.eval_shape(lambda v, d=d: d.apply(v, x, train=False, capture_intermediates=True,
                                                     mutable=["intermediates"]), variables)
    if "SelfAttention_0" in state["intermediates"]:
      ours[resolution] = state["intermediates"]["SelfAttention_0"]["__call__"][0].shape
  assert ours == reference


def test_self_attention_is_identity_at_init_and_matches_a_direct_computation():
  x = jax.random.normal(KEY, (2, 4, 4, 16))
  block = attention.SelfAttention()
  variables = block.init(KEY, x, train=False)
  np.testing.assert_array_equal(block.apply(variables, x, train=False), x)  # gamma starts at 0
  params = {**variables["params"], "gamma": jnp.array(0.7)}
  out = block.apply({"params": params}, x, train=False)

  w = {k: np.asarray(v["kernel"][0, 0]) for k, v in params.items() if k != "gamma"}
  xs = np.asarray(x, np.float64)
  def pool(t):  # 2x2 max pool, NHWC
    return t.reshape(2, 2, 2, 2, 2, -1).max(axis=(2, 4))
  theta = (xs @ w["theta"]).reshape(2, 16, -1)
  phi = pool(xs @ w["phi"]).reshape(2, 4, -1)
  g = pool(xs @ w["g"]).reshape(2, 4, -1)
  logits = theta @ phi.transpose(0, 2, 1)
  beta = np.exp(logits - logits.max(-1, keepdims=True))
  beta /= beta.sum(-1, keepdims=True)
  expected = xs + 0.7 * ((beta @ g).reshape(2, 4, 4, -1) @ w["o"])
  np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)


def test_bad_resolution():
  with pytest.raises(ValueError, match="power-of-two resolution >= 8, got 24"):
    resnet.architecture(24)


def test_biggan_hierarchical_latent_and_shared_embedding():
  class Conditions(nn.Module):
    @nn.compact
    def __call__(self, z, labels):
      return conditioning.biggan_conditions(z, labels, 3, 10, 5)
  z = jnp.arange(20.0).reshape(2, 10)
  labels = jnp.array([4, 7])
  variables = Conditions().init(KEY, z, labels)
  first, conditions = Conditions().apply(variables, z, labels)
  np.testing.assert_array_equal(first, z[:, :4])  # 10 = 4 + 3 * 2: the first chunk takes the rest
  table = variables["params"]["shared_embedding"]["embedding"]
  for i, condition in enumerate(conditions):
    np.testing.assert_array_equal(condition, jnp.concatenate([table[labels], z[:, 4 + 2 * i:6 + 2 * i]], 1))


def test_biggan_generator_is_conditional_from_init_with_orthogonal_cbn_maps():
  """BigGAN-PyTorch initialises ccbn's gain and bias linears orthogonally (BigGAN.py init_weights,
  G_init='ortho'), so G's output depends on the class from the start (not plain BN at init)."""
  g = resnet.ResNetGenerator(resolution=8, channels=1, width=4, conditioning="biggan", num_classes=10,
                             spectral_norm=True, shared_embedding_dim=6)
  z = jnp.tile(jax.random.normal(KEY, (1, 8)), (2, 1))
  labels = jnp.array([1, 2])
  variables = g.init(KEY, z, labels, train=False)
  for name in ("Dense_1", "Dense_2", "Dense_3", "Dense_4"):  # the cBN gain and bias maps of the block
    kernel = np.asarray(variables["params"][name]["kernel"], np.float64)  # (6 + 4, C): all singular values 1
    np.testing.assert_allclose(np.linalg.svd(kernel, compute_uv=False), 1.0, rtol=1e-5)
  out = g.apply(variables, z, labels, train=False)
  assert float(jnp.abs(out[0] - out[1]).max()) > 1e-4


@pytest.mark.parametrize("deep", [False, True])
def test_biggan_shared_embedding_is_orthogonal_and_not_spectrally_normalised(deep):
  """BigGAN-PyTorch's shared embedding is a plain nn.Embedding (G.which_embedding), orthogonally
  initialised: scaling its table must change G's output; a spectrally normalised table (W / sigma(W))
  would not see the scale."""
  from gan.models import biggan_deep
  kwargs = dict(resolution=8, channels=1, width=8, conditioning="biggan", num_classes=4, spectral_norm=True,
                shared_embedding_dim=6)
  g = biggan_deep.BigGANDeepGenerator(**kwargs) if deep else resnet.ResNetGenerator(**kwargs)
  z, labels = jax.random.normal(KEY, (2, 8)), jnp.array([1, 3])
  variables = g.init(KEY, z, labels, train=False)
  table = np.asarray(variables["params"]["shared_embedding"]["embedding"], np.float64)
  np.testing.assert_allclose(table @ table.T, np.eye(4), atol=1e-5)  # (4, 6): orthonormal rows
  assert "shared_embedding" not in variables["batch_stats"]  # no power-iteration state
  scaled = jax.tree_util.tree_map(lambda x: x, variables)
  scaled["params"]["shared_embedding"]["embedding"] = 10 * variables["params"]["shared_embedding"]["embedding"]
  out, out_scaled = g.apply(variables, z, labels, train=False), g.apply(scaled, z, labels, train=False)
  assert float(jnp.abs(out - out_scaled).max()) > 1e-3
