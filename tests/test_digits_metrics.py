"""gan.metrics.digits: the stop-gap scikit-learn classifier and the class statistics."""
import math
import time

import numpy as np

from gan.data.builtin import load_digits
from gan.metrics import digits


def test_classifier_is_accurate_and_fast():
  t = time.perf_counter()
  clf = digits.DigitsClassifier()
  assert time.perf_counter() - t < 2.0
  assert clf.held_out_accuracy >= 0.95
  assert digits.get_classifier() is digits.get_classifier()
  x, y = load_digits()
  pred = clf.predict(x[:20])
  assert pred.shape == (20,) and pred.dtype == np.int32


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
