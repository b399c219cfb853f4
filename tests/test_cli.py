"""The command line: bit-exact resume, SIGTERM, logs, config errors, sample.py."""
import json
import os
import shutil
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from gan import sampling
from gan import train as train_lib
from gan.errors import UserError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY_RING = ["--config=experiments/ring8.py", "--config.batch_size=32",
             "--config.model.generator.hidden=(32,32)", "--config.model.discriminator.hidden=(32,32)",
             "--config.model.discriminator.pack=1", "--config.eval.num_samples=500",
             "--config.eval.every_steps=10", "--config.log.every_steps=5",
             "--config.checkpoint.every_steps=10", "--config.ema.start_step=0",
             "--config.optim.g.schedule=constant", "--config.optim.d.schedule=constant"]


def env():
  return dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3")  # XLA_FLAGS: tests/conftest.py


def run_script(script, *args, timeout=300, num_devices=1, xla_flags=None):
  """`python SCRIPT ARGS...` (SCRIPT relative to the repo root, or `-m MODULE`) in the tests' environment,
  with `num_devices` CPU devices and the tests' XLA_FLAGS unless `xla_flags` is given."""
  overrides = {"JAX_NUM_CPU_DEVICES": str(num_devices)}
  if xla_flags is not None:
    overrides["XLA_FLAGS"] = xla_flags
  return subprocess.run([sys.executable, script, *args], cwd=ROOT, env=dict(env(), **overrides),
                        capture_output=True, text=True, timeout=timeout)


def run(args):
  return run_script("-m", "gan.main", *args)


