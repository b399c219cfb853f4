"""StyleGAN2's training pieces (gan/families/stylegan2.py) against closed forms and direct computations: the
lazy optimizer correction, G_ema's half-life, truncation, style mixing, the path lengths against a
finite-difference Jacobian and the penalty's gradient through its moving mean, lazy R1 through the
augmentation, and sampling with --truncation. The family suite (tests/test_families.py) runs it under jit
and pmap and resumes it bit for bit with `w_avg` and `pl_mean` in the state."""
import functools
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import stylegan2 as experiment
from gan import families
from gan.errors import UserError
from gan.families import stylegan2
from tests.test_cli import ROOT, env


@functools.lru_cache(maxsize=None)
def tiny(**overrides):
  """(config, meta, game, state) of the smoke-sized digits StyleGAN2 after its initialisation."""
  config = experiment.get_config()
  config.update_from_flattened_dict({**stylegan2.FAMILY.smoke, **overrides})
  family = families.get(config)
  dataset = family.dataset(config)
  meta = family.meta(dataset)
  game = family.game(config, meta)
  state = family.init_state(game, jax.random.PRNGKey(0), family.example_batch(config, meta))
  return config, meta, game, state


def test_lazy_correction_scales_learning_rate_and_raises_betas():
  config = experiment.get_config()
  for every, c in ((4, 0.8), (16, 16 / 17)):
    corrected = stylegan2.lazy_adam_correction(config.optim.g, every)
    np.testing.assert_allclose(corrected.lr, 0.0025 * c)
    np.testing.assert_allclose([corrected.b1, corrected.b2], [0.0, 0.99 ** c])
  assert stylegan2.lazy_adam_correction(config.optim.g, 1).to_dict() == config.optim.g.to_dict()
  game = tiny()[2]  # the smoke config regularizes every 2 steps: c = 2/3
  lr = 0.0025 * 2 / 3
  b2 = 0.99 ** (2 / 3)
  opt_state = game.g_optimizer.init({"w": jnp.zeros(1)})
  for g in (0.5, 1.0):
    updates, opt_state = game.g_optimizer.update({"w": jnp.array([g])}, opt_state)
  # Adam with beta1 = 0 after gradients 0.5, 1: m = 1, v = b2 (1 - b2) 0.25 + (1 - b2), bias-corrected by 1 - b2^2
  v = (b2 * (1 - b2) * 0.25 + (1 - b2)) / (1 - b2 ** 2)
  np.testing.assert_allclose(updates["w"], [-lr / (np.sqrt(v) + 1e-8)], rtol=1e-5)


@pytest.mark.parametrize("off", ["path_length.weight", "r1.gamma"])
def test_the_lazy_correction_follows_the_interval_even_with_the_regularizer_off(off):
  """training_loop.py keeps G_reg_interval 4 in the `cifar` setting, where path length is off, so G's Adam
  runs at lr 0.0025 * 4/5: the interval, not the weight, sets the correction. Adam's first update with
  beta1 = 0 is -lr * sign(gradient), which shows each player's learning rate (the smoke config's interval
  2 for both: 2/3 of 0.0025)."""
  game = tiny(**{off: 0.0})[2]
  for optimizer in (game.g_optimizer, game.d_optimizer):
    updates, _ = optimizer.update({"w": jnp.array([3.0])}, optimizer.init({"w": jnp.zeros(1)}))
    np.testing.assert_allclose(updates["w"], [-0.0025 * 2 / 3], rtol=1e-5)


def test_ema_half_life():
  batch = 64
  beta = float(stylegan2.ema_beta(1e9, batch, ema_kimg=20.0, ema_rampup=0.0))
  assert beta ** (20_000 / batch) == pytest.approx(0.5, rel=1e-5)  # the weight halves every 20k images
  assert float(stylegan2.ema_beta(0.0, batch, ema_kimg=20.0, ema_rampup=0.05)) == 0.0  # first step: G itself
  ramped = float(stylegan2.ema_beta(100_000.0, batch, ema_kimg=20.0, ema_rampup=0.05))  # h = 5,000 images
  assert ramped == pytest.approx(0.5 ** (batch / 5000))


def test_truncation_and_style_mixing_by_layer():
  ws = jnp.arange(2 * 4 * 3, dtype=jnp.float32).reshape(2, 4, 3)
  w_avg = jnp.array([1.0, -1.0, 0.5])
  np.testing.assert_allclose(stylegan2.truncate(ws, w_avg, 0.0), np.broadcast_to(w_avg, ws.shape))
  np.testing.assert_allclose(stylegan2.truncate(ws, w_avg, 1.0), ws)
  half = stylegan2.truncate(ws, w_avg, 0.5, cutoff=2)
  np.testing.assert_allclose(half[:, :2], (ws[:, :2] + w_avg) / 2)
  np.testing.assert_allclose(half[:, 2:], ws[:, 2:])
  mixed = stylegan2.mix_styles(ws, -ws, 3)
  np.testing.assert_allclose(mixed[:, :3], ws[:, :3])
  np.testing.assert_allclose(mixed[:, 3:], -ws[:, 3:])


