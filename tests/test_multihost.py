"""Multi-host runs for real: two processes on this machine joined by `jax.distributed` (coordinator on
localhost, CPU collectives over Gloo), two CPU devices each, launched as README "Devices and hosts" says.

A two-process run, stopped at step 20 and resumed to 40 across both processes, must write the same
metrics and end in the same state as one process with four devices training straight to 40 (up to the
float summation order of the reductions across processes). That holds only if each process reads its own rows of every global batch (rows read twice, or the
same rows on both, change the losses), `pmap` maps over the global device set (over each process's own
devices, its gradient means would be per host and the states would drift apart), the checkpoints hold
the global state, and only process 0 writes metrics (both writing would duplicate lines).
"""
import glob
import os
import socket
import subprocess
import sys

import numpy as np
import pytest


from tests.helpers import assert_trees_close
from tests.test_cli import ROOT, TINY_RING, env, final_state, read_jsonl


def free_port() -> int:
  with socket.socket() as s:
    s.bind(("localhost", 0))
    return s.getsockname()[1]


def train_processes(workdir, steps, mode, *, processes, devices_per_process):
  """Runs gan.main as `processes` processes of one run (each with its own devices) until they all exit."""
  args = [sys.executable, "-m", "gan.main", *TINY_RING, f"--workdir={workdir}", f"--config.num_train_steps={steps}",
          f"--config.parallelism={mode}"]
  common = dict(env(), JAX_NUM_CPU_DEVICES=str(devices_per_process))
  if processes > 1:
    common.update(JAX_COORDINATOR_ADDRESS=f"localhost:{free_port()}", JAX_NUM_PROCESSES=str(processes))
  runs = [subprocess.Popen(args, cwd=ROOT, env=dict(common, JAX_PROCESS_ID=str(i)), stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True) for i in range(processes)]
  for i, process in enumerate(runs):
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, f"process {i}: {stderr[-3000:]}"


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
  """One process with four devices, straight to step 40 (jit: the same numbers as pmap up to float
  summation order, tests/test_parallel.py)."""
  workdir = tmp_path_factory.mktemp("one_process")
  train_processes(workdir, 40, "jit", processes=1, devices_per_process=4)
  return workdir


@pytest.mark.parametrize("mode", ["jit", "pmap"])
def test_two_processes_resumed_equal_one_process(tmp_path, one_process, mode):
  two, one = tmp_path / "two_processes", one_process
  train_processes(two, 20, mode, processes=2, devices_per_process=2)
  assert "20" in os.listdir(two / "checkpoints")
  train_processes(two, 40, mode, processes=2, devices_per_process=2)

  resumed = read_jsonl(two / "metrics.jsonl")
  assert [row["step"] for row in resumed if row["step"] == 21] == [21]  # a resumed run logs its first step
  straight = read_jsonl(one / "metrics.jsonl")
  resumed = [row for row in resumed if row["step"] != 21]
  assert [sorted(row) for row in resumed] == [sorted(row) for row in straight]
  for got, want in zip(resumed, straight):
    np.testing.assert_allclose([got[k] for k in sorted(got)], [want[k] for k in sorted(want)], rtol=1e-5, atol=1e-6,
                               err_msg=f"step {want['step']}")
  assert_trees_close(final_state(two), final_state(one), rtol=1e-5, atol=1e-6)
  # Only process 0 writes events (one file per run and writer): one from each of the two runs.
  assert len(glob.glob(str(two / "events.out.tfevents.*"))) == 2


@pytest.mark.parametrize("variables,expected", [
    ({"JAX_NUM_PROCESSES": "two", "JAX_PROCESS_ID": "0"},
     "error: environment variable JAX_NUM_PROCESSES='two' is not an integer"),
    ({"JAX_PROCESS_ID": "0"}, "error: jax.distributed.initialize() failed: Number of processes must be defined."),
])
def test_a_bad_multi_host_environment_is_one_line_exit_2_and_no_workdir(tmp_path, variables, expected):
  result = subprocess.run([sys.executable, "-m", "gan.main", *TINY_RING, f"--workdir={tmp_path / 'run'}"], cwd=ROOT,
                          env=dict(env(), JAX_COORDINATOR_ADDRESS=f"localhost:{free_port()}", **variables),
                          capture_output=True, text=True, timeout=120)
  assert result.returncode == 2 and "Traceback" not in result.stderr
  assert result.stderr.strip().splitlines()[-1].startswith(expected), result.stderr[-2000:]
  assert not (tmp_path / "run").exists()