def interrupt(args, workdir, sig, *, env_vars=None):
  """Starts `python -m gan.main ARGS --workdir=WORKDIR` (a run far too long to finish), sends `sig` once it
  has logged two lines, and returns (its exit code, its stderr)."""
  proc = subprocess.Popen([sys.executable, "-m", "gan.main", *args, f"--workdir={workdir}"], cwd=ROOT,
                          env=env_vars or env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
  jsonl = workdir / "metrics.jsonl"
  deadline = time.time() + 120
  while time.time() < deadline and not (jsonl.exists() and len(read_jsonl(jsonl)) >= 2):
    time.sleep(0.2)
  proc.send_signal(sig)
  _, stderr = proc.communicate(timeout=120)
  return proc.returncode, stderr


def train(workdir, steps, extra=()):
  result = run([*TINY_RING, f"--workdir={workdir}", f"--config.num_train_steps={steps}", *extra])
  assert result.returncode == 0, result.stderr[-3000:]
  return result


def final_state(workdir):
  _, _, _, state = sampling.load_run(str(workdir))
  return jax.device_get(state)


def assert_bit_exact(a, b):
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def read_jsonl(path):
  with open(path) as f:
    return [json.loads(line) for line in f]


@pytest.fixture(scope="module")
def straight_run(tmp_path_factory):
  workdir = tmp_path_factory.mktemp("straight")
  train(workdir, 40)
  return workdir


def test_resume_is_bit_exact_and_logs_append(straight_run, tmp_path):
  train(tmp_path, 20)
  first = read_jsonl(tmp_path / "metrics.jsonl")
  assert max(r["step"] for r in first) == 20
  train(tmp_path, 40)  # same workdir: resumes from step 20
  assert_bit_exact(final_state(tmp_path), final_state(straight_run))
  rows = read_jsonl(tmp_path / "metrics.jsonl")
  assert rows[:len(first)] == first  # appended, not overwritten
  train_steps = [r["step"] for r in rows if "train/d_loss" in r]
  assert train_steps[-1] == 40 and 25 in train_steps
  evals = [r for r in rows if "eval/modes_covered" in r]
  assert [r["step"] for r in evals] == [10, 20, 30, 40]
  assert {"eval/high_quality_fraction", "eval/reverse_kl"} <= set(evals[-1])
  assert sorted(os.listdir(tmp_path / "samples")) == [f"step_{s:07d}.png" for s in (10, 20, 30, 40)]
  # TensorBoard's events hold the same scalars (float32) at the same steps, across the resume.
  from tensorboard.backend.event_processing import event_accumulator  # pylint: disable=g-import-not-at-top
  events = event_accumulator.EventAccumulator(str(tmp_path), size_guidance={event_accumulator.SCALARS: 0})
  events.Reload()
  for tag in ("train/d_loss", "eval/reverse_kl"):
    logged = [(r["step"], np.float32(r[tag])) for r in rows if tag in r]
    assert [(e.step, np.float32(e.value)) for e in events.Scalars(tag)] == logged


def test_resume_is_bit_exact_with_the_compiler_settings_training_uses(tmp_path):
  """A conv GAN with batch norm, compiled as training compiles it: XLA's default optimization (the other
  tests turn LLVM's off, tests/conftest.py) and the tuned CPU options (gan/parallel.py)."""
  tiny = ["--config=experiments/digits_dcgan.py", "--config.batch_size=8", "--config.model.z_dim=8",
          "--config.model.generator.width=8", "--config.model.discriminator.width=8",
          "--config.eval.every_steps=1000", "--config.eval.num_samples=200", "--config.checkpoint.every_steps=3",
          "--config.optim.g.schedule=constant", "--config.optim.d.schedule=constant"]
  def train_to_6():
    result = run_script("-m", "gan.main", *tiny, f"--workdir={tmp_path}", "--config.num_train_steps=6",
                        xla_flags="")
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stderr
  train_to_6()
  straight = final_state(tmp_path)
  shutil.rmtree(tmp_path / "checkpoints" / "6")  # as if killed before its last save
  assert f"Resuming from {tmp_path / 'checkpoints'}/3" in train_to_6()
  assert_bit_exact(final_state(tmp_path), straight)


def test_different_config_in_existing_workdir_is_refused_and_nothing_is_lost(straight_run):
  before = sorted(os.listdir(straight_run / "checkpoints"))
  result = run([*TINY_RING, f"--workdir={straight_run}", "--config.loss=hinge"])
  assert result.returncode == 2
  assert "error: the checkpoints in" in result.stderr and "'non_saturating' -> 'hinge'" in result.stderr
  assert sorted(os.listdir(straight_run / "checkpoints")) == before


@pytest.mark.parametrize("schedule,refused", [("constant", False), ("linear_decay", True), ("cosine", True)])
def test_num_train_steps_may_change_on_resume_only_with_constant_learning_rates(schedule, refused):
  saved = {"num_train_steps": 100, "optim": {"g": {"schedule": "constant"}, "d": {"schedule": schedule}}}
  longer = {**saved, "num_train_steps": 200}
  train_lib.check_resumable(saved, saved, "DIR")  # the same config always resumes
  if refused:
    with pytest.raises(UserError, match=r"num_train_steps: 100 -> 200"):
      train_lib.check_resumable(saved, longer, "DIR")
  else:
    train_lib.check_resumable(saved, longer, "DIR")


@pytest.mark.parametrize("weight,schedule,refused", [
    (10.0, "constant", False), (10.0, "cosine", True), (10.0, "linear_decay", True),
    (0.0, "cosine", False)])  # weight 0: the penalty is off, its schedule inert
def test_num_train_steps_may_not_change_on_resume_with_a_penalty_weight_schedule(weight, schedule, refused):
  """A penalty weight's schedule decays over num_train_steps * n_critic D updates
  (gan/regularizers.py, `gradient_penalties`), as a learning rate's over the run."""
  saved = {"num_train_steps": 100, "optim": {"g": {"schedule": "constant"}, "d": {"schedule": "constant"}},
           "regularizers": {"r1": {"weight": weight, "schedule": schedule}}}
  longer = {**saved, "num_train_steps": 200}
  train_lib.check_resumable(saved, saved, "DIR")
  if refused:
    expected = rf"num_train_steps: 100 -> 200 .*regularizers\.r1\.schedule={schedule!r}"
    with pytest.raises(UserError, match=expected):
      train_lib.check_resumable(saved, longer, "DIR")
  else:
    train_lib.check_resumable(saved, longer, "DIR")


@pytest.mark.parametrize("args,expected", [
    (["--config.loss=foo"], "config.loss='foo' is not valid: expected one of minimax, non_saturating"),
    (["--config.n_critic=0"], "config.n_critic=0 is not valid: expected an integer >= 1"),
    (["--config.parallelism=tpu"], "config.parallelism='tpu' is not valid: expected one of jit, pmap"),
    (["--config.regularizers.r1.schedule=step"],
     "config.regularizers.r1.schedule='step' is not valid: expected one of constant, linear_decay, cosine"),
    (["--config.model.nokey=1"], "unknown config key '--config.model.nokey'"),
    (["--config.batch_size=x"], "flag --config.batch_size=x"),
    # ring8's MLP keys (hidden, activation) are not DCGAN's: a TFDS image experiment.
    (["--config=experiments/mnist_dcgan.py", "--config.data.name=tfds", "--config.eval.feature_net=",
      "--config.data.data_dir={empty}"],
     "TFDS dataset 'mnist' is not prepared in data_dir={empty}"),
])
def test_bad_input_is_one_line_exit_2_and_no_workdir(tmp_path, args, expected):
  empty = tmp_path / "empty_data"
  empty.mkdir()
  workdir = tmp_path / "run"
  start = time.time()
  config = [] if args[0].startswith("--config=") else ["--config=experiments/ring8.py"]
  result = run([*config, f"--workdir={workdir}", *[a.format(empty=empty) for a in args]])
  assert result.returncode == 2
  errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
  assert len(errors) == 1 and expected.format(empty=empty) in errors[0], result.stderr[-2000:]
  assert "Traceback" not in result.stderr
  assert not workdir.exists()
  assert time.time() - start < 60


def test_missing_config_file(tmp_path):
  result = run(["--config=experiments/nope.py", f"--workdir={tmp_path / 'run'}"])
  assert result.returncode == 2
  assert result.stderr.strip().splitlines()[-1] == "error: --config file 'experiments/nope.py' not found"


def run_sample_script(workdir, out, seed=0, n=50, extra=()):
  return run_script("scripts/sample.py", f"--workdir={workdir}", f"--num_samples={n}", f"--output={out}",
                    f"--seed={seed}", *extra)


def sample(workdir, out, seed=0, n=50, extra=()):
  result = run_sample_script(workdir, out, seed, n, extra)
  assert result.returncode == 0, result.stderr[-2000:]
  return np.load(out)


def test_sample_script_is_deterministic_and_in_data_space(straight_run, tmp_path):
  a = sample(straight_run, tmp_path / "a.npy")
  b = sample(straight_run, tmp_path / "b.npy")
  c = sample(straight_run, tmp_path / "c.npy", seed=1)
  assert a.shape == (50, 2) and a.dtype == np.float32
  np.testing.assert_array_equal(a, b)
  assert not np.allclose(a, c)
  # The EMA generator (ring8 has EMA) is what was sampled: compare with an in-process draw.
  config, _, game, state = sampling.load_run(str(straight_run))
  assert config.ema.decay > 0
  expected = sampling.generate(game, state.ema_params, state.g_collections, 50, seed=0)
  np.testing.assert_allclose(a, expected, rtol=1e-6, atol=1e-6)


def test_sample_script_reads_a_checkpoint_that_pmap_saved_on_4_devices(tmp_path):
  result = run_script("-m", "gan.main", *TINY_RING, f"--workdir={tmp_path}", "--config.num_train_steps=10",
                      "--config.parallelism=pmap", num_devices=4)
  assert result.returncode == 0 and "pmap, 4 devices" in result.stderr, result.stderr[-3000:]
  samples = sample(tmp_path, tmp_path / "s.npy")  # one device
  _, _, game, state = sampling.load_run(str(tmp_path))
  assert int(state.step) == 10
  expected = sampling.generate(game, state.ema_params, state.g_collections, 50, seed=0)
  np.testing.assert_allclose(samples, expected, rtol=1e-6, atol=1e-6)


def test_sample_script_without_checkpoint_fails_cleanly(tmp_path):
  result = run_script("scripts/sample.py", f"--workdir={tmp_path}", f"--output={tmp_path / 'x.npy'}",
                      timeout=120)
  assert result.returncode == 2
  assert result.stderr.strip().splitlines()[-1].startswith("error: no checkpoint found in")
  assert not (tmp_path / "x.npy").exists()
