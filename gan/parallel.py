"""Runs the one train step on all devices, as `jax.jit` over a data mesh or as `jax.pmap`.

Nothing else in the codebase knows about devices. Both wrappers take and return the same logical
state and take this process's rows of the global batch; they give the same numbers (up to float
reduction order) for any number of devices:

- `"jit"`: the state is replicated and the batch sharded along a 1D mesh axis `"data"` of all devices
  (`NamedSharding`); XLA partitions the global-batch computation and inserts the reductions.
- `"pmap"`: the step runs per device on its slice with `axis_name="batch"`, averaging gradients,
  metrics, batch-norm statistics and the losses' batch means with `lax.pmean`; the state carries a
  leading device axis.

One call runs `steps_per_call` train steps (`lax.scan` over them when > 1), so dispatch and host
syncs are paid once per call; a call's batch is `(steps_per_call, n_critic, local_batch, ...)` and its
metrics are those of its last step, plus `first_nonfinite`: where a NaN or Inf first appeared in any
step's metrics or state, or -1 (`repeat_step`). The state is donated to the call. `compile` compiles
the call once for the given shapes (returning XLA's FLOP count; the first `step` does it if nobody
did), with `compiler_options(devices)`; after it, `step` runs that executable and can never silently
recompile.
"""
from __future__ import annotations

import functools
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from gan.state import named_parts

PMAP_AXIS = "batch"
NONFINITE = "first_nonfinite"  # the metrics key of a call's NaN/Inf report (`repeat_step`)
BATCH_AXIS = 2  # of a call's batch arrays: (steps_per_call, n_critic, batch, ...)

# XLA:CPU options for the train call, measured on bench_dcgan32 (2-core Sapphire Rapids, jaxlib 0.10.2;
# README, Performance). jaxlib 0.10's XLA:CPU can hand dots, elementwise ops and reductions to YNNPACK;
# giving it the reductions only (batch-norm statistics, bias and batch-norm gradients) and leaving dots
# and convolutions to XLA's own kernels runs conv GANs fastest: 657 ms/step against 851 ms with XLA's
# defaults, the two executables timed in alternation in one process (separate runs: 0.81 s with no
# YNNPACK fusion, 0.65 s with dots and reductions, 0.70 s with elementwise ops and reductions; sngan
# digits 67 vs 117 ms). The numbers are the defaults' up to float summation order.
CPU_COMPILER_OPTIONS = {"xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_REDUCE"}


def compiler_options(devices) -> dict:
  """XLA options the train call is compiled with: CPU_COMPILER_OPTIONS on CPU devices, except those
  the user's XLA_FLAGS sets (which then win); none on accelerators."""
  if devices[0].platform != "cpu":
    return {}
  user_flags = os.environ.get("XLA_FLAGS", "")
  return {name: value for name, value in CPU_COMPILER_OPTIONS.items() if f"--{name}=" not in user_flags}


def checked_quantities(metric_names, state) -> list[str]:
  """What each step checks for NaN and Inf, in this order: the step's metrics (losses, gradient norms;
  sorted by name) and every part of the state that holds floats (parameters, optimizer states, ...;
  gan/state.py `named_parts`)."""
  def has_floats(part):
    return any(jnp.issubdtype(x.dtype, jnp.floating) for x in jax.tree.leaves(part))
  return sorted(metric_names) + [name for name, part in named_parts(state).items() if has_floats(part)]


def _finite_flags(metrics, state) -> jax.Array:
  """(len(checked_quantities),) booleans: whether each checked quantity is all finite after a step."""
  flags = [jnp.all(jnp.isfinite(metrics[name])) for name in sorted(metrics)]
  for part in named_parts(state).values():
    leaves = [x for x in jax.tree.leaves(part) if jnp.issubdtype(x.dtype, jnp.floating)]
    if leaves:
      flags.append(jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves])))
  return jnp.stack(flags)


