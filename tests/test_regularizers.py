"""Regularizers against closed forms and finite differences, and wired into the train step."""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan import regularizers
from tests.helpers import assert_trees_close, run_steps, sgd, tiny_ring_config

W = jnp.array([0.3, -1.2, 2.0])  # ||W|| = sqrt(5.53)
NORM = float(np.sqrt(5.53))


def linear_d(x, y):
  del y
  return x @ W + 0.7


def uniform_noise(key, shape, batch=8):
  return jax.random.uniform(key, (batch, *shape))


def inputs_for(d_fn, real, fake):
  labels = jnp.zeros((real.shape[0],), jnp.int32)
  return regularizers.PenaltyInputs(d_fn=d_fn, real=real, real_y=labels, fake=fake, fake_y=labels,
                                    noise=lambda key, shape: uniform_noise(key, shape, real.shape[0]))


def random_batches(seed=0, n=8, dim=3):
  key_a, key_b = jax.random.split(jax.random.PRNGKey(seed))
  return jax.random.normal(key_a, (n, dim)), 3.0 * jax.random.normal(key_b, (n, dim))


@pytest.mark.parametrize("name,expected", [
    ("r1", 0.5 * 5.53), ("r2", 0.5 * 5.53), ("wgan_gp", (NORM - 1) ** 2), ("dragan", (NORM - 1) ** 2)])
def test_linear_discriminator_closed_forms(name, expected):
  """D(x) = w.x + b has gradient w everywhere: every penalty is a function of ||w|| alone."""
  real, fake = random_batches()
  value = regularizers.PENALTY_FUNCTIONS[name](inputs_for(linear_d, real, fake), jax.random.PRNGKey(1))
  np.testing.assert_allclose(float(value), expected, rtol=1e-5)


A = jnp.array([0.5, 2.0, -1.5])


def quadratic_d(x, y):
  del y
  return 0.5 * jnp.sum(A * x * x, axis=-1)


@pytest.mark.parametrize("name,on", [("r1", "real"), ("r2", "fake")])
def test_r1_and_r2_on_their_own_batch_with_a_quadratic_discriminator(name, on):
  """D(x) = sum(a x^2) / 2 has gradient a * x, so R1 (Mescheder et al. 2018, Eq. 9) and R2 (Eq. 10) are
  0.5 E ||a * x||^2 over reals and over fakes respectively; the batches differ (fakes are 3 times wider),
  so computing either on the other batch fails."""
  real, fake = random_batches()
  x = real if on == "real" else fake
  value = regularizers.PENALTY_FUNCTIONS[name](inputs_for(quadratic_d, real, fake), jax.random.PRNGKey(1))
  expected = 0.5 * np.mean(np.sum((np.asarray(A) * np.asarray(x)) ** 2, axis=-1))
  np.testing.assert_allclose(float(value), expected, rtol=1e-5)


def test_one_sided_gradient_penalty_ignores_norms_below_one():
  small = lambda x, y: x @ (W / 4.0)  # noqa: E731  ||w|| < 1
  real, fake = random_batches()
  key = jax.random.PRNGKey(1)
  assert float(regularizers.wgan_gp(inputs_for(small, real, fake), key, one_sided=True)) == 0.0
  np.testing.assert_allclose(float(regularizers.wgan_gp(inputs_for(small, real, fake), key)),
                             (NORM / 4 - 1) ** 2, rtol=1e-5)


def mlp_d(x, y):
  del y
  hidden = jnp.tanh(x @ jnp.array([[0.5, -1.0], [2.0, 0.3], [-0.7, 1.1]]) + jnp.array([0.1, -0.2]))
  return jnp.sum(jnp.sin(3.0 * hidden), axis=-1)


def test_r1_matches_finite_differences():
  real, fake = random_batches(seed=3, n=4)
  real64 = np.asarray(real, np.float64)
  eps = 1e-3
  norms_sq = []
  for row in real64:
    grad = [(float(mlp_d(jnp.asarray(row + eps * e, jnp.float32)[None], None)[0])
             - float(mlp_d(jnp.asarray(row - eps * e, jnp.float32)[None], None)[0])) / (2 * eps)
            for e in np.eye(3)]
    norms_sq.append(np.sum(np.square(grad)))
  expected = 0.5 * np.mean(norms_sq)
  value = regularizers.r1(inputs_for(mlp_d, real, fake), None)
  np.testing.assert_allclose(float(value), expected, rtol=2e-3)


def test_wgan_gp_evaluates_the_gradient_at_interpolates():
  """For D(x) = sum(x^2) the gradient at xhat is 2 xhat: check against the interpolates built by hand."""
  quadratic = lambda x, y: jnp.sum(jnp.square(x), axis=-1)  # noqa: E731
  real, fake = random_batches(seed=5)
  key = jax.random.PRNGKey(7)
  eps = uniform_noise(key, (1,))
  xhat = eps * real + (1 - eps) * fake
  expected = np.mean((np.linalg.norm(2 * np.asarray(xhat), axis=1) - 1) ** 2)
  value = regularizers.wgan_gp(inputs_for(quadratic, real, fake), key)
  np.testing.assert_allclose(float(value), expected, rtol=1e-5)


