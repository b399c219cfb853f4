"""What every player update of every GAN family repeats, written once.

A train step is written once for `jax.jit` (`axis_name=None`: the step sees the global batch) and for
`jax.pmap` (`axis_name` set: the step sees its device's rows of the global batch). These helpers keep
everything a step draws or averages independent of the number of devices:

- randomness is drawn for the whole global batch and sliced (`local_rows`), or per example from the
  example's index in the global batch (`example_ids`, `example_keys`; Flax modules fold the same
  index into their own key: gan/models/layers.py `example_keys`);
- gradients are averaged over the devices before the optimizer sees them (`apply_gradients`), and a
  computation that needs the whole batch in order (CycleGAN's history pool) gathers it
  (`gather_batch`);
- mixed precision: float leaves cast to the compute dtype for the forward and backward passes
  (`to_compute`), model collections kept in their stored dtypes (`same_dtypes`).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from jax import lax

from gan.state import PlayerState


def local_rows(array, local_batch: int, axis_name: str | None):
  """This device's rows of an array drawn for the whole global batch (all of it under jit)."""
  if axis_name is None:
    return array
  return lax.dynamic_slice_in_dim(array, lax.axis_index(axis_name) * local_batch, local_batch)


def example_ids(global_batch: int, local_batch: int, axis_name: str | None):
  """int32 (local_batch,): the index in the global batch of each of this device's examples."""
  return local_rows(jnp.arange(global_batch, dtype=jnp.int32), local_batch, axis_name)


def example_keys(key, global_batch: int, local_batch: int, axis_name: str | None):
  """One key per example of the global batch (`fold_in` of its index), this device's rows."""
  keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(global_batch))
  return local_rows(keys, local_batch, axis_name)


def sample_latents(key, num: int, z_dim: int, num_classes: int | None):
  """Normal noise (num, z_dim) and, for labelled data (`num_classes`), uniform class labels (num,);
  zeros otherwise."""
  z_key, y_key = jax.random.split(key)
  z = jax.random.normal(z_key, (num, z_dim))
  y = jax.random.randint(y_key, (num,), 0, num_classes) if num_classes else jnp.zeros((num,), jnp.int32)
  return z, y


def gather_batch(array, axis_name: str | None):
  """The global batch, in global order, of an array of which each device holds its rows."""
  if axis_name is None:
    return array
  return lax.all_gather(array, axis_name, tiled=True)


def to_compute(tree, dtype):
  """Mixed precision (Micikevicius et al. 2018): float leaves cast to `dtype` for the forward and
  backward passes; the casts' gradients come back in the leaves' own (float32) dtype."""
  if dtype == jnp.float32:
    return tree
  return jax.tree.map(lambda a: a.astype(dtype) if jnp.issubdtype(a.dtype, jnp.floating) else a, tree)


def same_dtypes(new, old):
  """`new` model collections (batch statistics, spectral-norm vectors) in `old`'s dtypes."""
  return {k: jax.tree.map(lambda n, o: n.astype(o.dtype), v, old[k]) if k in old else v
          for k, v in new.items()}


def average_over_devices(tree, axis_name: str | None):
  """`tree` averaged over the devices (pmap); itself under jit, where it is already global."""
  return tree if axis_name is None else lax.pmean(tree, axis_name)


def apply_gradients(optimizer: optax.GradientTransformation, params, opt_state, grads,
                    axis_name: str | None):
  """One optimizer step on gradients averaged over the devices: `(params, opt_state, grads)`, the
  gradients as the optimizer saw them (for their norm)."""
  grads = average_over_devices(grads, axis_name)
  updates, opt_state = optimizer.update(grads, opt_state, params)
  return optax.apply_updates(params, updates), opt_state, grads


def init_player(optimizer: optax.GradientTransformation, variables: dict) -> PlayerState:
  """A player from a Flax module's initial `variables`: its params, their optimizer state and the
  module's other collections (batch statistics, ...)."""
  params = variables["params"]
  return PlayerState(params=params, opt_state=optimizer.init(params),
                     collections={k: v for k, v in variables.items() if k != "params"})


def update_player(player: PlayerState, optimizer: optax.GradientTransformation, grads, collections,
                  axis_name: str | None) -> tuple[PlayerState, jax.Array]:
  """`player` after one optimizer step on `grads` (averaged over devices), with its model
  `collections` as its own forward pass left them; and the gradients' global norm."""
  params, opt_state, grads = apply_gradients(optimizer, player.params, player.opt_state, grads, axis_name)
  return PlayerState(params=params, opt_state=opt_state, collections=collections), optax.tree.norm(grads)


def apply_module(module, params, collections, *args, train: bool, compute_dtype=jnp.float32, rngs=None,
                 **kwargs):
  """`(output in float32, collections)` of a Flax module whose float32 `params` and float inputs are
  cast to `compute_dtype`; in train mode the module's collections (batch statistics) come back
  updated, otherwise unchanged."""
  variables = {"params": to_compute(params, compute_dtype), **collections}
  args = to_compute(args, compute_dtype)
  if train and collections:
    out, new = module.apply(variables, *args, train=True, mutable=list(collections), rngs=rngs, **kwargs)
    return out.astype(jnp.float32), {**collections, **same_dtypes(new, collections)}
  return module.apply(variables, *args, train=train, rngs=rngs, **kwargs).astype(jnp.float32), collections
