import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest

from gan import factory
from gan.models import dcgan, mlp
from gan.models.layers import ConvSame, ConvTranspose4x4Stride2, conv_as_matmuls


@pytest.mark.parametrize("shape,features", [((2, 5, 6, 3), 7), ((3, 4, 4, 16), 8)])
def test_subpixel_conv_transpose_equals_flax_conv_transpose(shape, features):
  x = jax.random.normal(jax.random.PRNGKey(0), shape)
  ref, new = nn.ConvTranspose(features, (4, 4), strides=(2, 2), padding="SAME"), ConvTranspose4x4Stride2(features)
  variables = ref.init(jax.random.PRNGKey(1), x)
  # Same parameter names, shapes and initial values: checkpoints are interchangeable.
  jax.tree.map(np.testing.assert_array_equal, variables, new.init(jax.random.PRNGKey(1), x))
  variables = {"params": {**variables["params"], "bias": jnp.arange(features, dtype=jnp.float32)}}
  out_ref, out_new = ref.apply(variables, x), new.apply(variables, x)
  assert out_new.shape == (shape[0], 2 * shape[1], 2 * shape[2], features)
  np.testing.assert_allclose(out_new, out_ref, rtol=1e-5, atol=1e-5)

  def grads(module):
    return jax.grad(lambda v, x: jnp.sum(jnp.sin(module.apply(v, x))), argnums=(0, 1))(variables, x)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4),
               grads(new), grads(ref))


@pytest.mark.parametrize("kernel_size", [(3, 3), (2, 2), (1, 1), (4, 3)])
def test_conv_same_computed_as_matmuls_equals_flax_conv(kernel_size):
  x = jax.random.normal(jax.random.PRNGKey(0), (3, 6, 5, 4))
  ref, new = nn.Conv(3, kernel_size, padding="SAME"), ConvSame(3, kernel_size)
  variables = ref.init(jax.random.PRNGKey(1), x)
  jax.tree.map(np.testing.assert_array_equal, variables, new.init(jax.random.PRNGKey(1), x))
  variables = {"params": {**variables["params"], "bias": jnp.arange(3, dtype=jnp.float32)}}
  np.testing.assert_allclose(new.apply(variables, x), ref.apply(variables, x), rtol=1e-5, atol=1e-5)

  def grads(module):
    return jax.grad(lambda v, x: jnp.sum(jnp.sin(module.apply(v, x))), argnums=(0, 1))(variables, x)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4), grads(new), grads(ref))


def test_conv_as_matmuls_with_uneven_explicit_padding():
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 5, 7, 3))
  kernel = jax.random.normal(jax.random.PRNGKey(1), (3, 2, 3, 4))
  padding = ((2, 0), (0, 1))
  def loss(conv):
    return lambda x, k: jnp.sum(jnp.sin(conv(x, k)))
  def reference(x, k):
    return jax.lax.conv_general_dilated(x, k, (1, 1), padding, dimension_numbers=("NHWC", "HWIO", "NHWC"))
  np.testing.assert_allclose(conv_as_matmuls(x, kernel, padding), reference(x, kernel), rtol=1e-5,
                             atol=1e-5)
  new = jax.grad(loss(lambda x, k: conv_as_matmuls(x, k, padding)), argnums=(0, 1))(x, kernel)
  ref = jax.grad(loss(reference), argnums=(0, 1))(x, kernel)
  for a, b in zip(new, ref):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
  with pytest.raises(ValueError, match="does not keep the size"):
    conv_as_matmuls(x, kernel, ((1, 0), (0, 1)))


@pytest.mark.parametrize("resolution,channels", [(8, 1), (16, 3), (32, 3), (64, 1)])
def test_dcgan_shapes_for_power_of_two_resolutions(resolution, channels):
  g = dcgan.DCGANGenerator(resolution=resolution, channels=channels, width=4)
  d = dcgan.DCGANDiscriminator(width=4)
  z = jnp.ones((2, 5))
  g_vars = jax.eval_shape(lambda: g.init(jax.random.PRNGKey(0), z, None, train=False))
  x = jax.eval_shape(lambda v: g.apply(v, z, None, train=False), g_vars)
  assert x.shape == (2, resolution, resolution, channels)
  d_vars = jax.eval_shape(lambda: d.init(jax.random.PRNGKey(1), jnp.zeros(x.shape), None, train=False))
  logits = jax.eval_shape(lambda v: d.apply(v, jnp.zeros(x.shape), None, train=False), d_vars)
  assert logits.shape == (2,)
  n = dcgan.num_resamplings(resolution)
  assert sum("ConvTranspose" in k for k in g_vars["params"]) == n
  assert sum(k.startswith("Conv_") for k in d_vars["params"]) == n


