"""Samples/s of an experiment's train step against the batch size: scripts/benchmark.py once per size.

  python scripts/benchmarks/batch_scaling.py --config=experiments/bench_dcgan32.py:digits \
      [--config.k=v ...] [--batch_sizes=16,32,64,128,256] [--steps=10] [--warmup=2] [--output=FILE.json]

For each batch size, builds and compiles the run as scripts/benchmark.py does (`benchmark()`, synthetic
input already on the devices: the model's speed alone) and times `--steps` steps. Prints a Markdown
table (batch, median ms/step, samples/s, FLOP/s, MFU on accelerators, compile s, device memory) and
writes every size's full benchmark JSON as a list to --output. Bad input prints one `error:` line and
exits 2.
"""
from __future__ import annotations

import functools
import os
import sys

SCRIPTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(SCRIPTS))
sys.path.insert(0, SCRIPTS)

import benchmark  # noqa: E402  (scripts/benchmark.py: defines --config, --steps, --warmup, --peak_flops, --output)
from absl import app, flags, logging  # noqa: E402

from gan import json_io  # noqa: E402
from gan import main as gan_main  # noqa: E402
from gan.errors import UserError  # noqa: E402

flags.DEFINE_list("batch_sizes", ["16", "32", "64", "128", "256"], "Global batch sizes to time.")
FLAGS = flags.FLAGS


def batch_sizes() -> list[int]:
  try:
    sizes = [int(b) for b in FLAGS.batch_sizes]
  except ValueError:
    sizes = []
  if not sizes or min(sizes) < 1:
    raise UserError(f"--batch_sizes={','.join(FLAGS.batch_sizes)}: expected a comma-separated list of "
                    "integers >= 1")
  return sizes


def table(results: list[dict]) -> str:
  """The Markdown table of one result per batch size."""
  rows = ["| batch | median ms/step (p10–p90) | samples/s | GFLOP/s | MFU | compile s | device memory MB |",
          "| --- | --- | --- | --- | --- | --- | --- |"]
  for r in results:
    gflops = "" if r["flops_per_s"] is None else f"{r['flops_per_s'] / 1e9:.1f}"
    mfu = "" if r["mfu"] is None else f"{r['mfu'] * 100:.1f} %"
    memory = "" if r["device_memory_peak_mb"] is None else f"{r['device_memory_peak_mb']:.0f}"
    rows.append(f"| {r['batch_size']} | {r['step_time_s_median'] * 1e3:.1f} ({r['step_time_s_p10'] * 1e3:.1f}–"
                f"{r['step_time_s_p90'] * 1e3:.1f}) | {r['samples_per_s']:.1f} | {gflops} | {mfu} | "
                f"{r['compile_s']:.1f} | {memory} |")
  return "\n".join(rows)


def main(argv):
  if len(argv) > 1:
    gan_main.fail(f"unexpected arguments: {' '.join(argv[1:])}")
  logging.set_verbosity(logging.WARNING)
  benchmark.check_step_flags()
  results = []
  try:
    for size in batch_sizes():
      config = FLAGS.config.copy_and_resolve_references()
      config.batch_size = size
      results.append(benchmark.benchmark(config, steps=FLAGS.steps, warmup=FLAGS.warmup,
                                         which="synthetic", peak=FLAGS.peak_flops))
  except UserError as e:
    gan_main.fail(str(e))
  first = results[0]
  print(f"{first['config']}: {first['framework']} {first['framework_version']} on {first['device']} "
        f"({first['platform']} x{first['num_devices']}), {first['compute_dtype']}, synthetic input, "
        f"{first['steps']} timed steps per size")
  print(table(results))
  if FLAGS.output:
    json_io.write_json(FLAGS.output, results)
    print(f"wrote {FLAGS.output}")


if __name__ == "__main__":
  FLAGS.set_default("steps", 10)
  FLAGS.set_default("warmup", 2)
  app.run(main, flags_parser=functools.partial(gan_main.parse_flags, require_workdir=False))
