"""Evaluation metrics.

- `features`: feature-space metrics (FID, KID, IS, precision/recall, density/coverage), re-exported
  here so that `gan.metrics.frechet_distance(a, b)` works;
- `toy`: mode statistics of 2D Gaussian mixtures; `digits`: the offline 8x8-digit classifier;
- `inception`: the FID Inception-v3; `suite`: feature networks, cached reference statistics and
  the metric suite that gan/evaluation.py runs with them.
"""
from gan.metrics.features import (density_coverage, frechet_distance, inception_score,
                                  kernel_inception_distance, precision_recall)

__all__ = ["frechet_distance", "kernel_inception_distance", "inception_score", "precision_recall",
           "density_coverage"]
