"""The pix2pix and CycleGAN train steps against hand-written updates, the reference code's GAN losses,
the history pool's semantics and its checkpoint round trip, and the learning-rate schedule."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from gan import checkpointing, image_pool, schedules, train
from gan.families import translation
from tests.helpers import assert_trees_close
from tests.test_families import smoke_config

LR = 0.05


def built(family, **overrides):
  """(game, initial state, batch of step 0 as the step sees it) of the family's smoke config on one
  device, plain SGD with a constant learning rate LR."""
  config = smoke_config(family, **overrides)
  for player in ("g", "d"):
    config.optim[player].lr = LR
  run = train.setup(config, jax.devices()[:1])
  batch = {k: v[0] for k, v in run.batches(0).items()}  # (1 update, batch, ...)
  return run.game, run.initial_state(config.seed), batch


def sgd(params, grads):
  return jax.tree.map(lambda p, g: p - LR * g, params, grads)


def bce(logits, target):
  """PyTorch's BCEWithLogitsLoss (mean), written out: -[t log σ(x) + (1 - t) log(1 - σ(x))]."""
  p = 1 / (1 + np.exp(-np.asarray(logits, np.float64)))
  return float(np.mean(-(target * np.log(p) + (1 - target) * np.log(1 - p))))


@pytest.mark.parametrize("name", ["non_saturating", "least_squares"])
def test_adversarial_losses_are_the_reference_gan_loss(name):
  real, fake = np.random.default_rng(0).normal(size=(2, 4, 3, 3)).astype(np.float32)
  d_loss, g_loss = translation.adversarial_losses(name)
  if name == "non_saturating":  # GANLoss("vanilla"): BCE with logits against 1 (real) and 0 (fake)
    want_d, want_g = 0.5 * (bce(real, 1) + bce(fake, 0)), bce(fake, 1)
  else:  # GANLoss("lsgan"): MSE against 1 and 0
    want_d, want_g = 0.5 * (np.mean((real - 1) ** 2) + np.mean(fake ** 2)), np.mean((fake - 1) ** 2)
  np.testing.assert_allclose(float(d_loss(real, fake)), want_d, rtol=1e-5)
  np.testing.assert_allclose(float(g_loss(fake)), want_g, rtol=1e-5)


def test_constant_then_linear_schedule_is_the_reference_rule_per_step():
  lr = schedules.decayed(2e-4, "constant_then_linear", 0.0, 200)
  steps = np.arange(200)
  ours = np.array([float(lr(s)) for s in steps])
  np.testing.assert_allclose(ours[:101], 2e-4, rtol=1e-6)  # constant through the first half
  np.testing.assert_allclose(ours[100:], 2e-4 * (1 - (steps[100:] - 100) / 100), rtol=1e-5, atol=1e-12)
  # The reference's lambda_rule (100 + 100 epochs, one step an epoch): within 1/101 of its rate.
  reference = 2e-4 * (1 - np.maximum(0, steps + 1 - 100) / 101)
  assert np.abs(ours - reference).max() <= 2e-4 / 101 + 1e-12


