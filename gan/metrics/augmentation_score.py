"""Generated digits as training data: Classification Accuracy Score and data-augmentation score.

For a class-conditional generator on the built-in digits, the DigitsCNN of gan/metrics/digits.py
(same network and training recipe) is trained on
- generated labelled samples only, `generated_per_class` drawn for each class: its accuracy on the
  real held-out split is the Classification Accuracy Score (`digits_cas`; Ravuri & Vinyals 2019,
  "Classification Accuracy Score for Conditional Generative Models", Sec. 3);
- a small real subset (`real_per_class` digits of each class, a fixed stratified draw from the
  train split) plus the generated samples, half of every batch from each (the use-case where
  generated data enlarges a small training set): `digits_subset_plus_generated_accuracy`,
and compared with real-only baselines trained the same way: the subset alone
(`digits_subset_accuracy`) and the whole real train split (`digits_real_accuracy`).
`digits_augmentation_gain` = subset-plus-generated minus subset accuracy. All accuracies are on the
360 held-out digits (split of gan/metrics/digits.py), which neither the GAN's evaluation classifier
nor these classifiers train on (the GAN itself trained on all 1,797 digits, so "held-out" means
held out from the classifier, not from the generator).
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Callable

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


def _accuracy(params, x_test, y_test) -> float:
  return float((digits.DigitsClassifier(params, 0.0).predict(x_test) == y_test).mean())


def real_subset(protocol: Protocol):
  """`real_per_class` train digits of each class, drawn from (seed, class): (x, y)."""
  x_train, y_train, _, _ = digits.split_digits(protocol.recipe.seed)
  rows = np.concatenate([index_rng(protocol.seed, k).choice(np.flatnonzero(y_train == k),
                                                            protocol.real_per_class, replace=False)
                         for k in range(NUM_CLASSES)])
  return x_train[rows], y_train[rows]


@functools.lru_cache(maxsize=8)
def real_baselines(protocol: Protocol) -> dict[str, float]:
  """Held-out accuracy of the classifier trained on the whole real train split and on the subset."""
  x_train, y_train, x_test, y_test = digits.split_digits(protocol.recipe.seed)
  subset_x, subset_y = real_subset(protocol)
  return {"digits_real_accuracy": _accuracy(digits.train_classifier(x_train, y_train, protocol.recipe),
                                            x_test, y_test),
          "digits_subset_accuracy": _accuracy(digits.train_classifier(subset_x, subset_y, protocol.recipe),
                                              x_test, y_test)}


def augmentation_scores(generate: Callable[[int, int], np.ndarray],
                        protocol: Protocol = Protocol()) -> tuple[dict[str, float], dict]:
  """(metrics, protocol record) for `generate(label, n)` -> n digits (n, 8, 8, 1) of class `label`."""
  _, _, x_test, y_test = digits.split_digits(protocol.recipe.seed)
  n = protocol.generated_per_class
  generated_x = np.concatenate([np.asarray(generate(k, n), np.float32) for k in range(NUM_CLASSES)])
  generated_y = np.repeat(np.arange(NUM_CLASSES, dtype=np.int32), n)
  subset_x, subset_y = real_subset(protocol)
  metrics = dict(real_baselines(protocol))
  metrics["digits_cas"] = _accuracy(digits.train_classifier(generated_x, generated_y, protocol.recipe),
                                    x_test, y_test)
  metrics["digits_subset_plus_generated_accuracy"] = _accuracy(digits.train_classifier(
      subset_x, subset_y, protocol.recipe, mix_with=(generated_x, generated_y)), x_test, y_test)
  metrics["digits_augmentation_gain"] = (metrics["digits_subset_plus_generated_accuracy"]
                                         - metrics["digits_subset_accuracy"])
  record = {"generated_per_class": n, "real_subset_per_class": protocol.real_per_class,
            "mixing": "half of every batch real subset, half generated",
            "classifier": f"DigitsCNN, {dataclasses.asdict(protocol.recipe)}",
            "test": f"{len(y_test)} held-out real digits", "seed": protocol.seed}
  return metrics, record