def first_nonfinite(value, metric_names, state, *, last_step: int, steps_per_call: int) -> tuple[int, str] | None:
  """Decodes a call's `metrics[NONFINITE]`: None when every step was finite, else (the train step that
  first produced a NaN or Inf, counted from 1 as `state.step` after it; the quantity, as named by
  `checked_quantities`). `last_step` is the step count after the call."""
  index = int(value)
  if index < 0:
    return None
  names = checked_quantities(metric_names, state)
  offset, quantity = divmod(index, len(names))
  return last_step - steps_per_call + offset + 1, names[quantity]


def repeat_step(train_step, steps_per_call: int):
  """`steps_per_call` consecutive train steps as one function of (state, stacked batches).

  Besides the last step's metrics the call reports `metrics[NONFINITE]`: -1 when every step's metrics
  and state were finite, else the position of the first NaN or Inf in (step of the call, quantity of
  `checked_quantities`), row-major, decoded by `first_nonfinite`. Computed on the device, it costs the
  host nothing until it reads the call's metrics, which the loop does anyway."""
  def checked_step(state, batch, axis_name):
    state, metrics = train_step(state, batch, axis_name=axis_name)
    return state, (metrics, _finite_flags(metrics, state))

  def train_call(state, batches, *, axis_name=None):
    step = functools.partial(checked_step, axis_name=axis_name)
    if steps_per_call == 1:
      state, (metrics, flags) = step(state, jax.tree.map(lambda b: b[0], batches))
      flags = flags[None]
    else:
      state, (metrics, flags) = lax.scan(step, state, batches)
      metrics = jax.tree.map(lambda m: m[-1], metrics)
    bad = ~flags.reshape(-1)
    return state, {**metrics, NONFINITE: jnp.where(jnp.any(bad), jnp.argmax(bad), -1).astype(jnp.float32)}
  return train_call


class _Parallel:
  """What both wrappers share: AOT compilation of the call (with `compiler_options`) and its FLOPs."""
  _compiled = None

  def compile(self, state, batch) -> dict:
    """Compiles the call for these (placed) arguments; `step` then runs that executable.

    Returns {"compile_s": seconds to lower and compile, "flops": XLA's FLOP estimate of one call over
    all devices, or None where the backend gives none}. The FLOPs are counted on the lowered program,
    before backend optimization: the compiled GPU program hands convolutions to cuDNN as custom calls,
    which XLA's cost analysis counts as 0 FLOPs (StyleGAN2 :cifar10 on an H200: 0.6 GFLOP per image
    against 138 on the lowered program). A `lax.cond` counts as its costliest branch (a lazy penalty's
    branch is counted on every step)."""
    start = time.perf_counter()
    lowered = self.lower(state, batch)
    self._compiled = lowered.compile(compiler_options=self.compiler_options)
    seconds = time.perf_counter() - start
    flops = _flops(lowered)
    return {"compile_s": seconds, "flops": None if flops is None else flops * self.programs_per_call}

  def lower(self, state, batch):
    """The call traced and lowered for arguments as `step` takes them (or their `jax.ShapeDtypeStruct`s),
    not compiled: a cheap check that a config builds a valid step."""
    return self._step.lower(state, batch)

  def step(self, state, batch):
    if self._compiled is None:
      self.compile(state, batch)
    return self._compiled(state, batch)


def _flops(lowered) -> float | None:
  """FLOPs of one run of `lowered` from XLA's cost analysis (a dict, or a list with one per device)."""
  try:
    analysis = lowered.cost_analysis()
  except Exception:  # pylint: disable=broad-except  (not implemented on some backends)
    return None
  if isinstance(analysis, (list, tuple)):
    analysis = analysis[0] if analysis else None
  flops = (analysis or {}).get("flops")
  return float(flops) if flops is not None and flops >= 0 else None


