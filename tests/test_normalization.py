"""Normalization: spectral norm against numpy's SVD and its state discipline in the step; LN and IN."""
import flax.linen as nn
import jax
import jax.numpy as jnp
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


class TwoSNLayers(nn.Module):
  spectral_norm: type

  @nn.compact
  def __call__(self, x, train):
    h = self.spectral_norm(nn.Conv(4, (3, 3)), collection_name="spectral")(x, update_stats=train)
    return self.spectral_norm(nn.Dense(3), collection_name="spectral")(h.reshape(len(h), -1),
                                                                        update_stats=train)


def test_spectral_norm_equals_flax_away_from_zero_kernels():
  """`normalization.SpectralNorm` overrides flax's private `_spectral_normalize`: same variables,
  initial u, outputs, stored u and sigma, and gradients as `nn.SpectralNorm` for ordinary kernels."""
  x = jax.random.normal(KEY, (2, 5, 5, 3))
  ours, flax_sn = TwoSNLayers(normalization.SpectralNorm), TwoSNLayers(nn.SpectralNorm)
  variables = ours.init(KEY, x, train=False)
  jax.tree.map(np.testing.assert_array_equal, variables, flax_sn.init(KEY, x, train=False))

  def step(module):
    def apply(v, p):
      out, new = module.apply({**v, "params": p}, x, train=True, mutable=["spectral"])
      return out.sum(), (out, new)
    return jax.jit(lambda v: jax.grad(apply, argnums=1, has_aux=True)(v, v["params"])[::-1])
  ours_step, flax_step = step(ours), step(flax_sn)
  for _ in range(3):  # (output, new u and sigma), parameter gradients
    a, b = ours_step(variables), flax_step(variables)
    jax.tree.map(lambda p, q: np.testing.assert_allclose(p, q, rtol=1e-6, atol=1e-7), a, b)
    variables = {**variables, **a[0][1]}


class ZeroSNDense(nn.Module):
  @nn.compact
  def __call__(self, x, train):
    layer = nn.Dense(6, kernel_init=nn.initializers.zeros)
    return normalization.weight_layer(layer, spectral_norm=True, train=train)(x)


def test_power_iteration_keeps_u_while_the_kernel_is_zero():
  """A zero kernel maps every u to 0: the stored u must not collapse (it would never recover, and the
  layer would stay unnormalized); once the kernel is non-zero, SN divides by its largest singular value."""
  module, x = ZeroSNDense(), jax.random.normal(KEY, (3, 5))
  variables = module.init(KEY, x, train=False)
  apply = jax.jit(lambda v: module.apply(v, x, train=True, mutable=["spectral"])[1])
  u = lambda v: np.asarray(v["spectral"]["SpectralNorm_0"]["Dense_0/kernel/u"])  # noqa: E731
  for _ in range(3):
    variables = {**variables, **apply(variables)}
    assert np.abs(u(variables)).max() > 0
  kernel = jax.random.normal(jax.random.PRNGKey(1), (5, 6))
  variables = {**variables, "params": {"Dense_0": {**variables["params"]["Dense_0"], "kernel": kernel}}}
  for _ in range(50):
    variables = {**variables, **apply(variables)}
  sigma = float(variables["spectral"]["SpectralNorm_0"]["Dense_0/kernel/sigma"])
  assert sigma == pytest.approx(np.linalg.svd(np.asarray(kernel), compute_uv=False)[0], rel=1e-4)


def test_power_iteration_restarts_from_a_zero_u():
  """A u of exactly zero (stored by the collapse above before it was guarded) is a fixed point of the
  plain iteration; it restarts from all ones and converges to the largest singular value."""
  module, x = SNDense(), jax.random.normal(KEY, (3, 5))
  variables = module.init(KEY, x, train=False)
  variables["spectral"]["SpectralNorm_0"]["Dense_0/kernel/u"] = jnp.zeros((1, 6))
  apply = jax.jit(lambda v: module.apply(v, x, train=True, mutable=["spectral"])[1])
  for _ in range(50):
    variables = {**variables, **apply(variables)}
  kernel = np.asarray(variables["params"]["Dense_0"]["kernel"])
  sigma = float(variables["spectral"]["SpectralNorm_0"]["Dense_0/kernel/sigma"])
  assert sigma == pytest.approx(np.linalg.svd(kernel, compute_uv=False)[0], rel=1e-4)


