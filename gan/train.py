"""The training loop: build everything from the config, restore, step, log, evaluate, save.

Rerunning with the same workdir resumes from the latest checkpoint and continues bit-exactly: the
state holds the RNG and the input is a function of (seed, step).
"""
from __future__ import annotations

import dataclasses
import os
import signal
from typing import Any, Callable

import jax
import ml_collections
import numpy as np
from absl import logging

from gan import checkpointing, config_validation, evaluation, families, parallel, rollback
from gan.data import Prefetcher
from gan.errors import UserError
from gan.families.base import Family, first_update, real_batches  # noqa: F401  (the host batch layout)
from gan.metric_logging import MetricLogger
from gan.workdir_lock import WorkdirLock

# Keys that may change between a run and its resumption; anything else must match the checkpoint.
RESUMABLE_CHANGES = ("num_train_steps", "log", "eval", "checkpoint", "steps_per_call", "profile_steps",
                     "divergence")
# Keys added to the configs after checkpoints were written without them -> the value that behaves as
# their absence did: such a checkpoint resumes under a config that has the key at that value.
ADDED_KEYS = {"data.path": ""}


class StopSignal:
  """Turns SIGTERM/SIGINT into a flag checked between steps, so the loop can save and exit cleanly."""

  def __init__(self):
    self.received = None
    self._previous = {}

  def __enter__(self):
    for sig in (signal.SIGTERM, signal.SIGINT):
      self._previous[sig] = signal.signal(sig, self._handle)
    return self

  def _handle(self, signum, frame):
    del frame
    self.received = signal.Signals(signum).name

  def __exit__(self, *exc):
    for sig, handler in self._previous.items():
      signal.signal(sig, handler)


class Profiler:
  """Writes a JAX profiler trace (TensorBoard's profile plugin / Perfetto) of train steps
  [first, last) into `directory`: tracing starts before the call that runs step `first` and stops
  after the call that reaches `last`. first == last traces nothing."""

  def __init__(self, directory: str, first: int, last: int, *, enabled: bool = True):
    self.directory, self.first, self.last = directory, first, last
    self.enabled, self.active = enabled and last > first, False

  def before(self, step: int):
    if self.enabled and not self.active and self.first <= step < self.last:
      jax.profiler.start_trace(self.directory)
      self.active = True
      logging.info("Profiling steps %d..%d into %s", step, self.last - 1, self.directory)

  def after(self, step: int, outputs):
    if self.active and step >= self.last:
      self.close(outputs)

  def close(self, outputs=None):
    if self.active:
      jax.block_until_ready(outputs)
      jax.profiler.stop_trace()
      self.active, self.enabled = False, False


def _flatten(d: dict, prefix: str = "") -> dict:
  out = {}
  for k, v in d.items():
    if isinstance(v, dict):
      out.update(_flatten(v, f"{prefix}{k}."))
    else:
      out[f"{prefix}{k}"] = list(v) if isinstance(v, tuple) else v
  return out


def _schedules_over_the_run(flat_config: dict) -> list[str]:
  """The keys of a flattened config whose schedules span the whole run, and so depend on
  `num_train_steps`: a player's learning rate (`optim.*.schedule`, gan/factory.py `learning_rate`) and
  the weight of a penalty that is on (`regularizers.*.schedule`, decayed over num_train_steps * n_critic
  D updates: gan/regularizers.py `gradient_penalties`)."""
  def spans_the_run(key, value):
    if not key.endswith(".schedule") or value in (None, "constant"):
      return False
    section = key.split(".")[0]
    return section == "optim" or (section == "regularizers"
                                  and bool(flat_config.get(key.removesuffix("schedule") + "weight")))
  return sorted(k for k, v in flat_config.items() if spans_the_run(k, v))


