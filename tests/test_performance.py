"""Speed features keep the numbers: several steps per call, compile once, mixed precision, profiling,
and the benchmark script's output."""
import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan import benchmarking, config_validation, parallel, train
from gan.errors import UserError
from tests.helpers import assert_trees_close, run_steps, tiny_digits_config, tiny_ring_config
from tests.test_cli import ROOT, env, run_script
from tests.test_families import cli_args, smoke_config


@pytest.mark.parametrize("mode,devices", [("jit", 1), ("pmap", 2)])
def test_steps_per_call_trains_like_one_step_per_call(mode, devices):
  config = tiny_ring_config(n_critic=2)
  one, history_one = run_steps(config, 4, mode=mode, devices=jax.devices()[:devices])
  config.steps_per_call = 2
  two, history_two = run_steps(config, 4, mode=mode, devices=jax.devices()[:devices])
  assert int(two.step) == 4 and len(history_two) == 2
  assert_trees_close(two, one, rtol=1e-5, atol=1e-6)
  assert_trees_close(history_two[-1], history_one[-1], rtol=1e-5, atol=1e-6)  # metrics of the last step


@pytest.mark.parametrize("key", ["num_train_steps", "log.every_steps", "eval.every_steps",
                                 "checkpoint.every_steps"])
def test_steps_per_call_must_divide_every_stopping_point(key):
  config = tiny_ring_config(num_train_steps=12, steps_per_call=4)
  config.log.every_steps = config.eval.every_steps = config.checkpoint.every_steps = 4
  config_validation.validate(config)
  node, *path = key.split(".")[::-1]
  (config[path[0]] if path else config)[node] = 6
  with pytest.raises(UserError, match=rf"config.{key}=6 is not valid: expected a multiple of steps_per_call=4"):
    config_validation.validate(config)


@pytest.fixture(scope="module")
def jit_run_state(tmp_path_factory):
  config = tiny_ring_config(num_train_steps=8, steps_per_call=2)
  config.log.every_steps = config.eval.every_steps = config.checkpoint.every_steps = 4
  config.eval.num_samples = 200
  return train.train_and_evaluate(config, str(tmp_path_factory.mktemp("jit")))[0]


@pytest.mark.parametrize("parallelism", ["jit", "pmap"])
def test_train_call_and_sampling_compile_once_and_profile_steps_are_traced(tmp_path, parallelism,
                                                                           jit_run_state):
  config = tiny_ring_config(num_train_steps=8, steps_per_call=2, profile_steps=(2, 4),
                            parallelism=parallelism)
  config.log.every_steps = config.eval.every_steps = config.checkpoint.every_steps = 4
  config.eval.num_samples = 200
  compiles = []

  def listen(event, duration, **kwargs):
    del duration
    if event == "/jax/core/compile/backend_compile_duration":
      compiles.append(kwargs.get("fun_name"))
  jax.monitoring.register_event_duration_secs_listener(listen)
  try:
    state, _ = train.train_and_evaluate(config, str(tmp_path))  # 4 calls, 2 evaluations, 2 checkpoints
  finally:
    jax.monitoring.unregister_event_duration_listener(listen)
  # JAX 0.10 compiles a pmap through an internal function named `_fun`.
  assert compiles.count({"jit": "jit(train_call)", "pmap": "jit(_fun)"}[parallelism]) == 1, compiles
  assert compiles.count("jit(generate)") == 1, compiles
  assert_trees_close(jax.device_get(state), jax.device_get(jit_run_state), rtol=1e-5, atol=1e-6)
  traces = [f for _, _, files in os.walk(tmp_path / "profile") for f in files if f.endswith(".xplane.pb")]
  assert len(traces) == 1


def test_bfloat16_computes_in_bfloat16_and_keeps_float32_state():
  config = tiny_digits_config(model={"compute_dtype": "bfloat16"})
  config.model.discriminator.spectral_norm = True
  run = train.setup(config)
  state = run.initial_state(config.seed)
  batch = {k: v[0] for k, v in run.batches(0).items()}
  jaxpr = str(jax.make_jaxpr(run.game.train_step)(state, batch))
  convs = [line for line in jaxpr.splitlines() if "conv_general_dilated[" in line]
  assert convs and all("bf16[" in line for line in convs)  # every conv, G's and D's (SN) alike
  new, metrics = jax.jit(run.game.train_step)(state, batch)
  assert jax.tree.map(lambda a: a.dtype, new) == jax.tree.map(lambda a: a.dtype, state)
  assert all(v.dtype == jnp.float32 for v in metrics.values())

  config.model.compute_dtype = "float32"
  full = train.setup(config)
  assert "bf16[" not in str(jax.make_jaxpr(full.game.train_step)(state, batch))
  _, metrics32 = jax.jit(full.game.train_step)(state, batch)
  for name in ("d_loss", "g_loss"):  # bfloat16 keeps ~3 significant digits
    np.testing.assert_allclose(metrics[name], metrics32[name], rtol=3e-2)


