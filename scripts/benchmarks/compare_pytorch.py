"""JAX against PyTorch eager on bench_dcgan32, the two steps timed in alternation in one process.

  python scripts/benchmarks/compare_pytorch.py [--rounds=10] [--steps_per_round=3] [--warmup=3]
      [--output=FILE.json]

On a shared machine whose speed drifts by tens of percent within minutes, two runs one after the other
(`make bench`) can differ by more than the two frameworks do. Here both steps are built once, the JAX
one exactly as scripts/benchmark.py builds it (gan/train.py `setup`, experiments/bench_dcgan32.py:digits,
a synthetic batch already on the device), the PyTorch one as scripts/benchmark_pytorch.py does
(channels_last, a fixed synthetic batch), and `--rounds` rounds each time `--steps_per_round` steps of
one then of the other, so both see the same machine. PyTorch's OpenMP threads are told to sleep rather
than spin between its steps (OMP_WAIT_POLICY=PASSIVE), so that they do not take the CPU from XLA's.

Prints and writes (JSON) each framework's step-time statistics, `speedup` = PyTorch's median / JAX's
median, and the speedup of each round (its spread says how much the machine moved). Needs the optional
PyTorch CPU build (pip install torch==2.13.0). Exits 1 if PyTorch is missing or the two networks'
parameter counts differ.
"""
from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch starts its OpenMP threads
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
SCRIPTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(SCRIPTS))
sys.path.insert(0, SCRIPTS)

import benchmark_pytorch  # noqa: E402  (scripts/benchmark_pytorch.py: the PyTorch twin)
import numpy as np  # noqa: E402

from gan import benchmarking, json_io  # noqa: E402


def parse_args(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--rounds", type=int, default=10, help="Alternations of the two frameworks.")
  parser.add_argument("--steps_per_round", type=int, default=3, help="Timed steps of each per round.")
  parser.add_argument("--warmup", type=int, default=3, help="Untimed steps of each before the rounds.")
  parser.add_argument("--output", default=None, help="JSON file to write (default: print only).")
  args = parser.parse_args(argv)
  if args.rounds < 1 or args.steps_per_round < 1 or args.warmup < 0:
    benchmark_pytorch.fail("--rounds and --steps_per_round must be >= 1 and --warmup >= 0", 2)
  return args


def jax_step():
  """bench_dcgan32:digits's train call on its state and a fixed batch, compiled; returns (step, config),
  `step` taking one ignored argument like the PyTorch step's batch."""
  import jax  # pylint: disable=g-import-not-at-top
  from experiments import bench_dcgan32  # pylint: disable=g-import-not-at-top
  from gan import train  # pylint: disable=g-import-not-at-top
  config = bench_dcgan32.get_config("digits")
  run = train.setup(config)
  holder = {"state": run.par.put_state(run.initial_state(config.seed))}
  batch = run.par.put_batch(run.batches(0))
  run.par.compile(holder["state"], batch)

  def step(_):
    holder["state"], metrics = run.par.step(holder["state"], batch)
    jax.block_until_ready((holder["state"], metrics))
  return step, config


def pytorch_step(batch_size: int, seed: int):
  """The PyTorch twin's train step and the fixed batch it runs on."""
  torch = benchmark_pytorch.torch
  torch.manual_seed(seed)
  memory_format = torch.channels_last
  g = benchmark_pytorch.build_generator().to(memory_format=memory_format).train()
  d = benchmark_pytorch.build_discriminator().to(memory_format=memory_format).train()
  benchmark_pytorch.check_param_counts(g, d)
  real = (torch.rand(batch_size, benchmark_pytorch.CHANNELS, benchmark_pytorch.IMAGE_SIZE,
                     benchmark_pytorch.IMAGE_SIZE) * 2 - 1).contiguous(memory_format=memory_format)
  return benchmark_pytorch.make_train_step(g, d, batch_size, memory_format), real


def main(argv=None):
  args = parse_args(argv)
  if benchmark_pytorch.torch is None:
    benchmark_pytorch.fail("PyTorch is not installed: pip install torch==2.13.0 (CPU build)", 1)
  import jax  # pylint: disable=g-import-not-at-top
  jax_call, config = jax_step()
  steps = {"jax": (jax_call, None), "pytorch": pytorch_step(config.batch_size, config.seed)}
  for step, batch in steps.values():
    benchmark_pytorch.time_steps(step, batch, 0, args.warmup)
  times = {name: [] for name in steps}
  for _ in range(args.rounds):
    for name, (step, batch) in steps.items():
      times[name].append(benchmark_pytorch.time_steps(step, batch, args.steps_per_round, 0))
  result = {
      "config": "bench_dcgan32:digits (JAX) / scripts/benchmark_pytorch.py --channels_last",
      "device": benchmarking.cpu_name(), "threads": os.cpu_count(), "batch_size": config.batch_size,
      "jax_version": jax.__version__, "pytorch_version": benchmark_pytorch.torch.__version__,
      "rounds": args.rounds, "steps_per_round": args.steps_per_round, "warmup": args.warmup,
      **{name: benchmarking.step_time_stats(sum(rounds, [])) for name, rounds in times.items()},
  }
  result["speedup"] = result["pytorch"]["step_time_s_median"] / result["jax"]["step_time_s_median"]
  result["speedup_per_round"] = benchmarking.per_round_ratios(times["pytorch"], times["jax"])
  for name in steps:
    s = result[name]
    print(f"{name:8s} median {s['step_time_s_median'] * 1e3:6.1f} ms/step (p10 {s['step_time_s_p10'] * 1e3:.1f}, "
          f"p90 {s['step_time_s_p90'] * 1e3:.1f}), {config.batch_size / s['step_time_s_median']:.1f} samples/s")
  per_round = result["speedup_per_round"]
  print(f"speedup (PyTorch median / JAX median): {result['speedup']:.3f}; per round: min "
        f"{min(per_round):.2f}, median {np.median(per_round):.2f}, max {max(per_round):.2f}")
  if args.output:
    json_io.write_json(args.output, result)
    print(f"wrote {args.output}")


if __name__ == "__main__":
  main()
