"""What the benchmark scripts share: step-time statistics, per-round ratios of two timings made in
alternating rounds, the machine's name, accelerators' peak FLOP/s (for MFU).

No JAX import, so scripts/benchmark_pytorch.py uses it too and both report the same keys.
"""
from __future__ import annotations

import platform

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