def check_resumable(saved: dict, config: dict, directory: str) -> None:
  """Refuses to resume a checkpoint written with a different config (other than RESUMABLE_CHANGES).

  `num_train_steps` may change only while no schedule spans the run (`_schedules_over_the_run`): a
  decaying learning rate or penalty weight is a function of the total number of steps, so changing it
  would change the run's past.
  """
  saved, current = {**ADDED_KEYS, **_flatten(saved)}, {**ADDED_KEYS, **_flatten(config)}
  changed = sorted(k for k in saved.keys() | current.keys()
                   if k.split(".")[0] not in RESUMABLE_CHANGES and saved.get(k) != current.get(k))
  if changed:
    shown = ", ".join(f"{k}: {saved.get(k)!r} -> {current.get(k)!r}" for k in changed[:5])
    raise UserError(f"the checkpoints in {directory} were written with a different config ({shown}); "
                    "use a new --workdir or the same config")
  scheduled = _schedules_over_the_run(current)
  old, new = saved.get("num_train_steps"), current.get("num_train_steps")
  if scheduled and old != new:
    shown = ", ".join(f"{k}={current[k]!r}" for k in scheduled)
    raise UserError(f"num_train_steps: {old!r} -> {new!r} cannot change on resuming the checkpoints in "
                    f"{directory}: schedules over the whole run ({shown}) depend on it, so the steps "
                    "already trained would change; use a new --workdir or the checkpoints' num_train_steps")


class Divergence(UserError):
  """A NaN or Inf in a train step's metrics or state: the run stops before anything non-finite is
  logged, evaluated or saved, so the checkpoints on disk (and WORKDIR/best/) hold only finite states."""

  def __init__(self, step: int, quantity: str, directory: str, last_good: int | None, *, note: str = ""):
    kept = (f"the last checkpoint, {directory}/{last_good}, is finite" if last_good is not None
            else f"no checkpoint was saved in {directory}")
    super().__init__(f"the run diverged: {quantity} is NaN or Inf at step {step}{' ' + note if note else ''}; "
                     f"stopped, {kept}")
    self.step, self.quantity, self.directory, self.last_good = step, quantity, directory, last_good


@dataclasses.dataclass(frozen=True)
class Setup:
  """What a run is built from: its family, data, game, the device wrapper and the host batch of each call."""
  family: Family
  dataset: Any
  game: Any  # the family's game: init(key, batch) and train_step(state, batch, *, axis_name)
  par: Any  # gan.parallel.JitParallel | PmapParallel
  batches: Callable[[int], dict[str, np.ndarray]]  # call index -> host batch (gan/families/base.py)

  def initial_state(self, seed: int):
    return self.family.init_state(self.game, jax.random.PRNGKey(seed), first_update(self.batches(0)))


def setup(config: ml_collections.ConfigDict, devices=None, *, cross_replica_bn: bool = True) -> Setup:
  """Validates `config` and builds the run's dataset, game and device wrapper over `devices` (default:
  all local ones). `cross_replica_bn=False` (pmap only) leaves batch norm's statistics per device, which
  breaks device-count invariance: only tests use it, to show the default matters."""
  num_devices = len(devices) if devices is not None else jax.local_device_count()
  config_validation.validate(config, num_devices=num_devices, process_count=jax.process_count())
  family = families.get(config)
  dataset = family.dataset(config, process_index=jax.process_index(), process_count=jax.process_count())
  axis_name = parallel.PMAP_AXIS if config.parallelism == "pmap" and cross_replica_bn else None
  game = family.game(config, family.meta(dataset), axis_name=axis_name)
  par = parallel.make(config.parallelism, game.train_step, devices, steps_per_call=config.steps_per_call)
  return Setup(family, dataset, game, par, family.batches(config, dataset))


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str):
  """Trains (or resumes) the run in `workdir`; returns the final logical state and eval metrics.

  From the config's validation to its end the run holds the workdir's lock (gan/workdir_lock.py): a
  second run on the same workdir refuses before writing anything. A divergence stops the run, or rolls
  it back to its last good checkpoint with smaller learning rates (`config.divergence`, gan/rollback.py).
  """
  rollbacks = rollback.history(workdir)
  run = setup(rollback.with_lr_scale(config, rollback.lr_scale(rollbacks)))
  with WorkdirLock(workdir, enabled=jax.process_index() == 0):
    while True:
      try:
        return _train(run, config, workdir, lr_scale=rollback.lr_scale(rollbacks))
      except Divergence as diverged:
        rollbacks = _roll_back(config, workdir, rollbacks, diverged)
        run = setup(rollback.with_lr_scale(config, rollback.lr_scale(rollbacks)))


