"""Class conditioning: cBN gains, the projection discriminator, AC-GAN's class loss, concat, config errors."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan import factory
from gan.errors import UserError
from gan.models import conditioning, dcgan, mlp, normalization
from tests.helpers import run_steps, tiny_digits_config

KEY = jax.random.PRNGKey(0)


class ConditionalNorm(nn.Module):
  @nn.compact
  def __call__(self, h, labels):
    return normalization.batch_norm(h, labels, train=True, axis_name=None, conditioning="cbn",
                                    num_classes=3)


def test_conditional_batch_norm_uses_each_examples_class_gain_and_bias():
  h = jax.random.normal(KEY, (6, 2, 2, 4))
  labels = jnp.array([0, 1, 2, 2, 1, 0])
  module = ConditionalNorm()
  variables = module.init(KEY, h, labels)
  gains = jnp.arange(12.0).reshape(3, 4) / 10
  biases = -jnp.arange(12.0).reshape(3, 4)
  params = {"Embed_0": {"embedding": gains}, "Embed_1": {"embedding": biases}}
  assert "scale" not in variables["params"].get("BatchNorm_0", {})  # the affine part is per class
  out, _ = module.apply({**variables, "params": params}, h, labels, mutable=["batch_stats"])
  mean, var = h.mean(axis=(0, 1, 2)), h.var(axis=(0, 1, 2))
  normalized = (h - mean) / jnp.sqrt(var + 1e-5)
  expected = (1 + gains[labels][:, None, None, :]) * normalized + biases[labels][:, None, None, :]
  np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)


def test_projection_discriminator_formula():
  """logit = psi(phi(x)) + <V y, phi(x)> (Miyato & Koyama 2018, Eq. 3), checked by hand on an MLP."""
  d = mlp.MLPDiscriminator(hidden=(5,), activation="relu", conditioning="projection", num_classes=3)
  x, labels = jax.random.normal(KEY, (4, 2)), jnp.array([2, 0, 1, 2])
  params = d.init(KEY, x, labels)["params"]
  phi = jax.nn.relu(x @ params["Dense_0"]["kernel"] + params["Dense_0"]["bias"])
  psi = phi @ params["Dense_1"]["kernel"][:, 0] + params["Dense_1"]["bias"][0]
  expected = psi + jnp.sum(params["Embed_0"]["embedding"][labels] * phi, axis=1)
  np.testing.assert_allclose(d.apply({"params": params}, x, labels), expected, rtol=1e-5, atol=1e-6)


def test_acgan_class_loss_is_the_cross_entropy_of_the_sown_class_logits():
  config = tiny_digits_config()
  config.model.discriminator.conditioning = "acgan"
  config.acgan_weight = 0.5
  game = factory.build_game(config, example_shape=(8, 8, 1), num_classes=10)
  x = jax.random.normal(KEY, (8, 8, 8, 1))
  labels = jnp.arange(8) % 10
  state = game.init(KEY, x)
  # A zero classifier predicts the uniform distribution: cross-entropy log(10) for every label.
  params = jax.tree.map(lambda p: p, state.d_params)
  params["Dense_1"] = jax.tree.map(jnp.zeros_like, params["Dense_1"])
  _, _, class_loss = game._discriminate(params, state.d_collections, x, labels)
  np.testing.assert_allclose(class_loss, np.log(10), rtol=1e-6)
  # With a trained-looking classifier, it is the mean cross-entropy of the sown logits.
  _, sown = game.discriminator.apply({"params": state.d_params, **state.d_collections}, x, labels,
                                     train=True, mutable=["batch_stats", "intermediates"])
  logits = sown["intermediates"][conditioning.CLASS_LOGITS][0]
  expected = -np.mean(jax.nn.log_softmax(logits)[np.arange(8), labels])
  _, _, class_loss = game._discriminate(state.d_params, state.d_collections, x, labels)
  np.testing.assert_allclose(class_loss, expected, rtol=1e-5)
  # In the train step both players report the weighted class loss.
  _, history = run_steps(config, 1)
  assert history[0]["d_acgan_loss"] > 0 and history[0]["g_acgan_loss"] > 0


@pytest.mark.parametrize("kind", ["concat", "cbn"])
def test_conditional_generator_depends_on_the_label(kind):
  g = dcgan.DCGANGenerator(resolution=8, channels=1, width=8, conditioning=kind, num_classes=10)
  z = jnp.tile(jax.random.normal(KEY, (1, 4)), (2, 1))
  labels = jnp.array([3, 7])
  variables = g.init(KEY, z, labels, train=False)
  if kind == "cbn":  # embeddings start at zero (plain BN); make the classes differ
    variables = jax.tree_util.tree_map_with_path(
        lambda path, v: jax.random.normal(KEY, v.shape) if "Embed" in jax.tree_util.keystr(path) else v,
        variables)
  out = g.apply(variables, z, labels, train=False)
  assert float(jnp.abs(out[0] - out[1]).max()) > 1e-3


def test_dcgan_generator_with_biggan_conditioning_splits_z_as_biggans_generator():
  """Brock et al. 2019, Sec. 3, as in the ResNet G: z (9) in 1 + 2 chunks of 3, the first into the Dense
  layer; the BN before each transposed conv gains and shifts by orthogonal bias-free maps of [shared
  embedding (6), its chunk]; the last BN is plain. Labels change the output from init."""
  g = dcgan.DCGANGenerator(resolution=16, channels=1, width=4, conditioning="biggan", num_classes=10,
                           spectral_norm=True, shared_embedding_dim=6)
  z = jnp.tile(jax.random.normal(KEY, (1, 9)), (2, 1))
  labels = jnp.array([3, 7])
  variables = g.init(KEY, z, labels, train=False)
  params = variables["params"]
  assert params["Dense_0"]["kernel"].shape == (3, 4 * 4 * 16)
  maps = {k: v["kernel"].shape for k, v in params.items() if k.startswith("Dense_") and k != "Dense_0"}
  assert sorted(maps.values()) == [(9, 8), (9, 8), (9, 16), (9, 16)]  # gain and bias of the BNs of 16 and 8
  assert params["shared_embedding"]["embedding"].shape == (10, 6)
  assert [k for k in params if k.startswith("BatchNorm")] == ["BatchNorm_2"]  # the last BN keeps scale, bias
  assert params["BatchNorm_2"]["scale"].shape == (4,)
  out = g.apply(variables, z, labels, train=False)
  assert float(jnp.abs(out[0] - out[1]).max()) > 1e-4


def test_unconditional_models_ignore_labels_and_keep_their_parameter_names():
  g = dcgan.DCGANGenerator(resolution=8, channels=1, width=8)
  d = dcgan.DCGANDiscriminator(width=8)
  z, x = jax.random.normal(KEY, (2, 4)), jax.random.normal(KEY, (2, 8, 8, 1))
  g_vars, d_vars = g.init(KEY, z, jnp.array([0, 1])), d.init(KEY, x, jnp.array([0, 1]))
  assert sorted(g_vars["params"]) == ["BatchNorm_0", "BatchNorm_1", "ConvTranspose_0", "Conv_0", "Dense_0"]
  assert sorted(d_vars["params"]) == ["Conv_0", "Dense_0"]
  np.testing.assert_array_equal(g.apply(g_vars, z, jnp.array([0, 1]), train=False),
                                g.apply(g_vars, z, jnp.array([5, 9]), train=False))


def test_conditioning_on_unlabelled_data_is_a_one_line_error():
  config = tiny_digits_config()
  config.model.discriminator.conditioning = "projection"
  with pytest.raises(UserError, match="model.discriminator.conditioning='projection' needs labelled data"):
    factory.build_game(config, example_shape=(8, 8, 1), num_classes=None)
