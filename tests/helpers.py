"""Small configs and runners shared by the tests."""
import jax
import ml_collections
import numpy as np

from experiments import digits_dcgan, ring8
from gan import train


def sgd(config, lr=0.05):
  """Plain SGD for equivalence tests: Adam's sign-like first steps amplify float reduction noise."""
  for player in ("g", "d"):
    config.optim[player].name = "sgd"
    config.optim[player].lr = lr
  return config


def tiny_digits_config(**overrides):
  """DCGAN on digits, small enough to step in milliseconds; BN in both players."""
  config = digits_dcgan.get_config()
  config.batch_size = 8
  config.model.z_dim = 8
  config.model.generator.width = 8
  config.model.discriminator.width = 8
  config.update(overrides)
  return config


def tiny_ring_config(**overrides):
  """ring8's MLPs shrunk, with constant learning rates and EMA from step 0."""
  config = ring8.get_config()
  config.batch_size = 16
  config.ema.start_step = 0
  for player in ("g", "d"):
    config.optim[player].schedule = "constant"
  config.model.generator.hidden = (16, 16)
  config.model.discriminator.hidden = (16, 16)
  config.update(overrides)
  return config


def run_steps(config, num_steps, *, mode="jit", devices=None, cross_replica_bn=True):
  """Trains `num_steps` in-process with `config.parallelism = mode`, built as gan.train builds a run;
  returns (logical final state, list of per-call metric dicts).

  Runs `config.steps_per_call` steps per call, so `num_steps` must be a multiple of it.
  """
  config = ml_collections.ConfigDict(config.to_dict())
  config.parallelism = mode
  run = train.setup(config, devices, cross_replica_bn=cross_replica_bn)
  state = run.par.put_state(run.initial_state(config.seed))
  history = []
  for call in range(num_steps // config.steps_per_call):
    state, metrics = run.par.step(state, run.par.put_batch(run.batches(call)))
    history.append(jax.device_get(metrics))  # blocks: keeps one step in flight, as the training loop does
  return jax.device_get(run.par.get_state(state)), history


def assert_trees_close(a, b, rtol=1e-4, atol=1e-5):
  jax.tree.map(lambda x, y: np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol),
               a, b)
