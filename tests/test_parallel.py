"""The same seed and global batch give the same numbers on 1, 2 and 4 devices, under jit and pmap."""
import jax
import numpy as np
import pytest

from gan import losses
from tests.helpers import assert_trees_close, run_steps, sgd, tiny_digits_config, tiny_ring_config


def test_four_fake_devices_are_available():
  assert jax.device_count() == 4


@pytest.fixture(scope="module")
def reference():
  """jit on a single device, n_critic = 2, BN in G and D."""
  return run_steps(sgd(tiny_digits_config(n_critic=2)), 3, mode="jit", devices=jax.devices()[:1])


@pytest.mark.parametrize("mode,num_devices", [("jit", 2), ("jit", 4), ("pmap", 1), ("pmap", 4)])
def test_matches_single_device_jit(reference, mode, num_devices):
  state, history = run_steps(sgd(tiny_digits_config(n_critic=2)), 3, mode=mode,
                             devices=jax.devices()[:num_devices])
  ref_state, ref_history = reference
  for got, want in zip(history, ref_history):
    assert_trees_close(got, want, rtol=2e-4, atol=2e-5)
  assert_trees_close(state.g_params, ref_state.g_params)
  assert_trees_close(state.d_params, ref_state.d_params)
  # Cross-replica batch norm: running statistics equal the single-device (global batch) ones.
  assert_trees_close(state.d_collections, ref_state.d_collections)
  assert_trees_close(state.g_collections, ref_state.g_collections)
  assert int(state.step) == 3


def test_per_device_batch_norm_would_differ(reference):
  """Guards the test above: without cross-replica statistics, 4 devices do not match 1."""
  state, _ = run_steps(sgd(tiny_digits_config(n_critic=2)), 3, mode="pmap", devices=jax.devices()[:4],
                       cross_replica_bn=False)
  ref_state, _ = reference
  diff = max(float(np.abs(a - b).max()) for a, b in zip(jax.tree.leaves(state.d_params),
                                                         jax.tree.leaves(ref_state.d_params)))
  assert diff > 1e-3


def test_mlp_jit_equals_pmap_on_four_devices():
  _, jit_history = run_steps(tiny_ring_config(), 3, mode="jit", devices=jax.devices()[:4])
  _, pmap_history = run_steps(tiny_ring_config(), 3, mode="pmap", devices=jax.devices()[:4])
  for got, want in zip(pmap_history, jit_history):
    assert_trees_close(got, want)


@pytest.mark.parametrize("loss", sorted(losses.G_USES_REAL_LOGITS))
def test_relativistic_losses_match_single_device_jit(loss):
  """RaGAN's E[D(real)] and E[D(fake)] are the global batch's: the losses are nonlinear in them, so
  means over each device's slice would make pmap differ from jit on one device (jit on several devices
  computes on the global batch by construction)."""
  ref_state, ref_history = run_steps(sgd(tiny_ring_config(loss=loss)), 3, mode="jit",
                                     devices=jax.devices()[:1])
  for num_devices in (2, 4):
    state, history = run_steps(sgd(tiny_ring_config(loss=loss)), 3, mode="pmap",
                               devices=jax.devices()[:num_devices])
    for got, want in zip(history, ref_history):
      assert_trees_close(got, want, rtol=2e-4, atol=2e-5)
    assert_trees_close(state.g_params, ref_state.g_params)
    assert_trees_close(state.d_params, ref_state.d_params)
