"""Checkpoints of the whole GANState plus the run's config and data description, via orbax.

Layout: `WORKDIR/checkpoints/<step>/{state,config,meta}`. Saves are synchronous (the state's buffers
are donated to the next step, so nothing may read them afterwards).
"""
from __future__ import annotations

import os

import orbax.checkpoint as ocp


class Checkpointer:
  def __init__(self, workdir: str, *, every_steps: int, max_to_keep: int):
    self.directory = os.path.abspath(os.path.join(workdir, "checkpoints"))
    self.manager = ocp.CheckpointManager(
        self.directory,
        options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, save_interval_steps=every_steps,
                                             enable_async_checkpointing=False, create=True))

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
