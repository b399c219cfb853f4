"""Faults that must lose nothing: checkpoints damaged or half-written (resume from the newest good one;
the damaged ones set aside), metrics.jsonl left by a killed run, a damaged best checkpoint, a second run
on a workdir in use (gan/workdir_lock.py), and storage that refuses a save (full disk, read-only).

Runs are in-process where the CLI adds nothing, with the tiny config of tests/test_cli.py (so that the
CLI runs here resume the same checkpoints) and every step logged (so that a resumed run's metrics.jsonl
can equal a straight run's line for line).
"""
import ast
import contextlib
import errno
import hashlib
import logging
import os
import re
import shutil
import signal
import subprocess
import sys

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest
from ml_collections import ConfigDict

from experiments import ring8
from gan import checkpointing, metric_logging, sampling
from gan import train as train_lib
from gan.errors import UserError
from gan.workdir_lock import WorkdirLock
from tests.test_cli import ROOT, TINY_RING, assert_bit_exact, env, final_state, read_jsonl, run

# orbax leaves a callback behind on an event loop it closed when restoring a damaged checkpoint fails.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def tiny_config(steps) -> ConfigDict:
  """The config that `python -m gan.main TINY_RING --config.num_train_steps=steps --config.log.every_steps=1`
  trains."""
  config = ring8.get_config()
  for arg in [*TINY_RING[1:], f"--config.num_train_steps={steps}", "--config.log.every_steps=1"]:
    key, value = arg.removeprefix("--config.").split("=", 1)
    *parents, name = key.split(".")
    node = config
    for parent in parents:
      node = node[parent]
    with contextlib.suppress(ValueError, SyntaxError):
      value = ast.literal_eval(value)
    node[name] = value
  return config


def train(workdir, steps):
  return train_lib.train_and_evaluate(tiny_config(steps), str(workdir))


def files(path) -> dict:
  """{relative path: SHA-256} of the files under `path`."""
  out = {}
  for root, _, names in os.walk(path):
    for name in names:
      with open(os.path.join(root, name), "rb") as f:
        out[os.path.relpath(os.path.join(root, name), path)] = hashlib.sha256(f.read()).hexdigest()
  return out


def copy_run(source, target):
  shutil.copytree(source, target, ignore=shutil.ignore_patterns(".lock"))
  return target


def steps_in(directory):
  return sorted(int(name) for name in os.listdir(directory) if name.isdigit())


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
  """40 steps without a stop: checkpoints 20, 30, 40 (max_to_keep=3)."""
  workdir = tmp_path_factory.mktemp("straight")
  train(workdir, 40)
  return workdir


@pytest.fixture(scope="module")
def at30(straight, tmp_path_factory):
  """The straight run as a run killed before saving step 40 left it: checkpoints 20, 30, metrics to 40
  (dropped on resuming); each test damages a copy."""
  workdir = copy_run(straight, tmp_path_factory.mktemp("at30") / "run")
  shutil.rmtree(workdir / "checkpoints" / "40")
  return workdir


def data_files(step_dir):
  """The files holding the arrays of a step's state: in state/d/ and state/ocdbt.process_<i>/d/ (OCDBT)."""
  return sorted(os.path.join(root, name) for root, _, names in os.walk(step_dir / "state")
                if os.path.basename(root) == "d" for name in names)


