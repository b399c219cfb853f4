"""Checkpoints of the whole GANState plus the run's config and data description, via orbax.

Layout: `WORKDIR/checkpoints/<step>/{state,config,meta}`, and `WORKDIR/best/<step>/` (same layout,
one kept) for the evaluation with the best primary metric (`BestCheckpointer`). Saves are
synchronous (the state's buffers are donated to the next step, so nothing may read them afterwards).

Faults (tests/test_faults.py):
- orbax writes a step into `<step>.orbax-checkpoint-tmp` and renames it on commit: a save cut short
  (kill -9) leaves that directory, which `latest_step()` ignores and the next save of the step replaces.
- A committed step can still be damaged later (files truncated, emptied or garbled). A garbled array file
  can read back without error and with other values, so each save stores the state's SHA-256 in its meta
  (`state_digest`) and `restore` checks it. `restore_newest` falls back to older steps; `set_aside` moves
  the damaged ones out of orbax's way, kept as they are in WORKDIR/damaged/.
- A save that the storage refuses (full disk, quota, read-only or forbidden directory) raises UserError;
  the committed steps are not touched.
"""
from __future__ import annotations

import errno
import hashlib
import math
import os
import re

import jax
import numpy as np
import orbax.checkpoint as ocp
from absl import logging
from jax.experimental import multihost_utils

from gan.errors import UserError

DIGEST_KEY = "state_sha256"  # in a checkpoint's meta
# Errors of a write that come from the user's storage rather than from the program.
STORAGE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG)


class DamagedCheckpointError(ValueError):
  """A checkpoint whose state reads back different from what was saved."""


def state_digest(state) -> str:
  """SHA-256 of the state's leaves (dtype, shape and bytes), in tree order; of this process's copy of
  each jax array, the state being replicated."""
  digest = hashlib.sha256()
  for leaf in jax.tree.leaves(state):
    value = np.ascontiguousarray(leaf.addressable_data(0) if isinstance(leaf, jax.Array) else leaf)
    digest.update(f"{value.dtype}{value.shape}".encode())
    digest.update(value.tobytes())
  return digest.hexdigest()


def storage_errno(error: BaseException | None) -> int | None:
  """The errno in STORAGE_ERRNOS behind `error`, if any: of an OSError in its chain of causes, or the
  `os_error_code` of a TensorStore error (orbax writes arrays with TensorStore, which raises ValueError,
  e.g. "RESOURCE_EXHAUSTED: Error writing ...: No space left on device [os_error_code='28']")."""
  while error is not None:
    match = re.search(r"os_error_code='(\d+)'", str(error))
    code = error.errno if isinstance(error, OSError) else int(match.group(1)) if match else None
    if code in STORAGE_ERRNOS:
      return code
    error = error.__cause__ or error.__context__
  return None


def _one_line(error: Exception) -> str:
  lines = str(error).strip().splitlines()
  return f"{type(error).__name__}: {lines[0][:300] if lines else ''}"


