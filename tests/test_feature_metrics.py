"""Checks of gan.metrics.features against direct reference formulas and hand-computed point sets."""
import math

import numpy as np
import pytest
import scipy.linalg
import scipy.spatial.distance
import scipy.special

from gan.metrics import features
from gan.metrics.features import (density_coverage, feature_statistics, frechet_distance,
                                  frechet_distance_from_stats, inception_score,
                                  kernel_inception_distance, pairwise_distances, precision_recall)


def _col(values):
  """1-D points as an (N, 1) feature array."""
  return np.asarray(values, np.float64)[:, None]


# --------------------------------------------------------------------------- Frechet distance


def _fid_sqrtm(x, y, eps=1e-6):
  """The pytorch-fid / TTUR formula: scipy.linalg.sqrtm(S_a S_b), eps * I offset if not finite."""
  mu1, mu2 = x.mean(0), y.mean(0)
  s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
  covmean = scipy.linalg.sqrtm(s1 @ s2)
  if not np.isfinite(covmean).all():
    offset = np.eye(s1.shape[0]) * eps
    covmean = scipy.linalg.sqrtm((s1 + offset) @ (s2 + offset))
  if np.iscomplexobj(covmean):
    assert np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3)
    covmean = covmean.real
  diff = mu1 - mu2
  return diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)


def _two_gaussian_sets(n=500, d=16, seed=0):
  rng = np.random.default_rng(seed)
  a = rng.normal(size=(n, d))
  mix = np.eye(d) + 0.3 * rng.normal(size=(d, d))  # well conditioned, not diagonal
  b = rng.normal(size=(n, d)) @ mix * 1.5 + 0.7
  return a, b


def test_feature_statistics_match_numpy_with_ddof_1():
  x = np.random.default_rng(1).normal(size=(50, 4))
  mu, sigma = feature_statistics(x)
  np.testing.assert_allclose(mu, x.mean(0), rtol=1e-12)
  np.testing.assert_allclose(sigma, (x - x.mean(0)).T @ (x - x.mean(0)) / 49, rtol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_frechet_distance_matches_sqrtm_reference(seed):
  a, b = _two_gaussian_sets(seed=seed)
  fd = frechet_distance(a, b)
  assert fd > 1.0
  assert fd == pytest.approx(_fid_sqrtm(a, b), rel=1e-6)
  assert frechet_distance(b, a) == pytest.approx(fd, rel=1e-9)
  assert frechet_distance_from_stats(*feature_statistics(a), *feature_statistics(b)) == fd


def test_frechet_distance_of_a_set_with_itself_is_zero():
  a, b = _two_gaussian_sets()
  assert abs(frechet_distance(a, a)) < 1e-6
  assert abs(frechet_distance(b, b)) < 1e-6


def test_frechet_distance_closed_form_for_diagonal_gaussians():
  # For commuting (diagonal) covariances, Tr (S1 S2)^{1/2} = sum sqrt(s1 s2), so
  # d^2 = ||mu1 - mu2||^2 + sum (sqrt(s1) - sqrt(s2))^2.
  mu1, mu2 = np.array([0.0, 1.0, -2.0, 3.0]), np.array([1.0, 1.0, 0.5, 0.0])
  s1, s2 = np.array([1.0, 4.0, 0.25, 9.0]), np.array([4.0, 1.0, 0.25, 2.0])
  expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(s1) - np.sqrt(s2)) ** 2)
  got = frechet_distance_from_stats(mu1, np.diag(s1), mu2, np.diag(s2))
  assert got == pytest.approx(expected, rel=1e-12)
  # 1-D: ||1 - 4||^2 + (sqrt(9) - sqrt(1))^2 = 9 + 4.
  assert frechet_distance_from_stats(1.0, 9.0, 4.0, 1.0) == pytest.approx(13.0, rel=1e-12)


def test_frechet_distance_is_finite_for_rank_deficient_covariances():
  rng = np.random.default_rng(3)
  a, b = rng.normal(size=(10, 32)), rng.normal(size=(12, 32)) + 0.2  # N < D: singular covariances
  fd = frechet_distance(a, b)
  assert np.isfinite(fd) and fd > 0
  # Tr (S_a S_b)^{1/2} = Tr (S_b S_a)^{1/2}: computing it from sqrt(S_b) instead must agree.
  assert frechet_distance(b, a) == pytest.approx(fd, rel=1e-6)
  assert abs(frechet_distance(a, a)) < 1e-6


# --------------------------------------------------------------------------- KID


def _kid_explicit(x, y):
  """Unbiased MMD^2 with k(x, y) = (x.y / d + 1)^3, as plain double loops."""
  m, d = x.shape
  k = lambda u, v: (float(np.dot(u, v)) / d + 1.0) ** 3
  kxx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j)
  kyy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j)
  kxy = sum(k(x[i], y[j]) for i in range(m) for j in range(m))
  return kxx / (m * (m - 1)) + kyy / (m * (m - 1)) - 2 * kxy / (m * m)


