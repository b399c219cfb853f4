import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan import losses

R = jnp.array([2.0, -1.0])
F = jnp.array([0.5, -3.0])


def sig(x):
  return 1 / (1 + math.exp(-x))


def mean(xs):
  return sum(xs) / len(xs)


HAND = {  # (D loss, G loss) written out from the definitions with Python floats
    "minimax": (mean([-math.log(sig(r)) for r in (2, -1)]) + mean([-math.log(1 - sig(f)) for f in (0.5, -3)]),
                mean([math.log(1 - sig(f)) for f in (0.5, -3)])),
    "non_saturating": (mean([-math.log(sig(r)) for r in (2, -1)]) + mean([-math.log(1 - sig(f)) for f in (0.5, -3)]),
                       mean([-math.log(sig(f)) for f in (0.5, -3)])),
    "wasserstein": (mean([0.5, -3]) - mean([2, -1]), -mean([0.5, -3])),
    "hinge": (mean([max(0, 1 - 2), max(0, 1 + 1)]) + mean([max(0, 1 + 0.5), max(0, 1 - 3)]), -mean([0.5, -3])),
    "least_squares": (0.5 * mean([(2 - 1) ** 2, (-1 - 1) ** 2]) + 0.5 * mean([0.25, 9]),
                      0.5 * mean([(0.5 - 1) ** 2, (-3 - 1) ** 2])),
}
# Relativistic average: r~ = r - mean(f) = (3.25, 0.25), f~ = f - mean(r) = (0, -3.5).
RT, FT = (3.25, 0.25), (0.0, -3.5)
HAND.update({
    "ra_sgan": (mean([-math.log(sig(r)) for r in RT]) + mean([-math.log(1 - sig(f)) for f in FT]),
                mean([-math.log(sig(f)) for f in FT]) + mean([-math.log(1 - sig(r)) for r in RT])),
    "ra_hinge": (mean([0, 0.75]) + mean([1, 0]), mean([1, 4.5]) + mean([4.25, 1.25])),
    "ra_lsgan": (mean([2.25 ** 2, 0.75 ** 2]) + mean([1, 2.5 ** 2]),
                 mean([1, 4.5 ** 2]) + mean([4.25 ** 2, 1.25 ** 2])),
})


@pytest.mark.parametrize("name", sorted(HAND))
def test_values_match_hand_computation(name):
  d_fn, g_fn = losses.get(name)
  d_expected, g_expected = HAND[name]
  np.testing.assert_allclose(float(d_fn(R, F)), d_expected, rtol=1e-6)
  np.testing.assert_allclose(float(g_fn(R, F)), g_expected, rtol=1e-6)
  if name not in losses.G_USES_REAL_LOGITS:  # the others must not need D's real logits
    np.testing.assert_allclose(float(g_fn(None, F)), g_expected, rtol=1e-6)


@pytest.mark.parametrize("name", sorted(HAND))
def test_each_device_computes_the_global_batch_loss(name):
  """Under pmap with `axis_name` every E[.] is over the global batch: one example per device gives the
  hand values of the two-example batch (the RaGAN losses are nonlinear in E[D(real)] and E[D(fake)])."""
  d_fn, g_fn = losses.get(name)

  def both(real, fake):
    return d_fn(real, fake, axis_name="batch"), g_fn(real, fake, axis_name="batch")
  d_values, g_values = jax.pmap(both, axis_name="batch", devices=jax.devices()[:2])(R[:, None], F[:, None])
  np.testing.assert_allclose(np.asarray(d_values), [HAND[name][0]] * 2, rtol=1e-6)
  np.testing.assert_allclose(np.asarray(g_values), [HAND[name][1]] * 2, rtol=1e-6)


@pytest.mark.parametrize("name", sorted(HAND))
def test_finite_values_and_gradients_at_extreme_logits(name):
  d_fn, g_fn = losses.get(name)
  r = jnp.array([1e4, -1e4, 80.0, -80.0])
  f = jnp.array([-1e4, 1e4, -80.0, 80.0])
  for value, grads in ((d_fn(r, f), jax.grad(d_fn, argnums=(0, 1))(r, f)),
                       (g_fn(r, f), jax.grad(g_fn, argnums=1)(r, f))):
    assert np.isfinite(float(value))
    assert all(np.all(np.isfinite(g)) for g in jax.tree.leaves(grads))


def test_saturating_losses_are_linear_not_infinite_for_confident_wrong_d():
  # D is confidently wrong: real logit -1e4, fake logit +1e4. -log σ(-1e4) = 1e4 exactly in the limit.
  d_fn, g_fn = losses.get("non_saturating")
  np.testing.assert_allclose(float(d_fn(jnp.array([-1e4]), jnp.array([1e4]))), 2e4, rtol=1e-6)
  np.testing.assert_allclose(float(g_fn(None, jnp.array([-1e4]))), 1e4, rtol=1e-6)
  # minimax G at f = +1e4: log(1 - σ(f)) = -1e4, not -inf.
  np.testing.assert_allclose(float(losses.get("minimax")[1](None, jnp.array([1e4]))), -1e4, rtol=1e-6)


def test_unknown_name_lists_choices():
  with pytest.raises(ValueError, match="hinge"):
    losses.get("foo")
