"""Times the train step of an experiment: compile time, seconds per step, samples/s, FLOP/s, memory.

  python scripts/benchmark.py --config=experiments/bench_dcgan32.py:digits [--config.key=value ...]
      [--steps=30] [--warmup=3] [--input=both|synthetic|real] [--peak_flops=F] [--output=FILE.json]
      [--baseline=OTHER.json] [--recorded=LAST_RUN.json]

Builds the run exactly as training does (gan/train.py `setup`, same device wrapper, donated state,
`config.steps_per_call` steps per compiled call), compiles the call once ahead of time (`compile_s`,
and XLA's cost analysis of the lowered program gives the FLOPs of a step), then times `--steps` steps
after `--warmup`, each call separately (blocking on its outputs):
  - synthetic: one batch already on the devices, reused (the model's speed alone);
  - real: batches made by the real input pipeline and put on the devices by the same background
    prefetcher as training;
with both, in alternating rounds of ROUND_CALLS calls of each, so that machine drift hits both alike, and
`real_input_slowdown` = the median over rounds of (real / synthetic median of the round) - 1, the
paired estimate that drift within the run does not skew (each round's in `real_input_slowdown_per_round`,
a 95 % confidence interval for the median in `real_input_slowdown_ci95`).
Prints a summary and writes JSON with (at least) compile_s, step_time_s_median (synthetic),
samples_per_s (global batch / median step time), the same for real input, min/max/p10/p90, FLOPs per
step and achieved FLOP/s, MFU (achieved / the chip's peak for config.model.compute_dtype, from
gan/benchmarking.py or --peak_flops), peak host memory, device memory (accelerators), device, versions.
Its keys match scripts/benchmark_pytorch.py's, the PyTorch twin of experiments/bench_dcgan32.py.
The persistent compilation cache is switched off so that compile_s is a real compile.
Bad input (config file, key or value) prints one `error:` line and exits 2.
"""
from __future__ import annotations

import functools
import json
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from absl import app, flags, logging  # noqa: E402

from gan import benchmarking, json_io  # noqa: E402  (no JAX import)
from gan import main as gan_main  # noqa: E402  (defines --config; its flag parsing gives one-line errors)
from gan.errors import UserError  # noqa: E402

flags.DEFINE_integer("steps", 30, "Timed train steps (rounded up to whole calls).")
flags.DEFINE_integer("warmup", 3, "Untimed train steps after compilation (rounded up to whole calls).")
flags.DEFINE_enum("input", "both", ["both", "synthetic", "real"], "Which input to time.")
flags.DEFINE_float("peak_flops", 0.0, "Peak FLOP/s of one device for MFU (0: gan/benchmarking.py's table).")
flags.DEFINE_string("output", None, "JSON file to write (default: print only).")
flags.DEFINE_string("baseline", None, "JSON of another benchmark run (e.g. scripts/benchmark_pytorch.py's) "
                    "to compare with: adds `baseline` and `speedup` (its median step time / ours).")
flags.DEFINE_string("recorded", None, "JSON of this benchmark's last recorded run (e.g. the repo's own, which "
                    "--output may then overwrite: it is read first): adds `vs_recorded` (its median step "
                    "time / ours; < 1 is a regression, or a slower machine).")
FLAGS = flags.FLAGS
# With --input=both the two inputs are timed in alternating rounds of this many calls each, so that a
# machine whose speed drifts (shared CPUs) slows both alike rather than whichever ran second.
ROUND_CALLS = 3


def time_calls(par, state, next_batch, num_calls: int):
  """Runs `num_calls` calls on `next_batch()`'s batches; returns (state, seconds of each call)."""
  import jax  # pylint: disable=g-import-not-at-top
  times = []
  for _ in range(num_calls):
    start = time.perf_counter()
    state, metrics = par.step(state, next_batch())
    jax.block_until_ready((state, metrics))
    times.append(time.perf_counter() - start)
  return state, times


