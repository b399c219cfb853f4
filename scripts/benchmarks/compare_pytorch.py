"""JAX against PyTorch eager on bench_dcgan32: the two steps timed in alternating rounds, each in its own
process.

  python scripts/benchmarks/compare_pytorch.py [--rounds=10] [--steps_per_round=3] [--warmup=3]
      [--output=FILE.json]

On a shared machine whose speed drifts by tens of percent within minutes, two runs one after the other
(`make bench`) can differ by more than the two frameworks do. Here each framework's step is built once in
its own worker process, with that framework's default threading: the JAX one exactly as
scripts/benchmark.py builds it (gan/train.py `setup`, experiments/bench_dcgan32.py:digits, a synthetic
batch already on the device), the PyTorch one as scripts/benchmark_pytorch.py does (channels_last, a fixed
synthetic batch). The driver then asks them in turn for `--steps_per_round` timed steps, `--rounds` times,
the order reversed every other round, so both see the same machine (gan/benchmarking.py
`alternate_rounds`). Separate processes, because in one process the two thread pools got in each other's
way: PyTorch's OpenMP threads had to be told to sleep between its steps, and that alone made its step
18-38 % slower (2026-12-01), which flattered JAX in this script's earlier, single-process version.

Prints and writes (JSON) each framework's step-time statistics, `speedup` = PyTorch's median / JAX's
median, and the speedup of each round (`speedup_per_round`, PyTorch's round median / JAX's; its median,
`speedup_per_round_median`, is the figure drift cannot skew, its spread says how much the machine moved;
`speedup_per_round_median_ci95` is a distribution-free 95 % confidence interval for that median,
gan/benchmarking.py `median_interval`). Needs the optional PyTorch CPU build (pip install torch==2.13.0).
Exits 1 if PyTorch is missing, a worker fails, or the two networks' parameter counts differ.
"""
from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
SCRIPTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(SCRIPTS))
sys.path.insert(0, SCRIPTS)

import benchmark_pytorch  # noqa: E402  (scripts/benchmark_pytorch.py: the PyTorch twin; no JAX import)
import numpy as np  # noqa: E402

from gan import benchmarking, json_io  # noqa: E402


def parse_args(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--rounds", type=int, default=10, help="Alternations of the two frameworks.")
  parser.add_argument("--steps_per_round", type=int, default=3, help="Timed steps of each per round.")
  parser.add_argument("--warmup", type=int, default=3, help="Untimed steps of each before the rounds.")
  parser.add_argument("--output", default=None, help="JSON file to write (default: print only).")
  parser.add_argument("--worker", choices=("jax", "pytorch"), default=None, help=argparse.SUPPRESS)
  parser.add_argument("--batch_size", type=int, default=None, help=argparse.SUPPRESS)  # PyTorch worker's
  parser.add_argument("--seed", type=int, default=None, help=argparse.SUPPRESS)  # PyTorch worker's
  args = parser.parse_args(argv)
  if args.rounds < 1 or args.steps_per_round < 1 or args.warmup < 0:
    benchmark_pytorch.fail("--rounds and --steps_per_round must be >= 1 and --warmup >= 0", 2)
  return args


def serve_jax():
  """Worker: bench_dcgan32:digits's train call compiled on its state and a fixed batch on the device."""
  import jax  # pylint: disable=g-import-not-at-top
  from experiments import bench_dcgan32  # pylint: disable=g-import-not-at-top
  from gan import train  # pylint: disable=g-import-not-at-top
  config = bench_dcgan32.get_config("digits")
  run = train.setup(config)
  holder = {"state": run.par.put_state(run.initial_state(config.seed))}
  batch = run.par.put_batch(run.batches(0))
  run.par.compile(holder["state"], batch)

  def step():
    holder["state"], metrics = run.par.step(holder["state"], batch)
    jax.block_until_ready((holder["state"], metrics))
  benchmarking.serve_timed_steps(step, {"version": jax.__version__, "batch_size": config.batch_size,
                                        "seed": config.seed})


def serve_pytorch(batch_size: int, seed: int):
  """Worker: the PyTorch twin's train step (channels_last) on a fixed batch."""
  step, real, _ = benchmark_pytorch.build_step(batch_size, seed, benchmark_pytorch.torch.channels_last)
  benchmarking.serve_timed_steps(lambda: step(real), {"version": benchmark_pytorch.torch.__version__})


def compare(args) -> dict:
  """Starts both workers, times them in alternating rounds, returns the result dict."""
  workers = []
  try:
    workers.append(benchmarking.StepWorker("jax", [sys.executable, __file__, "--worker=jax"]))
    jax_meta = workers[0].meta
    workers.append(benchmarking.StepWorker("pytorch", [
        sys.executable, __file__, "--worker=pytorch", f"--batch_size={jax_meta['batch_size']}",
        f"--seed={jax_meta['seed']}"]))
    times = benchmarking.alternate_rounds(workers, args.rounds, args.steps_per_round, args.warmup)
  except RuntimeError as e:
    benchmark_pytorch.fail(str(e), 1)
  finally:
    for worker in workers:
      worker.close()
  result = {
      "config": "bench_dcgan32:digits (JAX) / scripts/benchmark_pytorch.py --channels_last",
      "device": benchmarking.cpu_name(), "threads": os.cpu_count(), "batch_size": jax_meta["batch_size"],
      "jax_version": jax_meta["version"], "pytorch_version": workers[1].meta["version"],
      "processes": "one per framework", "rounds": args.rounds, "steps_per_round": args.steps_per_round,
      "warmup": args.warmup,
      **{name: benchmarking.step_time_stats(sum(rounds, [])) for name, rounds in times.items()},
  }
  result["speedup"] = result["pytorch"]["step_time_s_median"] / result["jax"]["step_time_s_median"]
  result["speedup_per_round"] = benchmarking.per_round_ratios(times["pytorch"], times["jax"])
  result["speedup_per_round_median"] = float(np.median(result["speedup_per_round"]))
  result["speedup_per_round_median_ci95"] = benchmarking.median_interval(result["speedup_per_round"])
  return result


def main(argv=None):
  args = parse_args(argv)
  if benchmark_pytorch.torch is None and args.worker != "jax":
    benchmark_pytorch.fail("PyTorch is not installed: pip install torch==2.13.0 (CPU build)", 1)
  if args.worker == "jax":
    return serve_jax()
  if args.worker == "pytorch":
    return serve_pytorch(args.batch_size, args.seed)
  result = compare(args)
  for name in ("jax", "pytorch"):
    s = result[name]
    print(f"{name:8s} median {s['step_time_s_median'] * 1e3:6.1f} ms/step (p10 {s['step_time_s_p10'] * 1e3:.1f}, "
          f"p90 {s['step_time_s_p90'] * 1e3:.1f}), {result['batch_size'] / s['step_time_s_median']:.1f} samples/s")
  per_round, ci = result["speedup_per_round"], result["speedup_per_round_median_ci95"]
  interval = "too few rounds for a 95 % interval" if ci is None else (
      f"95 % interval of that median {ci['low']:.3f}-{ci['high']:.3f}")
  print(f"speedup (PyTorch median / JAX median): {result['speedup']:.3f}; per round: min {min(per_round):.2f}, "
        f"median {result['speedup_per_round_median']:.3f}, max {max(per_round):.2f}; {interval}")
  if args.output:
    json_io.write_json(args.output, result)
    print(f"wrote {args.output}")


if __name__ == "__main__":
  main()
