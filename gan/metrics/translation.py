"""Metrics of image-to-image translation (pix2pix, CycleGAN): labels, feature statistics and pixels.

Images are float (N, H, W, C) in [-1, 1] (`translation_metrics` also maps uint8 in [0, 255] there,
as `gan.metrics.suite.FeatureNet` does); a translation direction is "AtoB" or "BtoA", and the
classifier is the `DomainClassifier` of the *target* domain (gan/metrics/domain_classifier.py).
`translation_metrics` reports, named f"{direction}_{name}":

- `label_preservation`: the fraction of translations that the target-domain classifier assigns to
  the class of their source image, the classification form of the "FCN-score" of pix2pix (Isola et
  al. 2017, "Image-to-Image Translation with Conditional Adversarial Networks", Sec. 4.1) and of the
  classifier-based evaluation of CyCADA (Hoffman et al. 2018, Sec. 4.1).
- `fd`: Frechet distance (Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update Rule Converge
  to a Local Nash Equilibrium", Eq. 6) between Gaussians fitted to the classifier's 128-d features of
  all N translations and of all the reference images (real held-out images of the target domain);
  the reference statistics are cached on disk by `gan.metrics.suite.get_reference`.
- paired tasks (`target` = the true output of each source), against it:
  - `l1`: mean absolute difference over all pixels, in the [-1, 1] units of the data (half of it in
    [0, 1] units), the reconstruction term of pix2pix's objective (Isola et al. 2017, Eq. 3);
  - `psnr`: the mean over images of per-image PSNR = 10 log10(L^2 / MSE), MSE over the image's pixels
    and channels, L = `data_range` = 2. PSNR is shift-invariant, so this equals `tf.image.psnr` on
    the images mapped to [0, 1] with max_val 1. Identical images (MSE 0, PSNR +inf) count as
    `PSNR_CAP_DB` = 100 dB (every per-image value is capped there), so the mean stays finite;
  - `ssim`: the mean over images of the mean SSIM (Wang et al. 2004, "Image Quality Assessment: From
    Error Visibility to Structural Similarity", Eq. 13 for each window, averaged over the map as the
    MSSIM of Eq. 17), with the paper's settings: an 11x11 circular-symmetric Gaussian weighting of
    standard deviation 1.5 normalised to sum 1 (Sec. III-C; local means, variances and covariance as
    Eq. 14-16), K1 = 0.01, K2 = 0.03, C_i = (K_i L)^2, L = `data_range` = 2; "valid" filtering (only
    windows inside the image: a (H - 10) x (W - 10) map), each channel separately, then the mean over
    the map and the channels. SSIM's luminance term assumes non-negative intensities in [0, L], so the
    images are shifted by L / 2 from [-1, 1] to [0, 2] first; this equals `tf.image.ssim` on the
    images mapped to [0, 1] with max_val 1 (tests/test_translation_metrics.py).
- CycleGAN (`source` and `reconstructed` = G_BA(G_AB(source))): `cycle_l1` = l1(reconstructed,
  source), the cycle-consistency loss of Zhu et al. 2017 ("Unpaired Image-to-Image Translation using
  Cycle-Consistent Adversarial Networks", Eq. 2) on held-out images.

`DIRECTIONS` says whether each metric is better high ("max") or low ("min"). All pixel metrics are
computed in float64 on the host with NumPy.
"""
from __future__ import annotations

import numpy as np

from gan.metrics import features as F
from gan.metrics import suite

DIRECTIONS = {"label_preservation": "max", "fd": "min", "l1": "min", "psnr": "max", "ssim": "max",
              "cycle_l1": "min"}
TRANSLATION_DIRECTIONS = ("AtoB", "BtoA")
PSNR_CAP_DB = 100.0
SSIM_WINDOW, SSIM_SIGMA, SSIM_K1, SSIM_K2 = 11, 1.5, 0.01, 0.03
_SSIM_CHUNK = 256  # images per SSIM block (bounds the memory of the filtered maps)


