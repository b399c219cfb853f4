"""Mode statistics for samples of a 2D Gaussian mixture (ring8, grid25).

Definitions follow VEEGAN (Srivastava et al. 2017, "VEEGAN: Reducing Mode Collapse in GANs using
Implicit Variational Learning", synthetic experiments) and PacGAN (Lin et al. 2018, "PacGAN: The power of two
samples in generative adversarial networks", synthetic experiments):

- A sample is *high quality* (HQ) if its Euclidean distance to its nearest centre is at most
  3 * std.
- Each HQ sample is assigned to its nearest centre. A mode is *covered* if it receives at least
  `min_count_fraction * N` HQ samples, N being the total number of samples (HQ or not). The default
  threshold 0.008 is PacGAN's: 20 of 2,500 samples (80 of 10,000); a covered mode always has at
  least one HQ sample, whatever the fraction.
- *Reverse KL* is KL(q || p) where q is the normalised histogram of HQ samples over the K modes
  and p is uniform: sum_k q_k log(q_k K), with 0 log 0 = 0. With no HQ samples it is log K (the
  value for a single collapsed mode), so it is always in [0, log K].
"""
from __future__ import annotations

import numpy as np


def nearest_centers(samples: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """Index of, and distance to, the nearest centre of each sample: (N,) int64 and (N,) float64."""
  samples = np.asarray(samples, np.float64).reshape(-1, 2)
  centers = np.asarray(centers, np.float64).reshape(-1, 2)
  # (N, K) squared distances, one coordinate at a time (no (N, K, 2) temporary).
  d2 = (samples[:, None, 0] - centers[None, :, 0]) ** 2 + (samples[:, None, 1] - centers[None, :, 1]) ** 2
  idx = d2.argmin(axis=1)
  return idx, np.sqrt(d2[np.arange(len(samples)), idx])


def min_count_threshold(n: int, min_count_fraction: float = 0.008) -> int:
  """HQ samples a mode needs to count as covered: ceil(fraction * n), at least 1 (20 for n = 2,500)."""
  return max(1, int(np.ceil(min_count_fraction * n - 1e-9)))


def mode_metrics(samples: np.ndarray, centers: np.ndarray, std: float,
                 min_count_fraction: float = 0.008) -> dict[str, float]:
  """Modes covered, fraction of HQ samples and reverse KL of `samples` (N, 2) against `centers` (K, 2).

  Returns floats keyed `modes_covered`, `high_quality_fraction`, `reverse_kl`, `num_modes`; see the
  module docstring for the definitions (HQ: within 3 * std of the nearest centre; covered: at least
  `min_count_fraction * N` HQ samples).
  """
  centers = np.asarray(centers)
  k = len(centers)
  n = len(samples)
  if n == 0:
    return {"modes_covered": 0.0, "high_quality_fraction": 0.0,
            "reverse_kl": float(np.log(k)), "num_modes": float(k)}
  idx, dist = nearest_centers(samples, centers)
  hq = dist <= 3.0 * std
  counts = np.bincount(idx[hq], minlength=k)
  num_hq = int(counts.sum())
  covered = int((counts >= min_count_threshold(n, min_count_fraction)).sum())
  if num_hq == 0:
    rkl = float(np.log(k))
  else:
    q = counts / num_hq
    nz = q > 0
    rkl = float(np.sum(q[nz] * np.log(q[nz] * k)))
  return {"modes_covered": float(covered), "high_quality_fraction": num_hq / n,
          "reverse_kl": max(rkl, 0.0), "num_modes": float(k)}