@pytest.mark.parametrize("n,d", [(5, 40), (40, 40), (60, 8)])
def test_frechet_distance_to_stats_equals_the_full_computation(n, d):
  rng = np.random.default_rng(n)
  x = rng.standard_normal((n, d)) * rng.uniform(0.5, 2.0, d)
  y = rng.standard_normal((3 * d, d)) @ rng.standard_normal((d, d)) / np.sqrt(d) + 0.3
  mu, sigma = feature_statistics(y)
  expected = features.frechet_distance_from_stats(*feature_statistics(x), mu, sigma)
  # rel 1e-6: for N < D the D x D route sums square roots of rounding-level eigenvalues (~1e-7 each)
  assert features.frechet_distance_to_stats(x, mu, sigma) == pytest.approx(expected, rel=1e-6)


def test_kid_full_sets_equal_the_explicit_formula_with_zero_std():
  rng = np.random.default_rng(0)
  x, y = rng.normal(size=(40, 5)), rng.normal(size=(40, 5)) * 1.3 + 0.4
  expected = _kid_explicit(x, y)
  assert expected > 0.1
  for seed in (0, 1):
    kid = kernel_inception_distance(x, y, subset_size=1000, num_subsets=7, seed=seed)
    assert kid["mean"] == pytest.approx(expected, rel=1e-10, abs=1e-10)
    assert kid["std"] == 0.0
  # subset_size == N is the same full estimate.
  full = kernel_inception_distance(x, y, subset_size=40)
  assert full["mean"] == pytest.approx(expected, rel=1e-10)


def test_kid_subsets_are_drawn_from_the_seeded_generator():
  rng = np.random.default_rng(1)
  x, y = rng.normal(size=(40, 5)), rng.normal(size=(60, 5)) + 0.5
  # m = min(1000, 40, 60) = 40: x is used whole, y is subsampled without replacement.
  gen = np.random.default_rng(5)
  values = [_kid_explicit(x, y[gen.choice(60, 40, replace=False)]) for _ in range(4)]
  kid = kernel_inception_distance(x, y, num_subsets=4, seed=5)
  assert kid["mean"] == pytest.approx(np.mean(values), rel=1e-10)
  assert kid["std"] == pytest.approx(np.std(values), rel=1e-8)
  assert kid["std"] > 0


def test_kid_with_smaller_subsets_is_close_to_the_full_estimate():
  rng = np.random.default_rng(2)
  x, y = rng.normal(size=(200, 6)), rng.normal(size=(200, 6)) + 0.5
  full = kernel_inception_distance(x, y)
  sub = kernel_inception_distance(x, y, subset_size=100, num_subsets=50, seed=0)
  assert full["std"] == 0.0 and sub["std"] > 0
  assert sub["mean"] != full["mean"]
  assert sub["mean"] == pytest.approx(full["mean"], rel=0.1)
  assert kernel_inception_distance(x, y, subset_size=100, num_subsets=50, seed=0) == sub


def test_kid_near_zero_for_same_distribution_positive_when_shifted():
  rng = np.random.default_rng(4)
  x1, x2 = rng.normal(size=(500, 8)), rng.normal(size=(500, 8))
  shifted = rng.normal(size=(500, 8)) + 0.5
  same = kernel_inception_distance(x1, x2)["mean"]
  diff = kernel_inception_distance(x1, shifted)["mean"]
  assert abs(same) < 0.01
  assert diff > 0.2 and diff > 50 * abs(same)


# --------------------------------------------------------------------------- Inception score


def _one_hot(labels, c):
  return np.eye(c)[labels]


def test_inception_score_uniform_predictions_is_one():
  for n, c, splits in [(100, 10, 10), (1000, 10, 10), (999, 7, 4), (50, 1000, 1)]:
    s = inception_score(np.full((n, c), 1.0 / c), num_splits=splits)
    assert s == {"mean": 1.0, "std": 0.0}


def test_inception_score_of_evenly_spread_one_hot_predictions_is_num_classes():
  probs = _one_hot(np.arange(1000) % 10, 10)  # every chunk of 100 holds 10 of each class
  s = inception_score(probs, num_splits=10)
  assert s["mean"] == pytest.approx(10.0, rel=1e-12)
  assert s["std"] < 1e-12