def _pair(x, y, what: str) -> tuple[np.ndarray, np.ndarray]:
  x = np.asarray(x, np.float64)
  y = np.asarray(y, np.float64)
  if x.shape != y.shape:
    raise ValueError(f"{what}: the two image sets differ in shape: {x.shape} vs {y.shape}")
  if not x.size:
    raise ValueError(f"{what}: no images")
  return x, y


def _image_pair(x, y, what: str) -> tuple[np.ndarray, np.ndarray]:
  x, y = _pair(x, y, what)
  if x.ndim != 4:
    raise ValueError(f"{what}: expected images (N, H, W, C), got shape {x.shape}")
  return x, y


def _as_images(x) -> np.ndarray:
  """uint8 in [0, 255] -> float64 in [-1, 1] (as `gan.metrics.suite.FeatureNet`); other arrays unchanged."""
  x = np.asarray(x)
  return x.astype(np.float64) / 127.5 - 1.0 if x.dtype == np.uint8 else x


def l1(x, y) -> float:
  """Mean absolute difference over all pixels (and images, channels) of two equal-shape image sets."""
  x, y = _pair(x, y, "l1")
  return float(np.mean(np.abs(x - y)))


def psnr_per_image(x, y, data_range: float = 2.0) -> np.ndarray:
  """Per-image PSNR in dB, float64 (N,), each capped at `PSNR_CAP_DB` (identical images give the cap)."""
  x, y = _image_pair(x, y, "psnr")
  mse = np.mean(np.square(x - y), axis=(1, 2, 3))
  with np.errstate(divide="ignore"):
    values = 10.0 * np.log10(data_range ** 2 / mse)
  return np.minimum(values, PSNR_CAP_DB)


def psnr(x, y, data_range: float = 2.0) -> float:
  """Mean over images of the per-image PSNR 10 log10(data_range^2 / MSE), capped at `PSNR_CAP_DB`."""
  return float(np.mean(psnr_per_image(x, y, data_range)))