def test_bench_network_widths():
  """width=64 at 32x32 is the benchmark DCGAN: Dense -> 4x4x512, transposed convs 256, 128, 64."""
  g = dcgan.DCGANGenerator(resolution=32, channels=3, width=64)
  params = jax.eval_shape(lambda: g.init(jax.random.PRNGKey(0), jnp.ones((1, 128)), None, train=False))["params"]
  assert params["Dense_0"]["kernel"].shape == (128, 4 * 4 * 512)
  assert [params[f"ConvTranspose_{i}"]["kernel"].shape[-1] for i in range(3)] == [256, 128, 64]


def test_standard_cnn_discriminator_is_the_sngan_papers_table_3b():
  """Miyato et al. 2018, Table 3b at 32x32x3, width 64: 3x3/1 64, 4x4/2 64, 3x3/1 128, 4x4/2 128, 3x3/1 256,
  4x4/2 256, 3x3/1 512, Dense; 2,935,873 parameters counted by hand (kernel k*k*in*out plus bias out)."""
  d = dcgan.StandardCNNDiscriminator(width=64, spectral_norm=True)
  x = jnp.zeros((2, 32, 32, 3))
  variables = jax.eval_shape(lambda: d.init(jax.random.PRNGKey(0), x, None, train=False))
  params = variables["params"]
  convs = [params[f"Conv_{i}"]["kernel"].shape for i in range(7)]
  assert convs == [(3, 3, 3, 64), (4, 4, 64, 64), (3, 3, 64, 128), (4, 4, 128, 128), (3, 3, 128, 256),
                   (4, 4, 256, 256), (3, 3, 256, 512)]
  assert params["Dense_0"]["kernel"].shape == (4 * 4 * 512, 1)
  layers = [(3, 3, 64), (64, 4, 64), (64, 3, 128), (128, 4, 128), (128, 3, 256), (256, 4, 256), (256, 3, 512)]
  want = sum(k * k * cin * cout + cout for cin, k, cout in layers) + 4 * 4 * 512 + 1
  assert sum(np.prod(p.shape) for p in jax.tree.leaves(params)) == want == 2_935_873
  assert len(variables["spectral"]) == 8  # every conv and the dense layer spectrally normalized
  logits, _ = d.apply(jax.tree.map(lambda s: jnp.full(s.shape, 0.01, s.dtype), variables), x + 1.0, None,
                      train=True, mutable=["spectral"])
  assert logits.shape == (2,)


def test_standard_cnn_discriminator_slope_and_stride_two_layers():
  """LeakyReLU(0.1) by default (the paper's), and one stride-2 conv per halving at any resolution."""
  d = dcgan.StandardCNNDiscriminator(width=2)
  x = -jnp.ones((1, 16, 16, 1))
  variables = d.init(jax.random.PRNGKey(0), x, None, train=False)
  ones = jax.tree.map(jnp.ones_like, variables)  # every conv: sum over its window plus 1
  _, state = d.apply(ones, x, None, train=False, capture_intermediates=lambda m, _: isinstance(m, nn.Conv),
                     mutable=["intermediates"])
  features = {k: v["__call__"][0] for k, v in state["intermediates"].items() if k.startswith("Conv_")}
  assert [features[f"Conv_{i}"].shape[1:] for i in range(5)] == [(16, 16, 2), (8, 8, 2), (8, 8, 4), (4, 4, 4),
                                                                  (4, 4, 8)]
  # Conv_0 at an interior pixel: 9 inputs of -1 plus the bias 1 = -8; the next conv sees 0.1 * -8 each.
  np.testing.assert_allclose(features["Conv_0"][0, 4, 4], -8.0)
  np.testing.assert_allclose(features["Conv_1"][0, 1, 1], 16 * 2 * (0.1 * -8.0) + 1.0, rtol=1e-6)