class BigGANNorm(nn.Module):
  @nn.compact
  def __call__(self, h, condition, train):
    return normalization.batch_norm(h, train=train, axis_name=None, conditioning="biggan",
                                    condition=condition, spectral_norm=True)


def test_biggan_conditional_bn_gain_and_bias_stay_spectrally_normalized():
  """BigGAN-PyTorch's ccbn (layers.py): gain = 1 + SNLinear(y), bias = SNLinear(y), both normalized
  by their largest singular value throughout training. After a few updates of the kernels (each
  after a training-mode pass, one power iteration), the stored u are non-zero and the layer's
  effective gain and bias maps, read off its eval-mode outputs, have spectral norm 1."""
  features, dim, n = 4, 6, 8
  module = BigGANNorm()
  h = jax.random.normal(KEY, (n, features))
  condition = jax.random.normal(jax.random.PRNGKey(1), (n, dim))
  variables = module.init(KEY, h, condition, train=False)
  initial_stats = variables["batch_stats"]  # running mean 0, variance 1
  apply = jax.jit(lambda v: module.apply(v, h, condition, train=True,
                                         mutable=["spectral", "batch_stats"])[1])
  for step in range(3):  # training steps: a training-mode pass, then an update of both kernels
    keys = {"Dense_0": {"kernel": jax.random.PRNGKey(10 + step)},
            "Dense_1": {"kernel": jax.random.PRNGKey(20 + step)}}
    params = jax.tree.map(lambda p, k: p + jax.random.normal(k, p.shape), variables["params"], keys)
    variables = {**variables, **apply(variables), "params": params}
  for _ in range(50):  # the power iteration running on, one step per training-mode pass
    variables = {**variables, **apply(variables)}
  for i in range(2):  # SpectralNorm_i wraps Dense_i
    assert np.abs(np.asarray(variables["spectral"][f"SpectralNorm_{i}"][f"Dense_{i}/kernel/u"])).max() > 0
  eval_vars = {**variables, "batch_stats": initial_stats}
  # Eval mode with running statistics (0, 1): out = (1 + c G) * h / sqrt(1 + eps) + c B. With the
  # identity as conditions, h = 0 gives B's rows and h = sqrt(1 + eps) gives 1 + G + B.
  eye, scale = jnp.eye(dim), np.sqrt(1 + 1e-5)
  bias_map = np.asarray(module.apply(eval_vars, jnp.zeros((dim, features)), eye, train=False), np.float64)
  gain_map = np.asarray(module.apply(eval_vars, jnp.full((dim, features), scale), eye, train=False),
                        np.float64) - 1.0 - bias_map
  for effective in (gain_map, bias_map):
    assert np.linalg.svd(effective, compute_uv=False)[0] == pytest.approx(1.0, rel=1e-3)


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
  # Each channel with its own offset and spread, so that normalizing per channel (instance norm) and
  # over all channels (layer norm) give different outputs.
  h = jnp.array([3.0, -1.0, 0.5]) + jnp.array([2.0, 0.3, 5.0]) * jax.random.normal(KEY, (4, 5, 5, 3))
  out = Norm().apply(Norm().init(KEY, h), h)  # scale 1, bias 0 at initialisation
  x = np.asarray(h, np.float64)
  want = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True))
  np.testing.assert_allclose(out, want, rtol=1e-3, atol=1e-4)


def test_conditional_batch_norm_needs_batch_norm():
  config = tiny_digits_config()
  config.model.generator.update(conditioning="cbn", norm="layer")
  with pytest.raises(UserError, match="model.generator.norm='layer' is not valid: expected 'batch'"):
    config_validation.validate(config)