def _roll_back(config, workdir: str, rollbacks: list[dict], diverged: Divergence) -> list[dict]:
  """The rollbacks with `diverged`'s added (recorded in the workdir by process 0), or `diverged` raised
  again when the config's policy is to stop or its `max_rollbacks` are spent."""
  policy = rollback.policy(config)
  if policy.action != "rollback":
    raise diverged
  if len(rollbacks) >= policy.max_rollbacks:
    raise Divergence(diverged.step, diverged.quantity, diverged.directory, diverged.last_good,
                     note=f"after {len(rollbacks)} rollbacks (divergence.max_rollbacks={policy.max_rollbacks})")
  entry = {"diverged_at": diverged.step, "quantity": diverged.quantity, "from_step": diverged.last_good or 0,
           "lr_scale": rollback.lr_scale(rollbacks) * policy.lr_factor}
  logging.warning("%s is NaN or Inf at step %d: rolling back to step %d with the learning rates scaled by %g "
                  "(rollback %d of at most %d)", entry["quantity"], entry["diverged_at"], entry["from_step"],
                  entry["lr_scale"], len(rollbacks) + 1, policy.max_rollbacks)
  if jax.process_index() == 0:
    rollback.record(workdir, [*rollbacks, entry])
  return [*rollbacks, entry]