def test_dragan_interpolates_between_real_and_perturbed_real():
  """Kodali et al.'s code: x_hat = x + alpha (x_p - x), x_p = x + 0.5 std(x) u, alpha ~ U[0, 1] per
  example, u ~ U[0, 1] elementwise. For D(x) = sum(x^2) the gradient at x_hat is 2 x_hat."""
  quadratic = lambda x, y: jnp.sum(jnp.square(x), axis=-1)  # noqa: E731
  real, fake = random_batches(seed=4)
  rng = np.random.RandomState(0)
  alpha, u = rng.uniform(size=(8, 1)).astype(np.float32), rng.uniform(size=(8, 3)).astype(np.float32)
  drawn = {(1,): alpha, (3,): u}  # the penalty's draws, by per-example shape
  inputs = dataclasses.replace(inputs_for(quadratic, real, fake), noise=lambda key, shape: drawn[shape])
  x = np.asarray(real, np.float64)
  perturbed = x + 0.5 * x.std() * u
  x_hat = x + alpha * (perturbed - x)
  expected = np.mean((np.linalg.norm(2 * x_hat, axis=1) - 1) ** 2)
  value = regularizers.dragan(inputs, jax.random.PRNGKey(0))
  np.testing.assert_allclose(float(value), expected, rtol=1e-5)


RELU_PARAMS = {"w": jnp.array([[1.0, 0.5], [0.3, 1.2], [0.8, 0.2]]), "b": jnp.array([0.1, -0.2]),
               "v": jnp.array([1.5, -0.7])}


def relu_d(params):
  """D(x) = v . relu(x W + b), W > 0: its input gradient is exactly 0 where x is very negative."""
  return lambda x, y: jax.nn.relu(x @ params["w"] + params["b"]) @ params["v"]


def sqrt_norm_penalty(name, params, x):
  """The penalty with the sqrt of the squared input-gradient norm (the form before the fix), at x."""
  grads = jax.vmap(jax.grad(lambda row: relu_d(params)(row, None)))(x)
  norms = jnp.sqrt(jnp.sum(jnp.square(grads), axis=1))
  return 0.5 * jnp.mean(jnp.square(norms)) if name in ("r1", "r2") else jnp.mean(jnp.square(norms - 1.0))


@pytest.mark.parametrize("name", ["r1", "r2", "wgan_gp", "dragan"])
def test_zero_input_gradient_gives_finite_parameter_gradients(name):
  """One example with every ReLU off (input gradient exactly 0) among five with non-zero ones: D's
  parameter gradients are finite, and are those of the five alone (the sqrt form's, scaled by 5/6)."""
  alive = jnp.abs(random_batches(seed=2, n=5)[0]) + 0.1  # every feature on: non-zero input gradients
  batch = jnp.concatenate([alive, jnp.full((1, 3), -5.0)])
  # real = fake and no DRAGAN perturbation: every penalty is evaluated at the batch itself
  options = {"perturbation": 0.0} if name == "dragan" else {}

  def penalty(params):
    return regularizers.PENALTY_FUNCTIONS[name](inputs_for(relu_d(params), batch, batch),
                                                jax.random.PRNGKey(1), **options)
  value, grads = jax.value_and_grad(penalty)(RELU_PARAMS)
  assert all(bool(jnp.all(jnp.isfinite(g))) for g in jax.tree.leaves(grads))
  alive_value, alive_grads = jax.value_and_grad(lambda p: sqrt_norm_penalty(name, p, alive))(RELU_PARAMS)
  dead_term = 0.0 if name in ("r1", "r2") else 1.0  # (0 - 1)^2 for the unit-norm penalties
  np.testing.assert_allclose(float(value), (5 * float(alive_value) + dead_term) / 6, rtol=1e-5)
  assert_trees_close(grads, jax.tree.map(lambda g: 5 / 6 * g, alive_grads), rtol=1e-5, atol=1e-6)


def test_lazy_penalty_applies_every_k_updates_scaled_by_k():
  real, fake = random_batches()
  penalty = regularizers.GradientPenalty("r1", weight=2.0, every=4)
  inputs = inputs_for(linear_d, real, fake)
  values = [float(jax.jit(lambda s: penalty(inputs, None, s))(step)) for step in range(6)]
  np.testing.assert_allclose(values, [2.0 * 4 * 0.5 * 5.53, 0, 0, 0, 2.0 * 4 * 0.5 * 5.53, 0], rtol=1e-5)


