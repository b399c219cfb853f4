"""Offline metrics for generated 8x8 digits, from a small Flax CNN trained on the bundled digits.

The classifier (`DigitsCNN`) is trained deterministically (fixed stratified 80/20 split of the 1,797
digits bundled with scikit-learn, seed 0, fixed batch order) in a few seconds on a CPU and cached:
in memory per process and on disk under `$GAN_CACHE_DIR` (default `~/.cache/jax_gan`), keyed by a
hash of its recipe. Its held-out accuracy is reported with every result. The training loop
(`train_classifier`, which takes the network as `module`) and the atomic on-disk cache
(`cached_params`) also train the DomainCNN of gan/metrics/domain_classifier.py.

Images use the convention of `gan.data.builtin.load_digits`: float (N, 8, 8, 1) in [-1, 1].

`class_metrics` reports, over the predicted labels of a batch:
- `digits_classes_covered`: classes receiving at least 2% of the samples (a fifth of the uniform
  share 1/10, `PRESENT_FRACTION = 0.02`);
- `digits_class_entropy`: entropy of the predicted-class histogram in nats (log 10 = 2.303 means
  equal shares, 0 means a single class);
- `digits_max_class_share`, `digits_min_class_share`: largest and smallest class shares.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
from typing import Any, Callable

import flax.linen as nn
import flax.serialization
import jax
import jax.numpy as jnp
import numpy as np
import optax

from gan.data import index_rng
from gan.metrics.suite import FeatureNet, cache_dir

NUM_CLASSES = 10
PRESENT_FRACTION = 0.02  # a class is covered if it gets >= 0.2 / NUM_CLASSES of the samples


class DigitsCNN(nn.Module):
  """conv3x3(32) - conv3x3/2(64) - dense(128) = features - dense(10) = logits; ReLU between."""
  features: int = 128

  @nn.compact
  def __call__(self, x):
    h = nn.relu(nn.Conv(32, (3, 3))(x))
    h = nn.relu(nn.Conv(64, (3, 3), strides=(2, 2))(h))
    f = nn.relu(nn.Dense(self.features)(h.reshape(h.shape[0], -1)))
    return nn.Dense(NUM_CLASSES)(f), f


@dataclasses.dataclass(frozen=True)
class Recipe:
  """Everything that determines the trained classifier (its hash names the cache file)."""
  seed: int = 0
  num_steps: int = 2000
  batch_size: int = 64
  learning_rate: float = 1e-3
  weight_decay: float = 1e-4
  version: int = 1  # bump when the network or the training code changes

  def key(self) -> str:
    return hashlib.sha256(json.dumps(dataclasses.asdict(self), sort_keys=True).encode()).hexdigest()[:12]


def split_digits(seed: int = 0, train_fraction: float = 0.8):
  """Fixed stratified split of the bundled digits: (x_train, y_train, x_test, y_test)."""
  from sklearn.model_selection import train_test_split  # pylint: disable=g-import-not-at-top
  from gan.data.builtin import load_digits  # pylint: disable=g-import-not-at-top
  x, y = load_digits()
  x_train, x_test, y_train, y_test = train_test_split(x, y, train_size=train_fraction,
                                                      random_state=seed, stratify=y)
  return x_train, y_train, x_test, y_test


LR_SCHEDULES = ("constant", "cosine")


@functools.lru_cache(maxsize=8)
def _optimizer_and_step(module: nn.Module, learning_rate: float, weight_decay: float,
                        cosine_decay_steps: int | None = None):
  """AdamW and its jitted train step for `module` (a classifier returning (logits, features)), made
  once per (module, setting) so that repeated trainings compile once. With `cosine_decay_steps` the
  learning rate decays from `learning_rate` to 0 over that many steps (optax.cosine_decay_schedule)."""
  if cosine_decay_steps is not None:
    learning_rate = optax.cosine_decay_schedule(learning_rate, cosine_decay_steps)
  tx = optax.adamw(learning_rate, weight_decay=weight_decay)

  @jax.jit
  def step(params, opt_state, xb, yb):
    def loss_fn(p):
      logits, _ = module.apply({"params": p}, xb)
      return optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean()
    grads = jax.grad(loss_fn)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state
  return tx, step


def train_classifier(x, y, recipe: Recipe = Recipe(), *, mix_with=None, module: nn.Module | None = None,
                     lr_schedule: str = "constant"):
  """Trains `module` (default DigitsCNN()) on (x, y) with AdamW; batch `i` is drawn from a generator
  seeded by (seed, i).

  `recipe`: a `Recipe` or any object with its training fields (seed, num_steps, batch_size,
  learning_rate, weight_decay), e.g. `gan.metrics.domain_classifier.DomainRecipe`. `module` maps
  images to (logits, features) and is initialised from PRNGKey(seed) on the shape of one image.
  `lr_schedule`: "constant" (the DigitsCNN recipe) or "cosine" (decayed to 0 over num_steps).
  `mix_with=(x2, y2)`: half of every batch is drawn from (x2, y2) instead (data augmentation with a
  second source, gan/metrics/augmentation_score.py).
  """
  if lr_schedule not in LR_SCHEDULES:
    raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {lr_schedule!r}")
  module = DigitsCNN() if module is None else module
  params = module.init(jax.random.PRNGKey(recipe.seed), jnp.zeros((1, *x.shape[1:])))["params"]
  tx, step = _optimizer_and_step(module, recipe.learning_rate, recipe.weight_decay,
                                 recipe.num_steps if lr_schedule == "cosine" else None)
  opt_state = tx.init(params)

  for i in range(recipe.num_steps):
    rng = index_rng(recipe.seed, i)
    if mix_with is None:
      rows = rng.integers(0, len(x), recipe.batch_size)
      xb, yb = x[rows], y[rows]
    else:
      half = recipe.batch_size // 2
      rows, other = rng.integers(0, len(x), half), rng.integers(0, len(mix_with[0]), recipe.batch_size - half)
      xb = np.concatenate([x[rows], mix_with[0][other]])
      yb = np.concatenate([y[rows], mix_with[1][other]])
    params, opt_state = step(params, opt_state, xb, yb)
  return params


def cached_params(path: str, train: Callable[[], Any]) -> Any:
  """Parameters read from the msgpack file `path`, or `train()` (a pytree), saved there and returned.

  Written to a temporary file and renamed (atomic): concurrent processes never read a partial file.
  """
  if os.path.exists(path):
    with open(path, "rb") as f:
      return flax.serialization.msgpack_restore(f.read())
  params = jax.device_get(train())
  os.makedirs(os.path.dirname(path), exist_ok=True)
  tmp = f"{path}.tmp{os.getpid()}"
  with open(tmp, "wb") as f:
    f.write(flax.serialization.msgpack_serialize(params))
  os.replace(tmp, path)
  return params


class DigitsClassifier:
  """A trained DigitsCNN: labels, class probabilities and 128-d features of 8x8 digits.

  `net` is the same network as a `FeatureNet` (features, probabilities), named "DigitsCNN" with the
  sha256 of its serialised weights, for the feature-space metrics of gan/metrics/suite.py.
  """

  def __init__(self, params, held_out_accuracy: float):
    self.params = params
    self.held_out_accuracy = held_out_accuracy
    apply = jax.jit(lambda p, x: DigitsCNN().apply({"params": p}, x)[::-1])  # (features, logits)
    weights_hash = hashlib.sha256(flax.serialization.msgpack_serialize(
        jax.device_get(params))).hexdigest()[:16]
    self.net = FeatureNet(name="DigitsCNN", weights_hash=weights_hash,
                          resize="none (native 8x8x1 input)", apply=functools.partial(apply, params))

  def _features_and_probabilities(self, images) -> tuple[np.ndarray, np.ndarray]:
    images = np.asarray(images, np.float32)
    if images.ndim == 3:
      images = images[..., None]
    if images.shape[1:] != (8, 8, 1):
      raise ValueError(f"expected digits of shape (N, 8, 8, 1), got {images.shape}")
    return self.net(images)

  def predict(self, images) -> np.ndarray:
    """Predicted int32 labels (N,)."""
    return self.probabilities(images).argmax(-1).astype(np.int32)

  def probabilities(self, images) -> np.ndarray:
    """Softmax class probabilities, float64 (N, 10)."""
    return self._features_and_probabilities(images)[1]

  def features(self, images) -> np.ndarray:
    """The 128-d penultimate (post-ReLU) features, float64 (N, 128)."""
    return self._features_and_probabilities(images)[0]


def _cache_path(recipe: Recipe) -> str:
  return os.path.join(cache_dir(), f"digits_cnn_{recipe.key()}.msgpack")


@functools.lru_cache(maxsize=4)
def get_classifier(recipe: Recipe = Recipe()) -> DigitsClassifier:
  """The classifier of `recipe`: loaded from the disk cache, or trained (seconds) and cached."""
  x_train, y_train, x_test, y_test = split_digits(recipe.seed)
  params = cached_params(_cache_path(recipe), lambda: train_classifier(x_train, y_train, recipe))
  classifier = DigitsClassifier(params, 0.0)
  classifier.held_out_accuracy = float((classifier.predict(x_test) == y_test).mean())
  return classifier


def class_histogram_metrics(labels: np.ndarray) -> dict[str, float]:
  """Class coverage/balance of predicted labels (N,); see the module docstring."""
  labels = np.asarray(labels)
  n = len(labels)
  if n == 0:
    return {"digits_classes_covered": 0.0, "digits_class_entropy": 0.0,
            "digits_max_class_share": 0.0, "digits_min_class_share": 0.0}
  shares = np.bincount(labels, minlength=NUM_CLASSES) / n
  nz = shares > 0
  return {
      "digits_classes_covered": float((shares >= PRESENT_FRACTION).sum()),
      "digits_class_entropy": float(max(-np.sum(shares[nz] * np.log(shares[nz])), 0.0)),
      "digits_max_class_share": float(shares.max()),
      "digits_min_class_share": float(shares.min()),
  }


def class_metrics(images: np.ndarray, classifier: DigitsClassifier | None = None) -> dict[str, float]:
  """Class coverage/balance of `images` (N, 8, 8, 1) in [-1, 1]; see the module docstring."""
  return class_histogram_metrics((classifier or get_classifier()).predict(images))
