"""Sample-quality metrics on feature arrays: FID, KID, IS, precision/recall, density/coverage.

Every function takes NumPy arrays of shape (N, D) (features of N samples, e.g. Inception pool
features) or (N, C) (class probabilities, for IS), computes in float64 on the host and returns
Python floats or dicts of floats:

- `feature_statistics`, `frechet_distance_from_stats`, `frechet_distance`,
  `frechet_distance_to_stats` (a feature set against cached statistics): Frechet (Inception)
  distance, Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update Rule Converge to a Local
  Nash Equilibrium", Eq. 6.
- `kernel_inception_distance`: KID, Binkowski et al. 2018, "Demystifying MMD GANs": the unbiased
  MMD^2_u estimator (Gretton et al. 2012, "A Kernel Two-Sample Test", Lemma 6) with the cubic
  polynomial kernel.
- `inception_score`: Salimans et al. 2016, "Improved Techniques for Training GANs", Sec. 4.
- `precision_recall`: Kynkaanniemi et al. 2019, "Improved Precision and Recall Metric for
  Assessing Generative Models", Eq. 1-3.
- `density_coverage`: Naeem et al. 2020, "Reliable Fidelity and Diversity Metrics for Generative
  Models", Eq. 3 and 4.
- `pairwise_distances`: the Euclidean distances behind the k-NN metrics.

Device-count invariance: these functions are plain NumPy on the host, deterministic, and take no
device or sharding argument. Given the same feature array (same values, same row order) they
return identical results however many devices extracted the features, so a 1-device and a
4-device evaluation agree exactly once their gathered features agree. (Random subsets in KID come
from `np.random.default_rng(seed)`, not from a device key.)

k-NN balls are closed: a point x lies in the ball B(c, r) if ||x - c|| <= r (`<=`, as in
Kynkaanniemi et al.'s Eq. 1 and NVlabs' reference code; Naeem et al.'s `prdc` package uses a strict
`<`, which differs only on exact ties). The k-th nearest-neighbour distance NND_k(c) of a point c
of a set excludes c itself (it is the (k+1)-th smallest distance from c to the set, counting the
zero distance to itself). Pairwise distances are computed in row blocks of at most ~2^23 entries
(64 MiB in float64), never as an (N, N, D) tensor nor a stored (N, N) matrix, so N = 10,000
samples of D = 2048 features fit easily in memory.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np

_BLOCK_ENTRIES = 1 << 23  # entries of one (rows, N_b) float64 distance block: 64 MiB


def _as_features(x: np.ndarray, name: str, min_rows: int = 1) -> np.ndarray:
  x = np.asarray(x, np.float64)
  if x.ndim != 2:
    raise ValueError(f"{name}: expected an (N, D) array, got shape {x.shape}")
  if len(x) < min_rows:
    raise ValueError(f"{name}: need at least {min_rows} samples, got {len(x)}")
  if not np.all(np.isfinite(x)):
    raise ValueError(f"{name}: features contain NaN or inf")
  return x


def _same_dim(a: np.ndarray, b: np.ndarray) -> None:
  if a.shape[1] != b.shape[1]:
    raise ValueError(f"feature dimensions differ: {a.shape[1]} vs {b.shape[1]}")


def _row_blocks(n_rows: int, n_cols: int) -> Iterator[tuple[int, int]]:
  step = max(1, _BLOCK_ENTRIES // max(n_cols, 1))
  for start in range(0, n_rows, step):
    yield start, min(start + step, n_rows)


def _squared_distance_blocks(a: np.ndarray, b: np.ndarray
                             ) -> Iterator[tuple[int, int, np.ndarray]]:
  """Yields (start, stop, ||a[start:stop, None] - b[None]||^2) blocks, float64, clipped at 0.

  Uses ||x||^2 + ||y||^2 - 2 x.y (one matrix product per block); exact for small integer
  coordinates, and within ~1e-15 * ||x||^2 otherwise.
  """
  sq_b = np.einsum("ij,ij->i", b, b)
  for start, stop in _row_blocks(len(a), len(b)):
    block = a[start:stop]
    d2 = np.einsum("ij,ij->i", block, block)[:, None] + sq_b[None, :]
    d2 -= 2.0 * (block @ b.T)
    np.maximum(d2, 0.0, out=d2)
    yield start, stop, d2


def pairwise_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
  """Euclidean distances ||a_i - b_j|| as an (N_a, N_b) float64 matrix (built in row blocks)."""
  a = _as_features(a, "a")
  b = _as_features(b, "b")
  _same_dim(a, b)
  out = np.empty((len(a), len(b)), np.float64)
  for start, stop, d2 in _squared_distance_blocks(a, b):
    out[start:stop] = np.sqrt(d2)
  return out


def _knn_squared_radii(x: np.ndarray, k: int) -> np.ndarray:
  """Squared distance from each x_i to its k-th nearest neighbour in x (x_i excluded): (N,)."""
  if not 1 <= k < len(x):
    raise ValueError(f"k must be in [1, N - 1] = [1, {len(x) - 1}], got {k}")
  radii = np.empty(len(x), np.float64)
  for start, stop, d2 in _squared_distance_blocks(x, x):
    d2[np.arange(stop - start), np.arange(start, stop)] = 0.0  # self-distance, exactly
    # Index k of the sorted row = k-th smallest after dropping one zero (the point itself).
    radii[start:stop] = np.partition(d2, k, axis=1)[:, k]
  return radii


# --------------------------------------------------------------------------- Frechet distance


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """Mean (D,) and covariance (D, D) of `features` (N, D), float64, as cached for FID.

  The covariance is unbiased (ddof=1), `np.cov(features, rowvar=False)`, as in the reference
  TTUR (TensorFlow) and pytorch-fid code (Heusel et al. 2017, Eq. 6 uses these estimates).
  """
  x = _as_features(features, "features", min_rows=2)
  mu = x.mean(axis=0)
  sigma = np.atleast_2d(np.cov(x, rowvar=False))
  return mu, sigma


def frechet_distance_from_stats(mu_a: np.ndarray, sigma_a: np.ndarray,
                                mu_b: np.ndarray, sigma_b: np.ndarray) -> float:
  """Frechet distance between N(mu_a, sigma_a) and N(mu_b, sigma_b) (Heusel et al. 2017, Eq. 6).

    d^2 = ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^{1/2}).

  Tr (S_a S_b)^{1/2} is the sum of the square roots of the eigenvalues of S_a S_b, which equal
  those of the symmetric PSD matrix S_a^{1/2} S_b S_a^{1/2}; both square roots come from `eigh`,
  with rounding-level negative eigenvalues clipped to 0. This is exact for PSD inputs, real, and
  finite for singular (rank-deficient, N < D) covariances, unlike `scipy.linalg.sqrtm(S_a S_b)`
  which may return complex or non-finite results there (pytorch-fid adds eps * I as a fallback).
  The result, a squared 2-Wasserstein distance, is clipped at 0 against rounding.
  """
  mu_a = np.atleast_1d(np.asarray(mu_a, np.float64))
  mu_b = np.atleast_1d(np.asarray(mu_b, np.float64))
  sigma_a = np.atleast_2d(np.asarray(sigma_a, np.float64))
  sigma_b = np.atleast_2d(np.asarray(sigma_b, np.float64))
  d = mu_a.shape[0]
  if mu_a.shape != (d,) or mu_b.shape != (d,) or sigma_a.shape != (d, d) or sigma_b.shape != (d, d):
    raise ValueError(f"inconsistent shapes: mu_a {mu_a.shape}, sigma_a {sigma_a.shape}, "
                     f"mu_b {mu_b.shape}, sigma_b {sigma_b.shape}")
  sigma_a = 0.5 * (sigma_a + sigma_a.T)
  sigma_b = 0.5 * (sigma_b + sigma_b.T)
  w, v = np.linalg.eigh(sigma_a)
  sqrt_a = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
  m = sqrt_a @ sigma_b @ sqrt_a
  eig = np.linalg.eigvalsh(0.5 * (m + m.T))
  tr_covmean = np.sum(np.sqrt(np.clip(eig, 0.0, None)))
  diff = mu_a - mu_b
  fd = diff @ diff + np.trace(sigma_a) + np.trace(sigma_b) - 2.0 * tr_covmean
  return max(float(fd), 0.0)


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
  """FID between two feature sets (N_a, D) and (N_b, D) (Heusel et al. 2017, Eq. 6), float64.

  Fits a Gaussian to each set with `feature_statistics` (ddof=1 covariance) and returns
  `frechet_distance_from_stats`. Finite for N < D (rank-deficient covariances).
  """
  a = _as_features(features_a, "features_a", min_rows=2)
  b = _as_features(features_b, "features_b", min_rows=2)
  _same_dim(a, b)
  return frechet_distance_from_stats(*feature_statistics(a), *feature_statistics(b))


def frechet_distance_to_stats(features: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> float:
  """FD between the Gaussian fitted to `features` (N, D) and N(mu, sigma) (Heusel et al. 2017, Eq. 6).

  The same number as `frechet_distance_from_stats(*feature_statistics(features), mu, sigma)`, but
  when N <= D it avoids the two D x D eigenproblems: with C the centred features, S_f = C^T C / (N-1)
  and S_f S = C^T (C S) / (N-1) has the non-zero eigenvalues of (C S) C^T / (N-1) (AB and BA share
  them), an N x N symmetric PSD matrix; so Tr (S_f S)^{1/2} = sum sqrt(eig(C S C^T / (N-1))).
  (For N = 10 and D = 2048: 10 x 10 instead of 2048 x 2048, seconds saved on a CPU.)
  """
  x = _as_features(features, "features", min_rows=2)
  n, d = x.shape
  if n > d:
    return frechet_distance_from_stats(*feature_statistics(x), mu, sigma)
  mu = np.asarray(mu, np.float64)
  sigma = np.asarray(sigma, np.float64)
  if mu.shape != (d,) or sigma.shape != (d, d):
    raise ValueError(f"inconsistent shapes: features {x.shape}, mu {mu.shape}, sigma {sigma.shape}")
  sigma = 0.5 * (sigma + sigma.T)
  mean = x.mean(axis=0)
  c = x - mean
  m = (c @ sigma @ c.T) / (n - 1)
  eig = np.linalg.eigvalsh(0.5 * (m + m.T))
  tr_covmean = np.sum(np.sqrt(np.clip(eig, 0.0, None)))
  diff = mean - mu
  fd = diff @ diff + np.sum(c * c) / (n - 1) + np.trace(sigma) - 2.0 * tr_covmean
  return max(float(fd), 0.0)


# --------------------------------------------------------------------------- KID


def _polynomial_kernel_sum(x: np.ndarray, y: np.ndarray, exclude_diagonal: bool) -> float:
  """sum_{i,j} k(x_i, y_j) with k(x, y) = (x.y / d + 1)^3, over i != j if `exclude_diagonal`."""
  d = x.shape[1]
  total = 0.0
  for start, stop in _row_blocks(len(x), len(y)):
    k = (x[start:stop] @ y.T) / d + 1.0
    k = k * k * k
    if exclude_diagonal:
      k[np.arange(stop - start), np.arange(start, stop)] = 0.0
    total += float(k.sum())
  return total


def _mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
  """Unbiased MMD^2_u of two equal-size sets under the cubic polynomial kernel.

    MMD^2_u = sum_{i!=j} k(x_i, x_j) / (m(m-1)) + sum_{i!=j} k(y_i, y_j) / (m(m-1))
              - 2 sum_{i,j} k(x_i, y_j) / m^2.
  """
  m = len(x)
  k_xx = _polynomial_kernel_sum(x, x, exclude_diagonal=True)
  k_yy = _polynomial_kernel_sum(y, y, exclude_diagonal=True)
  k_xy = _polynomial_kernel_sum(x, y, exclude_diagonal=False)
  return (k_xx + k_yy) / (m * (m - 1)) - 2.0 * k_xy / (m * m)


def kernel_inception_distance(features_a: np.ndarray, features_b: np.ndarray, *,
                              subset_size: int = 1000, num_subsets: int = 100,
                              seed: int = 0) -> dict[str, float]:
  """KID (Binkowski et al. 2018, "Demystifying MMD GANs"): {'mean', 'std'}.

  The paper's unbiased estimator MMD^2_u (Gretton et al. 2012, Lemma 6) with its cubic kernel
  k(x, y) = (x.y / d + 1)^3, d the feature dimension, averaged over `num_subsets` random subsets of
  m = min(subset_size, N_a, N_b) samples from each set. Subsets are drawn without replacement from
  `np.random.default_rng(seed)` (a set with exactly m samples is used whole, in order). `std` is the
  population standard deviation (ddof=0) over subsets, as in the reference code.

  When m == N_a == N_b every subset would be the whole of both sets, so the full unbiased estimate
  is computed once and returned with std exactly 0.0. The estimate may be negative (it is
  unbiased); it is not clipped.
  """
  a = _as_features(features_a, "features_a", min_rows=2)
  b = _as_features(features_b, "features_b", min_rows=2)
  _same_dim(a, b)
  if subset_size < 2 or num_subsets < 1:
    raise ValueError("need subset_size >= 2 and num_subsets >= 1, "
                     f"got {subset_size} and {num_subsets}")
  m = min(subset_size, len(a), len(b))
  if m == len(a) == len(b):
    return {"mean": _mmd2_unbiased(a, b), "std": 0.0}
  rng = np.random.default_rng(seed)
  values = np.empty(num_subsets, np.float64)
  for s in range(num_subsets):
    xs = a if m == len(a) else a[rng.choice(len(a), m, replace=False)]
    ys = b if m == len(b) else b[rng.choice(len(b), m, replace=False)]
    values[s] = _mmd2_unbiased(xs, ys)
  return {"mean": float(values.mean()), "std": float(values.std())}


# --------------------------------------------------------------------------- Inception score


def inception_score(probs: np.ndarray, num_splits: int = 10) -> dict[str, float]:
  """Inception score (Salimans et al. 2016, Sec. 4), exp(E_x KL(p(y|x) || p(y))): {'mean', 'std'}.

  As in the reference implementation, the N rows of `probs` (N, C) are cut into `num_splits`
  consecutive chunks, rows [i N // s, (i + 1) N // s); in each chunk p(y) is the chunk's mean
  prediction and the score is exp(mean over the chunk of sum_y p(y|x) log(p(y|x) / p(y))), with
  0 log 0 = 0. Returns the mean and population std (ddof=0) of the chunk scores. Rows must be
  probability vectors (non-negative, summing to 1 within 1e-3), e.g. a softmax output, not logits.
  """
  p = np.asarray(probs, np.float64)
  if p.ndim != 2:
    raise ValueError(f"probs: expected an (N, C) array, got shape {p.shape}")
  if not 1 <= num_splits <= len(p):
    raise ValueError(f"num_splits must be in [1, N] = [1, {len(p)}], got {num_splits}")
  if not np.all(np.isfinite(p)) or np.any(p < 0) or not np.allclose(p.sum(axis=1), 1.0, atol=1e-3):
    raise ValueError("probs: rows must be probability vectors (non-negative, summing to 1)")
  n = len(p)
  scores = np.empty(num_splits, np.float64)
  for i in range(num_splits):
    part = p[i * n // num_splits:(i + 1) * n // num_splits]
    # Accumulated in extended precision (where NumPy has it) and rounded once: identical rows then
    # give p(y) equal to that row exactly, so uniform predictions score exactly 1.
    p_y = part.astype(np.longdouble).mean(axis=0).astype(np.float64)
    # 0 log 0 = 0: where p(y|x) = 0 the term vanishes (and p(y) > 0 wherever p(y|x) > 0).
    safe = part > 0
    log_ratio = np.log(np.where(safe, part, 1.0)) - np.log(np.where(safe, p_y[None, :], 1.0))
    kl = np.sum(np.where(safe, part * log_ratio, 0.0), axis=1)
    scores[i] = np.exp(kl.mean())
  return {"mean": float(scores.mean()), "std": float(scores.std())}


# --------------------------------------------------------------------------- k-NN manifold metrics


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> dict[str, float]:
  """Improved precision and recall (Kynkaanniemi et al. 2019, Eq. 1-3): {'precision', 'recall'}.

  The manifold of a set Phi is the union of the closed balls B(phi, NND_k(phi)), phi in Phi,
  NND_k excluding phi itself (Eq. 1, with `<=`). precision = fraction of fake samples inside the
  real manifold (Eq. 2); recall = fraction of real samples inside the fake manifold (Eq. 3).
  Needs k < N_real and k < N_fake.
  """
  real = _as_features(real, "real", min_rows=2)
  fake = _as_features(fake, "fake", min_rows=2)
  _same_dim(real, fake)
  r2_real = _knn_squared_radii(real, k)
  r2_fake = _knn_squared_radii(fake, k)
  fake_in_real = np.zeros(len(fake), bool)
  real_in_fake = np.zeros(len(real), bool)
  for start, stop, d2 in _squared_distance_blocks(real, fake):
    fake_in_real |= (d2 <= r2_real[start:stop, None]).any(axis=0)
    real_in_fake[start:stop] = (d2 <= r2_fake[None, :]).any(axis=1)
  return {"precision": float(fake_in_real.mean()), "recall": float(real_in_fake.mean())}


def density_coverage(real: np.ndarray, fake: np.ndarray, k: int = 5) -> dict[str, float]:
  """Density and coverage (Naeem et al. 2020, Eq. 3 and 4): {'density', 'coverage'}.

  With N real samples X_i, M fake samples Y_j and closed balls B(X_i, NND_k(X_i)) (`<=`, NND_k
  excluding X_i itself):
    density  = 1 / (k M) sum_j sum_i 1[Y_j in B(X_i, NND_k(X_i))]          (Eq. 3)
    coverage = 1 / N sum_i 1[exists j: Y_j in B(X_i, NND_k(X_i))]            (Eq. 4)
  Density is unbounded above; for fake == real with no tied distances each ball holds its centre
  and its k nearest neighbours, so density = (k + 1) / k exactly (1 with `prdc`'s strict `<`)
  and coverage = 1. Needs k < N.
  """
  real = _as_features(real, "real", min_rows=2)
  fake = _as_features(fake, "fake", min_rows=1)
  _same_dim(real, fake)
  r2_real = _knn_squared_radii(real, k)
  count = 0
  covered = np.zeros(len(real), bool)
  for start, stop, d2 in _squared_distance_blocks(real, fake):
    inside = d2 <= r2_real[start:stop, None]
    count += int(inside.sum())
    covered[start:stop] = inside.any(axis=1)
  return {"density": count / (k * len(fake)), "coverage": float(covered.mean())}
