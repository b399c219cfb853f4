"""Normalization: spectral norm against numpy's SVD and its state discipline in the step; LN and IN."""
import flax.linen as nn
import jax
import numpy as np
import pytest

from gan import config_validation
from gan.errors import UserError
from gan.models import normalization
from tests.helpers import tiny_digits_config
from tests.test_steps import make

KEY = jax.random.PRNGKey(0)


class SNDense(nn.Module):
  @nn.compact
  def __call__(self, x, train):
    return normalization.weight_layer(nn.Dense(6), spectral_norm=True, train=train)(x)


def test_spectral_norm_divides_by_the_largest_singular_value():
  module, x = SNDense(), jax.random.normal(KEY, (3, 5))
  variables = module.init(KEY, x, train=False)
  apply = jax.jit(lambda v: module.apply(v, x, train=True, mutable=["spectral"]))
  for _ in range(50):  # one power iteration per training-mode call, carried in the collection
    _, new = apply(variables)
    variables = {**variables, **new}
  kernel = np.asarray(variables["params"]["Dense_0"]["kernel"], np.float64)
  sigma_max = np.linalg.svd(kernel, compute_uv=False)[0]
  (stats,) = variables["spectral"].values()
  np.testing.assert_allclose(float(stats["Dense_0/kernel/sigma"]), sigma_max, rtol=1e-4)
  # In eval mode the layer computes x W / sigma + b: its effective kernel has spectral norm 1.
  out = np.asarray(module.apply(variables, x, train=False) - variables["params"]["Dense_0"]["bias"])
  np.testing.assert_allclose(out, np.asarray(x) @ (kernel / sigma_max), rtol=1e-3, atol=1e-5)
  assert np.linalg.svd(kernel / sigma_max, compute_uv=False)[0] == pytest.approx(1.0)


def spectral_config():
  config = tiny_digits_config()
  for player in ("generator", "discriminator"):
    config.model[player].spectral_norm = True
  config.model.discriminator.norm = "none"
  return config


def test_power_iteration_state_is_updated_only_in_the_players_own_update():
  game, state, batches = make(spectral_config())
  batch = batches(0)
  key = jax.random.PRNGKey(1)
  after_g, _ = jax.jit(lambda s, x, y, k: game._g_update(s, x, y, k, None))(
      state, batch["x"][0], batch["label"][0], key)
  assert_same = lambda a, b: jax.tree.map(np.testing.assert_array_equal, a, b)  # noqa: E731
  assert_same(after_g.d_collections, state.d_collections)  # G's update leaves D's u alone ...
  assert not np.array_equal(jax.tree.leaves(after_g.g_collections["spectral"])[1],
                            jax.tree.leaves(state.g_collections["spectral"])[1])  # ... and moves G's
  after_d, _ = jax.jit(lambda s, x, y, k: game._d_update(s, x, y, k, 0, None))(
      state, batch["x"][0], batch["label"][0], key)
  # D's power iteration moved (the conv's u; the head's (F, 1) kernel converges in one iteration).
  conv_u = lambda s: s.d_collections["spectral"]["SpectralNorm_0"]["Conv_0/kernel/u"]  # noqa: E731
  assert not np.array_equal(conv_u(after_d), conv_u(state))
  assert_same(after_d.g_collections, state.g_collections)


@pytest.mark.parametrize("kind,axes", [("layer", (1, 2, 3)), ("instance", (1, 2))])
def test_layer_and_instance_norm_statistics(kind, axes):
  class Norm(nn.Module):
    @nn.compact
    def __call__(self, h):
      return normalization.normalize(h, kind=kind, train=True, axis_name=None)
  h = 3.0 + 2.0 * jax.random.normal(KEY, (4, 5, 5, 3))
  out = Norm().apply(Norm().init(KEY, h), h)  # scale 1, bias 0 at initialisation
  np.testing.assert_allclose(out.mean(axis=axes), 0.0, atol=1e-5)
  np.testing.assert_allclose(out.var(axis=axes), 1.0, rtol=1e-3)


def test_conditional_batch_norm_needs_batch_norm():
  config = tiny_digits_config()
  config.model.generator.update(conditioning="cbn", norm="layer")
  with pytest.raises(UserError, match="model.generator.norm='layer' is not valid: expected 'batch'"):
    config_validation.validate(config)
