"""Scalars to TensorBoard and to WORKDIR/metrics.jsonl, plus a progress line; process 0 only.

TensorBoard events (`EventFile`) are written in-process with the `tensorboard` package's record format
and protos (scalar summaries, as `tf.summary.scalar` v1 writes them), without TensorFlow, whose import
would add about 4 s to every run's start.

metrics.jsonl survives kill -9: each line goes out in one `os.write` of the whole line (appended, not
buffered), and a run resuming from step S first drops the lines after S (`keep_steps_up_to`: they
belong to the run that was killed, and the resumed run writes them again, bit-exact) and a torn last
line. TensorBoard's event files are left as they are (an event file cannot be cut back): the steps
after S appear in them twice, with the same values.
"""
from __future__ import annotations

import errno
import json
import os
import socket
import time

from absl import logging

from gan.errors import UserError


def _step(line: bytes) -> int | None:
  """The integer "step" of a JSON object line, else None."""
  try:
    row = json.loads(line)
  except ValueError:
    return None
  step = row.get("step") if isinstance(row, dict) else None
  return step if isinstance(step, int) else None


def keep_steps_up_to(path: str, last_step: int) -> None:
  """Rewrites the JSON-lines file `path` (if any) with only its complete lines (newline-terminated, a JSON
  object with an integer "step") whose step is at most `last_step`, atomically (temporary file, then
  os.replace); a file with nothing to drop is not rewritten."""
  if not os.path.exists(path):
    return
  with open(path, "rb") as f:
    *complete, torn = f.read().split(b"\n")
  kept = [line for line, step in zip(complete, map(_step, complete)) if step is not None and step <= last_step]
  if len(kept) == len(complete) and not torn:
    return
  tmp = f"{path}.tmp{os.getpid()}"
  with open(tmp, "wb") as f:
    f.write(b"".join(line + b"\n" for line in kept))
    f.flush()
    os.fsync(f.fileno())
  os.replace(tmp, path)
  logging.warning("Dropped %d lines of %s: after the resumed step %d, or torn by a killed run",
                  len(complete) + bool(torn) - len(kept), path, last_step)


class EventFile:
  """One TensorBoard event file, WORKDIR/events.out.tfevents.<time>.<host>.<pid>: a TFRecord of Event
  protos, the first naming the format (`brain.Event:2`); each `write` appends and flushes one record."""

  def __init__(self, directory: str):
    from tensorboard.compat.proto import event_pb2, summary_pb2  # pylint: disable=g-import-not-at-top
    from tensorboard.summary.writer.record_writer import RecordWriter  # pylint: disable=g-import-not-at-top
    self._event_pb2, self._summary_pb2 = event_pb2, summary_pb2
    name = f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}.{os.getpid()}"
    self.path = os.path.join(directory, name)
    self._records = RecordWriter(open(self.path, "ab"))  # pylint: disable=consider-using-with
    self._append(event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2"))

  def _append(self, event) -> None:
    self._records.write(event.SerializeToString())
    self._records.flush()

  def write_scalars(self, step: int, scalars: dict[str, float]) -> None:
    summary = self._summary_pb2.Summary(value=[self._summary_pb2.Summary.Value(tag=k, simple_value=v)
                                               for k, v in scalars.items()])
    self._append(self._event_pb2.Event(wall_time=time.time(), step=step, summary=summary))

  def close(self) -> None:
    self._records.close()


class MetricLogger:
  def __init__(self, workdir: str, *, total_steps: int, start_step: int, enabled: bool = True):
    """`start_step`: the step the run starts (or resumes) from; lines after it are dropped from
    metrics.jsonl (`keep_steps_up_to`)."""
    self.enabled = enabled
    self.total_steps = total_steps
    self.jsonl_path = os.path.join(workdir, "metrics.jsonl")
    self.writer = None
    if enabled:
      keep_steps_up_to(self.jsonl_path, start_step)
      self.writer = EventFile(workdir)
    self._last_time, self._last_step = time.time(), start_step

  def write(self, step: int, scalars: dict) -> None:
    """Appends one JSON line `{"step": step, **scalars}` and writes the scalars to TensorBoard. Raises
    UserError if the storage refuses the line (full disk, read-only)."""
    if not self.enabled:
      return
    scalars = {k: float(v) for k, v in scalars.items()}
    line = (json.dumps({"step": step, **scalars}) + "\n").encode()
    try:
      self.writer.write_scalars(step, scalars)
      fd = os.open(self.jsonl_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
      try:
        if os.write(fd, line) < len(line):  # a regular file takes a short write only when the disk is full
          raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), self.jsonl_path)
      finally:
        os.close(fd)
    except OSError as e:
      raise UserError(f"cannot write {e.filename or self.jsonl_path}: {e}") from e

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
    if self.writer is not None:
      self.writer.close()
