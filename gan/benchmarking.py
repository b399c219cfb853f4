"""What the benchmark scripts share: step-time statistics, per-round ratios of two timings made in
alternating rounds and a confidence interval for their median, worker processes that time steps on
request, the machine's name, accelerators' peak FLOP/s (for MFU).

No JAX import, so scripts/benchmark_pytorch.py uses it too and both report the same keys.
"""
from __future__ import annotations

import contextlib
import json
import math
import platform
import subprocess
import sys
import time

import numpy as np

# Dense peak FLOP/s per chip by compute dtype, from the vendors' datasheets (NVIDIA H100/H200/A100:
# bfloat16 tensor cores without sparsity; float32 matmuls run as TF32 on them by default in XLA.
# Google Cloud TPU system architecture pages: bfloat16; float32 matmuls use bfloat16 passes).
# Matched in order against jax's `device_kind`, first substring wins.
PEAK_FLOPS = (
    ("H100 PCIe", {"bfloat16": 756e12, "float32": 378e12}),
    ("H100", {"bfloat16": 989e12, "float32": 494e12}),
    ("H200", {"bfloat16": 989e12, "float32": 494e12}),
    ("A100", {"bfloat16": 312e12, "float32": 156e12}),
    ("TPU v4", {"bfloat16": 275e12, "float32": 275e12}),
    ("TPU v5 lite", {"bfloat16": 197e12, "float32": 197e12}),
    ("TPU v5e", {"bfloat16": 197e12, "float32": 197e12}),
    ("TPU v5", {"bfloat16": 459e12, "float32": 459e12}),
    ("TPU v6 lite", {"bfloat16": 918e12, "float32": 918e12}),
)


def peak_flops(device_kind: str, compute_dtype: str) -> float | None:
  """The chip's dense peak FLOP/s for `compute_dtype`, or None for unknown chips (CPUs included)."""
  for name, peaks in PEAK_FLOPS:
    if name in device_kind:
      return peaks.get(compute_dtype)
  return None


def cpu_name() -> str:
  """The CPU's model name from /proc/cpuinfo, else platform.processor()."""
  try:
    with open("/proc/cpuinfo") as f:
      for line in f:
        if line.startswith("model name"):
          return line.split(":", 1)[1].strip()
  except OSError:
    pass
  return platform.processor() or "unknown CPU"


def step_time_stats(seconds_per_step) -> dict[str, float]:
  """Median, min, max, 10th and 90th percentile of per-step wall-clock seconds."""
  t = np.asarray(seconds_per_step, np.float64)
  return {"step_time_s_median": float(np.median(t)), "step_time_s_min": float(t.min()),
          "step_time_s_max": float(t.max()), "step_time_s_p10": float(np.percentile(t, 10)),
          "step_time_s_p90": float(np.percentile(t, 90))}


def per_round_ratios(numerator_rounds, denominator_rounds) -> list[float]:
  """Median step time of each round of one timing over that of the same round of the other.

  Two things timed in alternating rounds see the same machine within a round, so on a machine whose
  speed drifts (a shared CPU) the median of these paired ratios is steadier than the ratio of the two
  overall medians.
  """
  return [float(np.median(a) / np.median(b)) for a, b in zip(numerator_rounds, denominator_rounds, strict=True)]


def median_interval(values, confidence: float = 0.95) -> dict | None:
  """Distribution-free confidence interval for the median of independent `values` (e.g. per-round ratios).

  The number of values below the true median is Binomial(n, 1/2), so with x_(1) <= ... <= x_(n) the
  interval [x_(k), x_(n+1-k)] misses it with probability 2 P(B <= k - 1); k is the largest rank for
  which that is at most 1 - `confidence` (Conover, "Practical Nonparametric Statistics", 3rd ed., Sec.
  3.2). Returns {"low", "high", "coverage"} (coverage: the exact probability, >= `confidence`), or None
  when there are too few values for that confidence (fewer than 6 at 95 %).
  """
  x = np.sort(np.asarray(values, np.float64))
  n = len(x)
  below = lambda k: sum(math.comb(n, i) for i in range(k)) / 2**n  # noqa: E731  P(B <= k - 1)
  k = 0
  while k + 1 <= (n + 1) // 2 and 2 * below(k + 1) <= 1 - confidence:
    k += 1
  if k == 0:
    return None
  return {"low": float(x[k - 1]), "high": float(x[n - k]), "coverage": 1 - 2 * below(k)}


# ---------------------------------------------------------------- steps timed in worker processes
# Two frameworks compared on one machine each run in their own process, with their own default thread
# pools: in a shared process they get in each other's way (PyTorch's OpenMP threads had to be told to
# sleep between its steps, which alone made its step 18-38 % slower). A driver asks the workers in turn.
_ANSWER = "@timed-steps "  # prefixes the worker's protocol lines; anything else it prints is skipped


def time_calls(call, num_calls: int) -> list[float]:
  """Wall-clock seconds of each of `num_calls` calls of `call()` (which must return only when done)."""
  seconds = []
  for _ in range(num_calls):
    start = time.perf_counter()
    call()
    seconds.append(time.perf_counter() - start)
  return seconds


def serve_timed_steps(step, meta: dict):
  """Worker side: announces `meta` on stdout, then for each line "N" of stdin times N calls of `step()`
  and answers with their seconds (a JSON list); returns when stdin ends (the driver closed the pipe)."""
  print(_ANSWER + json.dumps(meta), flush=True)
  for line in sys.stdin:
    print(_ANSWER + json.dumps(time_calls(step, int(line))), flush=True)


class StepWorker:
  """Driver side of `serve_timed_steps`: a worker process (`argv`) that times steps on request."""

  def __init__(self, name: str, argv: list[str]):
    self.name = name
    self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    self.meta = self._answer()

  def _answer(self):
    for line in self.process.stdout:
      if line.startswith(_ANSWER):
        return json.loads(line[len(_ANSWER):])
    raise RuntimeError(f"the {self.name} worker exited (code {self.process.wait()}) without answering")

  def time_steps(self, num_steps: int) -> list[float]:
    """Seconds of each of `num_steps` calls of the worker's step."""
    with contextlib.suppress(BrokenPipeError):  # a dead worker: _answer says so
      self.process.stdin.write(f"{num_steps}\n")
      self.process.stdin.flush()
    return self._answer()

  def close(self):
    with contextlib.suppress(BrokenPipeError):
      self.process.stdin.close()
    try:
      self.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
      self.process.kill()


def alternate_rounds(workers: list[StepWorker], rounds: int, steps_per_round: int,
                     warmup: int = 0) -> dict[str, list[list[float]]]:
  """`warmup` untimed steps of each worker, then `rounds` rounds of `steps_per_round` timed steps of
  each, the workers' order reversed every other round (neither always runs right after the other).
  Returns each worker's seconds per step, round by round."""
  for worker in workers:
    if warmup:
      worker.time_steps(warmup)
  times = {worker.name: [] for worker in workers}
  for r in range(rounds):
    for worker in (workers if r % 2 == 0 else workers[::-1]):
      times[worker.name].append(worker.time_steps(steps_per_round))
  return times
