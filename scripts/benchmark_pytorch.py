"""PyTorch-eager twin of scripts/benchmark.py: times GAN train steps of the bench_dcgan32 network on CPU.

The network is the one of experiments/bench_dcgan32.py (gan/models/dcgan.py with width 64 at 32x32):
  G: z(128) -> Linear -> 512x4x4, BN, ReLU; three ConvTranspose2d(4, stride 2, padding 1) to 256, 128,
     64 channels, each with BN and ReLU; Conv2d 3x3 (padding 1) -> 3 channels; tanh.
  D: Conv2d(4, stride 2, padding 1) -> 64, LeakyReLU(0.2); the same to 128 and 256, each with BN and
     LeakyReLU(0.2); flatten; Linear -> 1.
Batch 64 of 32x32x3 synthetic images (a fixed random tensor in [-1, 1]), Adam(2e-4, betas (0.5, 0.999))
for each player, non-saturating loss. One step = one D update (G's fakes under no_grad, real and fake
batches as two D calls) then one G update (D's parameters frozen: only D's input gradient is computed,
as in the JAX step). The script checks that its parameter counts equal the JAX models' and refuses to
run otherwise, so the two benchmarks time the same network.

PyTorch is optional and not in requirements.txt; install the CPU build into the venv with
  pip install torch==2.13.0
Run:
  python scripts/benchmark_pytorch.py --output=FILE.json [--steps=30] [--warmup=5] [--threads=N]
      [--channels_last]
The JSON has the same keys as scripts/benchmark.py's, so the two files compare key by key.
flops_per_step counts what torch.utils.flop_counter.FlopCounterMode counts: matmuls and convolutions
(forward and backward), not normalizations, activations or optimizer updates.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from gan.benchmarking import cpu_name, step_time_stats, time_calls  # noqa: E402  (imports no JAX)
from gan.json_io import write_json  # noqa: E402

try:
  import torch
  import torch.nn.functional as F
  from torch import nn
except ImportError:
  torch = None

# Trainable parameters (BN scale and bias included) of the JAX models of experiments/bench_dcgan32.py.
EXPECTED_GENERATOR_PARAMS = 3_813_379
EXPECTED_DISCRIMINATOR_PARAMS = 663_745

Z_DIM = 128
IMAGE_SIZE = 32
CHANNELS = 3
LEARNING_RATE = 2e-4
BETAS = (0.5, 0.999)


def fail(message, code):
  """Prints a one-line error to stderr and exits with `code`."""
  print(f"error: {message}", file=sys.stderr)
  sys.exit(code)


def parse_args(argv=None):
  """Parses the command line."""
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--steps", type=int, default=30, help="Timed steps.")
  parser.add_argument("--warmup", type=int, default=5, help="Untimed steps before the timed ones.")
  parser.add_argument("--batch_size", type=int, default=64, help="Batch size.")
  parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's).")
  parser.add_argument("--seed", type=int, default=0, help="Seed of the parameters, data and noise.")
  parser.add_argument("--channels_last", action="store_true", help="NHWC memory format (default NCHW).")
  parser.add_argument("--output", default=None, help="JSON path (default: print the JSON).")
  args = parser.parse_args(argv)
  if args.steps < 1 or args.warmup < 0 or args.batch_size < 1:
    fail("--steps and --batch_size must be >= 1 and --warmup >= 0", 2)
  if args.threads is not None and args.threads < 1:
    fail(f"--threads={args.threads} must be >= 1", 2)
  return args


def build_generator():
  """The bench_dcgan32 generator: z(128) -> 3x32x32 in [-1, 1]."""
  layers = [nn.Linear(Z_DIM, 4 * 4 * 512), nn.Unflatten(1, (512, 4, 4)), nn.BatchNorm2d(512), nn.ReLU()]
  for c_in, c_out in [(512, 256), (256, 128), (128, 64)]:
    layers += [nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1), nn.BatchNorm2d(c_out), nn.ReLU()]
  layers += [nn.Conv2d(64, CHANNELS, 3, padding=1), nn.Tanh()]
  return nn.Sequential(*layers)


def build_discriminator():
  """The bench_dcgan32 discriminator: 3x32x32 -> one logit."""
  layers = [nn.Conv2d(CHANNELS, 64, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
  for c_in, c_out in [(64, 128), (128, 256)]:
    layers += [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2)]
  layers += [nn.Flatten(), nn.Linear(256 * 4 * 4, 1)]
  return nn.Sequential(*layers)


def count_params(module):
  """Number of trainable parameters of `module`."""
  return sum(p.numel() for p in module.parameters() if p.requires_grad)


def check_param_counts(g, d):
  """Exits (code 1) unless G and D have the JAX models' parameter counts; returns the counts."""
  counts = {"generator": count_params(g), "discriminator": count_params(d)}
  expected = {"generator": EXPECTED_GENERATOR_PARAMS, "discriminator": EXPECTED_DISCRIMINATOR_PARAMS}
  if counts != expected:
    fail(f"parameter counts {counts} differ from the JAX models' {expected}: not the same network", 1)
  return counts