def truncate(path):
  with open(path, "r+b") as f:
    f.truncate(os.path.getsize(path) // 2)


def garble(path):
  """Overwrites 64 bytes in the middle: the file keeps its size."""
  with open(path, "r+b") as f:
    f.seek(os.path.getsize(path) // 2)
    f.write(bytes((7 * i + 3) % 256 for i in range(64)))


DAMAGES = {
    "data_truncated": lambda step_dir: [truncate(path) for path in data_files(step_dir)],
    # The stored config unreadable: the config check must read the checkpoint actually resumed from.
    "config_garbled": lambda step_dir: garble(step_dir / "config" / "metadata"),
}


@pytest.mark.parametrize("damage", DAMAGES)
def test_damaged_latest_checkpoint_resumes_from_the_previous_good_one(damage, at30, straight, tmp_path, caplog):
  workdir = copy_run(at30, tmp_path / "run")
  DAMAGES[damage](workdir / "checkpoints" / "30")
  damaged = files(workdir / "checkpoints" / "30")
  with caplog.at_level(logging.WARNING):
    train(workdir, 40)
  warnings = [r.getMessage() for r in caplog.records if "cannot be restored" in r.getMessage()]
  assert len(warnings) == 1 and f"{workdir}/checkpoints/30 cannot be restored" in warnings[0], warnings
  assert f"moved to {workdir}/damaged/checkpoints/30" in warnings[0]
  assert files(workdir / "damaged" / "checkpoints" / "30") == damaged  # kept as it was
  assert steps_in(workdir / "checkpoints") == [20, 30, 40]  # 30 saved again by the resumed run
  assert_bit_exact(final_state(workdir), final_state(straight))
  rows = read_jsonl(workdir / "metrics.jsonl")
  assert rows == read_jsonl(straight / "metrics.jsonl")  # the lines after 20 dropped, then written again


def test_a_garbled_array_that_reads_back_without_error_is_caught_by_the_checksum(tmp_path):
  """orbax 0.12.8 reads this array file back, garbled, without an error and with other values."""
  state = {"w": np.arange(1000, dtype=np.float32), "b": np.ones((3, 4), np.float32)}
  ckpt = checkpointing.Checkpointer(str(tmp_path), every_steps=1, max_to_keep=1)
  ckpt.save(1, state, {}, {}, force=True)
  garble(max(data_files(tmp_path / "checkpoints" / "1"), key=os.path.getsize))
  with pytest.raises(checkpointing.DamagedCheckpointError, match="differs from the one saved"):
    ckpt.restore(jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), state), 1)
  ckpt.close()


def test_half_written_step_is_ignored_and_saved_again(at30, straight, tmp_path):
  """orbax itself (0.12.8) writes into <step>.orbax-checkpoint-tmp, which `latest_step` skips and the
  next save of that step replaces: a regression guard for that."""
  workdir = copy_run(at30, tmp_path / "run")
  partial = workdir / "checkpoints" / "40.orbax-checkpoint-tmp"
  shutil.copytree(workdir / "checkpoints" / "30", partial)
  os.remove(data_files(partial)[0])
  train(workdir, 40)
  assert not partial.exists() and steps_in(workdir / "checkpoints") == [20, 30, 40]
  assert_bit_exact(final_state(workdir), final_state(straight))


def test_no_restorable_checkpoint_is_one_line_exit_2_and_changes_nothing(at30, tmp_path):
  workdir = copy_run(at30, tmp_path / "run")
  for step in (20, 30):
    open(workdir / "checkpoints" / str(step) / "state" / "manifest.ocdbt", "w").close()
  before = files(workdir)
  result = run([*TINY_RING, f"--workdir={workdir}", "--config.num_train_steps=40"])
  assert result.returncode == 2, result.stderr[-3000:]
  errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
  assert len(errors) == 1 and f"no checkpoint in {workdir}/checkpoints can be restored" in errors[0], errors
  assert "step 30: " in errors[0] and "step 20: " in errors[0] and "Traceback" not in result.stderr
  after = files(workdir)
  assert after.pop(".lock") and after == before  # only the lock was written


def test_resume_after_kill_drops_the_lost_metrics_and_keeps_best(straight, tmp_path):
  """A run killed mid-line after step 40's metrics, its last checkpoint before its best evaluation's step
  (whose best checkpoint, WORKDIR/best/, was saved): the resumed run's metrics.jsonl is the straight
  run's, line for line, and the best checkpoint, of a real evaluation, stays."""
  workdir = copy_run(straight, tmp_path / "run")
  [best_step] = steps_in(workdir / "best")
  for step in steps_in(workdir / "checkpoints"):
    if step >= best_step:
      shutil.rmtree(workdir / "checkpoints" / str(step))
  with open(workdir / "metrics.jsonl", "a") as f:
    f.write('{"step": 41, "train/d_lo')
  best_before = files(workdir / "best")
  train(workdir, 40)
  rows = read_jsonl(workdir / "metrics.jsonl")
  assert rows == read_jsonl(straight / "metrics.jsonl")
  train_steps = [r["step"] for r in rows if "train/d_loss" in r]
  assert train_steps == sorted(set(train_steps))
  assert_bit_exact(final_state(workdir), final_state(straight))
  assert files(workdir / "best") == best_before