def test_pix2pix_step_is_one_d_then_one_g_sgd_step_on_the_papers_objective():
  game, state, batch = built("pix2pix", **{"model.generator.norm": "instance",
                                          "model.discriminator.norm": "instance"})
  new, metrics = jax.jit(game.train_step)(state, batch)
  x, y = batch["a"][0], batch["b"][0]
  _, noise_key = jax.random.split(state.rng)
  g, d = state.players["G"].params, state.players["D"].params
  ids = jnp.arange(len(x))

  def G(params):
    return game.generator.apply({"params": params}, x, ids, train=True, rngs={"dropout": noise_key})

  def D(params, output):
    return game.discriminator.apply({"params": params}, jnp.concatenate([x, output], -1), train=True)

  def d_objective(params):  # half of BCE(D(x, y), 1) + BCE(D(x, G(x)), 0)
    real, fake = D(params, y), D(params, G(g))
    return 0.5 * (jnp.mean(jax.nn.softplus(-real)) + jnp.mean(jax.nn.softplus(fake)))
  d_loss, d_grads = jax.jit(jax.value_and_grad(d_objective))(d)  # one program, not op by op
  d_new = sgd(d, d_grads)

  def g_objective(params):  # BCE(D_new(x, G(x)), 1) + 100 |y - G(x)|
    return jnp.mean(jax.nn.softplus(-D(d_new, G(params)))) + 100.0 * jnp.mean(jnp.abs(y - G(params)))
  g_grads = jax.jit(jax.grad(g_objective))(g)
  assert_trees_close(new.players["D"].params, d_new, rtol=1e-4, atol=1e-6)
  assert_trees_close(new.players["G"].params, sgd(g, g_grads), rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(metrics["d_loss"], d_loss, rtol=1e-5)
  np.testing.assert_allclose(metrics["g_l1"], jax.jit(lambda: jnp.mean(jnp.abs(y - G(g))))(), rtol=1e-5)
  np.testing.assert_allclose(metrics["g_grad_norm"], optax.tree.norm(g_grads), rtol=1e-4)


def test_cyclegan_step_is_one_g_then_one_d_sgd_step_on_the_papers_objective():
  game, state, batch = built("cyclegan", pool_size=0)  # D sees this step's translations
  new, metrics = jax.jit(game.train_step)(state, batch)
  a, b = batch["a"][0], batch["b"][0]
  g, d = state.players["G"].params, state.players["D"].params

  def G(params, direction, x):
    return game.generator.apply({"params": params[direction]}, x, train=True)

  def D(params, domain, x):
    return game.discriminator.apply({"params": params[domain]}, x, train=True)

  def terms(params):
    fake_b, fake_a = G(params, "AtoB", a), G(params, "BtoA", b)
    return {"adversarial": jnp.mean((D(d, "B", fake_b) - 1) ** 2) + jnp.mean((D(d, "A", fake_a) - 1) ** 2),
            "cycle_A": jnp.mean(jnp.abs(G(params, "BtoA", fake_b) - a)),
            "cycle_B": jnp.mean(jnp.abs(G(params, "AtoB", fake_a) - b)),
            "identity_A": jnp.mean(jnp.abs(G(params, "BtoA", a) - a)),
            "identity_B": jnp.mean(jnp.abs(G(params, "AtoB", b) - b))}

  def g_objective(params):  # Eq. 3 with λ = 10 and the identity term 0.5 λ
    t = terms(params)
    return t["adversarial"] + 10 * (t["cycle_A"] + t["cycle_B"]) + 5 * (t["identity_A"] + t["identity_B"])
  assert_trees_close(new.players["G"].params, sgd(g, jax.jit(jax.grad(g_objective))(g)), rtol=1e-4, atol=1e-6)

  fakes = {"B": G(g, "AtoB", a), "A": G(g, "BtoA", b)}  # made by G before its update
  real = {"A": a, "B": b}

  def d_objective(params):  # each D: half of MSE(D(real), 1) + MSE(D(fake), 0)
    return sum(0.5 * (jnp.mean((D(params, n, real[n]) - 1) ** 2) + jnp.mean(D(params, n, fakes[n]) ** 2))
               for n in ("A", "B"))
  assert_trees_close(new.players["D"].params, sgd(d, jax.jit(jax.grad(d_objective))(d)), rtol=1e-4, atol=1e-6)
  hand = jax.jit(terms)(g)
  for name in ("cycle_A", "cycle_B", "identity_A", "identity_B"):
    np.testing.assert_allclose(metrics[f"g_{name}"], hand[name], rtol=1e-5)


def test_cyclegan_discriminators_see_the_pool():
  game, state, batch = built("cyclegan")  # pool of 3, batch of 8: it fills with the first three
  new, _ = jax.jit(game.train_step)(state, batch)
  fake_b = game.generator.apply({"params": state.players["G"].params["AtoB"]}, batch["a"][0], train=True)
  pool = new.extras["pool_B"]
  assert int(pool["count"]) == 3
  # Each slot holds one of this step's translations: the first three, or a later one swapped in.
  for slot in np.asarray(pool["images"]):
    assert np.min(np.abs(np.asarray(fake_b) - slot).reshape(len(fake_b), -1).max(1)) < 1e-5


def images(n, offset=0):
  """n distinguishable 2x2x1 images: image i is filled with the value offset + i."""
  return jnp.broadcast_to(jnp.arange(offset, offset + n, dtype=jnp.float32)[:, None, None, None], (n, 2, 2, 1))


def values(array):
  return [float(v) for v in np.asarray(array)[:, 0, 0, 0]]


def test_pool_fills_then_returns_a_stored_image_with_probability_one_half():
  pool = image_pool.init(4, (2, 2, 1))
  shown, pool = image_pool.query(pool, images(3), jax.random.PRNGKey(0), 3, None)
  np.testing.assert_array_equal(shown, images(3))  # filling: every image stored and returned as it is
  assert values(pool["images"]) == [0, 1, 2, 0] and int(pool["count"]) == 3
  shown, pool = image_pool.query(pool, images(3, offset=100), jax.random.PRNGKey(1), 3, None)
  assert values(shown)[0] == 100 and values(pool["images"])[3] == 100 and int(pool["count"]) == 4
  swaps, total = 0, 0
  for step in range(2, 60):
    before, new = values(pool["images"]), images(5, offset=10 * step)
    shown, pool = image_pool.query(pool, new, jax.random.PRNGKey(step), 5, None)
    # Full: each image is shown as it is, or swapped for a stored one that it replaces; nothing is lost
    # or duplicated.
    assert sorted(values(shown) + values(pool["images"])) == sorted(before + values(new))
    swaps += sum(s != n for s, n in zip(values(shown), values(new)))
    total += 5
  assert int(pool["count"]) == 4
  assert abs(swaps / total - 0.5) < 4 * np.sqrt(0.25 / total)  # Binomial(total, 1/2), 4 sigma


def test_pool_of_size_zero_returns_the_images():
  shown, pool = image_pool.query(image_pool.init(0, (2, 2, 1)), images(3), jax.random.PRNGKey(0), 3, None)
  np.testing.assert_array_equal(shown, images(3))
  assert set(pool) == {"count"} and int(pool["count"]) == 0


def test_pool_is_the_same_under_pmap_on_four_devices():
  pool = image_pool.init(3, (2, 2, 1))
  key = jax.random.PRNGKey(1)
  whole = image_pool.query(pool, images(8), key, 8, None)
  per_device = jax.pmap(lambda x: image_pool.query(pool, x, key, 8, "batch"), axis_name="batch",
                        devices=jax.devices()[:4])(images(8).reshape(4, 2, 2, 2, 1))
  np.testing.assert_array_equal(np.asarray(per_device[0]).reshape(8, 2, 2, 1), whole[0])
  for d in range(4):
    assert_trees_close(jax.tree.map(lambda v: v[d], per_device[1]), whole[1], rtol=0, atol=0)


@pytest.mark.parametrize("pool_size", [3, 0])
def test_pool_checkpoint_round_trip(tmp_path, pool_size):
  game, state, batch = built("cyclegan", pool_size=pool_size)
  state, _ = jax.jit(game.train_step)(state, batch)
  ckpt = checkpointing.Checkpointer(str(tmp_path), every_steps=1, max_to_keep=1)
  ckpt.save(1, state, {"config": 1}, {"meta": 1})
  restored, _, _ = ckpt.restore(jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), state))
  ckpt.close()
  assert int(restored.extras["pool_A"]["count"]) == pool_size
  assert_trees_close(restored, state, rtol=0, atol=0)
