"""Generated digits as training data: Classification Accuracy Score and data-augmentation score.

For a class-conditional generator of digits, the evaluation's classifier network (gan/metrics/digits.py:
the DigitsCNN on the built-in 8x8 digits, or the MnistCNN on MNIST-format IDX files; same network and
training recipe as the feature net) is trained on
- generated labelled samples only, `generated_per_class` drawn for each class: its accuracy on the
  real test split is the Classification Accuracy Score (`<prefix>_cas`; Ravuri & Vinyals 2019,
  "Classification Accuracy Score for Conditional Generative Models", Sec. 3);
- a small real subset (`real_per_class` digits of each class, a fixed stratified draw from the
  train split) plus the generated samples, half of every batch from each (the use-case where
  generated data enlarges a small training set): `<prefix>_subset_plus_generated_accuracy`,
and compared with real-only baselines trained the same way: the subset alone
(`<prefix>_subset_accuracy`) and the whole real train split (`<prefix>_real_accuracy`, which is the
feature net itself, read from its cache). `<prefix>_augmentation_gain` = subset-plus-generated minus
subset accuracy. The prefix is "digits" or "mnist".

Test splits: for the bundled digits the 360 held-out digits (split of gan/metrics/digits.py), which
neither the GAN's evaluation classifier nor these classifiers train on (the GAN itself trained on all
1,797 digits, so "held-out" means held out from the classifier, not from the generator); for MNIST the
IDX test split (t10k-*), which the GAN does not train on with data.split="train".
Cost: two classifier trainings per evaluation plus the subset baseline once per process: seconds for
the digits, minutes each for MNIST on a CPU (docs/data.md).
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Callable

import jax
import numpy as np

from gan.data import index_rng
from gan.metrics import digits

NUM_CLASSES = digits.NUM_CLASSES


@dataclasses.dataclass(frozen=True)
class Protocol:
  real_per_class: int = 10  # the small real subset: 100 of the 1,437 train digits
  generated_per_class: int = 144  # ~ the size of the real train split (1,437)
  recipe: digits.Recipe = digits.Recipe()
  seed: int = 0  # the draw of the real subset
  network: digits.Network = digits.DIGITS_CNN
  data_dir: str = ""  # "": the bundled digits; else the MNIST-format IDX directory (network MNIST_CNN)


def mnist_protocol(directory: str) -> Protocol:
  """The protocol on the MNIST-format IDX files in `directory`: the MnistCNN and its recipe, a real
  subset of 100 digits per class (1,000 of 60,000) and 6,000 generated per class (~ the train split)."""
  return Protocol(real_per_class=100, generated_per_class=6000, recipe=digits.MNIST_RECIPE,
                  network=digits.MNIST_CNN, data_dir=directory)


def split(protocol: Protocol):
  """(x_train, y_train, x_test, y_test) of the protocol's real digits."""
  if protocol.data_dir:
    return digits.mnist_split(protocol.data_dir)[:4]
  return digits.split_digits(protocol.recipe.seed)


def _train(protocol: Protocol, x, y, mix_with=None):
  return protocol.network.train(x, y, protocol.recipe, mix_with=mix_with)


def _accuracy(protocol: Protocol, params) -> float:
  _, _, x_test, y_test = split(protocol)
  return float((digits.DigitsClassifier(params, 0.0, protocol.network).predict(x_test) == y_test).mean())


def real_subset(protocol: Protocol):
  """`real_per_class` train digits of each class, drawn from (seed, class): (x, y)."""
  x_train, y_train, _, _ = split(protocol)
  rows = np.concatenate([index_rng(protocol.seed, k).choice(np.flatnonzero(y_train == k),
                                                            protocol.real_per_class, replace=False)
                         for k in range(NUM_CLASSES)])
  return x_train[rows], y_train[rows]


@functools.lru_cache(maxsize=8)
def real_baselines(protocol: Protocol) -> dict[str, float]:
  """Test accuracy of the classifier trained on the whole real train split (the feature net of the
  recipe, from its cache) and on the subset."""
  whole = (digits.get_mnist_classifier(protocol.data_dir, protocol.recipe) if protocol.data_dir
           else digits.get_classifier(protocol.recipe))
  prefix = protocol.network.prefix
  return {f"{prefix}_real_accuracy": whole.held_out_accuracy,
          f"{prefix}_subset_accuracy": _accuracy(protocol, _train(protocol, *real_subset(protocol)))}


def augmentation_scores(generate: Callable[[int, int], np.ndarray],
                        protocol: Protocol = Protocol()) -> tuple[dict[str, float], dict]:
  """(metrics, protocol record) for `generate(label, n)` -> n digits (n, S, S, 1) of class `label`."""
  _, _, _, y_test = split(protocol)
  n, prefix = protocol.generated_per_class, protocol.network.prefix
  generated_x = np.concatenate([np.asarray(generate(k, n), np.float32) for k in range(NUM_CLASSES)])
  generated_y = np.repeat(np.arange(NUM_CLASSES, dtype=np.int32), n)
  size = protocol.network.input_size
  if generated_x.shape[1:3] != (size, size):  # e.g. 32x32 MNIST samples: as the feature net sees them
    generated_x = np.asarray(jax.image.resize(generated_x, (len(generated_x), size, size, 1), "linear",
                                              antialias=True))
  metrics = dict(real_baselines(protocol))
  metrics[f"{prefix}_cas"] = _accuracy(protocol, _train(protocol, generated_x, generated_y))
  metrics[f"{prefix}_subset_plus_generated_accuracy"] = _accuracy(protocol, _train(
      protocol, *real_subset(protocol), mix_with=(generated_x, generated_y)))
  metrics[f"{prefix}_augmentation_gain"] = (metrics[f"{prefix}_subset_plus_generated_accuracy"]
                                            - metrics[f"{prefix}_subset_accuracy"])
  record = {"generated_per_class": n, "real_subset_per_class": protocol.real_per_class,
            "mixing": "half of every batch real subset, half generated",
            "classifier": f"{protocol.network.name}, {dataclasses.asdict(protocol.recipe)}, learning rate "
                          f"{protocol.network.lr_schedule}, random shifts <= {protocol.network.max_shift} px",
            "test": (f"the {len(y_test)} test digits of {protocol.data_dir}" if protocol.data_dir
                     else f"{len(y_test)} held-out real digits"),
            "seed": protocol.seed}
  return metrics, record