@pytest.mark.parametrize("make,channels", [  # channels at 16x16: G 4 * 2, D's first conv 4
    (lambda a: dcgan.DCGANGenerator(resolution=32, channels=1, width=4, spectral_norm=True,
                                    attention_resolution=a), 8),
    (lambda a: dcgan.DCGANDiscriminator(width=4, norm="none", spectral_norm=True, attention_resolution=a), 4),
    (lambda a: dcgan.StandardCNNDiscriminator(width=4, spectral_norm=True, attention_resolution=a), 4)])
def test_dcgan_self_attention_placement_and_identity_at_init(make, channels):
  """One SAGAN block (Zhang et al. 2019, Sec. 3) on the 16x16 features of a 32x32 model, reading the
  output of the layer that reaches 16x16; gamma starts at 0, so at init the model with attention computes
  exactly what the same weights compute without it, and a non-zero gamma changes the output."""
  is_generator = isinstance(make(0), dcgan.DCGANGenerator)
  x = jax.random.normal(jax.random.PRNGKey(2), (2, 8) if is_generator else (2, 32, 32, 1))
  with_attention, without = make(16), make(0)
  variables = with_attention.init(jax.random.PRNGKey(0), x, None, train=False)
  attention_params = variables["params"]["SelfAttention_0"]
  assert [k for k in variables["params"] if k.startswith("SelfAttention")] == ["SelfAttention_0"]
  assert attention_params["theta"]["kernel"].shape[-2] == channels
  _, state = with_attention.apply(variables, x, None, train=False, capture_intermediates=True,
                                  mutable=["intermediates", "spectral", "batch_stats"])
  assert state["intermediates"]["SelfAttention_0"]["__call__"][0].shape[1:3] == (16, 16)
  plain = {c: {k: v for k, v in tree.items() if not k.startswith("SelfAttention")}
           for c, tree in variables.items()}
  np.testing.assert_array_equal(with_attention.apply(variables, x, None, train=False),
                                without.apply(plain, x, None, train=False))
  moved = jax.tree.map(lambda t: t, variables)
  moved["params"]["SelfAttention_0"]["gamma"] = jnp.array(1.0)
  assert float(jnp.abs(with_attention.apply(moved, x, None, train=False)
                       - with_attention.apply(variables, x, None, train=False)).max()) > 1e-4


@pytest.mark.parametrize("resolution", [4, 12, 48])
def test_dcgan_rejects_other_resolutions(resolution):
  with pytest.raises(ValueError, match="power-of-two"):
    dcgan.num_resamplings(resolution)


def test_mlp_discriminator_packing_groups_samples():
  d = mlp.MLPDiscriminator(hidden=(8,), pack=4)
  x = jax.random.normal(jax.random.PRNGKey(0), (12, 2))
  variables = d.init(jax.random.PRNGKey(1), x)
  assert variables["params"]["Dense_0"]["kernel"].shape == (8, 8)  # 4 samples x 2 coordinates
  logits = d.apply(variables, x)
  assert logits.shape == (3,)
  # Group k sees samples 4k..4k+3 only.
  np.testing.assert_allclose(d.apply(variables, x[4:8])[0], logits[1], rtol=1e-6)


@pytest.mark.parametrize("steps", [1, 2])
def test_rmsprop_adds_eps_outside_the_square_root_as_pytorch(steps):
  """PyTorch's RMSprop (torch/optim/rmsprop.py, `_single_tensor_rmsprop`, centered=False, momentum=0):
  v <- alpha v + (1 - alpha) g^2 from v = 0, p <- p - lr g / (sqrt(v) + eps). A large eps (0.1)
  separates this from eps inside the square root, g / sqrt(v + eps)."""
  lr, alpha, eps = 0.01, 0.9, 0.1
  config = ml_collections.ConfigDict({"name": "rmsprop", "lr": lr, "b2": alpha, "eps": eps})
  tx = factory.optimizer(config, num_steps=10)
  grads = [np.array([0.3, -0.02, 1.5], np.float32), np.array([-0.1, 0.05, 0.0], np.float32)]
  params, expected, v = jnp.array([1.0, -2.0, 0.5]), np.array([1.0, -2.0, 0.5]), np.zeros(3)
  opt_state = tx.init(params)
  for g in grads[:steps]:
    updates, opt_state = tx.update(jnp.asarray(g), opt_state, params)
    params = optax.apply_updates(params, updates)
    v = alpha * v + (1 - alpha) * g.astype(np.float64) ** 2
    expected = expected - lr * g / (np.sqrt(v) + eps)
  np.testing.assert_allclose(params, expected, rtol=1e-6, atol=1e-7)
