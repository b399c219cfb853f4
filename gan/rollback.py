"""What a run does when it diverges (gan/train.py `Divergence`): `config.divergence`.

action "stop" (the default): the run ends with one line naming the step and the quantity.
action "rollback": the run goes back to its last good checkpoint (or to step 0 if none was saved) and
continues with every player's learning rate multiplied by `lr_factor`, at most `max_rollbacks` times
over the run's life; then it stops as above.

Each rollback is recorded in WORKDIR/rollbacks.json (a list of {"diverged_at", "quantity", "from_step",
"lr_scale"}), so a run resumed later (after a SIGTERM or a kill) keeps the reduced learning rate, and
the scale in effect is logged as `train/lr_scale` beside the losses. The learning rates stored with the
checkpoints stay the config's own: the config still has to match on resume.
"""
from __future__ import annotations

import json
import os

import ml_collections

from gan.errors import UserError

ACTIONS = ("stop", "rollback")
FILENAME = "rollbacks.json"


def policy(config) -> ml_collections.ConfigDict:
  """`config.divergence` (experiments/common.py `divergence_policy`), or "stop" for configs without it."""
  return config.get("divergence") or ml_collections.ConfigDict(dict(action="stop"))


def history(workdir: str) -> list[dict]:
  """The rollbacks recorded in `workdir`, oldest first ([] if none)."""
  path = os.path.join(workdir, FILENAME)
  if not os.path.exists(path):
    return []
  try:
    with open(path) as f:
      rollbacks = json.load(f)
    if isinstance(rollbacks, list) and all(isinstance(r, dict) and "lr_scale" in r for r in rollbacks):
      return rollbacks
  except (OSError, ValueError):
    pass
  raise UserError(f"{path} is not a list of rollbacks (written by this program): restore it or move it "
                  "away (the run then uses the config's learning rates)")


def lr_scale(rollbacks: list[dict]) -> float:
  """The learning-rate multiplier in effect after `rollbacks` (1 before any)."""
  return rollbacks[-1]["lr_scale"] if rollbacks else 1.0


def record(workdir: str, rollbacks: list[dict]) -> None:
  """Writes `rollbacks` to WORKDIR/rollbacks.json atomically (temporary file, then os.replace)."""
  path = os.path.join(workdir, FILENAME)
  tmp = f"{path}.tmp{os.getpid()}"
  with open(tmp, "w") as f:
    json.dump(rollbacks, f, indent=1)
    f.flush()
    os.fsync(f.fileno())
  os.replace(tmp, path)


def with_lr_scale(config: ml_collections.ConfigDict, scale: float) -> ml_collections.ConfigDict:
  """A copy of `config` whose players' learning rates (`optim.*.lr`) are multiplied by `scale`; the
  schedules (relative to lr) follow."""
  if scale == 1.0:
    return config
  scaled = config.copy_and_resolve_references()
  for player in scaled.optim:
    scaled.optim[player].lr = scaled.optim[player].lr * scale
  return scaled