TINY_RING8 = ["--config=experiments/ring8.py", "--config.model.generator.hidden=(32,32)",
              "--config.model.discriminator.hidden=(32,32)"]


def test_benchmark_script_reports_timings_flops_and_memory(tmp_path):
  out = tmp_path / "bench.json"
  result = run_script("scripts/benchmark.py", *TINY_RING8, "--config.batch_size=32", "--steps=18", "--warmup=1",
                      f"--output={out}")
  assert result.returncode == 0, result.stderr[-3000:]
  r = json.loads(out.read_text())
  assert r["framework"] == "jax" and r["platform"] == "cpu" and r["batch_size"] == 32
  assert r["steps"] == 18 and r["compile_s"] > 0 and r["flops_per_step"] > 0
  for name in ("synthetic_input", "real_input"):
    s = r[name]
    assert 0 < s["step_time_s_min"] <= s["step_time_s_median"] <= s["step_time_s_max"]
    assert s["samples_per_s"] == pytest.approx(32 / s["step_time_s_median"])
  assert r["step_time_s_median"] == r["synthetic_input"]["step_time_s_median"]
  per_round = r["real_input_slowdown_per_round"]  # 18 steps in rounds of 3 calls
  assert len(per_round) == 6 and r["real_input_slowdown"] == pytest.approx(np.median(per_round))
  # 6 rounds: the 95 % interval for the median is [min, max], coverage 1 - 2 / 64
  assert r["real_input_slowdown_ci95"] == {"low": min(per_round), "high": max(per_round), "coverage": 1 - 2 / 64}
  assert r["peak_host_memory_mb"] > 50 and r["mfu"] is None  # no known peak for a CPU
  assert "ms/step" in result.stdout

  # against the recorded run, which the new one then overwrites: read before it is written
  again = run_script("scripts/benchmark.py", *TINY_RING8, "--config.batch_size=32", "--steps=2", "--warmup=0",
                     "--input=synthetic", f"--recorded={out}", f"--output={out}")
  assert again.returncode == 0, again.stderr[-3000:]
  new = json.loads(out.read_text())
  assert new["recorded"]["step_time_s_median"] == r["step_time_s_median"]
  assert new["vs_recorded"] == pytest.approx(r["step_time_s_median"] / new["step_time_s_median"])
  assert "vs the recorded run" in again.stdout

  bad = run_script("scripts/benchmark.py", "--config=experiments/ring8.py", "--config.steps_per_call=0")
  assert bad.returncode == 2 and bad.stderr.strip() == (
      "error: config.steps_per_call=0 is not valid: expected an integer >= 1")
  missing = run_script("scripts/benchmark.py", "--config=experiments/ring8.py",
                       f"--recorded={tmp_path / 'none.json'}")
  assert missing.returncode == 2 and missing.stderr.strip().startswith(
      f"error: --recorded={tmp_path / 'none.json'}: not a benchmark JSON with step_time_s_median")
  assert len(missing.stderr.strip().splitlines()) == 1


def test_benchmark_script_counts_the_parameters_of_every_player_of_a_family(tmp_path):
  out = tmp_path / "bench.json"
  result = run_script("scripts/benchmark.py", *cli_args("text"), "--steps=1", "--warmup=0", "--input=synthetic",
                      f"--output={out}")
  assert result.returncode == 0, result.stderr[-3000:]
  state = jax.eval_shape(train.setup(smoke_config("text")).initial_state, 0)
  want = {name: sum(x.size for x in jax.tree.leaves(player.params)) for name, player in state.players.items()}
  assert json.loads(out.read_text())["param_counts"] == want and len(want) == 2
  assert ", ".join(f"{name} {count:,}" for name, count in want.items()) in result.stdout


def test_step_time_statistics_and_peak_flops_lookup():
  stats = benchmarking.step_time_stats([5.0, 1.0, 3.0, 2.0, 4.0])
  assert stats == {"step_time_s_median": 3.0, "step_time_s_min": 1.0, "step_time_s_max": 5.0,
                   "step_time_s_p10": pytest.approx(1.4), "step_time_s_p90": pytest.approx(4.6)}
  assert benchmarking.peak_flops("NVIDIA H100 80GB HBM3", "bfloat16") == 989e12
  assert benchmarking.peak_flops("NVIDIA H100 PCIe", "bfloat16") == 756e12  # the more specific entry wins
  assert benchmarking.peak_flops("TPU v5 lite", "bfloat16") == 197e12
  assert benchmarking.peak_flops("cpu", "float32") is None


