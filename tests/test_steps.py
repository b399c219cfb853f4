"""The train step: n_critic D updates on their own batches, one G update, EMA, device-free latents."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from gan import factory
from gan.data import get_dataset
from gan.train import real_batches
from tests.helpers import assert_trees_close, sgd, tiny_digits_config, tiny_ring_config


def make(config):
  dataset = get_dataset(config.data, seed=config.seed, batch_size=config.batch_size)
  game = factory.build_game(config, example_shape=dataset.example_shape, num_classes=dataset.num_classes)
  calls = real_batches(dataset, config.n_critic)  # one step per call: (1, n_critic, batch, ...)

  def batches(step):
    return {k: v[0] for k, v in calls(step).items()}
  state = game.init(jax.random.PRNGKey(config.seed), batches(0)["x"][0])
  return game, state, batches


def adam_count(opt_state):
  return int(optax.tree_utils.tree_get(opt_state, "count"))


@pytest.mark.parametrize("n_critic", [1, 3])
def test_n_critic_d_updates_per_g_update(n_critic):
  game, state, batches = make(tiny_ring_config(n_critic=n_critic))
  step = jax.jit(game.train_step)
  for s in range(2):
    state, _ = step(state, batches(s))
  assert adam_count(state.d_opt_state) == 2 * n_critic
  assert adam_count(state.g_opt_state) == 2
  assert int(state.step) == 2


@pytest.mark.parametrize("poisoned", [0, 1])
def test_each_d_update_reads_its_own_real_batch(poisoned):
  game, state, batches = make(tiny_ring_config(n_critic=2))
  batch = batches(0)
  assert not np.array_equal(batch["x"][0], batch["x"][1])  # two different real batches
  batch["x"][poisoned] = np.nan
  new_state, _ = jax.jit(game.train_step)(state, batch)
  assert all(np.isnan(np.asarray(leaf)).any() for leaf in jax.tree.leaves(new_state.d_params))


def test_batches_of_a_call_are_consecutive_dataset_batches():
  config = tiny_ring_config(n_critic=3)
  dataset = get_dataset(config.data, seed=config.seed, batch_size=config.batch_size)
  stacked = real_batches(dataset, 3, steps_per_call=2)(5)  # call 5 = train steps 10 and 11
  assert stacked["x"].shape == (2, 3, config.batch_size, 2)
  for j in range(2):
    for i in range(3):
      np.testing.assert_array_equal(stacked["x"][j, i], dataset.get_batch((10 + j) * 3 + i)["x"])


def test_ema_is_incremental_average_after_start_step():
  decay = 0.9
  game, state, batches = make(tiny_ring_config(ema={"decay": decay, "start_step": 0}))
  new, _ = jax.jit(game.train_step)(state, batches(0))
  expected = jax.tree.map(lambda old, p: decay * old + (1 - decay) * p, state.g_params, new.g_params)
  assert_trees_close(new.ema_params, expected, rtol=1e-6, atol=1e-7)
  # The EMA really lags: it differs from the trained weights.
  assert not np.allclose(jax.tree.leaves(new.ema_params)[0], jax.tree.leaves(new.g_params)[0])


def test_ema_follows_params_before_start_step():
  game, state, batches = make(tiny_ring_config(ema={"decay": 0.99, "start_step": 5}))
  new, _ = jax.jit(game.train_step)(state, batches(0))
  assert_trees_close(new.ema_params, new.g_params, rtol=0, atol=0)


def test_state_leaves_are_distinct_buffers_so_donation_is_safe():
  _, state, _ = make(tiny_ring_config())
  ids = [leaf.unsafe_buffer_pointer() for leaf in jax.tree.leaves(jax.device_put(state))]
  assert len(ids) == len(set(ids))


def test_step_reports_losses_logits_and_gradient_norms():
  game, state, batches = make(tiny_ring_config())
  _, metrics = jax.jit(game.train_step)(state, batches(0))
  assert set(metrics) == {"d_loss", "g_loss", "d_real_logit", "d_fake_logit", "d_grad_norm", "g_grad_norm"}
  assert all(np.isfinite(float(v)) for v in metrics.values())


def test_per_player_optimizers_use_their_own_learning_rates():
  config = tiny_ring_config()
  config.optim.g.update(name="sgd", lr=0.0)
  config.optim.d.update(name="sgd", lr=0.1)
  game, state, batches = make(config)
  new, _ = jax.jit(game.train_step)(state, batches(0))
  assert_trees_close(new.g_params, state.g_params, rtol=0, atol=0)  # lr 0: G frozen
  assert max(float(jnp.abs(a - b).max()) for a, b in
             zip(jax.tree.leaves(new.d_params), jax.tree.leaves(state.d_params))) > 1e-4


def test_learning_rate_schedules():
  config = tiny_ring_config()
  config.optim.g.update(lr=1.0, schedule="linear_decay", final_lr_fraction=0.1)
  schedule = factory.learning_rate(config.optim.g, 100)
  # At 0, T/2 and T linear and cosine agree; at T/4 they differ; after T both hold the final rate.
  np.testing.assert_allclose([schedule(s) for s in (0, 25, 50, 100, 150)], [1.0, 0.775, 0.55, 0.1, 0.1], rtol=1e-6)
  config.optim.g.schedule = "cosine"  # SGDR, Eq. 5: final + (1 - final) (1 + cos(pi s / T)) / 2
  schedule = factory.learning_rate(config.optim.g, 100)
  quarter = 0.1 + 0.9 * (1 + np.cos(np.pi / 4)) / 2
  np.testing.assert_allclose([schedule(s) for s in (0, 25, 50, 100, 150)], [1.0, quarter, 0.55, 0.1, 0.1],
                             rtol=1e-6)


def test_d_learning_rate_decays_over_its_own_updates():
  """D takes n_critic updates per G step: its schedule spans num_train_steps * n_critic of them."""
  config = tiny_ring_config(num_train_steps=10, n_critic=3)
  for player in ("g", "d"):
    config.optim[player].update(name="sgd", lr=1.0, schedule="linear_decay", final_lr_fraction=0.0)
  game = factory.build_game(config, example_shape=(2,), num_classes=None)
  grads = {"w": jnp.ones(())}
  for optimizer, updates_to_zero in ((game.g_optimizer, 10), (game.d_optimizer, 30)):
    state = optimizer.init(grads)
    steps = []
    for _ in range(updates_to_zero + 1):
      update, state = optimizer.update(grads, state)
      steps.append(-float(update["w"]))
    np.testing.assert_allclose(steps, 1.0 - np.arange(updates_to_zero + 1) / updates_to_zero, atol=1e-6)


@pytest.mark.parametrize("loss", ["ra_hinge", "non_saturating"])
def test_g_update_sees_real_logits_only_for_relativistic_losses(loss):
  game, state, batches = make(tiny_ring_config(loss=loss))
  real, real_y = batches(0)["x"][-1], batches(0)["label"][-1]
  key = jax.random.PRNGKey(3)
  g_update = jax.jit(lambda s, x, y, k: game._g_update(s, x, y, k, None))
  _, metrics = g_update(state, real, real_y, key)
  z, y = game._local_latents(key, real.shape[0], None)
  fake = game.generate(state.g_params, state.g_collections, z, y, train=True)
  real_logits = game._discriminate(state.d_params, state.d_collections, real, real_y)[0]
  fake_logits = game._discriminate(state.d_params, state.d_collections, fake, y)[0]
  np.testing.assert_allclose(metrics["g_loss"], game.g_loss_fn(real_logits, fake_logits), rtol=1e-6)
  _, poisoned = g_update(state, np.full_like(real, np.nan), real_y, key)
  assert np.isnan(poisoned["g_loss"]) == (loss == "ra_hinge")


def test_d_and_g_updates_are_hand_sgd_steps_and_report_their_losses_and_gradient_norms():
  """D: one SGD step on hinge loss + gamma R1 (Mescheder et al. 2018, Eq. 9, the input gradient taken per
  example by hand), reporting the loss, the weighted penalty and optax.global_norm of the gradient; G: one
  SGD step on its loss against the updated D. A penalty subtracted, left out of the gradient, or
  reported unweighted fails."""
  lr, gamma = 0.1, 2.0
  config = sgd(tiny_ring_config(loss="hinge"), lr=lr)
  config.regularizers.r1.weight = gamma
  game, state, batches = make(config)
  real, real_y = batches(0)["x"][0], batches(0)["label"][0]
  key = jax.random.PRNGKey(5)

  def d(params, x, labels):
    return game._discriminate(params, state.d_collections, x, labels)[0]

  z, y = game._local_latents(key, real.shape[0], None)
  fake = game.generate(state.g_params, state.g_collections, z, y, train=True)

  def d_objective(params):
    loss = game.d_loss_fn(d(params, real, real_y), d(params, fake, y))
    input_grads = jax.vmap(jax.grad(lambda x, label: d(params, x[None], label[None])[0]))(real, real_y)
    penalty = gamma * 0.5 * jnp.mean(jnp.sum(input_grads ** 2, axis=-1))
    return loss + penalty, (loss, penalty)

  (_, (d_loss, penalty)), d_grads = jax.value_and_grad(d_objective, has_aux=True)(state.d_params)
  after_d, metrics = jax.jit(lambda s: game._d_update(s, real, real_y, key, 0, None))(state)
  np.testing.assert_allclose([metrics["d_loss"], metrics["d_penalty_r1"], metrics["d_grad_norm"]],
                             [d_loss, penalty, optax.global_norm(d_grads)], rtol=1e-5)
  assert_trees_close(after_d.d_params, jax.tree.map(lambda p, g: p - lr * g, state.d_params, d_grads),
                     rtol=1e-5, atol=1e-7)

  g_key = jax.random.PRNGKey(6)
  z, y = game._local_latents(g_key, real.shape[0], None)

  def g_objective(params):
    generated = game.generate(params, state.g_collections, z, y, train=True)
    return game.g_loss_fn(None, game._discriminate(after_d.d_params, after_d.d_collections, generated, y)[0])

  g_loss, g_grads = jax.value_and_grad(g_objective)(state.g_params)
  after_g, metrics = jax.jit(lambda s: game._g_update(s, real, real_y, g_key, None))(after_d)
  np.testing.assert_allclose([metrics["g_loss"], metrics["g_grad_norm"]], [g_loss, optax.global_norm(g_grads)],
                             rtol=1e-5)
  assert_trees_close(after_g.g_params, jax.tree.map(lambda p, g: p - lr * g, state.g_params, g_grads),
                     rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("loss", ["non_saturating", "ra_hinge"])
def test_g_update_scores_augmented_images(loss):
  """DiffAugment (Zhao et al. 2020, Sec. 3) augments what D sees in G's update too: generated images and,
  for relativistic losses, the reals G's loss compares them with. The reported loss is recomputed here
  on augmented images, and differs from the loss on the images as they are."""
  config = tiny_digits_config(loss=loss)
  config.augment.update(kind="diffaugment", diffaugment_policy="translation,cutout")
  game, state, batches = make(config)
  real, real_y = batches(0)["x"][-1], batches(0)["label"][-1]
  key, p = jax.random.PRNGKey(7), state.augment_state["p"]
  z, y = game._local_latents(key, real.shape[0], None)
  fake = game.generate(state.g_params, state.g_collections, z, y, train=True)

  def g_loss(augmented):
    seen = game._augment(fake, jax.random.fold_in(key, 1), p, None) if augmented else fake
    real_logits = None
    if loss == "ra_hinge":
      real_seen = game._augment(real, jax.random.fold_in(key, 2), p, None) if augmented else real
      real_logits = game._discriminate(state.d_params, state.d_collections, real_seen, real_y)[0]
    return game.g_loss_fn(real_logits, game._discriminate(state.d_params, state.d_collections, seen, y)[0])

  _, metrics = jax.jit(lambda s: game._g_update(s, real, real_y, key, None))(state)
  np.testing.assert_allclose(metrics["g_loss"], g_loss(True), rtol=1e-5)
  assert abs(float(metrics["g_loss"]) - float(g_loss(False))) > 1e-4


def test_d_update_reports_bcr_terms_of_its_own_transform():
  """bCR (Zhao et al. 2021, Eqs. 3-4): lambda_real E (D(x) - D(T x))^2 on reals and lambda_fake on
  generated images, T drawn from the update's key; recomputed here with the same T."""
  config = tiny_digits_config()
  config.regularizers.consistency.update(real_weight=10.0, fake_weight=3.0, transforms="int_translation")
  game, state, batches = make(config)
  real, real_y = batches(0)["x"][0], batches(0)["label"][0]
  key = jax.random.PRNGKey(8)
  z, y = game._local_latents(key, real.shape[0], None)
  fake = game.generate(state.g_params, state.g_collections, z, y, train=True)
  cr_key = jax.random.fold_in(key, 4)
  _, metrics = jax.jit(lambda s: game._d_update(s, real, real_y, key, 0, None))(state)
  collections = state.d_collections
  for k, (name, weight, x, labels) in enumerate((("real", 10.0, real, real_y), ("fake", 3.0, fake, y))):
    logits, collections, _ = game._discriminate(state.d_params, collections, x, labels)
    moved = game._consistency_transform(x, jax.random.fold_in(cr_key, k), None)
    assert float(jnp.abs(moved - x).max()) > 0.1  # T moved the images
    moved_logits = game._discriminate(state.d_params, state.d_collections, moved, labels)[0]
    np.testing.assert_allclose(metrics[f"d_penalty_cr_{name}"], weight * jnp.mean((logits - moved_logits) ** 2),
                               rtol=1e-4)
