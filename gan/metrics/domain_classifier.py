"""A small CNN classifier of one image domain: the label and feature space of translation metrics.

Image-to-image translation is scored by what a classifier of the *target* domain sees in the
translations, as the "FCN-score" of pix2pix (Isola et al. 2017, "Image-to-Image Translation with
Conditional Adversarial Networks", Sec. 4.1: a classifier trained on real target-domain images labels
the synthesised ones, and its labels are compared with the ground truth) and the classifier-based
evaluation of CyCADA (Hoffman et al. 2018, "CyCADA: Cycle-Consistent Adversarial Domain Adaptation",
digit experiments, Sec. 4.1). Here a domain is a 10-class image set at any resolution (32x32 digits,
their edge maps, printed digits, MNIST, ...): `get_domain_classifier` trains a `DomainCNN` on the
domain's training split and measures it on its test split; gan/metrics/translation.py uses its labels
(label preservation) and its features (Frechet distance).

`DomainCNN`: conv5x5/2(32) - conv3x3/2(64) - conv3x3/2(128) - dense(128) = features - dense(10) =
logits, ReLU after every layer but the last, "SAME" padding: an H x W x C image becomes
ceil(H/8) x ceil(W/8) x 128 before the dense layers (356,746 parameters at 32x32x1). Every
convolution has stride 2: a stride-1 first convolution at full resolution made a training step about
ten times slower on a CPU without being more accurate on the 32x32 digits.

Training (the default `DomainRecipe`): AdamW (learning rate 1e-3, cosine-decayed to 0 over the
1,500 steps; weight decay 1e-4), softmax cross-entropy, batches of 64 rows drawn with replacement,
batch `i` by a generator seeded by (seed, i), parameters initialised from PRNGKey(seed): the loop of
`gan.metrics.digits.train_classifier`. Measured on a shared 2-core CPU: on the 1,437 scikit-learn
digits upsampled to 32x32 (`gan.data.builtin.resize_digits`, split by
`gan.metrics.digits.split_digits`) 0.981 accuracy on the 360 held-out digits (seeds 0, 1 and 2 alike;
0.983 with the tests' XLA flags) in 20-30 s; on MNIST resized to 32x32 (60,000 training images)
0.989 on its 10,000 test images (0.987 when padded to 32x32 instead) in 25-30 s.

Caching: in memory per process (keyed by the name, the recipe and hashes of all four arrays) and on
disk under `gan.metrics.suite.cache_dir()`, file `domain_cnn_<name>_<key>.msgpack`, the key hashing
the recipe, `NETWORK` (the architecture and training code, with `DomainRecipe.version`) and the
training images and labels (`gan.metrics.suite.data_hash`), written atomically
(`gan.metrics.digits.cached_params`). The held-out accuracy is measured on the test split at each
load (it is not part of the key).

Images: float (N, H, W, C) in [-1, 1] (uint8 in [0, 255] is mapped there, as in
`gan.metrics.suite.FeatureNet`); labels int in [0, 10).
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import re

import flax.linen as nn
import flax.serialization
import jax
import numpy as np

from gan.metrics import digits
from gan.metrics.suite import FeatureNet, _to_data_space, cache_dir, data_hash

NUM_CLASSES = 10
FEATURES = 128
# Describes everything in the trained parameters that the recipe does not: part of the cache key.
NETWORK = ("DomainCNN: conv5x5/2(32)-conv3x3/2(64)-conv3x3/2(128)-dense(128)-dense(10), ReLU, SAME; "
           "AdamW, softmax cross-entropy, batches drawn by index_rng(seed, i)")


class DomainCNN(nn.Module):
  """conv5x5/2(32) - conv3x3/2(64) - conv3x3/2(128) - dense(128) = features - dense(10) = logits.

  Returns (logits, features), ReLU after every layer but the logits (see the module docstring).
  """
  features: int = FEATURES

  @nn.compact
  def __call__(self, x):
    h = nn.relu(nn.Conv(32, (5, 5), strides=(2, 2))(x))
    h = nn.relu(nn.Conv(64, (3, 3), strides=(2, 2))(h))
    h = nn.relu(nn.Conv(128, (3, 3), strides=(2, 2))(h))
    f = nn.relu(nn.Dense(self.features)(h.reshape(h.shape[0], -1)))
    return nn.Dense(NUM_CLASSES)(f), f


@dataclasses.dataclass(frozen=True)
class DomainRecipe(digits.Recipe):
  """Everything that determines the trained classifier besides the data (its hash keys the cache):
  the digits classifier's recipe fields, 1,500 steps and a cosine-decayed learning rate."""
  num_steps: int = 1500
  lr_schedule: str = "cosine"  # "cosine" (to 0 over num_steps) or "constant"