def test_keep_steps_up_to_drops_later_and_torn_lines_atomically(tmp_path):
  path = tmp_path / "metrics.jsonl"
  path.write_text('{"step": 1, "a": 1.0}\n{"step": 2, "a": 2.0}\nnot json\n{"step": 3, "a": 3.0}\n{"step": 4')
  metric_logging.keep_steps_up_to(str(path), 2)
  assert path.read_text() == '{"step": 1, "a": 1.0}\n{"step": 2, "a": 2.0}\n'
  assert os.listdir(tmp_path) == ["metrics.jsonl"]  # no temporary file left
  inode = os.stat(path).st_ino
  metric_logging.keep_steps_up_to(str(path), 5)  # nothing to drop: not rewritten
  assert os.stat(path).st_ino == inode


def test_damaged_best_checkpoint_is_set_aside_and_replaced(at30, tmp_path, caplog):
  workdir = copy_run(at30, tmp_path / "run")
  [kept] = steps_in(workdir / "best")
  garble(workdir / "best" / str(kept) / "meta" / "metadata")
  damaged = files(workdir / "best" / str(kept))
  with caplog.at_level(logging.WARNING):
    train(workdir, 40)
  assert any(f"{workdir}/best/{kept} cannot be restored" in r.getMessage() for r in caplog.records)
  assert files(workdir / "damaged" / "best" / str(kept)) == damaged
  assert steps_in(workdir / "best") == [40]  # none kept: the first evaluation after the resume is the best
  _, meta, _, _ = sampling.load_run(str(workdir), best=True)
  assert meta["best"]["metric"]


HOLD = ("import sys, time\nfrom gan.workdir_lock import WorkdirLock\n"
        "with WorkdirLock(sys.argv[1]):\n  print('held', flush=True)\n  time.sleep(300)")


def test_second_run_on_a_workdir_in_use_refuses_and_a_killed_holder_releases_it(at30, tmp_path):
  workdir = copy_run(at30, tmp_path / "run")
  holder = subprocess.Popen([sys.executable, "-c", HOLD, str(workdir)], cwd=ROOT, env=env(),
                            stdout=subprocess.PIPE, text=True)
  try:
    assert holder.stdout.readline() == "held\n"
    before = files(workdir)
    result = run([*TINY_RING, f"--workdir={workdir}", "--config.num_train_steps=40"])
    assert result.returncode == 2, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"the workdir {workdir} is in use by another run (pid {holder.pid} on" in errors[0]
    assert files(workdir) == before  # nothing written
  finally:
    holder.send_signal(signal.SIGKILL)
    holder.wait()
  with WorkdirLock(str(workdir)):  # the kernel released the lock of the killed holder
    pass


def refuses_new_files(directory) -> bool:
  probe = os.path.join(directory, ".probe")
  try:
    open(probe, "w").close()
  except PermissionError:
    return True
  os.remove(probe)
  return False


@contextlib.contextmanager
def read_only(directory):
  """Makes `directory` refuse new entries: chmod, or where that does not stop this process (root, with its
  usual capabilities) the immutable attribute, where the file system and privileges allow it."""
  os.chmod(directory, 0o555)
  immutable = (not refuses_new_files(directory) and shutil.which("chattr") is not None
               and subprocess.run(["chattr", "+i", str(directory)], capture_output=True).returncode == 0)
  try:
    if not refuses_new_files(directory):
      pytest.skip("this process writes whatever the permissions (root), and chattr +i is not available here")
    yield
  finally:
    if immutable:
      subprocess.run(["chattr", "-i", str(directory)], check=True)
    os.chmod(directory, 0o755)