def gaussian_window(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> np.ndarray:
  """The 1-D Gaussian (size,) summing to 1; SSIM's 2-D window is its outer product with itself."""
  coords = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
  g = np.exp(-coords ** 2 / (2.0 * sigma ** 2))
  return g / g.sum()


def _filter_valid(x: np.ndarray, g: np.ndarray) -> np.ndarray:
  """Separable "valid" filtering of (N, H, W, C) by the window outer(g, g): (N, H-s+1, W-s+1, C)."""
  s = len(g)
  x = np.lib.stride_tricks.sliding_window_view(x, s, axis=1) @ g
  return np.lib.stride_tricks.sliding_window_view(x, s, axis=2) @ g


def ssim_per_image(x, y, data_range: float = 2.0) -> np.ndarray:
  """Per-image mean SSIM, float64 (N,), of images in [-L/2, L/2], L = `data_range` (module docstring)."""
  x, y = _image_pair(x, y, "ssim")
  if min(x.shape[1:3]) < SSIM_WINDOW:
    raise ValueError(f"ssim: images must be at least {SSIM_WINDOW}x{SSIM_WINDOW}, got {x.shape[1:3]}")
  g = gaussian_window()
  c1, c2 = (SSIM_K1 * data_range) ** 2, (SSIM_K2 * data_range) ** 2
  out = np.empty(len(x), np.float64)
  for start in range(0, len(x), _SSIM_CHUNK):
    a = x[start:start + _SSIM_CHUNK] + data_range / 2.0  # [0, L]: the paper's non-negative intensities
    b = y[start:start + _SSIM_CHUNK] + data_range / 2.0
    mu_a, mu_b = _filter_valid(a, g), _filter_valid(b, g)
    var_a = _filter_valid(a * a, g) - mu_a * mu_a  # Eq. 15: sum_i w_i (a_i - mu_a)^2
    var_b = _filter_valid(b * b, g) - mu_b * mu_b
    cov = _filter_valid(a * b, g) - mu_a * mu_b  # Eq. 16
    ssim_map = ((2.0 * mu_a * mu_b + c1) * (2.0 * cov + c2)
                / ((mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2)))  # Eq. 13
    out[start:start + len(a)] = ssim_map.mean(axis=(1, 2, 3))
  return out


def ssim(x, y, data_range: float = 2.0) -> float:
  """Mean over images of the mean SSIM (Wang et al. 2004, Eq. 13; settings in the module docstring)."""
  return float(np.mean(ssim_per_image(x, y, data_range)))


def label_preservation(classifier, translated, source_labels) -> float:
  """Fraction of `translated` that `classifier` (target domain; has `predict`) assigns to `source_labels`."""
  labels = np.asarray(source_labels)
  predicted = np.asarray(classifier.predict(translated))
  if predicted.shape != labels.shape or labels.ndim != 1 or not len(labels):
    raise ValueError(f"label_preservation: {predicted.shape} predictions for labels of shape {labels.shape}")
  return float(np.mean(predicted == labels))


def translation_metrics(direction: str, classifier, translated, source_labels, reference_images, *,
                        target=None, source=None, reconstructed=None) -> tuple[dict[str, float], dict]:
  """(metrics, protocol) of the translations `translated` (N, H, W, C) of N source images.

  `classifier`: the target domain's `DomainClassifier` (its `net`, `input_shape`, `name` and
  `held_out_accuracy` are used); `source_labels` (N,): the classes of the source images;
  `reference_images`: real held-out images of the target domain (at least
  `gan.metrics.suite.MIN_SAMPLES`), the reference of FD; `target`: the true outputs (paired tasks);
  `source` and `reconstructed`: the source images and their round trips (CycleGAN). Metric names and
  definitions: the module docstring.
  """
  if direction not in TRANSLATION_DIRECTIONS:
    raise ValueError(f"direction must be one of {TRANSLATION_DIRECTIONS}, got {direction!r}")
  if (source is None) != (reconstructed is None):
    raise ValueError("cycle_l1 needs both `source` and `reconstructed`")
  translated, reference_images, target, source, reconstructed = (
      None if x is None else _as_images(x)
      for x in (translated, reference_images, target, source, reconstructed))
  labels = np.asarray(source_labels)
  image_shape = tuple(classifier.input_shape)
  if translated.shape[1:] != image_shape or reference_images.shape[1:] != image_shape:
    raise ValueError(f"{classifier.net.name} takes images of shape (N, *{image_shape}); got translations "
                     f"{translated.shape} and reference images {reference_images.shape}")
  if labels.shape != (len(translated),):
    raise ValueError(f"{len(translated)} translations but source labels of shape {labels.shape}")
  feats, probs = classifier.net(translated)
  reference = suite.get_reference(classifier.net, reference_images)
  metrics = {
      "label_preservation": float(np.mean(probs.argmax(-1) == labels)),
      "fd": F.frechet_distance_to_stats(feats, reference.mu, reference.sigma),
  }
  if target is not None:
    metrics["l1"] = l1(translated, target)
    metrics["psnr"] = psnr(translated, target)
    metrics["ssim"] = ssim(translated, target)
  if source is not None:
    metrics["cycle_l1"] = l1(reconstructed, source)
  net = classifier.net
  protocol = {
      "direction": direction,
      "num_translations": len(translated),
      "num_reference": reference.num,
      "reference_data_hash": reference.data_hash,
      "classifier": {"name": net.name, "domain": classifier.name, "weights_hash": net.weights_hash,
                     "held_out_accuracy": float(classifier.held_out_accuracy)},
      "metrics": [f"{direction}_{name}" for name in metrics],
      "paired": target is not None,
      "cycle": source is not None,
      "fd": "Frechet distance (Heusel et al. 2017, Eq. 6) of the classifier's features of all translations "
            "and all reference images",
  }
  if target is not None:
    protocol["pixel_metrics"] = {
        "data_range": 2.0, "psnr_cap_db": PSNR_CAP_DB,
        "ssim": {"window": f"{SSIM_WINDOW}x{SSIM_WINDOW} Gaussian", "sigma": SSIM_SIGMA, "k1": SSIM_K1,
                 "k2": SSIM_K2, "filtering": "valid", "intensities": "[-1, 1] shifted to [0, 2]",
                 "reduction": "mean over the SSIM map and channels, then over images"},
    }
  return {f"{direction}_{name}": float(value) for name, value in metrics.items()}, protocol