def test_per_round_ratios_pair_each_round_of_two_alternating_timings():
  # Round medians 2 / 1 and 9 / 3; the ratio of the overall medians (2.5 / 3) would mix in the machine's
  # 3x slowdown between the two rounds.
  assert benchmarking.per_round_ratios([[1.0, 2.0, 3.0], [9.0]], [[1.0], [3.0, 3.0]]) == [2.0, 3.0]
  with pytest.raises(ValueError):  # unequal numbers of rounds are a bug, not a shorter comparison
    benchmarking.per_round_ratios([[1.0]], [[1.0], [2.0]])


def test_median_interval_takes_the_binomial_ranks_and_covers_the_median_that_often():
  # n = 20: P(B <= 5) = (1 + 20 + 190 + 1140 + 4845 + 15504) / 2**20 = 21700 / 1048576 <= 0.025 < P(B <= 6),
  # so the 95 % interval is [x_(6), x_(15)] with coverage 1 - 2 * 21700 / 2**20.
  values = np.random.default_rng(0).permutation(np.arange(1.0, 21.0))
  assert benchmarking.median_interval(values) == {"low": 6.0, "high": 15.0, "coverage": 1 - 2 * 21700 / 2**20}
  assert benchmarking.median_interval(np.arange(10.0), confidence=0.9)["coverage"] == 1 - 2 * 11 / 1024
  assert benchmarking.median_interval([1.0, 2.0, 3.0, 4.0, 5.0]) is None  # even [min, max] misses 1/16 > 5 %
  # skewed samples whose median is 1: the interval holds it in the stated fraction of 4000 repetitions
  samples = np.random.default_rng(1).lognormal(0.0, 0.5, size=(4000, 20))
  covered = [(i := benchmarking.median_interval(s))["low"] <= 1.0 <= i["high"] for s in samples]
  assert abs(np.mean(covered) - (1 - 2 * 21700 / 2**20)) < 0.012


def test_resume_may_change_steps_per_call_when_it_divides_the_checkpoint_step(tmp_path):
  def config(steps, k):
    c = tiny_ring_config(num_train_steps=steps, steps_per_call=k)
    c.log.every_steps = c.eval.every_steps = c.checkpoint.every_steps = k
    c.eval.num_samples = 100
    return c
  train.train_and_evaluate(config(4, 2), str(tmp_path))
  with pytest.raises(UserError, match=r"is at step 4, which steps_per_call=3 does not divide"):
    train.train_and_evaluate(config(6, 3), str(tmp_path))
  state, _ = train.train_and_evaluate(config(8, 4), str(tmp_path))
  assert int(state.step) == 8


def test_flops_of_a_call_do_not_depend_on_the_device_count_or_wrapper():
  config = tiny_digits_config(batch_size=64)
  run = train.setup(config)
  flops = {}
  for mode, n in (("jit", 1), ("jit", 4), ("pmap", 4)):
    par = parallel.make(mode, run.game.train_step, jax.devices()[:n])
    state = par.put_state(run.initial_state(0))
    flops[mode, n] = par.compile(state, par.put_batch(run.batches(0)))["flops"]
  assert flops["jit", 1] > 1e6
  for key in (("jit", 4), ("pmap", 4)):  # the same global batch: the same work, counted over devices
    assert flops[key] == pytest.approx(flops["jit", 1], rel=0.1), flops


def check_cpu_compiler_options_keep_the_numbers():
  """The tuned CPU options (parallel.CPU_COMPILER_OPTIONS) give the defaults' numbers on a conv GAN with
  batch norm, up to float summation order."""
  config = tiny_digits_config()
  for player in ("g", "d"):
    # A bias feeding batch norm has a zero gradient; Adam with a tiny eps would turn its float noise
    # (which summation order changes) into +-lr steps.
    config.optim[player].eps = 1e-3
  assert parallel.compiler_options(jax.devices()) == parallel.CPU_COMPILER_OPTIONS
  tuned, tuned_metrics = run_steps(config, 3)
  saved, parallel.CPU_COMPILER_OPTIONS = parallel.CPU_COMPILER_OPTIONS, {}
  try:
    plain, plain_metrics = run_steps(config, 3)
  finally:
    parallel.CPU_COMPILER_OPTIONS = saved
  assert_trees_close(tuned_metrics, plain_metrics, rtol=1e-5, atol=1e-6)
  assert_trees_close(tuned, plain, rtol=1e-5, atol=1e-6)


def test_cpu_compiler_options_keep_the_numbers_with_the_compiler_settings_training_uses():
  """In a process with training's XLA settings (the tests turn LLVM's optimization off: conftest.py)."""
  result = subprocess.run([sys.executable, "-c", "from tests.test_performance import "
                           "check_cpu_compiler_options_keep_the_numbers as check; check()"],
                          cwd=ROOT, env=dict(env(), XLA_FLAGS=""), capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]