def test_style_mixing_switches_to_the_second_latent_at_the_drawn_layer():
  _, _, game, state = tiny(style_mixing_prob=1.0)
  params = state.players["G"].params
  key = jax.random.PRNGKey(3)
  z, y = game.sample_latents(jax.random.PRNGKey(1), 4)
  ws, unmixed = game._styles(params, z, y, key, 4, None)
  cutoff_key, _, z_key = jax.random.split(key, 3)
  cutoff = int(jax.random.randint(cutoff_key, (), 1, game.num_ws))
  other = game._map(params, jax.random.normal(z_key, (4, game.z_dim)), y)
  np.testing.assert_allclose(ws[:, :cutoff], unmixed[:, :cutoff])
  np.testing.assert_allclose(ws[:, cutoff:], other[:, cutoff:])
  assert not np.allclose(unmixed[:, -1], other[:, -1])
  _, _, game, _ = tiny(style_mixing_prob=0.0)
  ws, unmixed = game._styles(params, z, y, key, 4, None)
  np.testing.assert_array_equal(ws, unmixed)


def test_path_lengths_match_a_finite_difference_jacobian():
  _, _, game, state = tiny()
  g = state.players["G"]
  params = jax.tree.map(lambda p: p + 0.3 * jax.random.normal(jax.random.PRNGKey(5), p.shape), g.params)
  z, y = game.sample_latents(jax.random.PRNGKey(2), 2)
  ws = game._map(params, z, y)
  ids = jnp.arange(2, dtype=jnp.int32)
  synthesize = jax.jit(lambda s: game._synthesize(params, g.collections, s, ids, jax.random.PRNGKey(4)))
  images = synthesize(ws)
  noise = jax.random.normal(jax.random.PRNGKey(6), images.shape) / np.sqrt(images.shape[1] * images.shape[2])
  got = np.asarray(jax.jit(stylegan2.path_lengths, static_argnums=0)(synthesize, ws, noise))
  per_example_projection = jax.jit(lambda s: jnp.sum(synthesize(s) * noise, axis=(1, 2, 3)))

  def projected(flat):  # sum over the image of G(w) * y, per example
    return np.asarray(per_example_projection(flat.reshape(ws.shape)), np.float64)
  flat, eps = np.asarray(ws, np.float64).ravel(), 1e-2
  grads = np.zeros((2, flat.size))
  for i in range(flat.size):
    step = np.zeros_like(flat)
    step[i] = eps
    grads[:, i] = (projected((flat + step).astype(np.float32)) - projected((flat - step).astype(np.float32))) / (2 * eps)
  per_example = grads.reshape(2, 2, *ws.shape[1:])[[0, 1], [0, 1]]  # example k's gradient wrt its own w
  want = np.sqrt(np.mean(np.sum(per_example ** 2, axis=2), axis=1))
  np.testing.assert_allclose(got, want, rtol=2e-2)


def test_path_length_penalty_gradient_flows_through_the_moving_mean_as_the_reference():
  """loss.py: pl_mean' = pl_mean.lerp(a.mean(), decay), not detached, so d/da_j of mean_i (a_i - pl_mean')^2 is
  (2 / B) [(a_j - pl_mean') - decay mean_i (a_i - pl_mean')]; detaching it would drop the second term."""
  lengths, pl_mean, decay = jnp.array([0.5, 1.0, 2.5, 4.0]), 1.5, 0.25
  penalty, new_mean = stylegan2.path_length_penalty(lengths, pl_mean, decay)
  a = np.asarray(lengths, np.float64)
  want_mean = pl_mean + decay * (a.mean() - pl_mean)
  np.testing.assert_allclose(new_mean, want_mean, rtol=1e-6)
  np.testing.assert_allclose(penalty, np.mean((a - want_mean) ** 2), rtol=1e-6)
  grads = jax.grad(lambda x: stylegan2.path_length_penalty(x, pl_mean, decay)[0])(lengths)
  np.testing.assert_allclose(grads, 2 / len(a) * ((a - want_mean) - decay * np.mean(a - want_mean)), rtol=1e-5)


