"""Hand-computed checks of gan.metrics.toy.mode_metrics."""
import math
import time

import numpy as np
import pytest

from gan.data.builtin import TOY_STD, toy_centers
from gan.metrics.toy import mode_metrics

RING = toy_centers("ring8")
GRID = toy_centers("grid25")


def _at(centers, counts):
  """Samples exactly at the centres, counts[k] of them at centre k."""
  return np.repeat(centers, counts, axis=0)


def test_four_of_eight_modes_equally():
  m = mode_metrics(_at(RING, [250, 0, 250, 0, 250, 0, 250, 0]), RING, TOY_STD)
  assert m["num_modes"] == 8
  assert m["modes_covered"] == 4
  assert m["high_quality_fraction"] == 1.0
  assert m["reverse_kl"] == pytest.approx(math.log(2))


def test_all_modes_uniform_has_zero_reverse_kl():
  m = mode_metrics(_at(GRID, [40] * 25), GRID, TOY_STD)
  assert m["modes_covered"] == 25
  assert m["high_quality_fraction"] == 1.0
  assert m["reverse_kl"] == pytest.approx(0.0, abs=1e-12)


def test_single_mode_collapse():
  m = mode_metrics(_at(GRID, [0] * 12 + [1000] + [0] * 12), GRID, TOY_STD)
  assert m["modes_covered"] == 1
  assert m["reverse_kl"] == pytest.approx(math.log(25))


def test_half_far_away():
  good = _at(RING, [125] * 8)                     # 1,000 HQ samples, all modes equal
  far = np.zeros((1000, 2), np.float32)           # origin: distance 2 from every centre
  m = mode_metrics(np.concatenate([good, far]), RING, TOY_STD)
  assert m["high_quality_fraction"] == 0.5
  assert m["modes_covered"] == 8                  # 125 >= 0.008 * 2000 = 16
  assert m["reverse_kl"] == pytest.approx(0.0, abs=1e-12)


def test_hq_radius_is_three_std():
  c = RING[:1]
  inside = c + np.array([[3 * TOY_STD * 0.99, 0.0]])
  outside = c + np.array([[0.0, 3 * TOY_STD * 1.01]])
  m = mode_metrics(np.concatenate([inside, outside]), RING, TOY_STD)
  assert m["high_quality_fraction"] == 0.5


def test_mode_below_threshold_not_counted():
  # N = 2500 -> threshold 0.008 * 2500 = 20 HQ samples.
  counts = [19, 20] + [0] * 23
  counts[2] = 2500 - 39
  m = mode_metrics(_at(GRID, counts), GRID, TOY_STD)
  assert m["modes_covered"] == 2                  # 20 and 2461 count, 19 does not
  q = np.array([19, 20, 2461]) / 2500
  assert m["reverse_kl"] == pytest.approx(float(np.sum(q * np.log(q * 25))))
  # A custom threshold.
  assert mode_metrics(_at(GRID, counts), GRID, TOY_STD, min_count_fraction=0.0)["modes_covered"] == 3


def test_no_hq_samples_gives_log_k():
  far = np.full((500, 2), 1.0, np.float32)        # between grid centres
  m = mode_metrics(far, GRID, TOY_STD)
  assert m["high_quality_fraction"] == 0.0
  assert m["modes_covered"] == 0
  assert m["reverse_kl"] == pytest.approx(math.log(25))


def test_true_distribution_is_near_perfect_and_fast():
  rng = np.random.default_rng(0)
  labels = rng.integers(0, 25, 100_000)
  x = GRID[labels] + TOY_STD * rng.standard_normal((100_000, 2))
  t = time.perf_counter()
  m = mode_metrics(x, GRID, TOY_STD)
  assert time.perf_counter() - t < 2.0
  assert m["modes_covered"] == 25
  assert m["high_quality_fraction"] > 0.98        # chi2(2) tail beyond 3 std: exp(-4.5) = 1.1%
  assert m["reverse_kl"] < 1e-3
