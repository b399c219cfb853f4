"""Feature-space evaluation of generated images against a fixed real reference set.

A `FeatureNet` maps images in [-1, 1] to features (N, D) and class probabilities (N, C): the digits
CNN (`gan.metrics.digits.get_classifier().net`) or the FID Inception-v3
(`gan.metrics.inception.feature_net`). The evaluation (gan/evaluation.py) hands it 8-bit images
(`quantize_8bit`): generated images quantised as StyleGAN2-ADA's metrics do and as pytorch-fid reads
saved ones.
`get_reference` computes the reference set's statistics once per (feature net weights, reference
images) and caches them on disk; `feature_metrics` then scores generated samples:

- `<prefix>_fd`: Frechet distance between Gaussians fitted to all N generated and all reference
  features (Heusel et al. 2017, Eq. 6) -- FID when the net is Inception.
- `<prefix>_is`, `<prefix>_is_std`: Inception Score of the net's class probabilities over all N
  samples in `IS_SPLITS` = 10 splits (Salimans et al. 2016, Sec. 4).
- `<prefix>_kid`: KID (Binkowski et al. 2018), the unbiased MMD^2_u with the cubic kernel, averaged
  over `KID_SUBSETS` = 100 random subsets of `KID_SUBSET_SIZE` = 1,000 of the m samples of each set
  (seeded 0), as their reference code; with m <= 1,000 it is the one full estimate over all m x m pairs.
- `<prefix>_precision`, `<prefix>_recall` (k = 3, Kynkaanniemi et al. 2019, Eq. 1-3) and
  `<prefix>_density`, `<prefix>_coverage` (k = 5, Naeem et al. 2020, Eq. 3-4).
KID and the k-NN metrics compare equal-size sets, as their papers do: the first m = min(N, R)
generated samples against the first m rows of the reference's k-NN set, which holds at most
`MAX_KNN_REFERENCE` = 10,000 reference features in a fixed random order (permutation seeded 0), so
its first m rows are a uniform random subset.

Reference cache: `$GAN_CACHE_DIR` (default `~/.cache/jax_gan`), file
`reference_<net>_<key>.npz` where the key hashes the net's name and weights hash, the bytes of the
reference images and `CACHE_VERSION`; it holds mu and sigma (float64, of all reference features)
and the k-NN set (float32). Written atomically, so concurrent processes never read a partial file.

Device-count invariance: `FeatureNet.__call__` runs fixed-size batches (the last one zero-padded)
split over the local devices along the batch; every row is computed independently, and the
metrics are NumPy on the host, so 1 and 4 devices give identical numbers (tests/test_evaluation.py).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from typing import Callable

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from gan.errors import UserError
from gan.metrics import features as F

IS_SPLITS = 10
PRECISION_RECALL_K = 3
DENSITY_COVERAGE_K = 5
MAX_KNN_REFERENCE = 10_000
KID_SUBSET_SIZE, KID_SUBSETS = 1000, 100
MIN_SAMPLES = IS_SPLITS  # IS needs one sample per split; k-NN metrics need more than k + 1
CACHE_VERSION = 1  # bump when what is cached (or how it is computed) changes
INPUT_PROTOCOL = "8-bit: uint8 as given, floats in [-1, 1] as uint8(clip(x * 127.5 + 128, 0, 255))"


def cache_dir() -> str:
  """`$GAN_CACHE_DIR`, default `~/.cache/jax_gan`: trained helper nets and reference statistics."""
  return os.environ.get("GAN_CACHE_DIR", os.path.join(os.path.expanduser("~"), ".cache", "jax_gan"))


def quantize_8bit(images) -> np.ndarray:
  """Images as the uint8 images they would be saved as: uint8 as given; floats in [-1, 1] to the
  nearest of the 256 levels k / 127.5 - 1 (halves round up), clipped to [0, 255], computed in float32.
  StyleGAN2-ADA quantises generated images so before its feature nets (metrics/metric_utils.py,
  `compute_feature_stats_for_generator`: `(img * 127.5 + 128).clamp(0, 255).to(torch.uint8)`, the
  cast truncating), and pytorch-fid reads saved 8-bit images."""
  images = np.asarray(images)
  if images.dtype == np.uint8:
    return images
  return np.clip(images.astype(np.float32) * 127.5 + 128, 0, 255).astype(np.uint8)


def _to_data_space(images: np.ndarray) -> np.ndarray:
  """uint8 [0, 255] -> float32 [-1, 1] (as `gan.data.ArrayDataset.get_batch`); floats pass through."""
  if images.dtype == np.uint8:
    return images.astype(np.float32) / 127.5 - 1.0
  return images.astype(np.float32)


def _softmax(logits: np.ndarray) -> np.ndarray:
  z = logits.astype(np.float64)
  z = np.exp(z - z.max(axis=1, keepdims=True))
  return z / z.sum(axis=1, keepdims=True)


@dataclasses.dataclass(frozen=True)
class FeatureNet:
  """A fixed network giving features and class logits of images in [-1, 1].

  `apply`: jitted, (B, H, W, C) float32 -> (features (B, D), logits (B, C)), rows independent.
  `name`, `weights_hash` and `resize` (how images reach the net's input size) go into the protocol.
  """
  name: str
  weights_hash: str
  resize: str
  apply: Callable = dataclasses.field(repr=False)
  batch_size: int = 500  # images per device in one call

  def __call__(self, images, devices=None) -> tuple[np.ndarray, np.ndarray]:
    """(features float64 (N, D), class probabilities float64 (N, C)) of images (N, H, W, C).

    `images` are uint8 in [0, 255] or floats in [-1, 1]. Each of `devices` (default: the local devices)
    takes min(`batch_size`, N) images per call, consecutive ones (the last call zero-padded), so every
    image is computed at the same position of the same per-device program whatever the device count:
    the features are bit-identical on 1 or 4 devices (a per-device batch that changed with the device
    count would let XLA pick other kernels and change the last bits).
    """
    images = np.asarray(images)
    devices = devices or jax.local_devices()
    batch = min(self.batch_size, max(len(images), 1)) * len(devices)
    sharding = NamedSharding(Mesh(np.array(devices), ("batch",)), PartitionSpec("batch"))
    feats, logits = [], []
    for start in range(0, len(images), batch):
      chunk = _to_data_space(images[start:start + batch])
      n = len(chunk)
      if n < batch:
        chunk = np.concatenate([chunk, np.zeros((batch - n, *chunk.shape[1:]), np.float32)])
      f, lg = self.apply(jax.device_put(chunk, sharding))
      feats.append(np.asarray(f)[:n])
      logits.append(np.asarray(lg)[:n])
    if not feats:
      raise ValueError("no images to extract features from")
    return np.concatenate(feats).astype(np.float64), _softmax(np.concatenate(logits))


@dataclasses.dataclass(frozen=True)
class Reference:
  """Statistics of the real reference set in a feature net's space (see the module docstring)."""
  mu: np.ndarray  # (D,) mean of all reference features
  sigma: np.ndarray  # (D, D) covariance (ddof=1) of all reference features
  knn_features: np.ndarray  # (min(N, MAX_KNN_REFERENCE), D), fixed random order
  num: int  # N, reference images behind mu and sigma
  data_hash: str  # sha256 prefix of the reference images (shape, dtype and bytes)


def data_hash(images: np.ndarray) -> str:
  images = np.ascontiguousarray(images)
  digest = hashlib.sha256(f"{images.shape}{images.dtype}".encode())
  digest.update(images.tobytes())
  return digest.hexdigest()[:16]


def reference_path(net: FeatureNet, images_hash: str) -> str:
  key = hashlib.sha256(json.dumps([net.name, net.weights_hash, images_hash, CACHE_VERSION]).encode())
  return os.path.join(cache_dir(), f"reference_{net.name}_{key.hexdigest()[:16]}.npz")


def get_reference(net: FeatureNet, images: np.ndarray) -> Reference:
  """The reference statistics of `images` under `net`: read from the cache, or computed and cached."""
  if len(images) < MIN_SAMPLES:
    raise UserError(f"the reference set has {len(images)} images; the metrics need at least {MIN_SAMPLES}")
  images_hash = data_hash(images)
  path = reference_path(net, images_hash)
  if os.path.exists(path):
    with np.load(path) as f:
      return Reference(f["mu"], f["sigma"], f["knn_features"], int(f["num"]), images_hash)
  feats, _ = net(images)
  mu, sigma = F.feature_statistics(feats)
  order = np.random.default_rng(0).permutation(len(feats))[:MAX_KNN_REFERENCE]
  ref = Reference(mu, sigma, feats[order].astype(np.float32), len(feats), images_hash)
  os.makedirs(os.path.dirname(path), exist_ok=True)
  tmp = f"{path}.tmp{os.getpid()}"
  with open(tmp, "wb") as f:
    np.savez(f, mu=ref.mu, sigma=ref.sigma, knn_features=ref.knn_features, num=ref.num)
  os.replace(tmp, path)
  return ref


def feature_metrics(prefix: str, reference: Reference, feats: np.ndarray,
                    probs: np.ndarray) -> tuple[dict[str, float], dict]:
  """(metrics, protocol) of generated samples' features (N, D) and probabilities (N, C).

  Metric names are `<prefix>_<fd|is|is_std|kid|precision|recall|density|coverage>` (module docstring).
  """
  n = len(feats)
  if n < MIN_SAMPLES:
    raise UserError(f"feature metrics need at least {MIN_SAMPLES} generated samples, got {n}")
  m = min(n, len(reference.knn_features))
  real, fake = reference.knn_features[:m].astype(np.float64), feats[:m]
  inception_score = F.inception_score(probs, IS_SPLITS)
  metrics = {
      "fd": F.frechet_distance_to_stats(feats, reference.mu, reference.sigma),
      "is": inception_score["mean"], "is_std": inception_score["std"],
      "kid": F.kernel_inception_distance(real, fake, subset_size=KID_SUBSET_SIZE,
                                         num_subsets=KID_SUBSETS)["mean"],
      **F.precision_recall(real, fake, k=PRECISION_RECALL_K),
      **F.density_coverage(real, fake, k=DENSITY_COVERAGE_K),
  }
  protocol = {
      "num_reference": reference.num, "num_knn": m,
      "reference_data_hash": reference.data_hash, "is_splits": IS_SPLITS,
      "kid": (f"unbiased MMD^2, cubic kernel, over all {m} x {m} pairs" if m <= KID_SUBSET_SIZE else
              f"unbiased MMD^2, cubic kernel, mean over {KID_SUBSETS} random subsets of "
              f"{KID_SUBSET_SIZE} of the {m} per set (seed 0)"),
      "precision_recall_k": PRECISION_RECALL_K, "density_coverage_k": DENSITY_COVERAGE_K,
  }
  return {f"{prefix}_{k}": float(v) for k, v in metrics.items()}, protocol