@jax.jit
def _apply(params, images):
  """(features, logits) of a batch: the order `FeatureNet.apply` expects."""
  logits, feats = DomainCNN().apply({"params": params}, images)
  return feats, logits


class DomainClassifier:
  """A trained DomainCNN of one domain: labels, class probabilities and 128-d features.

  `net` is the same network as a `gan.metrics.suite.FeatureNet` (features, probabilities), named
  f"DomainCNN[{name}]" with the sha256 prefix of its serialised weights, for the feature-space
  metrics (gan/metrics/translation.py, gan/metrics/suite.py).
  """

  def __init__(self, name: str, params, input_shape: tuple[int, int, int], held_out_accuracy: float = 0.0):
    self.name = name
    self.params = params
    self.input_shape = tuple(int(d) for d in input_shape)
    self.held_out_accuracy = held_out_accuracy
    weights_hash = hashlib.sha256(flax.serialization.msgpack_serialize(
        jax.device_get(params))).hexdigest()[:16]
    h, w, c = self.input_shape
    self.net = FeatureNet(name=f"DomainCNN[{name}]", weights_hash=weights_hash,
                          resize=f"none (native {h}x{w}x{c} input)", apply=functools.partial(_apply, params))

  def check_images(self, images) -> np.ndarray:
    """`images` as an array of shape (N, *input_shape); (N, H, W) gets a channel axis if C = 1."""
    images = np.asarray(images)
    if images.ndim == 3 and self.input_shape[2] == 1:
      images = images[..., None]
    if images.shape[1:] != self.input_shape:
      raise ValueError(f"{self.net.name} takes images of shape (N, *{self.input_shape}), got {images.shape}")
    return images

  def features_and_probabilities(self, images) -> tuple[np.ndarray, np.ndarray]:
    """(features float64 (N, 128), softmax probabilities float64 (N, 10)) in one pass."""
    return self.net(self.check_images(images))

  def predict(self, images) -> np.ndarray:
    """Predicted int32 labels (N,)."""
    return self.probabilities(images).argmax(-1).astype(np.int32)

  def probabilities(self, images) -> np.ndarray:
    """Softmax class probabilities, float64 (N, 10)."""
    return self.features_and_probabilities(images)[1]

  def features(self, images) -> np.ndarray:
    """The 128-d penultimate (post-ReLU) features, float64 (N, 128)."""
    return self.features_and_probabilities(images)[0]


_MEMORY_CACHE: dict[tuple, DomainClassifier] = {}


def _as_split(x, y, what: str) -> tuple[np.ndarray, np.ndarray]:
  x = _to_data_space(np.asarray(x))
  y = np.asarray(y)
  if x.ndim != 4 or y.shape != (len(x),) or not len(x):
    raise ValueError(f"{what}: expected images (N, H, W, C) and labels (N,) with N > 0, "
                     f"got {x.shape} and {y.shape}")
  if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= NUM_CLASSES:
    raise ValueError(f"{what}: labels must be integers in [0, {NUM_CLASSES})")
  return x, y.astype(np.int32)


def cache_path(name: str, recipe: DomainRecipe, train_x: np.ndarray, train_y: np.ndarray) -> str:
  """The file of the parameters trained by `recipe` on (train_x float32, train_y int32)."""
  key = hashlib.sha256(json.dumps([recipe.key(), NETWORK, data_hash(train_x), data_hash(train_y)]).encode())
  safe_name = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
  return os.path.join(cache_dir(), f"domain_cnn_{safe_name}_{key.hexdigest()[:16]}.msgpack")


def get_domain_classifier(name: str, train_x, train_y, test_x, test_y,
                          recipe: DomainRecipe = DomainRecipe()) -> DomainClassifier:
  """The DomainCNN of domain `name` trained by `recipe` on (train_x, train_y), its held-out accuracy
  measured on (test_x, test_y): from the memory cache, the disk cache, or trained (seconds) and cached.
  """
  train_x, train_y = _as_split(train_x, train_y, "training split")
  test_x, test_y = _as_split(test_x, test_y, "test split")
  if test_x.shape[1:] != train_x.shape[1:]:
    raise ValueError(f"training images {train_x.shape[1:]} and test images {test_x.shape[1:]} differ")
  memory_key = (name, recipe, *(data_hash(a) for a in (train_x, train_y, test_x, test_y)))
  if memory_key in _MEMORY_CACHE:
    return _MEMORY_CACHE[memory_key]
  params = digits.cached_params(
      cache_path(name, recipe, train_x, train_y),
      lambda: digits.train_classifier(train_x, train_y, recipe, module=DomainCNN(),
                                      lr_schedule=recipe.lr_schedule))
  classifier = DomainClassifier(name, params, train_x.shape[1:])
  classifier.held_out_accuracy = float((classifier.predict(test_x) == test_y).mean())
  _MEMORY_CACHE[memory_key] = classifier
  return classifier
