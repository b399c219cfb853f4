"""What every registered GAN family gets from the shared core, checked for each of them (gan/families/):
the same numbers under jit and pmap on 1, 2 and 4 devices, a SIGTERM that saves and a resume through the
CLI that continues bit for bit, and experiment configs that lower to a step keeping the state's shapes.
A new family is covered by being registered: it only provides its `experiment` and `smoke` overrides."""
import importlib
import json
import os
import signal
import subprocess
import sys

import jax
import ml_collections
import pytest

from gan import families
from gan.train import setup as setup_run
from tests.helpers import assert_trees_close, run_steps
from tests.test_cli import ROOT, assert_bit_exact, env, final_state, interrupt, read_jsonl

FAMILIES = families.NAMES


def experiment_module(family):
  path = families.get(family).experiment
  return importlib.import_module(os.path.splitext(path)[0].replace("/", "."))


def smoke_config(family, **overrides):
  """The family's experiment at its smoke size, plain SGD with constant learning rates: Adam's sign-like
  first steps would amplify float reduction-order noise, and a constant rate lets num_train_steps change
  on resume."""
  config = experiment_module(family).get_config()
  config.update_from_flattened_dict({**families.get(family).smoke, **overrides})
  for player in config.optim:
    config.optim[player].update(name="sgd", lr=0.01, schedule="constant")
  return config


def cli_args(family, **overrides):
  config = smoke_config(family, **overrides)
  flat = {**families.get(family).smoke, **overrides, **{f"optim.{p}.{k}": config.optim[p][k]
                                                         for p in config.optim for k in ("name", "lr", "schedule")}}
  return [f"--config={families.get(family).experiment}",
          *[f"--config.{k}={','.join(map(str, v)) if isinstance(v, tuple) else v}" for k, v in flat.items()]]


def test_every_family_module_is_registered_and_named():
  for name in FAMILIES:
    family = families.get(name)
    assert family.name == name and os.path.isfile(os.path.join(ROOT, family.experiment))
    assert families.name_of(experiment_module(name).get_config()) == name
  assert families.name_of(ml_collections.ConfigDict({"seed": 0})) == "image"  # configs without the key


@pytest.mark.parametrize("family", FAMILIES)
def test_pmap_on_4_and_jit_on_2_devices_match_one_device(family):
  config = smoke_config(family)
  ref_state, ref_history = run_steps(config, 2, mode="jit", devices=jax.devices()[:1])
  for mode, n in (("pmap", 4), ("jit", 2)):  # with the CLI runs below: both modes on 1, 2 and 4 devices
    state, history = run_steps(config, 2, mode=mode, devices=jax.devices()[:n])
    # Tolerances: a conv followed by instance norm (CycleGAN) has a gradient that is a difference of
    # nearly equal sums, so another summation order over devices moves it by up to ~6e-4 relative (the
    # losses agree to ~1e-6); after two SGD steps (lr 0.01) parameters differ by up to ~1e-4 on this CPU.
    # Still tight enough for wiring errors: without the gradients' average over devices the second
    # step's losses move by ~1 % under pmap.
    for got, want in zip(history, ref_history):
      assert_trees_close(got, want, rtol=2e-3, atol=2e-5)
    assert_trees_close(state, ref_state, rtol=1e-4, atol=3e-4)
    assert int(state.step) == 2


# Each family's CLI runs use another device setup, so that together they cover pmap and sharded jit over
# 4 devices and a single device without multiplying the suite's slowest tests.
CLI_SETUPS = (("pmap", 4), ("jit", 4), ("jit", 1))


def cli_setup(family) -> tuple[str, int]:
  """(parallelism, number of CPU devices) of `family`'s CLI runs."""
  return CLI_SETUPS[FAMILIES.index(family) % len(CLI_SETUPS)]


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.usefixtures("translation_classifiers")
def test_sigterm_saves_and_the_cli_resume_is_bit_exact(family, tmp_path):
  interrupted, straight = tmp_path / "interrupted", tmp_path / "straight"
  mode, num_devices = cli_setup(family)
  common = ["--config.log.every_steps=1", "--config.checkpoint.every_steps=1000", f"--config.parallelism={mode}"]
  devices_env = dict(env(), JAX_NUM_CPU_DEVICES=str(num_devices))
  returncode, stderr = interrupt([*cli_args(family), "--config.num_train_steps=1000000",
                                  "--config.eval.every_steps=1000000", *common], interrupted, signal.SIGTERM,
                                 env_vars=devices_env)
  assert f"{mode}, {num_devices} devices, 1 process(es)" in stderr, stderr[-3000:]
  assert returncode == 0 and "Received SIGTERM" in stderr, stderr[-3000:]
  stopped_at = int(final_state(interrupted).step)
  assert 2 <= stopped_at < 1000000
  target = stopped_at + 3
  for workdir in (interrupted, straight):  # the interrupted run resumes; the other goes straight there
    result = subprocess.run([sys.executable, "-m", "gan.main", *cli_args(family), f"--workdir={workdir}",
                             f"--config.num_train_steps={target}", f"--config.eval.every_steps={target}", *common],
                            cwd=ROOT, env=devices_env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
  assert_bit_exact(final_state(interrupted), final_state(straight))
  assert int(final_state(straight).step) == target
  evals = [r for r in read_jsonl(straight / "metrics.jsonl") if any(k.startswith("eval/") for k in r)]
  assert [r["step"] for r in evals] == [target]
  # scripts/evaluate.py, on one device, reads the checkpoint that this device setup saved and reproduces
  # the run's own evaluation of it.
  result = subprocess.run([sys.executable, "scripts/evaluate.py", f"--workdir={interrupted}"], cwd=ROOT, env=env(),
                          capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  with open(interrupted / "eval" / f"step_{target}.json") as f:
    reproduced = json.load(f)["metrics"]
  logged = {k[len("eval/"):]: v for k, v in evals[0].items() if k.startswith("eval/")}
  assert set(reproduced) == set(logged)
  for name, value in reproduced.items():
    assert value == pytest.approx(logged[name], rel=1e-4, abs=1e-6), name


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.usefixtures("oracle_data")
def test_experiment_configs_lower_a_step_that_keeps_the_state_shapes(family):
  module = experiment_module(family)
  tasks = [t for t in getattr(module, "TASKS", [None]) if t not in ("digits2mnist", "edges2mnist")]
  for task in tasks:  # full size: traced and lowered, not compiled
    config = module.get_config(task) if task else module.get_config()
    run_ = setup_run(config)
    state = jax.eval_shape(run_.initial_state, config.seed)
    new_state, metrics = run_.par.lower(state, run_.par.put_batch(run_.batches(0))).out_info
    shapes = lambda tree: jax.tree.map(lambda x: (x.shape, x.dtype), tree)  # noqa: E731
    assert shapes(new_state) == shapes(state)
    assert metrics and all(m.shape == () for m in metrics.values())