def test_lazy_r1_is_the_gradient_penalty_of_the_real_images():
  config, _, game, state = tiny()
  real = jax.random.uniform(jax.random.PRNGKey(7), (8, 8, 8, 1), minval=-1, maxval=1)
  labels = jnp.zeros((8,), jnp.int32)
  r1_phase = jax.jit(functools.partial(game._d_phase, axis_name=None, main=False, reg=True))
  _, metrics = r1_phase(state, real, labels, jax.random.PRNGKey(8))
  d_params = state.players["D"].params
  grads = jax.grad(lambda x: jnp.sum(game._discriminate(d_params, x, labels)))(real)  # p = 0: no augmentation
  want = config.r1.gamma / 2 * np.mean(np.sum(np.square(grads), axis=(1, 2, 3)))
  np.testing.assert_allclose(metrics["d_penalty_r1"], want, rtol=1e-5)


def test_truncation_zero_gives_the_average_w_image():
  config, meta, game, state = tiny()
  w_avg = jax.random.normal(jax.random.PRNGKey(9), state.extras["w_avg"].shape)
  state = state.replace(extras={**state.extras, "w_avg": w_avg})
  images = stylegan2.FAMILY.sample(config, meta, game, state, 3, seed=0, truncation=0.0)
  z, y = game.sample_latents(jax.random.PRNGKey(0), 3)
  ids = jax.lax.bitcast_convert_type(z[:, 0], jnp.int32)
  ws = jnp.broadcast_to(w_avg, (3, game.num_ws, w_avg.shape[0]))
  want = game._synthesize(state.extras["ema"], state.players["G"].collections, ws, ids, jax.random.PRNGKey(0))
  np.testing.assert_allclose(images, want, atol=1e-5)
  full = stylegan2.FAMILY.sample(config, meta, game, state, 3, seed=0)
  assert not np.allclose(full, images, atol=1e-3)
  with pytest.raises(UserError, match="--temperature does not apply"):
    stylegan2.FAMILY.sample(config, meta, game, state, 3, seed=0, temperature=1.0)


def test_a_few_steps_move_w_avg_pl_mean_and_ema():
  _, _, game, state = tiny(**{"augment.kind": "none"})  # ADA's step runs in the family suite
  batch = {"x": jax.random.uniform(jax.random.PRNGKey(1), (1, 8, 8, 8, 1), minval=-1, maxval=1),
           "label": jnp.zeros((1, 8), jnp.int32)}
  step = jax.jit(game.train_step)
  new, metrics = step(state, batch)
  assert float(new.extras["pl_mean"]) > 0 and float(metrics["g_penalty_path_length"]) > 0  # step 0: Greg ran
  assert float(metrics["d_penalty_r1"]) > 0
  np.testing.assert_array_equal(new.extras["ema"]["mapping"]["fc0"]["weight"],  # beta = 0 at the first step
                                new.players["G"].params["mapping"]["fc0"]["weight"])
  assert not np.allclose(new.extras["w_avg"], 0)
  newer, metrics = step(new, batch)
  assert float(metrics["g_penalty_path_length"]) == 0.0 and float(metrics["d_penalty_r1"]) == 0.0  # lazy: odd step
  assert float(newer.extras["pl_mean"]) == float(new.extras["pl_mean"])


def test_sample_cli_truncation_flag_rejects_out_of_range_values(tmp_path):
  result = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "sample.py"), f"--workdir={tmp_path}",
                           f"--output={tmp_path}/s.npy", "--truncation=1.5"], capture_output=True, text=True,
                          env=env(), cwd=ROOT, check=False)
  assert result.returncode == 2 and result.stderr.strip() == "error: --truncation=1.5 must be in [0, 1]"


def test_class_conditioning_goes_through_the_mapping_network():
  config, meta, game, state = tiny(**{"model.conditional": True})
  assert game.conditional and game.num_classes == 10
  images = [stylegan2.FAMILY.sample(config, meta, game, state, 4, seed=0, label=k) for k in (0, 1)]
  assert not np.allclose(images[0], images[1], atol=1e-4)  # same z and noise, another class
  d_params = state.players["D"].params
  assert "mapping" in d_params  # D's projection on its own class mapping


def test_evaluate_truncation_option_sets_psi_and_other_families_refuse_it():
  config, _, game, _ = tiny()
  config = config.copy_and_resolve_references()
  stylegan2.FAMILY.configure_evaluation(config, game, num_samples=None, options={
      "inception_weights": None, "augmentation_score": False, "truncation": 0.5})
  assert config.eval.truncation_psi == 0.5
  image_config = experiment.get_config()  # any config: the image family refuses before reading it
  with pytest.raises(UserError, match="--truncation applies to StyleGAN2 runs only"):
    families.get("image").configure_evaluation(image_config, None, num_samples=None, options={"truncation": 0.5})
  with pytest.raises(UserError, match="--truncation does not apply to a text run"):
    families.get("text").configure_evaluation(image_config, None, num_samples=None, options={"truncation": 0.5})