def benchmark(config, *, steps: int, warmup: int, which: str, peak: float) -> dict:
  """The measurements of one config (see the module docstring)."""
  import jax  # pylint: disable=g-import-not-at-top
  from gan import train  # pylint: disable=g-import-not-at-top
  from gan.data import Prefetcher  # pylint: disable=g-import-not-at-top
  jax.config.update("jax_enable_compilation_cache", False)
  run = train.setup(config)
  k = config.steps_per_call
  calls = lambda n: -(-n // k)  # noqa: E731  (ceil)
  state = run.par.put_state(run.initial_state(config.seed))
  players = ({name: player.params for name, player in state.players.items()} if hasattr(state, "players")
             else {"generator": state.g_params, "discriminator": state.d_params})  # a family's TrainState or GANState
  params = {name: sum(x.size for x in jax.tree.leaves(p)) for name, p in players.items()}
  first = run.par.put_batch(run.batches(0))
  cost = run.par.compile(state, first)
  device = jax.devices()[0]
  sources, prefetcher = {}, None
  if which in ("both", "synthetic"):
    sources["synthetic"] = lambda: first
  if which in ("both", "real"):
    prefetcher = Prefetcher(lambda c: run.par.put_batch(run.batches(c)), start=1)
    index = iter(range(1, 1 << 62))
    sources["real"] = lambda: prefetcher.get(next(index))
  rounds = {name: [] for name in sources}  # per source, each round's seconds per call
  try:
    for source in sources.values():
      state, _ = time_calls(run.par, state, source, calls(warmup))
    for start in range(0, calls(steps), ROUND_CALLS):  # alternating rounds see the same machine
      for name, source in sources.items():
        state, seconds = time_calls(run.par, state, source, min(ROUND_CALLS, calls(steps) - start))
        rounds[name].append(seconds)
  finally:
    if prefetcher is not None:
      prefetcher.close()
  result = {name: benchmarking.step_time_stats([t / k for r in rs for t in r]) for name, rs in rounds.items()}
  main = result.get("synthetic") or result["real"]
  flops = None if cost["flops"] is None else cost["flops"] / k
  dtype = config.model.get("compute_dtype", "float32")
  peak = peak or benchmarking.peak_flops(device.device_kind, dtype)
  flops_per_s = None if flops is None else flops / main["step_time_s_median"]
  memory = device.memory_stats() if hasattr(device, "memory_stats") else None
  out = {
      "framework": "jax", "framework_version": jax.__version__,
      "jaxlib_version": getattr(jax.lib, "__version__", None) or jax.__version__,
      "config": config_name(), "device": benchmarking.cpu_name() if device.platform == "cpu" else device.device_kind,
      "platform": device.platform, "num_devices": run.par.num_devices, "threads": os.cpu_count(),
      "batch_size": config.batch_size, "compute_dtype": dtype, "steps_per_call": k,
      "compile_s": cost["compile_s"], "steps": calls(steps) * k, "warmup": calls(warmup) * k,
      **main, "samples_per_s": config.batch_size / main["step_time_s_median"],
      "flops_per_step": flops, "flops_per_s": flops_per_s, "peak_flops": peak,
      "mfu": None if not (peak and flops_per_s) else flops_per_s / (peak * run.par.num_devices),
      "peak_host_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
      "device_memory_peak_mb": (memory or {}).get("peak_bytes_in_use", 0) / 2**20 or None,
      "param_counts": params,
  }
  for name, stats in result.items():
    out[f"{name}_input"] = {**stats, "samples_per_s": config.batch_size / stats["step_time_s_median"]}
  if len(result) == 2:
    per_round = [r - 1.0 for r in benchmarking.per_round_ratios(rounds["real"], rounds["synthetic"])]
    out["real_input_slowdown"] = float(np.median(per_round))
    out["real_input_slowdown_per_round"] = per_round
    out["real_input_slowdown_ci95"] = benchmarking.median_interval(per_round)
  return out


def config_name() -> str:
  """The --config argument and its overrides, as given."""
  return " ".join(a for a in sys.argv[1:] if a.startswith("--config"))


def summary(r: dict) -> str:
  """A few human-readable lines of a result."""
  lines = [f"{r['config']}: {r['framework']} {r['framework_version']} on {r['device']} "
           f"({r['platform']} x{r['num_devices']}), batch {r['batch_size']}, {r['compute_dtype']}, "
           f"{r['steps_per_call']} step(s) per call",
           f"compile {r['compile_s']:.1f} s; params "
           + ", ".join(f"{name} {count:,}" for name, count in r["param_counts"].items())]
  for name in ("synthetic", "real"):
    s = r.get(f"{name}_input")
    if s:
      lines.append(f"{name:9s} input: median {s['step_time_s_median'] * 1e3:.1f} ms/step (p10 "
                   f"{s['step_time_s_p10'] * 1e3:.1f}, p90 {s['step_time_s_p90'] * 1e3:.1f}), "
                   f"{s['samples_per_s']:.1f} samples/s")
  if "real_input_slowdown" in r:
    per_round, ci = r["real_input_slowdown_per_round"], r["real_input_slowdown_ci95"]
    interval = "" if ci is None else f"; 95 % interval {ci['low'] * 100:+.1f}% to {ci['high'] * 100:+.1f}%"
    lines.append(f"real input vs synthetic: {r['real_input_slowdown'] * 100:+.1f}% (median of {len(per_round)} "
                 f"rounds; per round {min(per_round) * 100:+.1f}% to {max(per_round) * 100:+.1f}%{interval})")
  if r["flops_per_step"]:
    mfu = f", MFU {r['mfu'] * 100:.1f}%" if r["mfu"] else ""
    lines.append(f"{r['flops_per_step'] / 1e9:.2f} GFLOP/step (XLA), {r['flops_per_s'] / 1e9:.1f} GFLOP/s{mfu}")
  if "speedup" in r:
    b = r["baseline"]
    lines.append(f"vs {b['framework']} {b['framework_version']} ({b['step_time_s_median'] * 1e3:.1f} ms/step): "
                 f"{r['speedup']:.2f}x")
  if "vs_recorded" in r:
    lines.append(f"vs the recorded run ({r['recorded']['step_time_s_median'] * 1e3:.1f} ms/step): "
                 f"{r['vs_recorded']:.2f}x (< 1: slower now)")
  memory = f"peak host memory {r['peak_host_memory_mb']:.0f} MB"
  if r["device_memory_peak_mb"]:
    memory += f", device memory {r['device_memory_peak_mb']:.0f} MB"
  return "\n".join([*lines, memory])


def load_baseline(path: str, flag: str = "baseline") -> dict:
  """The other run's framework, device and median step time, from its benchmark JSON (`--flag=path`)."""
  try:
    with open(path) as f:
      other = json.load(f)
    float(other["step_time_s_median"])
  except (OSError, ValueError, KeyError, TypeError) as e:
    raise UserError(f"--{flag}={path}: not a benchmark JSON with step_time_s_median ({e})") from None
  return {k: other.get(k) for k in ("framework", "framework_version", "device", "threads", "batch_size",
                                    "step_time_s_median", "flops_per_s")}


def check_step_flags():
  """Exits with one error line unless --steps >= 1 and --warmup >= 0 (shared with batch_scaling.py)."""
  if FLAGS.steps < 1 or FLAGS.warmup < 0:
    gan_main.fail(f"--steps={FLAGS.steps} must be >= 1 and --warmup={FLAGS.warmup} >= 0")


def main(argv):
  if len(argv) > 1:
    gan_main.fail(f"unexpected arguments: {' '.join(argv[1:])}")
  logging.set_verbosity(logging.WARNING)  # the summary is the output
  check_step_flags()
  try:
    baseline = load_baseline(FLAGS.baseline) if FLAGS.baseline else None
    recorded = load_baseline(FLAGS.recorded, "recorded") if FLAGS.recorded else None
    result = benchmark(FLAGS.config, steps=FLAGS.steps, warmup=FLAGS.warmup, which=FLAGS.input,
                       peak=FLAGS.peak_flops)
  except UserError as e:
    gan_main.fail(str(e))
  if baseline:  # speedup: the baseline's median step time / ours (synthetic input on both sides)
    result.update(baseline=baseline, speedup=baseline["step_time_s_median"] / result["step_time_s_median"])
  if recorded:
    result.update(recorded=recorded, vs_recorded=recorded["step_time_s_median"] / result["step_time_s_median"])
  print(summary(result))
  if FLAGS.output:
    json_io.write_json(FLAGS.output, result)
    print(f"wrote {FLAGS.output}")


if __name__ == "__main__":
  app.run(main, flags_parser=functools.partial(gan_main.parse_flags, require_workdir=False))
