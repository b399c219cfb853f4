"""Offline metrics for generated digits, from small Flax CNNs the project trains itself.

Two classifiers share one code path (`Network`, `train_classifier`, `cached_params`,
`DigitsClassifier`):
- `DigitsCNN` (`DIGITS_CNN`, metric prefix "digits") for the 8x8 digits bundled with scikit-learn,
  trained deterministically (fixed stratified 80/20 split of the 1,797 digits, seed 0, fixed batch
  order) in a few seconds on a CPU; its held-out accuracy is reported with every result.
- `MnistCNN` (`MNIST_CNN`, prefix "mnist"), LeNet-like, for 28x28 (and 32x32, resized) MNIST-format
  digits: trained by `MNIST_RECIPE` on the training split of the user's IDX files (`eval.mnist_path`
  or `data.path`; gan/data/idx.py) in minutes on a CPU; its accuracy on that directory's test split is
  reported with every result (MNIST: docs/data.md).
Both are cached in memory per process and on disk under `$GAN_CACHE_DIR` (default
`~/.cache/jax_gan`), keyed by a hash of the recipe (and, for MNIST, of the training data); the
feature-net protocol names each by the sha256 of its weights. `train_classifier` (which takes the
network as `module`) and `cached_params` also train the DomainCNN of gan/metrics/domain_classifier.py.

Images use the convention of the data pipeline: float (N, S, S, 1) in [-1, 1] (or uint8).

`class_histogram_metrics` reports, over the predicted labels of a batch (prefix "digits" or "mnist"):
- `<prefix>_classes_covered`: classes receiving at least 2% of the samples (a fifth of the uniform
  share 1/10, `PRESENT_FRACTION = 0.02`);
- `<prefix>_class_entropy`: entropy of the predicted-class histogram in nats (log 10 = 2.303 means
  equal shares, 0 means a single class);
- `<prefix>_max_class_share`, `<prefix>_min_class_share`: largest and smallest class shares.
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
from absl import logging

from gan.data import idx, index_rng
from gan.errors import UserError
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


def max_pool_2x2(h):
  """2x2 max pooling with stride 2 of NHWC `h` (even H, W) as a reshape: on XLA:CPU its gradient is
  faster than `nn.max_pool`'s select-and-scatter."""
  n, height, width, channels = h.shape
  return h.reshape(n, height // 2, 2, width // 2, 2, channels).max(axis=(2, 4))


class MnistCNN(nn.Module):
  """LeNet-like (LeCun et al. 1998, "Gradient-based learning applied to document recognition", LeNet-5
  with ReLU and max pooling) for 28x28x1 digits: conv5x5(32) - maxpool2 - conv5x5(64) - maxpool2 -
  dense(128) = features - dense(10) = logits; valid convolutions, ReLU after each hidden layer."""
  features: int = 128

  @nn.compact
  def __call__(self, x):
    h = max_pool_2x2(nn.relu(nn.Conv(32, (5, 5), padding="VALID")(x)))
    h = max_pool_2x2(nn.relu(nn.Conv(64, (5, 5), padding="VALID")(h)))
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


def random_shifts(x: np.ndarray, rng: np.random.Generator, max_shift: int) -> np.ndarray:
  """Each image of NHWC `x` translated by its own (dy, dx), uniform in [-max_shift, max_shift]^2, the
  uncovered border filled with the image's edge pixels (background for digits)."""
  n, height, width, _ = x.shape
  dy, dx = rng.integers(-max_shift, max_shift + 1, (2, n))
  padded = np.pad(x, ((0, 0), (max_shift, max_shift), (max_shift, max_shift), (0, 0)), mode="edge")
  rows = (max_shift - dy)[:, None] + np.arange(height)
  cols = (max_shift - dx)[:, None] + np.arange(width)
  return padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]


