"""Checkpoints of the whole GANState plus the run's config and data description, via orbax.

Layout: `WORKDIR/checkpoints/<step>/{state,config,meta}`, and `WORKDIR/best/<step>/` (same layout,
one kept) for the evaluation with the best primary metric (`BestCheckpointer`). Saves are
synchronous (the state's buffers are donated to the next step, so nothing may read them afterwards).
"""
from __future__ import annotations

import math
import os

import orbax.checkpoint as ocp


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
    """Saves if `step` is on the save interval (or `force`); returns whether it saved."""
    return self.manager.save(step, args=ocp.args.Composite(
        state=ocp.args.StandardSave(state), config=ocp.args.JsonSave(config),
        meta=ocp.args.JsonSave(meta)), force=force)

  def restore(self, abstract_state, step: int | None = None):
    """Returns `(state, config_dict, meta)` of `step` (default: latest)."""
    step = self.latest_step() if step is None else step
    restored = self.manager.restore(step, args=ocp.args.Composite(
        state=ocp.args.StandardRestore(abstract_state), config=ocp.args.JsonRestore(),
        meta=ocp.args.JsonRestore()))
    return restored.state, restored.config, restored.meta

  def read_config(self, step: int | None = None) -> tuple[dict, dict]:
    """The config and data description stored with a checkpoint, without reading the state."""
    step = self.latest_step() if step is None else step
    restored = self.manager.restore(step, args=ocp.args.Composite(
        config=ocp.args.JsonRestore(), meta=ocp.args.JsonRestore()))
    return restored.config, restored.meta

  def close(self):
    self.manager.wait_until_finished()
    self.manager.close()


class BestCheckpointer:
  """Keeps in WORKDIR/best/ the one checkpoint whose `metric` is the best evaluated so far.

  `mode` "min" or "max" says which way is better; only a strictly better finite value replaces the
  kept checkpoint (ties keep the earlier step). The metric's name, value and mode are stored in the
  checkpoint's meta as "best", so a resumed run goes on comparing with it; one saved under another
  metric name (eval.primary_metric changed on resume) is replaced at the next evaluation.
  """

  def __init__(self, workdir: str, metric: str, mode: str):
    if mode not in ("min", "max"):
      raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
    self.metric, self.mode = metric, mode
    self.ckpt = Checkpointer(workdir, every_steps=1, max_to_keep=1, subdir="best")
    self.value = None
    if self.ckpt.latest_step() is not None:
      saved = self.ckpt.read_config()[1].get("best", {})
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