class JitParallel(_Parallel):
  axis_name = None
  programs_per_call = 1  # XLA's cost analysis of the partitioned program counts the whole call

  def __init__(self, train_step, devices=None, steps_per_call: int = 1):
    devices = np.array(jax.devices() if devices is None else devices)
    self.num_devices = devices.size
    self.compiler_options = compiler_options(list(devices.flat))
    self.mesh = Mesh(devices, ("data",))
    self.replicated = NamedSharding(self.mesh, P())
    self.batch_sharding = NamedSharding(self.mesh, P(*[None] * BATCH_AXIS, "data"))
    self._step = jax.jit(functools.partial(repeat_step(train_step, steps_per_call), axis_name=None),
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


class PmapParallel(_Parallel):
  axis_name = PMAP_AXIS

  @property
  def programs_per_call(self):  # the cost analysis counts one device's program
    return self.num_devices

  def __init__(self, train_step, devices=None, steps_per_call: int = 1):
    # pmap maps over the devices of every process (its collectives span hosts); its arguments are global
    # arrays with one row per device, each process holding the rows of its own devices.
    all_devices = jax.devices() if devices is None else list(devices)
    self.devices = [d for d in all_devices if d.process_index == jax.process_index()]
    self.num_devices = len(self.devices)
    self.num_global_devices = len(all_devices)
    self.compiler_options = compiler_options(self.devices)
    mesh = Mesh(np.array(all_devices), (PMAP_AXIS,))
    self.stacked = NamedSharding(mesh, P(PMAP_AXIS))
    self.replicated = NamedSharding(mesh, P())
    self._step = jax.pmap(functools.partial(repeat_step(train_step, steps_per_call), axis_name=PMAP_AXIS),
                          axis_name=PMAP_AXIS, devices=all_devices, donate_argnums=0)

  def put_state(self, state):
    """One copy of the state per device, stacked along a leading device axis."""
    def stack(x):
      x = x.addressable_data(0) if isinstance(x, jax.Array) else jnp.asarray(x)
      copies = [jax.device_put(x[None], d) for d in self.devices]
      return jax.make_array_from_single_device_arrays((self.num_global_devices, *x.shape), self.stacked, copies)
    return jax.tree.map(stack, state)

  def get_state(self, state):
    """The logical state as global arrays replicated over every device (what orbax saves), built from
    the local devices' copies without a trip through the host."""
    def unstack(x):
      return jax.make_array_from_single_device_arrays(
          x.shape[1:], self.replicated, [s.data[0] for s in x.addressable_shards])
    return jax.tree.map(unstack, state)

  def abstract_state(self, state):
    return jax.tree.map(lambda x: jax.ShapeDtypeStruct(np.shape(x), x.dtype, sharding=self.replicated), state)

  def put_batch(self, batch):
    """(steps, n_critic, local_batch, ...) -> global (devices, steps, n_critic, batch / devices, ...)
    arrays, this process's rows from its local batch."""
    def split(v):
      b = v.shape[BATCH_AXIS]
      if b % self.num_devices:
        raise ValueError(f"per-process batch {b} is not divisible by {self.num_devices} devices")
      v = v.reshape(*v.shape[:BATCH_AXIS], self.num_devices, b // self.num_devices, *v.shape[BATCH_AXIS + 1:])
      return jax.make_array_from_process_local_data(self.stacked, np.moveaxis(v, BATCH_AXIS, 0))
    return {k: split(v) for k, v in batch.items()}

  def step(self, state, batch):
    state, metrics = super().step(state, batch)
    return state, jax.tree.map(lambda m: m.addressable_data(0)[0], metrics)


def make(mode: str, train_step, devices=None, steps_per_call: int = 1):
  """`mode` is `config.parallelism`: "jit" or "pmap"; `devices` defaults to all (jit) / local (pmap)."""
  return {"jit": JitParallel, "pmap": PmapParallel}[mode](train_step, devices, steps_per_call)
