"""Runs the one train step on all devices, as `jax.jit` over a data mesh or as `jax.pmap`.

Nothing else in the codebase knows about devices. Both wrappers take and return the same logical
state and take this process's rows of the global batch; they give the same numbers (up to float
reduction order) for any number of devices:

- `"jit"`: the state is replicated and the batch sharded along a 1D mesh axis `"data"` of all devices
  (`NamedSharding`); XLA partitions the global-batch computation and inserts the reductions.
- `"pmap"`: the step runs per device on its slice with `axis_name="batch"`, averaging gradients,
  metrics and batch-norm statistics with `lax.pmean`; the state carries a leading device axis.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

PMAP_AXIS = "batch"


class JitParallel:
  axis_name = None

  def __init__(self, train_step, devices=None):
    devices = np.array(jax.devices() if devices is None else devices)
    self.num_devices = devices.size
    self.mesh = Mesh(devices, ("data",))
    self.replicated = NamedSharding(self.mesh, P())
    self.batch_sharding = NamedSharding(self.mesh, P(None, "data"))  # (n_critic, batch, ...)
    self._step = jax.jit(functools.partial(train_step, axis_name=None),
                         in_shardings=(self.replicated, self.batch_sharding),
                         out_shardings=(self.replicated, self.replicated), donate_argnums=0)

  def put_state(self, state):
    return jax.device_put(state, self.replicated)

  def get_state(self, state):
    """The logical (unreplicated) state, as global jax arrays that orbax can save."""
    return state

  def abstract_state(self, state):
    """Shapes, dtypes and shardings that a checkpoint of `state` is restored into."""
    return jax.tree.map(lambda x: jax.ShapeDtypeStruct(np.shape(x), x.dtype, sharding=self.replicated),
                        state)

  def put_batch(self, batch):
    return {k: jax.make_array_from_process_local_data(self.batch_sharding, v)
            for k, v in batch.items()}

  def step(self, state, batch):
    return self._step(state, batch)


class PmapParallel:
  axis_name = PMAP_AXIS

  def __init__(self, train_step, devices=None):
    self.devices = jax.local_devices() if devices is None else list(devices)
    self.num_devices = len(self.devices)
    self.stacked = NamedSharding(Mesh(np.array(self.devices), (PMAP_AXIS,)), P(PMAP_AXIS))
    self._step = jax.pmap(functools.partial(train_step, axis_name=PMAP_AXIS), axis_name=PMAP_AXIS,
                          devices=self.devices, donate_argnums=0)

  def put_state(self, state):
    """One copy of the state per device, stacked along a leading device axis."""
    return jax.tree.map(
        lambda x: jax.device_put(jnp.stack([jnp.asarray(x)] * self.num_devices), self.stacked), state)

  def get_state(self, state):
    return jax.tree.map(lambda x: x[0], state)

  def abstract_state(self, state):
    device = jax.sharding.SingleDeviceSharding(self.devices[0])
    return jax.tree.map(lambda x: jax.ShapeDtypeStruct(np.shape(x), x.dtype, sharding=device), state)

  def put_batch(self, batch):
    """(n_critic, local_batch, ...) -> (devices, n_critic, local_batch / devices, ...)."""
    def split(v):
      n_critic, b = v.shape[:2]
      if b % self.num_devices:
        raise ValueError(f"per-process batch {b} is not divisible by {self.num_devices} devices")
      v = v.reshape(n_critic, self.num_devices, b // self.num_devices, *v.shape[2:])
      return np.swapaxes(v, 0, 1)
    return {k: split(v) for k, v in batch.items()}

  def step(self, state, batch):
    state, metrics = self._step(state, batch)
    return state, jax.tree.map(lambda m: m[0], metrics)


def make(mode: str, train_step, devices=None):
  """`mode` is `config.parallelism`: "jit" or "pmap"; `devices` defaults to all (jit) / local (pmap)."""
  return {"jit": JitParallel, "pmap": PmapParallel}[mode](train_step, devices)