def test_read_only_checkpoints_end_the_run_with_a_user_error_and_keep_them(at30, tmp_path):
  workdir = copy_run(at30, tmp_path / "run")
  before = files(workdir / "checkpoints")
  with read_only(workdir / "checkpoints"):
    with pytest.raises(UserError, match=rf"cannot save step 40 in {re.escape(str(workdir))}/checkpoints: "
                                        r"\[Errno (13|1)\] "):
      train(workdir, 40)
  assert files(workdir / "checkpoints") == before
  assert_bit_exact(final_state(workdir), final_state(at30))


def test_a_metrics_line_the_storage_refuses_is_a_user_error(tmp_path):
  logger = metric_logging.MetricLogger(str(tmp_path), total_steps=10, start_step=0)
  with read_only(tmp_path):
    with pytest.raises(UserError, match=rf"cannot write {re.escape(str(tmp_path))}/metrics.jsonl: \[Errno (13|1)\] "):
      logger.write(1, {"a": 1.0})
  logger.close()


@pytest.mark.parametrize("error", [
    OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)),
    # What TensorStore raises when it cannot write an array on a full disk.
    ValueError('RESOURCE_EXHAUSTED: Error writing "a/0" in OCDBT database at local file "/x/": Failed writing: '
               '"/x/d/0d63": Failed to write 210050 bytes to file 7: No space left on device [os_error_code=\'28\']'),
], ids=["OSError", "TensorStore"])
def test_full_disk_mid_save_ends_the_run_with_a_user_error_and_keeps_the_checkpoints(error, at30, tmp_path,
                                                                                    monkeypatch):
  workdir = copy_run(at30, tmp_path / "run")
  before = files(workdir / "checkpoints")

  def full(*args, **kwargs):
    raise error
  # The config item is written after orbax made the step's temporary directory. The best checkpoint of
  # step 40, if that evaluation is the best, is saved first and meets the full disk first.
  monkeypatch.setattr(ocp.handlers.JsonCheckpointHandler, "async_save", full)
  with pytest.raises(UserError, match=rf"cannot save step 40 in {re.escape(str(workdir))}/(checkpoints|best): "
                                      r"\[Errno 28\] No space left on device"):
    train(workdir, 40)
  assert not (workdir / "checkpoints" / "40").exists()
  assert {k: v for k, v in files(workdir / "checkpoints").items() if ".orbax-checkpoint-tmp" not in k} == before
  assert_bit_exact(final_state(workdir), final_state(at30))


def test_a_storage_error_of_another_kind_is_not_taken_for_the_users():
  assert checkpointing.storage_errno(ValueError("INVALID_ARGUMENT: bad shape")) is None
  assert checkpointing.storage_errno(OSError(errno.EIO, "I/O error")) is None
  wrapped = RuntimeError("save failed")
  wrapped.__cause__ = OSError(errno.EROFS, "Read-only file system")
  assert checkpointing.storage_errno(wrapped) == errno.EROFS


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_a_write_the_storage_refuses_outside_checkpoints_is_one_line_exit_2(code, capsys):
  from gan import main

  def write_a_sample_grid(config, workdir):
    raise OSError(code, os.strerror(code), f"{workdir}/samples/step_0000100.png")
  with pytest.raises(SystemExit) as info:
    main.train_or_fail(write_a_sample_grid, None, "/runs/a")
  assert info.value.code == 2
  err = capsys.readouterr().err
  assert err == (f"error: cannot write /runs/a/samples/step_0000100.png: {os.strerror(code)}; the checkpoints "
                 "already saved are intact\n")

  def a_bug(config, workdir):
    raise OSError(errno.ENOENT, "No such file or directory", "/a/file/the/code/expected")
  with pytest.raises(FileNotFoundError):  # not the user's storage: a traceback, as for any bug
    main.train_or_fail(a_bug, None, "/runs/a")
