"""gan.metrics.digits: the digits CNN and the class statistics of samples."""
import math
import os

import jax
import numpy as np

from gan.data.builtin import load_digits
from gan.metrics import digits


def test_classifier_is_accurate_and_cached():
  clf = digits.get_classifier()
  assert clf.held_out_accuracy >= 0.97
  assert digits.get_classifier() is clf
  assert os.path.exists(digits._cache_path(digits.Recipe()))  # pylint: disable=protected-access
  x, _ = load_digits()
  pred = clf.predict(x[:20])
  assert pred.shape == (20,) and pred.dtype == np.int32
  assert clf.features(x[:3]).shape == (3, 128)
  np.testing.assert_allclose(clf.probabilities(x[:3]).sum(-1), 1.0, rtol=1e-9)


def test_training_is_deterministic_and_learns():
  x_train, y_train, x_test, y_test = digits.split_digits()
  recipe = digits.Recipe(num_steps=60)
  a = digits.train_classifier(x_train, y_train, recipe)
  b = digits.train_classifier(x_train, y_train, recipe)
  jax.tree.map(np.testing.assert_array_equal, a, b)
  accuracy = (digits.DigitsClassifier(a, 0.0).predict(x_test) == y_test).mean()
  assert accuracy > 0.5  # 60 steps already far above chance (0.1)


def test_split_is_fixed_and_stratified():
  x_train, y_train, x_test, y_test = digits.split_digits()
  assert len(y_train) == 1437 and len(y_test) == 360
  np.testing.assert_array_equal(digits.split_digits()[3], y_test)
  assert np.bincount(y_test).min() >= 35


def test_real_digits_cover_all_classes():
  x, _ = load_digits()
  m = digits.class_metrics(x)
  assert m["digits_classes_covered"] == 10
  assert abs(m["digits_class_entropy"] - math.log(10)) < 0.01
  assert 0.08 < m["digits_min_class_share"] <= 0.1 <= m["digits_max_class_share"] < 0.12


def test_one_class_collapse():
  x, y = load_digits()
  sevens = x[y == 7]
  batch = sevens[np.arange(500) % len(sevens)]
  m = digits.class_metrics(batch)
  assert m["digits_classes_covered"] == 1
  assert m["digits_class_entropy"] < 0.1
  assert m["digits_max_class_share"] > 0.98
  assert m["digits_min_class_share"] == 0.0


def test_noise_is_not_balanced():
  noise = np.random.default_rng(0).uniform(-1, 1, (1000, 8, 8, 1)).astype(np.float32)
  m = digits.class_metrics(noise)
  assert m["digits_class_entropy"] < math.log(10) - 0.2
  assert m["digits_max_class_share"] > 0.2
