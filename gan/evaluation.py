"""Evaluation inside the training loop: a sample picture from fixed noise and the metrics that apply.

- 2D toys: `modes_covered`, `high_quality_fraction`, `reverse_kl` on `eval.num_samples` samples
  (definitions and the coverage threshold in gan/metrics/toy.py) and a scatter plot with the real modes.
- Images: a grid of the first `eval.grid_size` samples; for `digits`, the class histogram of the samples
  under a classifier trained on real digits (gan/metrics/digits.py).
The noise is drawn from `config.seed` alone, so pictures are comparable across evaluations and resumes.
"""
from __future__ import annotations

import os

import numpy as np

from gan import plotting, sampling
from gan.metrics import digits as digits_metrics
from gan.metrics import toy


class Evaluator:
  def __init__(self, config, game, dataset, workdir: str):
    self.config, self.game, self.dataset = config, game, dataset
    self.samples_dir = os.path.join(workdir, "samples")

  def __call__(self, step: int, g_params, g_collections, *, write_files: bool = True) -> dict:
    cfg = self.config.eval
    has_sample_metrics = self.dataset.kind == "points" or self.config.data.name == "digits"
    num = max(cfg.num_samples, cfg.grid_size) if has_sample_metrics else cfg.grid_size
    samples = sampling.generate(self.game, g_params, g_collections, num, seed=self.config.seed)
    metrics = {}
    path = os.path.join(self.samples_dir, f"step_{step:07d}.png")
    if self.dataset.kind == "points":
      metrics.update(toy.mode_metrics(samples, self.dataset.centers, self.dataset.std))
      if write_files:
        lim = float(np.abs(self.dataset.centers).max()) + 1.0
        title = (f"step {step}: {metrics['modes_covered']:.0f}/{metrics['num_modes']:.0f} modes, "
                 f"HQ {metrics['high_quality_fraction']:.3f}, rKL {metrics['reverse_kl']:.3f}")
        plotting.save_scatter(samples[:2500], path, centers=self.dataset.centers, title=title, lim=lim)
    else:
      if self.config.data.name == "digits":
        metrics.update(digits_metrics.class_metrics(samples))
      if write_files:
        plotting.save_image_grid(samples[:cfg.grid_size], path, upscale=None)
    return metrics