def train_classifier(x, y, recipe: Recipe = Recipe(), *, mix_with=None, module: nn.Module | None = None,
                     lr_schedule: str = "constant", max_shift: int = 0):
  """Trains `module` (default DigitsCNN()) on (x, y) with AdamW; batch `i` is drawn from a generator
  seeded by (seed, i).

  `recipe`: a `Recipe` or any object with its training fields (seed, num_steps, batch_size,
  learning_rate, weight_decay), e.g. `gan.metrics.domain_classifier.DomainRecipe`. `module` maps
  images to (logits, features) and is initialised from PRNGKey(seed) on the shape of one image.
  `lr_schedule`: "constant" (the DigitsCNN recipe) or "cosine" (decayed to 0 over num_steps).
  `mix_with=(x2, y2)`: half of every batch is drawn from (x2, y2) instead (data augmentation with a
  second source, gan/metrics/augmentation_score.py). `max_shift` > 0: every batch is augmented by
  `random_shifts` drawn from the same generator.
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
    if max_shift:
      xb = random_shifts(xb, rng, max_shift)
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


@dataclasses.dataclass(frozen=True)
class Network:
  """A digit classifier the metrics use: its module, metric prefix, input sides and LR schedule.

  Images of a side in `sizes` other than `input_size` are resized to it (jax.image.resize, linear,
  antialiased) inside the jitted network, the same way for generated and reference images.
  """
  name: str  # the FeatureNet's name in the protocol
  prefix: str  # metric names: <prefix>_fd, <prefix>_classes_covered, ...
  module: nn.Module
  input_size: int
  sizes: tuple[int, ...]  # image sides accepted
  lr_schedule: str  # train_classifier's
  max_shift: int = 0  # train_classifier's random-translation augmentation

  def train(self, x, y, recipe: Recipe, **kwargs):
    """`train_classifier` of this network with its schedule and augmentation."""
    return train_classifier(x, y, recipe, module=self.module, lr_schedule=self.lr_schedule,
                            max_shift=self.max_shift, **kwargs)

  def key(self, recipe: Recipe) -> str:
    """Hash of everything that determines the trained weights besides the data."""
    settings = [dataclasses.asdict(recipe), self.name, self.lr_schedule, self.max_shift]
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]

  @property
  def resize(self) -> str:
    others = [s for s in self.sizes if s != self.input_size]
    native = f"none (native {self.input_size}x{self.input_size}x1 input)"
    return native + "".join(f"; {s}x{s}x1 resized to {self.input_size}x{self.input_size} (jax.image.resize, "
                            "linear, antialiased)" for s in others)


DIGITS_CNN = Network("DigitsCNN", "digits", DigitsCNN(), 8, (8,), "constant")
MNIST_CNN = Network("MnistCNN", "mnist", MnistCNN(), 28, (28, 32), "cosine", max_shift=2)


class DigitsClassifier:
  """A trained digit classifier (`network`: DIGITS_CNN or MNIST_CNN): labels, class probabilities and
  128-d features of grey digits (N, S, S, 1), S in `network.sizes`, in [-1, 1] (or uint8).

  `net` is the same network as a `FeatureNet` (features, probabilities), named after the network with
  the sha256 of its serialised weights, for the feature-space metrics of gan/metrics/suite.py.
  """

  def __init__(self, params, held_out_accuracy: float, network: Network = DIGITS_CNN):
    self.params = params
    self.held_out_accuracy = held_out_accuracy
    self.network = network
    self.trained_on: dict = {}  # provenance for the protocol (get_mnist_classifier)
    size = network.input_size

    def apply(p, x):
      if x.shape[1:3] != (size, size):
        x = jax.image.resize(x, (x.shape[0], size, size, x.shape[3]), "linear", antialias=True)
      return network.module.apply({"params": p}, x)[::-1]  # (features, logits)

    weights_hash = hashlib.sha256(flax.serialization.msgpack_serialize(
        jax.device_get(params))).hexdigest()[:16]
    self.net = FeatureNet(name=network.name, weights_hash=weights_hash, resize=network.resize,
                          apply=functools.partial(jax.jit(apply), params))

  def _features_and_probabilities(self, images) -> tuple[np.ndarray, np.ndarray]:
    images = np.asarray(images)
    if images.dtype != np.uint8:
      images = images.astype(np.float32)
    if images.ndim == 3:
      images = images[..., None]
    if not (images.shape[1] == images.shape[2] in self.network.sizes and images.shape[3] == 1):
      shapes = " or ".join(f"(N, {s}, {s}, 1)" for s in self.network.sizes)
      raise ValueError(f"expected digits of shape {shapes}, got {images.shape}")
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


# The MnistCNN's recipe: AdamW 1e-3 decayed to 0 by a cosine (MNIST_CNN.lr_schedule), batch 128,
# random shifts up to 2 px, 3,000 steps = 6.4 epochs of the 60,000 training digits. Measured test
# accuracy (docs/data.md): 99.41%; without the shifts and at 2,400 steps it was 99.20%.
MNIST_RECIPE = Recipe(num_steps=3000, batch_size=128, learning_rate=1e-3, weight_decay=1e-4)


@functools.lru_cache(maxsize=2)
def mnist_split(directory: str):
  """(x_train, y_train, x_test, y_test, data_hash) of the MNIST-format IDX files in `directory`
  (gan/data/idx.py): images float32 (N, 28, 28, 1) in [-1, 1] as the data pipeline scales uint8,
  int32 labels; `data_hash` is a sha256 prefix of the training images and labels."""
  train_x, train_y, test_x, test_y = idx.load_mnist(directory)
  if train_x.shape[1:] != (28, 28):
    raise UserError(f"MNIST directory {directory!r} holds {train_x.shape[1]}x{train_x.shape[2]} images; "
                    "the MnistCNN reads 28x28 digits")
  digest = hashlib.sha256(train_x.tobytes() + train_y.astype(np.int32).tobytes()).hexdigest()[:16]
  scale = lambda x: x[..., None].astype(np.float32) / 127.5 - 1.0  # noqa: E731
  return scale(train_x), train_y, scale(test_x), test_y, digest


def _mnist_cache_path(recipe: Recipe, data_hash: str) -> str:
  return os.path.join(cache_dir(), f"mnist_cnn_{MNIST_CNN.key(recipe)}_{data_hash}.msgpack")


@functools.lru_cache(maxsize=4)
def get_mnist_classifier(directory: str, recipe: Recipe = MNIST_RECIPE) -> DigitsClassifier:
  """The MnistCNN trained by `recipe` on the IDX training split in `directory`: loaded from the disk
  cache (keyed by the recipe and the training data's hash), or trained (minutes on a CPU) and cached.
  Its `held_out_accuracy` is measured on the directory's test split; `trained_on` says on what."""
  x_train, y_train, x_test, y_test, digest = mnist_split(directory)
  path = _mnist_cache_path(recipe, digest)
  if not os.path.exists(path):
    logging.info("Training the MnistCNN feature net on %s (%d steps, once; cached in %s)", directory,
                 recipe.num_steps, path)
  params = cached_params(path, lambda: MNIST_CNN.train(x_train, y_train, recipe))
  classifier = DigitsClassifier(params, 0.0, MNIST_CNN)
  classifier.held_out_accuracy = float((classifier.predict(x_test) == y_test).mean())
  classifier.trained_on = {"directory": directory, "train_data_hash": digest,
                           "num_train": len(y_train), "num_test": len(y_test),
                           "recipe": dataclasses.asdict(recipe), "lr_schedule": MNIST_CNN.lr_schedule,
                           "max_shift": MNIST_CNN.max_shift}
  return classifier


def class_histogram_metrics(labels: np.ndarray, prefix: str = "digits") -> dict[str, float]:
  """Class coverage/balance of predicted labels (N,) as `<prefix>_*`; see the module docstring."""
  labels = np.asarray(labels)
  n = len(labels)
  if n == 0:
    values = {"classes_covered": 0.0, "class_entropy": 0.0, "max_class_share": 0.0, "min_class_share": 0.0}
  else:
    shares = np.bincount(labels, minlength=NUM_CLASSES) / n
    nz = shares > 0
    values = {"classes_covered": float((shares >= PRESENT_FRACTION).sum()),
              "class_entropy": float(max(-np.sum(shares[nz] * np.log(shares[nz])), 0.0)) + 0.0,  # not -0.0
              "max_class_share": float(shares.max()), "min_class_share": float(shares.min())}
  return {f"{prefix}_{k}": v for k, v in values.items()}


def class_metrics(images: np.ndarray, classifier: DigitsClassifier | None = None) -> dict[str, float]:
  """Class coverage/balance of `images` under `classifier` (default: the DigitsCNN, 8x8 digits in
  [-1, 1]), named by its network's prefix; see the module docstring."""
  classifier = classifier or get_classifier()
  return class_histogram_metrics(classifier.predict(images), classifier.network.prefix)