def test_inception_score_splits_are_consecutive_chunks():
  probs = _one_hot(np.repeat(np.arange(10), 100), 10)  # sorted by class
  assert inception_score(probs, num_splits=1)["mean"] == pytest.approx(10.0, rel=1e-12)
  # 2 classes per chunk, then 1 class per chunk:
  assert inception_score(probs, num_splits=5)["mean"] == pytest.approx(2.0, rel=1e-12)
  assert inception_score(probs, num_splits=10)["mean"] == pytest.approx(1.0, rel=1e-12)
  # Uneven chunks: N = 7, 3 splits -> rows [0, 2), [2, 4), [4, 7) (i N // s), here holding
  # 2, 1 and 3 equally used classes: IS 2, 1, 3.
  s = inception_score(_one_hot(np.array([0, 1, 2, 2, 3, 4, 5]), 6), num_splits=3)
  assert s["mean"] == pytest.approx(2.0, rel=1e-12)
  assert s["std"] == pytest.approx(math.sqrt(2 / 3), rel=1e-9)


def test_inception_score_matches_rel_entr_reference_with_zeros():
  rng = np.random.default_rng(0)
  probs = rng.dirichlet(np.full(6, 0.3), size=53)
  probs[rng.random(probs.shape) < 0.3] = 0.0  # exact zeros: 0 log 0 = 0
  probs[:, 0] += 1e-3
  probs /= probs.sum(1, keepdims=True)
  n, s = len(probs), 4
  ref = []
  for i in range(s):
    part = probs[i * n // s:(i + 1) * n // s]
    ref.append(np.exp(np.mean(scipy.special.rel_entr(part, part.mean(0)).sum(1))))
  got = inception_score(probs, num_splits=s)
  assert got["mean"] == pytest.approx(np.mean(ref), rel=1e-12)
  assert got["std"] == pytest.approx(np.std(ref), rel=1e-9)


def test_inception_score_rejects_logits():
  with pytest.raises(ValueError):
    inception_score(np.random.default_rng(0).normal(size=(20, 5)), num_splits=2)


# --------------------------------------------------------------------------- k-NN metrics

# real = {0, 1, 3, 7} in 1-D. Nearest-neighbour distances (self excluded):
#   k=1: 0 -> 1, 1 -> 1, 3 -> 2, 7 -> 4; balls [-1, 1], [0, 2], [1, 5], [3, 11], union [-1, 11].
#   k=2: 0 -> 3, 1 -> 2, 3 -> 3, 7 -> 6; balls [-3, 3], [-1, 3], [0, 6], [1, 13], union [-3, 13].
REAL_1D = _col([0, 1, 3, 7])


def test_precision_recall_hand_computed_k1():
  fake = _col([-1, 0, 11, 12, 20])
  # precision: -1 (on the edge of [-1, 1]), 0, 11 (on the edge of [3, 11]) are in [-1, 11]; 12, 20
  # are not -> 3/5.
  # fake k=1 radii: -1 -> 1, 0 -> 1, 11 -> 1, 12 -> 1, 20 -> 8: union [-2, 1] U [10, 28];
  # recall: 0, 1 (on the edge of [-1, 1]) are in it; 3, 7 are not -> 2/4.
  assert precision_recall(REAL_1D, fake, k=1) == {"precision": 0.6, "recall": 0.5}


def test_precision_recall_hand_computed_k2():
  fake = _col([2, 3, 9, 14])
  # precision: 2, 3, 9 in [-3, 13], 14 not -> 3/4.
  # fake k=2 radii: 2 -> 7, 3 -> 6, 9 -> 6, 14 -> 11: union [-5, 25] holds all of real -> 1.
  assert precision_recall(REAL_1D, fake, k=2) == {"precision": 0.75, "recall": 1.0}


def test_density_coverage_hand_computed_k1():
  fake = _col([-1, 0, 11, 12, 20])
  # Balls containing each fake: -1: [-1, 1] (1); 0: [-1, 1], [0, 2] (2); 11: [3, 11] (1);
  # 12, 20: none -> density = 4 / (k M) = 4 / 5.
  # coverage: balls of 0, 1, 7 hold a fake, [1, 5] around 3 holds none -> 3/4.
  assert density_coverage(REAL_1D, fake, k=1) == {"density": 0.8, "coverage": 0.75}


def test_density_coverage_hand_computed_k2():
  fake = _col([2, 3, 9, 14])
  # 2 and 3 lie in all four k=2 balls (3 on the edges of [-3, 3] and [-1, 3]), 9 only in
  # [1, 13], 14 in none: density = (4 + 4 + 1) / (2 * 4) = 9/8; every ball holds a fake.
  assert density_coverage(REAL_1D, fake, k=2) == {"density": 1.125, "coverage": 1.0}


def test_knn_metrics_hand_computed_2d():
  real = np.array([[0, 0], [0, 2], [2, 0], [2, 2]], np.float64)  # k=1 radius 2 for each corner
  fake = np.array([[1, 1], [4, 0], [5, 5]], np.float64)
  # (1, 1) is sqrt(2) from every corner: in 4 balls; (4, 0) is exactly 2 from (2, 0): in 1 ball;
  # (5, 5) is sqrt(18) > 2 from (2, 2): in none. density = 5 / 3, every ball holds (1, 1).
  dc = density_coverage(real, fake, k=1)
  assert dc["density"] == pytest.approx(5 / 3, rel=1e-15) and dc["coverage"] == 1.0
  # fake k=1 radii: sqrt(10), sqrt(10), sqrt(26); every corner is sqrt(2) from (1, 1).
  assert precision_recall(real, fake, k=1) == {"precision": 2 / 3, "recall": 1.0}


@pytest.mark.parametrize("k", [1, 3, 5])
def test_knn_metrics_on_identical_sets(k):
  x = np.random.default_rng(k).normal(size=(200, 8))
  assert precision_recall(x, x, k=k) == {"precision": 1.0, "recall": 1.0}
  # With fake == real (no tied distances), ball i holds x_i and its k nearest neighbours, so the
  # double sum is N (k + 1) and density = (k + 1) / k exactly; coverage = 1.
  assert density_coverage(x, x, k=k) == {"density": (k + 1) / k, "coverage": 1.0}


def test_knn_metrics_are_zero_for_far_away_fakes():
  x = np.random.default_rng(0).normal(size=(100, 4))
  far = np.random.default_rng(1).normal(size=(80, 4)) + 1000.0
  assert precision_recall(x, far) == {"precision": 0.0, "recall": 0.0}
  assert density_coverage(x, far) == {"density": 0.0, "coverage": 0.0}


def _naive_knn_metrics(real, fake, k):
  """O(N^2) loops: closed balls B(c, NND_k(c)), self excluded from the neighbour distances."""
  def radii(x):
    return [sorted(np.linalg.norm(x[i] - x[j]) for j in range(len(x)) if j != i)[k - 1]
            for i in range(len(x))]

  r_real, r_fake = radii(real), radii(fake)
  dist = [[np.linalg.norm(r - f) for f in fake] for r in real]  # dist[i][j] = |real_i - fake_j|
  n, m = len(real), len(fake)
  precision = sum(any(dist[i][j] <= r_real[i] for i in range(n)) for j in range(m)) / m
  recall = sum(any(dist[i][j] <= r_fake[j] for j in range(m)) for i in range(n)) / n
  inside = sum(dist[i][j] <= r_real[i] for i in range(n) for j in range(m))
  coverage = sum(any(dist[i][j] <= r_real[i] for j in range(m)) for i in range(n)) / n
  return precision, recall, inside / (k * m), coverage


@pytest.mark.parametrize("seed,k", [(0, 1), (1, 3), (2, 5)])
def test_knn_metrics_match_naive_loops(seed, k):
  rng = np.random.default_rng(seed)
  real = rng.normal(size=(60, 3))
  fake = rng.normal(size=(45, 3)) * 1.2 + 0.3
  precision, recall, density, coverage = _naive_knn_metrics(real, fake, k)
  assert 0 < precision < 1 and 0 < coverage <= 1
  assert precision_recall(real, fake, k=k) == pytest.approx(
      {"precision": precision, "recall": recall}, abs=1e-15)
  assert density_coverage(real, fake, k=k) == pytest.approx(
      {"density": density, "coverage": coverage}, abs=1e-15)


def test_row_blocking_does_not_change_results(monkeypatch):
  rng = np.random.default_rng(7)
  real, fake = rng.normal(size=(50, 4)), rng.normal(size=(40, 4)) + 0.2
  def all_metrics():
    return (precision_recall(real, fake), density_coverage(real, fake),
            kernel_inception_distance(real, fake, subset_size=30, num_subsets=3),
            pairwise_distances(real, fake))

  want = all_metrics()
  monkeypatch.setattr(features, "_BLOCK_ENTRIES", 100)  # 2-row blocks
  got = all_metrics()
  assert got[:2] == want[:2]
  assert got[2]["mean"] == pytest.approx(want[2]["mean"], rel=1e-12)
  np.testing.assert_allclose(got[3], want[3], rtol=1e-12)


def test_pairwise_distances_match_cdist():
  rng = np.random.default_rng(0)
  a, b = rng.normal(size=(30, 7)), rng.normal(size=(20, 7))
  np.testing.assert_allclose(pairwise_distances(a, b), scipy.spatial.distance.cdist(a, b),
                             rtol=1e-10, atol=1e-12)


def test_knn_metrics_validate_k():
  x = np.zeros((3, 2)) + np.arange(3)[:, None]
  with pytest.raises(ValueError):
    precision_recall(x, x, k=3)
  with pytest.raises(ValueError):
    density_coverage(x, x, k=0)
  assert math.isclose(density_coverage(x, x, k=2)["coverage"], 1.0)
