"""Offline datasets that ship with the code: 2D Gaussian mixtures and scikit-learn's 8x8 digits.

- `ring8`: 8 Gaussians with centres on a circle of radius 2, std 0.02, equal weights
  (Metz et al. 2017, "Unrolled GANs", Sec. 3.1).
- `grid25`: 25 Gaussians with centres on {-4,-2,0,2,4}^2, std 0.02, equal weights
  (Dumoulin et al. 2017 / Srivastava et al. 2017, "VEEGAN").
- `digits`: the 1,797 labelled 8x8 digits bundled with scikit-learn (values 0..16), scaled to [-1, 1],
  shape (8, 8, 1); `data.image_size` (0 or 8: native) upsamples them (`data.resize_method` "bilinear"
  or "nearest") and `data.channels=3` repeats the gray channel, e.g. 32x32x3 for CIFAR-shaped
  benchmarks on a machine without CIFAR-10 (experiments/bench_dcgan32.py:digits).
"""
from __future__ import annotations

import numpy as np

from gan.data import ArrayDataset, index_rng

TOY_STD = 0.02


def toy_centers(name: str) -> np.ndarray:
  """Mode centres (K, 2) of the named 2D mixture."""
  if name == "ring8":
    angles = 2 * np.pi * np.arange(8) / 8
    return np.stack([2 * np.cos(angles), 2 * np.sin(angles)], axis=1).astype(np.float32)
  if name == "grid25":
    ticks = np.arange(-4, 5, 2, dtype=np.float32)
    return np.stack(np.meshgrid(ticks, ticks, indexing="ij"), axis=-1).reshape(-1, 2)
  raise ValueError(f"unknown toy dataset {name!r}")


class GaussianMixture2D:
  """Endless samples of an equal-weight mixture; batch `i` is drawn from a generator seeded by (seed, i)."""
  kind = "points"
  example_shape = (2,)

  def __init__(self, name, *, seed, batch_size, process_index=0, process_count=1):
    if batch_size % process_count:
      raise ValueError(f"batch_size={batch_size} is not divisible by the {process_count} processes")
    self.centers = toy_centers(name)
    self.std = TOY_STD
    self.num_classes = len(self.centers)
    self.seed, self.batch_size = seed, batch_size
    self.process_index, self.process_count = process_index, process_count

  def sample(self, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    labels = rng.integers(0, len(self.centers), size=n)
    x = self.centers[labels] + self.std * rng.standard_normal((n, 2))
    return {"x": x.astype(np.float32), "label": labels.astype(np.int32)}

  def get_batch(self, index: int) -> dict[str, np.ndarray]:
    batch = self.sample(index_rng(self.seed, index), self.batch_size)
    local = self.batch_size // self.process_count
    part = slice(self.process_index * local, (self.process_index + 1) * local)
    return {k: v[part] for k, v in batch.items()}


def load_digits() -> tuple[np.ndarray, np.ndarray]:
  """All 1,797 digits as float32 (N, 8, 8, 1) in [-1, 1] and int32 labels."""
  import sklearn.datasets  # pylint: disable=g-import-not-at-top
  digits = sklearn.datasets.load_digits()
  x = digits.images.astype(np.float32)[..., None] / 8.0 - 1.0
  return x, digits.target.astype(np.int32)


def _toy(name):
  return lambda config, **kw: GaussianMixture2D(name, **kw)


DIGITS_RESIZE_METHODS = ("bilinear", "nearest")


def resize_digits(x: np.ndarray, size: int, channels: int, method: str = "bilinear") -> np.ndarray:
  """Digits (N, 8, 8, 1) as (N, size, size, channels): upsampled by `method`, gray repeated to RGB."""
  import jax  # pylint: disable=g-import-not-at-top  (jax.image: the resize the models' code uses)
  if size and size != x.shape[1]:
    x = np.asarray(jax.image.resize(x, (x.shape[0], size, size, x.shape[3]), method=method))
  if channels == 3:
    x = np.repeat(x, 3, axis=-1)
  return np.clip(x, -1.0, 1.0).astype(np.float32)


def _digits(config, **kw):
  x, labels = load_digits()
  x = resize_digits(x, int(config.get("image_size", 0) or 0), int(config.get("channels", 0) or 0),
                    config.get("resize_method", "bilinear"))
  return ArrayDataset(x=x, labels=labels, kind="images", num_classes=10, **kw)


DATASETS = {"ring8": _toy("ring8"), "grid25": _toy("grid25"), "digits": _digits}