def test_cpu_compiler_options_reach_the_compiler(monkeypatch):
  """An option XLA cannot parse fails the compile of both wrappers."""
  config = tiny_digits_config()
  monkeypatch.setattr(parallel, "CPU_COMPILER_OPTIONS",
                      {"xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_NOT_A_TYPE"})
  for mode in ("jit", "pmap"):
    with pytest.raises(Exception, match="xla_cpu_experimental_ynn_fusion_type"):
      run_steps(config, 1, mode=mode, devices=jax.devices()[:1])


def test_xla_flags_naming_a_cpu_compiler_option_win(monkeypatch):
  monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=4")
  assert parallel.compiler_options(jax.devices()) == parallel.CPU_COMPILER_OPTIONS
  monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_experimental_ynn_fusion_type=dot")
  expected = dict(parallel.CPU_COMPILER_OPTIONS)
  del expected["xla_cpu_experimental_ynn_fusion_type"]
  assert parallel.compiler_options(jax.devices()) == expected


def _logging_worker(name, log, then):
  """A timed-steps worker process whose step appends its name to `log`, then runs the statement `then`."""
  code = (f"import sys, time; sys.path.insert(0, {ROOT!r}); from gan import benchmarking\n"
          f"def step():\n  open({str(log)!r}, 'a').write({name!r} + '\\n'); {then}\n"
          f"benchmarking.serve_timed_steps(step, {{'name': {name!r}}})")
  return benchmarking.StepWorker(name, [sys.executable, "-c", code])


def test_workers_are_timed_in_alternating_rounds_that_reverse_their_order(tmp_path):
  log = tmp_path / "calls.log"
  workers = [_logging_worker("slow", log, "time.sleep(0.02)"), _logging_worker("fast", log, "time.sleep(0.01)")]
  try:
    assert [w.meta for w in workers] == [{"name": "slow"}, {"name": "fast"}]
    times = benchmarking.alternate_rounds(workers, rounds=3, steps_per_round=2, warmup=1)
  finally:
    for w in workers:
      w.close()
  assert log.read_text().split() == ["slow", "fast"] + ["slow"] * 2 + ["fast"] * 4 + ["slow"] * 4 + ["fast"] * 2
  assert [len(r) for r in times["slow"]] == [len(r) for r in times["fast"]] == [2, 2, 2]
  assert min(sum(times["slow"], [])) >= 0.02 and min(sum(times["fast"], [])) >= 0.01
  assert all(r > 1 for r in benchmarking.per_round_ratios(times["slow"], times["fast"]))
  assert all(w.process.returncode == 0 for w in workers)  # closing the pipe ends a worker


def test_a_worker_that_dies_before_answering_is_named():
  with pytest.raises(RuntimeError, match="the torch worker exited \\(code 3\\) without answering"):
    benchmarking.StepWorker("torch", [sys.executable, "-c", "import sys; sys.exit(3)"])
  # one that dies after announcing itself, at its first request
  worker = _logging_worker("flaky", os.devnull, "sys.exit(4)")
  try:
    with pytest.raises(RuntimeError, match="the flaky worker exited \\(code 4\\) without answering"):
      benchmarking.alternate_rounds([worker], rounds=2, steps_per_round=1)
  finally:
    worker.close()


def test_pytorch_comparison_rejects_bad_arguments_in_one_line():
  bad = run_script("scripts/benchmarks/compare_pytorch.py", "--rounds=0")
  assert bad.returncode == 2 and bad.stderr.strip() == (
      "error: --rounds and --steps_per_round must be >= 1 and --warmup >= 0")


def test_batch_scaling_script_times_each_batch_size(tmp_path):
  out = tmp_path / "scaling.json"
  script = "scripts/benchmarks/batch_scaling.py"
  result = run_script(script, *TINY_RING8, "--batch_sizes=16,32", "--steps=2", "--warmup=0", f"--output={out}")
  assert result.returncode == 0, result.stderr[-3000:]
  rows = json.loads(out.read_text())
  assert [r["batch_size"] for r in rows] == [16, 32]
  for r in rows:
    assert r["steps"] == 2 and r["samples_per_s"] == pytest.approx(r["batch_size"] / r["step_time_s_median"])
    assert f"| {r['batch_size']} | {r['step_time_s_median'] * 1e3:.1f} (" in result.stdout
  bad = run_script(script, *TINY_RING8, "--batch_sizes=16,0")
  assert bad.returncode == 2 and bad.stderr.strip() == (
      "error: --batch_sizes=16,0: expected a comma-separated list of integers >= 1")