def make_train_step(g, d, batch_size, memory_format):
  """Returns a function doing one D update then one G update on a given real batch."""
  g_opt = torch.optim.Adam(g.parameters(), lr=LEARNING_RATE, betas=BETAS)
  d_opt = torch.optim.Adam(d.parameters(), lr=LEARNING_RATE, betas=BETAS)

  def noise():
    return torch.randn(batch_size, Z_DIM)

  def step(real):
    d.requires_grad_(True)
    d_opt.zero_grad(set_to_none=True)
    with torch.no_grad():
      fake = g(noise()).contiguous(memory_format=memory_format)
    real_logits, fake_logits = d(real), d(fake)
    d_loss = (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
              + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
    d_loss.backward()
    d_opt.step()

    d.requires_grad_(False)  # the G step needs D's input gradient only
    g_opt.zero_grad(set_to_none=True)
    logits = d(g(noise()).contiguous(memory_format=memory_format))
    g_loss = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
    g_loss.backward()
    g_opt.step()

  return step


def build_step(batch_size, seed, memory_format):
  """G and D from `seed` (exits unless their parameter counts are the JAX models'), a fixed synthetic real
  batch in [-1, 1] and the train step; returns (step, real batch, parameter counts)."""
  torch.manual_seed(seed)
  g = build_generator().to(memory_format=memory_format).train()
  d = build_discriminator().to(memory_format=memory_format).train()
  counts = check_param_counts(g, d)
  real = (torch.rand(batch_size, CHANNELS, IMAGE_SIZE, IMAGE_SIZE) * 2 - 1).contiguous(memory_format=memory_format)
  return make_train_step(g, d, batch_size, memory_format), real, counts


def count_flops(step, real):
  """FLOPs of one call of `step` as counted by FlopCounterMode, or None where it is unavailable."""
  try:
    from torch.utils.flop_counter import FlopCounterMode  # pylint: disable=g-import-not-at-top
  except ImportError:
    return None
  with FlopCounterMode(display=False) as counter:
    step(real)
  return int(counter.get_total_flops())


def time_steps(step, real, steps, warmup):
  """Runs `warmup` untimed then `steps` timed calls of `step`; returns the seconds of each timed one."""
  for _ in range(warmup):
    step(real)
  return time_calls(lambda: step(real), steps)  # eager PyTorch on CPU is synchronous


def summarize(args, times, flops, counts):
  """The result dict, with the same keys as scripts/benchmark.py's JSON."""
  stats = step_time_stats(times)
  median = stats["step_time_s_median"]
  return {
      "framework": "pytorch",
      "framework_version": torch.__version__,
      "config": "bench_dcgan32",
      "device": cpu_name(),
      "platform": "cpu",
      "num_devices": 1,
      "threads": torch.get_num_threads(),
      "batch_size": args.batch_size,
      "compile_s": None,  # eager: nothing is compiled
      "steps": args.steps,
      "warmup": args.warmup,
      **stats,
      "samples_per_s": args.batch_size / median,
      "flops_per_step": flops,
      "flops_per_s": None if flops is None else flops / median,
      "peak_host_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
      "param_counts": counts,
  }


def print_summary(result, memory_format_name):
  """Prints a short human-readable summary of `result`."""
  r = result
  print(f"{r['framework']} {r['framework_version']} on {r['device']} ({r['threads']} threads, "
        f"{memory_format_name}), config {r['config']}, batch {r['batch_size']}")
  print(f"params: G {r['param_counts']['generator']:,}, D {r['param_counts']['discriminator']:,}")
  print(f"step time over {r['steps']} steps (after {r['warmup']} warmup): median "
        f"{r['step_time_s_median']:.4f} s, min {r['step_time_s_min']:.4f}, max {r['step_time_s_max']:.4f}, "
        f"p10 {r['step_time_s_p10']:.4f}, p90 {r['step_time_s_p90']:.4f}")
  flops = "n/a" if r["flops_per_step"] is None else (
      f"{r['flops_per_step'] / 1e9:.2f} GFLOP/step, {r['flops_per_s'] / 1e9:.2f} GFLOP/s")
  print(f"throughput: {r['samples_per_s']:.1f} samples/s, {flops}")
  print(f"peak host memory: {r['peak_host_memory_mb']:.0f} MB")


def main(argv=None):
  """Builds the networks, checks them, times the steps and reports."""
  args = parse_args(argv)
  if torch is None:
    fail("PyTorch is not installed: pip install torch==2.13.0 (CPU build; optional, not in "
         "requirements.txt)", 2)
  if args.threads is not None:
    torch.set_num_threads(args.threads)
  memory_format = torch.channels_last if args.channels_last else torch.contiguous_format
  step, real, counts = build_step(args.batch_size, args.seed, memory_format)
  times = time_steps(step, real, args.steps, args.warmup)
  flops = count_flops(step, real)  # after timing: the counter's dispatch overhead stays out of it
  result = summarize(args, times, flops, counts)
  print_summary(result, "channels_last" if args.channels_last else "NCHW")
  if args.output:
    write_json(args.output, result)
    print(f"wrote {args.output}")
  else:
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
  main()
