"""Scalars to TensorBoard (clu) and to WORKDIR/metrics.jsonl, plus a progress line; process 0 only."""
from __future__ import annotations

import json
import os
import time

from absl import logging


class MetricLogger:
  def __init__(self, workdir: str, *, total_steps: int, start_step: int, enabled: bool = True):
    self.enabled = enabled
    self.total_steps = total_steps
    self.jsonl_path = os.path.join(workdir, "metrics.jsonl")
    from clu import metric_writers  # pylint: disable=g-import-not-at-top  (imports TensorFlow)
    self.writer = metric_writers.create_default_writer(workdir, just_logging=not enabled)
    self._last_time, self._last_step = time.time(), start_step

  def write(self, step: int, scalars: dict) -> None:
    """Appends one JSON line `{"step": step, **scalars}` and writes the scalars to TensorBoard."""
    if not self.enabled:
      return
    scalars = {k: float(v) for k, v in scalars.items()}
    self.writer.write_scalars(step, scalars)
    with open(self.jsonl_path, "a") as f:
      f.write(json.dumps({"step": step, **scalars}) + "\n")

  def progress(self, step: int, scalars: dict) -> None:
    now = time.time()
    rate = (step - self._last_step) / max(now - self._last_time, 1e-9)
    self._last_time, self._last_step = now, step
    eta = (self.total_steps - step) / max(rate, 1e-9)
    shown = " ".join(f"{k}={float(v):.4g}" for k, v in sorted(scalars.items()))
    if self.enabled:
      logging.info("step %d/%d  %.1f steps/s  ETA %s  %s", step, self.total_steps, rate,
                   time.strftime("%H:%M:%S", time.gmtime(eta)), shown)

  def close(self):
    self.writer.flush()
    self.writer.close()
