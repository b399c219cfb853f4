"""Train states: everything a run needs to continue bit-exactly, in one pytree.

`GANState` is the image family's (one generator, one discriminator, EMA, ADA). Families built from
named players (gan/families/) use `TrainState`: a `PlayerState` per player name, plus what the family
keeps besides (CycleGAN's history pools, ...).
"""
from __future__ import annotations

import dataclasses
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


@flax.struct.dataclass
class PlayerState:
  """One player: its parameters, their optimizer state, and its module's other collections
  (`batch_stats`, ...), which only the player's own update changes. A player may hold several
  networks trained by one optimizer (CycleGAN's two generators: params `{"AtoB": ..., "BtoA": ...}`)."""
  params: PyTree
  opt_state: PyTree
  collections: PyTree


@flax.struct.dataclass
class TrainState:
  """A family's state: step count, its players by name, the RNG (a raw uint32 key split once per
  step) and `extras`, the family's own state (a dict; empty when it has none)."""
  step: jax.Array
  players: dict[str, PlayerState]
  rng: jax.Array
  extras: dict


def named_parts(state) -> dict[str, PyTree]:
  """The state's parts by name, for messages about them (gan/parallel.py, non-finite values): a
  `GANState`'s fields; a `TrainState`'s `step`, `rng`, `<player>.params` / `.opt_state` /
  `.collections` of each player and `extras.<name>`."""
  if isinstance(state, TrainState):
    parts = {"step": state.step, "rng": state.rng}
    for name, player in state.players.items():
      parts.update({f"{name}.{field.name}": getattr(player, field.name) for field in dataclasses.fields(player)})
    return {**parts, **{f"extras.{name}": value for name, value in state.extras.items()}}
  return {field.name: getattr(state, field.name) for field in dataclasses.fields(state)}