@pytest.mark.parametrize("schedule", ["linear_decay", "cosine"])
def test_penalty_weight_follows_its_schedule(schedule):
  """w(s) = w (f + (1 - f) d(s / T)), d = 1 - s/T (linear) or (1 + cos(pi s / T)) / 2, held after T."""
  real, fake = random_batches()
  penalty = regularizers.GradientPenalty("r1", weight=2.0, schedule=schedule, final_weight_fraction=0.1,
                                         decay_steps=10)
  inputs = inputs_for(linear_d, real, fake)
  steps = np.array([0, 3, 5, 10, 25])
  values = [float(jax.jit(lambda s: penalty(inputs, None, s))(step)) for step in steps]
  t = steps.clip(max=10) / 10
  decay = 1 - t if schedule == "linear_decay" else (1 + np.cos(np.pi * t)) / 2
  np.testing.assert_allclose(values, 2.0 * (0.1 + 0.9 * decay) * 0.5 * 5.53, rtol=1e-5)


def test_penalty_schedule_spans_the_runs_d_updates():
  config = tiny_ring_config()
  config.num_train_steps, config.n_critic = 7, 3
  config.regularizers.r1.update(weight=0.5, schedule="cosine", final_weight_fraction=0.0)
  (r1,) = regularizers.gradient_penalties(config)
  assert (r1.decay_steps, r1.schedule, r1.final_weight_fraction) == (21, "cosine", 0.0)
  assert float(r1.weight_at(21)) == 0.0 and float(r1.weight_at(0)) == 0.5


def test_orthogonal_penalty_by_hand():
  kernel = jnp.array([[1.0, 2.0], [0.0, 1.0], [1.0, 0.0]])  # columns = filters: w1.w2 = 2
  params = {"Dense_0": {"kernel": kernel, "bias": jnp.ones(2)}, "embedding": jnp.ones((4, 2))}
  np.testing.assert_allclose(float(regularizers.orthogonal_penalty(params)), 0.5 * 2 * 2.0 ** 2)
  q, _ = np.linalg.qr(np.random.RandomState(0).randn(5, 3))
  assert float(regularizers.orthogonal_penalty({"kernel": jnp.asarray(q, jnp.float32)})) < 1e-10


def test_weight_clip():
  params = {"a": jnp.array([-1.0, 0.005, 2.0])}
  np.testing.assert_allclose(regularizers.clip_weights(params, 0.01)["a"], [-0.01, 0.005, 0.01])
  assert regularizers.clip_weights(params, 0.0) is params


# ------------------------------------------------------------------ in the train step
def with_regularizers(config, **settings):
  for name, values in settings.items():
    config.regularizers[name].update(values)
  return config


def test_step_reports_penalties_and_clips_discriminator():
  config = with_regularizers(tiny_ring_config(n_critic=2), r1={"weight": 1.0, "every": 2},
                             wgan_gp={"weight": 10.0}, weight_clip={"value": 0.05},
                             orthogonal={"weight": 1e-4})
  state, history = run_steps(config, 2)
  # Lazy R1 (every 2 D updates, n_critic 2): applied on D updates 0 and 2, i.e. half of each step's pair.
  assert all(m["d_penalty_r1"] > 0 and m["d_penalty_wgan_gp"] > 0 for m in history)
  assert all(m["g_penalty_orthogonal"] > 0 for m in history)
  assert max(float(jnp.max(jnp.abs(p))) for p in jax.tree.leaves(state.d_params)) <= np.float32(0.05)


def test_lazy_penalty_in_the_step_counts_d_updates_over_the_run():
  """R1 every 3 D updates with n_critic 2: D updates 0 and 3 of the run are regularized, i.e. the first
  update of step 0 and the second of step 1, none in step 2 (indexing by the step alone, or by the update
  within a step, gives another pattern)."""
  config = with_regularizers(sgd(tiny_ring_config(n_critic=2)), r1={"weight": 1.0, "every": 3})
  _, history = run_steps(config, 3)
  assert [m["d_penalty_r1"] > 0 for m in history] == [True, True, False]


def test_penalty_changes_the_discriminator_update():
  """Guards the wiring: with a large R1 weight D's parameters after one step differ from without."""
  plain, _ = run_steps(sgd(tiny_ring_config()), 1)
  penalised, _ = run_steps(sgd(with_regularizers(tiny_ring_config(), r1={"weight": 100.0})), 1)
  diff = max(float(jnp.max(jnp.abs(a - b))) for a, b in zip(jax.tree.leaves(plain.d_params),
                                                             jax.tree.leaves(penalised.d_params)))
  assert diff > 1e-3


@pytest.mark.parametrize("mode,num_devices", [("jit", 4), ("pmap", 4)])
def test_penalties_do_not_depend_on_the_device_count(mode, num_devices):
  """Random interpolation weights and DRAGAN's std are drawn/computed over the global batch."""
  def config():
    return sgd(with_regularizers(tiny_ring_config(), wgan_gp={"weight": 10.0},
                                 dragan={"weight": 1.0}))
  ref_state, ref_history = run_steps(config(), 2, devices=jax.devices()[:1])
  state, history = run_steps(config(), 2, mode=mode, devices=jax.devices()[:num_devices])
  for got, want in zip(history, ref_history):
    assert_trees_close(got, want, rtol=2e-4, atol=2e-5)
  assert_trees_close(state.d_params, ref_state.d_params)