class Checkpointer:
  def __init__(self, workdir: str, *, every_steps: int, max_to_keep: int, subdir: str = "checkpoints",
               create: bool = True):
    """`create=False` for read-only use: a missing directory then reads as empty, and is not made."""
    self.directory = os.path.abspath(os.path.join(workdir, subdir))
    self.manager = ocp.CheckpointManager(
        self.directory,
        options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, save_interval_steps=every_steps,
                                             enable_async_checkpointing=False, create=create))

  def latest_step(self) -> int | None:
    return self.manager.latest_step()

  def save(self, step: int, state, config: dict, meta: dict, *, force: bool = False) -> bool:
    """Saves if `step` is on the save interval (or `force`); returns whether it saved. Raises UserError
    if the storage refuses the write (STORAGE_ERRNOS)."""
    if not (force or self.manager.should_save(step)):
      return False  # before the state's digest, which reads all of it
    meta = {**meta, DIGEST_KEY: state_digest(state)}
    try:
      return self.manager.save(step, args=ocp.args.Composite(
          state=ocp.args.StandardSave(state), config=ocp.args.JsonSave(config),
          meta=ocp.args.JsonSave(meta)), force=force)
    except Exception as e:  # OSError, or ValueError from TensorStore: storage_errno tells
      code = storage_errno(e)
      if code is None:
        raise
      raise UserError(f"cannot save step {step} in {self.directory}: [Errno {code}] {os.strerror(code)}; the "
                      "checkpoints already there are intact: free space or make it writable, then rerun to "
                      "resume from the latest") from e

  def restore(self, abstract_state, step: int | None = None):
    """Returns `(state, config_dict, meta)` of `step` (default: latest). Raises DamagedCheckpointError if
    the state differs from the one saved (`state_digest`; checkpoints saved without it are not checked)."""
    step = self.latest_step() if step is None else step
    restored = self.manager.restore(step, args=ocp.args.Composite(
        state=ocp.args.StandardRestore(abstract_state), config=ocp.args.JsonRestore(),
        meta=ocp.args.JsonRestore()))
    meta = dict(restored.meta)
    saved_digest = meta.pop(DIGEST_KEY, None)
    if saved_digest is not None and state_digest(restored.state) != saved_digest:
      raise DamagedCheckpointError(f"the state read from {self.directory}/{step} differs from the one saved "
                                   "(SHA-256 mismatch)")
    return restored.state, restored.config, meta

  def read_config(self, step: int | None = None) -> tuple[dict, dict]:
    """The config and data description stored with a checkpoint, without reading the state."""
    step = self.latest_step() if step is None else step
    restored = self.manager.restore(step, args=ocp.args.Composite(
        config=ocp.args.JsonRestore(), meta=ocp.args.JsonRestore()))
    return restored.config, {k: v for k, v in restored.meta.items() if k != DIGEST_KEY}

  def restore_newest(self, abstract_state=None, check_config=lambda config, step: None):
    """Restores the newest step that can be restored, trying older ones in turn when one cannot (a file
    truncated, emptied, garbled or missing; orbax and TensorStore raise many kinds of errors for these).

    `check_config(config, step)` sees each step's stored config before its state is read and may raise
    to refuse the run: that is no damage, and propagates. Without `abstract_state` only the config and
    meta are read. Returns `(step, restored, damaged)`: `restored` as `restore` (`read_config` without
    `abstract_state`) returns it, both None when no step can be restored; `damaged`: `(step, error)` of
    the newer steps that could not be.
    """
    damaged = []
    for step in sorted(self.manager.all_steps(), reverse=True):
      try:
        config, meta = self.read_config(step)
      except Exception as e:  # pylint: disable=broad-except
        damaged.append((step, _one_line(e)))
        continue
      check_config(config, step)
      try:
        return step, (config, meta) if abstract_state is None else self.restore(abstract_state, step), damaged
      except Exception as e:  # pylint: disable=broad-except
        damaged.append((step, _one_line(e)))
    return None, None, damaged

  def set_aside(self, damaged: list[tuple[int, str]]) -> None:
    """Moves the step directories of `damaged` (`restore_newest`'s) as they are into
    WORKDIR/damaged/<subdir>/<step> for the user to inspect, with one warning each (process 0 moves;
    the others wait for it).

    Left in place, orbax would take a damaged step for the latest: it would skip every save up to that
    step (`should_save`), fail a forced one (StepAlreadyExistsError), and count it in max_to_keep, deleting
    good older checkpoints in its stead.
    """
    if jax.process_index() == 0:
      for step, error in damaged:
        source = os.path.join(self.directory, str(step))
        target = base = os.path.join(os.path.dirname(self.directory), "damaged", os.path.basename(self.directory),
                                     str(step))
        copies = 1
        while os.path.exists(target):  # the same step damaged again in an earlier run
          copies += 1
          target = f"{base}.{copies}"
        try:
          os.makedirs(os.path.dirname(target), exist_ok=True)
          os.rename(source, target)
        except OSError as e:
          raise UserError(f"cannot move the damaged checkpoint {source} aside: {e}") from e
        logging.warning("The checkpoint %s cannot be restored (%s): moved to %s", source, error, target)
    if jax.process_count() > 1:
      multihost_utils.sync_global_devices(f"set aside damaged checkpoints in {self.directory}")
    self.manager.reload()

  def close(self):
    self.manager.wait_until_finished()
    self.manager.close()


class BestCheckpointer:
  """Keeps in WORKDIR/best/ the one checkpoint whose `metric` is the best evaluated so far.

  `mode` "min" or "max" says which way is better; only a strictly better finite value replaces the
  kept checkpoint (ties keep the earlier step). The metric's name, value and mode are stored in the
  checkpoint's meta as "best", so a resumed run goes on comparing with it; one saved under another
  metric name (eval.primary_metric changed on resume) is replaced at the next evaluation.

  A kept checkpoint of a step after the one a run resumes from (saved by a run killed before its next
  regular checkpoint) stays: it is the state of an evaluation that took place, and the resumed run,
  bit-exact, evaluates the same value at that step again, which does not replace it (not strictly
  better). One that cannot be read (damaged, half-written; with `abstract_state`, the run's state
  shapes, its state is read and checked too) is set aside (`Checkpointer.set_aside`) and the run goes
  on as if none was kept.
  """

  def __init__(self, workdir: str, metric: str, mode: str, abstract_state=None):
    if mode not in ("min", "max"):
      raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
    self.metric, self.mode = metric, mode
    self.ckpt = Checkpointer(workdir, every_steps=1, max_to_keep=1, subdir="best")
    self.value = None
    step, restored, damaged = self.ckpt.restore_newest(abstract_state)
    self.ckpt.set_aside(damaged)
    if step is not None:
      saved = restored[-1].get("best", {})
      if saved.get("metric") == metric:
        self.value = saved["value"]

  def is_better(self, value: float) -> bool:
    if not math.isfinite(value):
      return False
    if self.value is None:
      return True
    return value < self.value if self.mode == "min" else value > self.value

  def update(self, step: int, metrics: dict, state, config: dict, meta: dict) -> bool:
    """Saves `state` as the best checkpoint if `metrics[metric]` beats the kept one; returns whether."""
    value = float(metrics[self.metric])
    if not self.is_better(value):
      return False
    for old in self.ckpt.manager.all_steps():  # a resumed run may re-evaluate an earlier step
      if old >= step:
        self.ckpt.manager.delete(old)
    self.ckpt.save(step, state, config,
                   {**meta, "best": {"metric": self.metric, "value": value, "mode": self.mode}},
                   force=True)
    self.value = value
    return True

  def close(self):
    self.ckpt.close()