def _train(run: Setup, config: ml_collections.ConfigDict, workdir: str, *, lr_scale: float = 1.0):
  """The run from its newest good checkpoint to num_train_steps; `run` is built with the learning rates
  scaled by `lr_scale` (logged as train/lr_scale when not 1), `config` is the run's own."""
  par, k = run.par, config.steps_per_call
  config_dict = config.to_dict()
  meta = run.family.meta(run.dataset)

  # Resume from the newest checkpoint that restores; newer damaged ones are set aside (gan/checkpointing.py).
  # Nothing is written to the workdir before the checks below pass.
  initial = run.initial_state(config.seed)
  abstract = par.abstract_state(initial)
  reader = checkpointing.Checkpointer(workdir, every_steps=1, max_to_keep=config.checkpoint.max_to_keep,
                                      create=False)

  def check(saved_config, step):
    check_resumable(saved_config, config_dict, reader.directory)
    if step % k:
      raise UserError(f"the latest good checkpoint in {reader.directory} is at step {step}, which "
                      f"steps_per_call={k} does not divide; resume with a steps_per_call that divides it")

  try:
    start, restored, damaged = reader.restore_newest(abstract, check)
    if start is None and damaged:
      shown = "; ".join(f"step {s}: {error}" for s, error in damaged)
      raise UserError(f"no checkpoint in {reader.directory} can be restored ({shown}); they are left as they "
                      "are: move the directory away to start afresh")
    reader.set_aside(damaged)
  finally:
    reader.close()
  ckpt = checkpointing.Checkpointer(workdir, every_steps=config.checkpoint.every_steps,
                                    max_to_keep=config.checkpoint.max_to_keep)
  if start is not None:
    logging.info("Resuming from %s/%d", ckpt.directory, start)
    state = par.put_state(restored[0])
  else:
    start = 0
    state = par.put_state(initial)

  is_main = jax.process_index() == 0
  logger = MetricLogger(workdir, total_steps=config.num_train_steps, start_step=start, enabled=is_main)
  evaluator = run.family.evaluator(config, run.game, run.dataset, workdir)
  best = checkpointing.BestCheckpointer(workdir, *evaluator.primary, abstract) if evaluator.primary else None
  prefetcher = Prefetcher(lambda c: par.put_batch(run.batches(c)), start=start // k)
  profiler = Profiler(os.path.join(workdir, "profile"), *config.profile_steps, enabled=is_main)
  eval_metrics, previous, step, compiled = {}, None, start, False

  def stop_if_nonfinite(metrics, last_step):
    """Raises Divergence if the call that ended at `last_step` produced a NaN or Inf (gan/parallel.py
    `repeat_step`); reading its report waits for that call, so it runs only where the loop waits anyway."""
    names = [name for name in metrics if name != parallel.NONFINITE]
    found = parallel.first_nonfinite(jax.device_get(metrics[parallel.NONFINITE]), names, state,
                                     last_step=last_step, steps_per_call=k)
    if found is not None:
      raise Divergence(*found, ckpt.directory, ckpt.latest_step())

  def evaluate(step, state):
    # This process's copy of the (replicated) state, so evaluation also works on multi-host runs.
    logical = jax.tree.map(lambda x: x.addressable_data(0), par.get_state(state))
    result = evaluator.evaluate_state(step, logical, write_files=is_main)
    logger.write(step, {f"eval/{k}": v for k, v in result.metrics.items()})
    if is_main:
      evaluation.record_protocol(workdir, result.protocol)
    if best is not None and best.update(step, result.metrics, par.get_state(state), config_dict, meta):
      logging.info("new best %s=%.6g: saved to %s", best.metric, best.value, best.ckpt.directory)
    logging.info("eval step %d: %s", step, result.metrics)
    return result.metrics

  with StopSignal() as stop:
    try:
      while step < config.num_train_steps and stop.received is None:
        batch = prefetcher.get(step // k)
        if not compiled:  # once: later calls run this executable and cannot recompile
          cost = par.compile(state, batch)
          flops = "" if cost["flops"] is None else f"; XLA: {cost['flops'] / k / 1e9:.3g} GFLOP per step"
          logging.info("Compiled the train step (%d per call; %s, %d devices, %d process(es)) in %.1f s%s", k,
                       config.parallelism, len(jax.devices()), jax.process_count(), cost["compile_s"], flops)
          compiled = True
        profiler.before(step)
        state, metrics = par.step(state, batch)
        if previous is not None:  # keep at most two calls in flight: wait for the previous one
          stop_if_nonfinite(*previous)
        step += k
        previous = (metrics, step)
        profiler.after(step, metrics)
        logs = step % config.log.every_steps == 0 or step == start + k
        evaluates, saves = step % config.eval.every_steps == 0, ckpt.manager.should_save(step)
        if logs or evaluates or saves:  # these wait for this call anyway: nothing non-finite goes out
          stop_if_nonfinite(*previous)
        if logs:
          scalars = {name: v for name, v in jax.device_get(metrics).items() if name != parallel.NONFINITE}
          if lr_scale != 1.0:
            scalars["lr_scale"] = lr_scale
          logger.write(step, {f"train/{name}": v for name, v in scalars.items()})
          logger.progress(step, scalars)
        if evaluates:
          eval_metrics = evaluate(step, state)
        if saves:
          ckpt.save(step, par.get_state(state), config_dict, meta)
      if previous is not None:
        stop_if_nonfinite(*previous)
      if stop.received:
        logging.warning("Received %s: saving step %d and exiting.", stop.received, step)
      elif step % config.eval.every_steps:
        eval_metrics = evaluate(step, state)
      if ckpt.latest_step() != step:
        ckpt.save(step, par.get_state(state), config_dict, meta, force=True)
    finally:
      profiler.close()
      prefetcher.close()
      ckpt.close()
      if best is not None:
        best.close()
      logger.close()
  if is_main:
    logging.info("Done at step %d. Samples: %s  TensorBoard: tensorboard --logdir=%s  Checkpoints: %s",
                 step, evaluator.samples_dir, workdir, ckpt.directory)
  return par.get_state(state), eval_metrics
