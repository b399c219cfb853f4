"""GANState: everything a run needs to continue bit-exactly, in one pytree."""
from __future__ import annotations

from typing import Any

import flax.struct
import jax

PyTree = Any


@flax.struct.dataclass
class GANState:
  """Both players' parameters, optimizer states and model collections, the EMA generator and the RNG.

  `g_collections` / `d_collections` hold non-trainable model state (e.g. `batch_stats`), each player's
  updated only by its own update. `rng` is a raw uint32 PRNG key (`jax.random.PRNGKey`), split once
  per step, so it checkpoints as a plain array. `augment_state` is ADA's adaptive probability `p`
  and its running overfitting estimate (`sign_sum` over `count` D updates; gan/steps.py).
  """
  step: jax.Array
  g_params: PyTree
  d_params: PyTree
  g_opt_state: PyTree
  d_opt_state: PyTree
  ema_params: PyTree
  g_collections: PyTree
  d_collections: PyTree
  rng: jax.Array
  augment_state: PyTree
