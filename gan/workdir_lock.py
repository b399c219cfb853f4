"""One training run per workdir: an exclusive `fcntl.flock` on WORKDIR/.lock, held for the whole run.

Two runs writing one workdir would interleave their checkpoints, metrics.jsonl and evaluations, so the
second refuses with a `UserError` naming the workdir and the holder's pid and host (written into the
lock file by the holder), before it writes anything. The kernel releases a flock when its holder exits
in any way, kill -9 included, so a run that died leaves no stale lock: the file stays, its content is
only a note. flock is local to one machine; on network file systems it may not exclude a run on another
host.
"""
from __future__ import annotations

import fcntl
import json
import os
import socket

from gan.errors import UserError


class WorkdirLock:
  """`with WorkdirLock(workdir):` holds the lock on `workdir` (made if missing) inside the block.

  `enabled=False` (processes other than 0 of a multi-host run) holds nothing.
  """

  def __init__(self, workdir: str, *, enabled: bool = True):
    self.workdir = os.path.abspath(workdir)
    self.path = os.path.join(self.workdir, ".lock")
    self.enabled = enabled
    self._fd = None

  def __enter__(self):
    if not self.enabled:
      return self
    try:
      os.makedirs(self.workdir, exist_ok=True)
      fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
      raise UserError(f"cannot lock the workdir {self.workdir}: {e}") from e
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      holder = self._holder(fd)
      os.close(fd)
      raise UserError(f"the workdir {self.workdir} is in use by another run ({holder}); wait for it to end "
                      "or use another --workdir") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps({"pid": os.getpid(), "host": socket.gethostname()}) + "\n").encode(), 0)
    self._fd = fd
    return self

  @staticmethod
  def _holder(fd: int) -> str:
    try:
      note = json.loads(os.pread(fd, 4096, 0))
      return f"pid {note['pid']} on {note['host']}"
    except (ValueError, KeyError, TypeError):  # the holder is between taking the lock and writing its note
      return "pid unknown"

  def __exit__(self, *exc):
    if self._fd is not None:
      fcntl.flock(self._fd, fcntl.LOCK_UN)
      os.close(self._fd)
      self._fd = None
