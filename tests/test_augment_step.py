"""Augmentation in the train step: DiffAugment/ADA/CR wiring, ADA's p controller, device invariance."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan import regularizers
from gan.steps import GANGame
from tests.helpers import assert_trees_close, run_steps, sgd, tiny_digits_config
from tests.test_steps import make


def augmented(kind="diffaugment", **settings):
  config = sgd(tiny_digits_config())
  config.augment.kind = kind
  config.augment.update(settings)
  return config


def test_ada_at_p_zero_trains_exactly_like_no_augmentation():
  plain, _ = run_steps(sgd(tiny_digits_config()), 2)
  ada, history = run_steps(augmented("ada", ada_interval=1000), 2)  # p stays 0: no adjustment due
  assert [float(m["augment_p"]) for m in history] == [0.0, 0.0]
  jax.tree.map(np.testing.assert_array_equal, ada.d_params, plain.d_params)
  jax.tree.map(np.testing.assert_array_equal, ada.g_params, plain.g_params)


def test_diffaugment_changes_what_d_sees():
  plain, _ = run_steps(sgd(tiny_digits_config()), 1)
  diff, _ = run_steps(augmented("diffaugment"), 1)
  assert max(float(jnp.abs(a - b).max()) for a, b in zip(jax.tree.leaves(plain.d_params),
                                                         jax.tree.leaves(diff.d_params))) > 1e-4


@pytest.mark.parametrize("kind", ["diffaugment", "ada"])
def test_augmented_step_does_not_depend_on_the_device_count(kind):
  def config():
    c = augmented(kind, ada_interval=1, ada_kimg=0.01)  # p moves by 8 / 10 per D update
    c.regularizers.consistency.update(real_weight=1.0, fake_weight=1.0)
    return c
  ref, ref_history = run_steps(config(), 2, devices=jax.devices()[:1])
  state, history = run_steps(config(), 2, mode="pmap", devices=jax.devices()[:4])
  for got, want in zip(history, ref_history):
    assert_trees_close(got, want, rtol=2e-4, atol=2e-5)
  assert_trees_close(state.d_params, ref.d_params)
  assert {"d_penalty_cr_real", "d_penalty_cr_fake"} <= set(history[0])


@pytest.mark.parametrize("logit_sign,direction", [(1.0, 1), (-1.0, -1)])
def test_ada_p_rises_when_d_is_confident_on_reals_and_falls_otherwise(logit_sign, direction):
  """r_t = E[sign D(real)] above the 0.6 target (overfitting) raises p after `interval` D updates."""
  config = augmented("ada", ada_interval=2, ada_kimg=1.0)
  game, state, _ = make(config)
  start = {"p": jnp.float32(0.5), "sign_sum": jnp.float32(0.0), "count": jnp.int32(0)}
  logits = jnp.full((8,), logit_sign)
  once = game._ada_adjust(start, logits, None)
  assert float(once["p"]) == 0.5 and int(once["count"]) == 1  # not due yet
  twice = game._ada_adjust(once, logits, None)
  step = config.batch_size * 2 / 1000.0  # batch * interval / (kimg * 1000)
  np.testing.assert_allclose(float(twice["p"]), 0.5 + direction * step, rtol=1e-6)
  assert int(twice["count"]) == 0 and float(twice["sign_sum"]) == 0.0


def test_gradient_penalties_see_the_augmented_batches(monkeypatch):
  config = augmented("diffaugment")
  config.regularizers.r1.weight = 1.0
  game, state, batches = make(config)
  batch = batches(0)
  monkeypatch.setattr(GANGame, "_augment", lambda self, x, key, p, axis_name: 0.5 - x)  # deterministic
  _, metrics = jax.jit(game.train_step)(state, batch)

  @jax.jit
  def r1(real):
    d_fn = lambda x, labels: game._discriminate(state.d_params, state.d_collections, x, labels)[0]  # noqa: E731
    return regularizers.r1(regularizers.PenaltyInputs(d_fn=d_fn, real=real, real_y=batch["label"][0],
                                                      fake=None, fake_y=None, noise=None), None)
  real = batch["x"][0]
  np.testing.assert_allclose(metrics["d_penalty_r1"], r1(0.5 - real), rtol=1e-5)
  assert abs(float(metrics["d_penalty_r1"]) - float(r1(real))) > 1e-3


@pytest.mark.parametrize("transforms,flips", [("xflip", True), ("int_translation", False)])
def test_consistency_transform_is_the_configured_one(transforms, flips):
  """T of CR/bCR applies `regularizers.consistency.transforms`: an x-flip mirrors about half of the
  examples and leaves the rest untouched; a translation alone never mirrors."""
  config = augmented("none")
  config.regularizers.consistency.update(real_weight=1.0, transforms=transforms)
  config.batch_size = 64
  game, _, _ = make(config)
  x = jax.random.normal(jax.random.PRNGKey(0), (64, 8, 8, 1))
  out = np.asarray(jax.jit(lambda x: game._consistency_transform(x, jax.random.PRNGKey(1), None))(x))
  same = np.all(out == np.asarray(x), axis=(1, 2, 3))
  mirrored = np.all(np.abs(out - np.asarray(x)[:, :, ::-1]) < 1e-6, axis=(1, 2, 3))
  if flips:
    assert np.all(same | mirrored) and 16 < mirrored.sum() < 48
  else:
    assert not mirrored.any() and not same.all()


def test_bad_consistency_transform_is_refused():
  from gan import config_validation
  from gan.errors import UserError
  config = augmented("none")
  config.regularizers.consistency.transforms = "xflip,warp"
  with pytest.raises(UserError, match=r"config.regularizers.consistency.transforms='xflip,warp' .*int_translation"):
    config_validation.validate(config)
