"""Drawing samples from a generator, in the training loop's evaluation and from saved runs."""
from __future__ import annotations

import functools

import jax
import ml_collections
import numpy as np

from gan import checkpointing, families
from gan.errors import UserError


@functools.lru_cache(maxsize=8)
def _jitted_generate(game):
  return jax.jit(functools.partial(game.generate, train=False))


def generate(game, g_params, g_collections, num: int, seed: int, *, chunk: int = 1000,
             label: int | None = None) -> np.ndarray:
  """`num` samples (float32, data space) for the noise drawn from `jax.random.PRNGKey(seed)`.

  All `num` latents are drawn at once from that key, then generated `chunk` at a time (G runs in eval
  mode, so a sample does not depend on the others), so the same seed always gives the same samples.
  `label`: every sample of that class (class-conditional generators); None: classes drawn uniformly.
  """
  z, y = game.sample_latents(jax.random.PRNGKey(seed), num)
  if label is not None:
    if not is_conditional(game):
      raise UserError(f"--label={label}: this run's generator is not class-conditional")
    if not 0 <= label < game.num_classes:
      raise UserError(f"--label={label} is not a class of this run: expected 0..{game.num_classes - 1}")
    y = np.full_like(y, label)
  fn = _jitted_generate(game)
  parts = [np.asarray(fn(g_params, g_collections, z[i:i + chunk], y[i:i + chunk]))
           for i in range(0, num, chunk)]
  return np.concatenate(parts).astype(np.float32)


def is_conditional(game) -> bool:
  """Whether G reads the labels: the game's `conditional` where it says, else whether
  model.generator.conditioning is not "none"."""
  if hasattr(game, "conditional"):
    return game.conditional
  return getattr(game.generator, "conditioning", "none") != "none"


def sampling_params(config, state):
  """The EMA generator when the config has EMA, else the raw generator."""
  return state.ema_params if config.ema.decay > 0 else state.g_params


def generator_name(config) -> str:
  """"ema" or "raw": the generator `sampling_params` picks (recorded in evaluation protocols)."""
  return "ema" if config.ema.decay > 0 else "raw"


def load_run(workdir: str, step: int | None = None, *, best: bool = False):
  """`(config, meta, game, state)` of a saved run's checkpoint (default: the latest), on one device, for
  any family (gan/families/): `game` is the family's, rebuilt from the config and `meta`.

  `best=True` reads WORKDIR/best/ (the checkpoint with the best primary metric) instead of
  WORKDIR/checkpoints/.
  """
  ckpt = checkpointing.Checkpointer(workdir, every_steps=1, max_to_keep=1_000_000,
                                    subdir="best" if best else "checkpoints", create=False)
  if ckpt.latest_step() is None:
    raise UserError(f"no checkpoint found in {ckpt.directory} (is --workdir the directory of a run?)")
  if step is not None and step not in ckpt.manager.all_steps():
    raise UserError(f"--checkpoint_step={step} not found in {ckpt.directory}; "
                    f"saved steps: {sorted(ckpt.manager.all_steps())}")
  config_dict, meta = ckpt.read_config(step)
  config = ml_collections.ConfigDict(config_dict)
  family = families.get(config)
  game = family.game(config, meta)
  template = family.abstract_state(config, game, meta)
  # Restore onto this process's first device, whatever device layout the run was saved from.
  device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
  template = jax.tree.map(lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=device), template)
  state, _, _ = ckpt.restore(template, step)
  ckpt.close()
  return config, meta, game, state
