"""gan.metrics.translation and gan.metrics.domain_classifier: the pixel metrics against closed forms and
TensorFlow, label preservation and FD against closed forms, the metric sets of paired, unpaired and
cycle tasks, and the domain classifier's deterministic training, cache and accuracy."""
import dataclasses
import json
import math
import os

import jax
import numpy as np
import pytest

from gan.data.builtin import resize_digits
from gan.metrics import digits, features, suite
from gan.metrics import domain_classifier as dc
from gan.metrics import translation as T

SHORT = dc.DomainRecipe(num_steps=100)  # ~0.97 held-out on the 32x32 digits; the default takes 1,500


@pytest.fixture(scope="module")
def digits32():
  x_train, y_train, x_test, y_test = digits.split_digits()
  return resize_digits(x_train, 32, 1), y_train, resize_digits(x_test, 32, 1), y_test


@pytest.fixture(scope="module")
def short_classifier(digits32):
  return dc.get_domain_classifier("digits", *digits32, SHORT)


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
  monkeypatch.setenv("GAN_CACHE_DIR", str(tmp_path))
  return tmp_path


@dataclasses.dataclass
class LinearStub:
  """A classifier whose features are the first `dim` pixels and whose label is the argmax of the first
  10 pixels: FD and label preservation then have closed forms."""
  name: str
  input_shape: tuple = (16, 16, 1)
  dim: int = 4
  held_out_accuracy: float = 0.5

  def __post_init__(self):
    apply = jax.jit(lambda x: (x.reshape(x.shape[0], -1)[:, :self.dim], x.reshape(x.shape[0], -1)[:, :10]))
    self.net = suite.FeatureNet(name=f"Linear[{self.name}]", weights_hash=f"stub-{self.name}",
                                resize="none", apply=apply)


def _tf():
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  return tf


def _tf_ssim(x, y):
  """tf.image.ssim on images mapped from [-1, 1] to its [0, max_val] convention, max_val = 1."""
  tf = _tf()
  return tf.image.ssim(tf.constant((x + 1.0) / 2.0, tf.float32), tf.constant((y + 1.0) / 2.0, tf.float32),
                       max_val=1.0, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03).numpy()


# --------------------------------------------------------------------------- pixel metrics


def test_directions():
  assert T.DIRECTIONS == {"label_preservation": "max", "fd": "min", "l1": "min", "psnr": "max",
                          "ssim": "max", "cycle_l1": "min"}


def test_l1_and_psnr_closed_forms():
  x = np.zeros((2, 4, 4, 1))
  y = x + np.array([0.1, 0.5])[:, None, None, None]  # per-image constant offsets
  assert math.isclose(T.l1(x, y), 0.3) and math.isclose(T.l1(y, x), 0.3)
  # PSNR = 10 log10(L^2 / MSE) per image, then the mean: L = 2, MSE 0.01 and 0.25.
  np.testing.assert_allclose(T.psnr_per_image(x, y), [10 * math.log10(400), 10 * math.log10(16)])
  assert math.isclose(T.psnr(x, y), 5 * (math.log10(400) + math.log10(16)))
  assert math.isclose(T.psnr(x, y, data_range=1.0), 5 * (math.log10(100) + math.log10(4)))
  z = x.copy()
  z[0, :2] = 1.0  # half the pixels of one of two images differ by 1
  assert math.isclose(T.l1(x, z), 0.25)
  # Identical images: per-image PSNR is capped at PSNR_CAP_DB, so the mean stays finite.
  assert T.psnr(x, x) == T.PSNR_CAP_DB == 100.0
  mixed = np.concatenate([x[:1], y[:1]])
  assert math.isclose(T.psnr(x, mixed), (100.0 + 10 * math.log10(400)) / 2)
  with pytest.raises(ValueError):
    T.l1(x, x[:1])


def test_psnr_matches_tensorflow():
  tf = _tf()
  rng = np.random.default_rng(0)
  x = rng.uniform(-1, 1, (6, 32, 32, 3))
  y = np.clip(x + rng.normal(0, rng.uniform(0.01, 0.5, (6, 1, 1, 1)), x.shape), -1, 1)
  reference = tf.image.psnr(tf.constant((x + 1) / 2, tf.float32), tf.constant((y + 1) / 2, tf.float32),
                            max_val=1.0).numpy()
  np.testing.assert_allclose(T.psnr_per_image(x, y), reference, rtol=1e-5)
  assert math.isclose(T.psnr(x, y), float(np.mean(reference)), rel_tol=1e-5)


def test_ssim_closed_forms():
  rng = np.random.default_rng(1)
  x = rng.uniform(-1, 1, (3, 16, 20, 2))
  assert math.isclose(T.ssim(x, x), 1.0, abs_tol=1e-12)
  # Two constant images a and b: zero (co)variances, so SSIM is the luminance term of Eq. 13 on the
  # intensities shifted to [0, 2]: (2 a' b' + C1) / (a'^2 + b'^2 + C1), C1 = (0.01 * 2)^2.
  a, b = np.full((1, 12, 12, 1), 0.2), np.full((1, 12, 12, 1), -0.4)
  c1 = (0.01 * 2) ** 2
  assert math.isclose(T.ssim(a, b), (2 * 1.2 * 0.6 + c1) / (1.2 ** 2 + 0.6 ** 2 + c1), rel_tol=1e-12)
  # Symmetric, below 1 for different images, and lower the more noise is added.
  noise = rng.normal(size=x.shape)
  y = np.clip(x + 0.3 * noise, -1, 1)
  np.testing.assert_allclose(T.ssim_per_image(x, y), T.ssim_per_image(y, x), rtol=1e-12)
  assert (T.ssim_per_image(x, np.clip(x + 0.1 * noise, -1, 1)) > T.ssim_per_image(x, y)).all()
  assert (T.ssim_per_image(x, y) < 1.0).all()
  window = T.gaussian_window()
  assert window.shape == (11,) and math.isclose(window.sum(), 1.0) and window.argmax() == 5
  with pytest.raises(ValueError):
    T.ssim(np.zeros((1, 8, 8, 1)), np.zeros((1, 8, 8, 1)))


def test_ssim_matches_tensorflow(digits32, monkeypatch):
  rng = np.random.default_rng(2)
  noise = rng.uniform(-1, 1, (4, 32, 24, 3))  # non-square, RGB: catches axis and channel mix-ups
  noisy = np.clip(noise + rng.normal(0, 0.3, noise.shape), -1, 1)
  real = digits32[2][:6].astype(np.float64)
  shifted = np.roll(real, 1, axis=2)
  contrast = 0.5 * real - 0.3
  blurred = np.clip(real + 0.1 * rng.normal(size=real.shape), -1, 1)
  for x, y in [(noise, noisy), (real, shifted), (real, contrast), (real, blurred), (real, -real)]:
    reference = _tf_ssim(x, y)
    np.testing.assert_allclose(T.ssim_per_image(x, y), reference, atol=1e-5)
    assert math.isclose(T.ssim(x, y), float(np.mean(reference)), abs_tol=1e-5)
  # Computing in blocks of images does not change anything.
  whole = T.ssim_per_image(real, shifted)
  monkeypatch.setattr(T, "_SSIM_CHUNK", 4)
  np.testing.assert_array_equal(T.ssim_per_image(real, shifted), whole)


# --------------------------------------------------------------------------- label preservation, FD


def test_label_preservation_with_stub_classifier():
  class Stub:
    def predict(self, images):
      return np.arange(len(images)) % 10

  labels = np.arange(10)
  labels[[2, 5, 9]] = 0
  assert T.label_preservation(Stub(), np.zeros((10, 4, 4, 1)), labels) == 0.7
  with pytest.raises(ValueError):
    T.label_preservation(Stub(), np.zeros((10, 4, 4, 1)), labels[:5])


def _one_hot_images(labels, rng, shape=(16, 16, 1)):
  """Images in [-0.5, 0.5] whose first 10 pixels have their maximum (1) at `labels`."""
  x = rng.uniform(-0.5, 0.5, (len(labels), *shape))
  flat = x.reshape(len(labels), -1)
  flat[np.arange(len(labels)), labels] = 1.0
  return x


def test_fd_closed_forms(fresh_cache):
  rng = np.random.default_rng(3)
  reference = rng.uniform(-0.5, 0.5, (40, 16, 16, 1))
  stub = LinearStub("fd")
  labels = np.zeros(40, np.int64)
  feats = reference.reshape(40, -1)[:, :4]
  mu, sigma = feats.mean(0), np.cov(feats, rowvar=False)

  def fd(translated):
    return T.translation_metrics("AtoB", stub, translated, labels, reference)[0]["AtoB_fd"]

  assert abs(fd(reference)) < 1e-6  # identical feature sets (float32 features)
  # A shift by delta of every feature: equal covariances, so FD = ||delta||^2 = 4 delta^2.
  assert math.isclose(fd(reference + 0.25), 4 * 0.25 ** 2, rel_tol=1e-5)
  # Scaled by 2: mu' = 2 mu, S' = 4 S, Tr(S + 4S - 2 (4 S^2)^(1/2)) = Tr S, so FD = ||mu||^2 + Tr S.
  assert math.isclose(fd(2 * reference), mu @ mu + np.trace(sigma), rel_tol=1e-5)


def test_translation_metrics_match_the_reference_computations(short_classifier, digits32, fresh_cache):
  """With the real classifier: label preservation of real test digits = its held-out accuracy, and FD
  = features.frechet_distance of the classifier's features (0 for the reference set itself)."""
  _, _, x_test, y_test = digits32
  reference, translated = x_test[:200], x_test[200:]
  metrics, protocol = T.translation_metrics("BtoA", short_classifier, x_test, y_test, reference)
  assert metrics["BtoA_label_preservation"] == short_classifier.held_out_accuracy
  assert T.label_preservation(short_classifier, x_test, y_test) == short_classifier.held_out_accuracy
  fd = T.translation_metrics("BtoA", short_classifier, translated, y_test[200:], reference)[0]["BtoA_fd"]
  clf_features = short_classifier.features
  assert math.isclose(fd, features.frechet_distance(clf_features(translated), clf_features(reference)),
                      rel_tol=1e-9)
  fd_self = T.translation_metrics("BtoA", short_classifier, reference, y_test[:200], reference)[0]["BtoA_fd"]
  assert fd_self < 1e-6 * fd
  assert protocol["classifier"] == {"name": "DomainCNN[digits]", "domain": "digits",
                                    "weights_hash": short_classifier.net.weights_hash,
                                    "held_out_accuracy": short_classifier.held_out_accuracy}


def test_translation_metrics_sets_and_protocol(fresh_cache):
  rng = np.random.default_rng(4)
  stub = LinearStub("sets")
  labels = rng.integers(0, 10, 12)
  translated = _one_hot_images(labels, rng)
  labels[:3] = (labels[:3] + 1) % 10  # 9 of 12 preserved
  reference = rng.uniform(-0.5, 0.5, (30, 16, 16, 1))
  target = np.clip(translated + rng.normal(0, 0.2, translated.shape), -1, 1)
  source = rng.uniform(-1, 1, translated.shape)
  reconstructed = source + 0.125

  unpaired, protocol = T.translation_metrics("AtoB", stub, translated, labels, reference)
  assert set(unpaired) == {"AtoB_label_preservation", "AtoB_fd"}
  assert unpaired["AtoB_label_preservation"] == 0.75
  assert protocol["metrics"] == list(unpaired)
  assert (protocol["num_translations"], protocol["num_reference"], protocol["paired"], protocol["cycle"]) == (
      12, 30, False, False)
  assert protocol["classifier"] == {"name": "Linear[sets]", "domain": "sets", "weights_hash": "stub-sets",
                                    "held_out_accuracy": 0.5}
  assert "pixel_metrics" not in protocol

  paired, protocol = T.translation_metrics("BtoA", stub, translated, labels, reference, target=target)
  assert set(paired) == {"BtoA_label_preservation", "BtoA_fd", "BtoA_l1", "BtoA_psnr", "BtoA_ssim"}
  assert paired["BtoA_l1"] == T.l1(translated, target)
  assert paired["BtoA_psnr"] == T.psnr(translated, target)
  assert paired["BtoA_ssim"] == T.ssim(translated, target)
  assert paired["BtoA_fd"] == unpaired["AtoB_fd"]
  assert protocol["paired"] and protocol["pixel_metrics"]["ssim"]["sigma"] == 1.5

  cycle, protocol = T.translation_metrics("AtoB", stub, translated, labels, reference, source=source,
                                          reconstructed=reconstructed)
  assert set(cycle) == {"AtoB_label_preservation", "AtoB_fd", "AtoB_cycle_l1"}
  assert math.isclose(cycle["AtoB_cycle_l1"], 0.125)
  assert protocol["cycle"] and not protocol["paired"]

  both, protocol = T.translation_metrics("AtoB", stub, translated, labels, reference, target=target,
                                         source=source, reconstructed=reconstructed)
  assert {k.split("_", 1)[1] for k in both} == set(T.DIRECTIONS)
  assert all(isinstance(v, float) for v in both.values())
  json.dumps(protocol)

  with pytest.raises(ValueError):
    T.translation_metrics("AtoB", stub, translated, labels, reference, source=source)
  with pytest.raises(ValueError):
    T.translation_metrics("AB", stub, translated, labels, reference)
  with pytest.raises(ValueError):
    T.translation_metrics("AtoB", stub, translated, labels[:5], reference)
  with pytest.raises(ValueError):
    T.translation_metrics("AtoB", stub, translated[:, :8], labels, reference)


# --------------------------------------------------------------------------- the domain classifier


def test_short_recipe_learns_the_32x32_digits(short_classifier, digits32):
  _, _, x_test, y_test = digits32
  assert short_classifier.held_out_accuracy >= 0.9  # 100 steps: ~0.97; an untrained net is ~0.1
  assert short_classifier.held_out_accuracy == (short_classifier.predict(x_test) == y_test).mean()
  assert short_classifier.name == "digits" and short_classifier.input_shape == (32, 32, 1)
  assert short_classifier.net.name == "DomainCNN[digits]"
  pred = short_classifier.predict(x_test[:7])
  assert pred.shape == (7,) and pred.dtype == np.int32
  feats, probs = short_classifier.net(x_test[:7])
  assert feats.shape == (7, 128) and feats.dtype == np.float64 and (feats >= 0).all()
  np.testing.assert_array_equal(short_classifier.features(x_test[:7]), feats)
  np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-9)
  np.testing.assert_array_equal(pred, probs.argmax(-1))
  np.testing.assert_array_equal(short_classifier.predict(x_test[:7, ..., 0]), pred)  # (N, H, W) gray
  with pytest.raises(ValueError):
    short_classifier.predict(np.zeros((2, 16, 16, 1), np.float32))


def test_classifier_training_is_deterministic_and_cached(digits32, tmp_path, monkeypatch):
  monkeypatch.setattr(dc, "_MEMORY_CACHE", {})
  monkeypatch.setenv("GAN_CACHE_DIR", str(tmp_path / "a"))
  a = dc.get_domain_classifier("digits", *digits32, SHORT)
  path = dc.cache_path("digits", SHORT, *digits32[:2])
  assert os.path.exists(path) and path.startswith(str(tmp_path / "a"))
  assert dc.get_domain_classifier("digits", *digits32, SHORT) is a  # memory cache
  # Trained again from scratch (empty memory and disk caches): identical parameters.
  monkeypatch.setattr(dc, "_MEMORY_CACHE", {})
  monkeypatch.setenv("GAN_CACHE_DIR", str(tmp_path / "b"))
  b = dc.get_domain_classifier("digits", *digits32, SHORT)
  assert b is not a
  jax.tree.map(np.testing.assert_array_equal, a.params, b.params)
  assert a.net.weights_hash == b.net.weights_hash and a.held_out_accuracy == b.held_out_accuracy
  # Read back from the disk cache, with training made impossible.
  monkeypatch.setattr(dc, "_MEMORY_CACHE", {})
  monkeypatch.setattr(digits, "train_classifier", lambda *a, **k: pytest.fail("trained despite the cache"))
  c = dc.get_domain_classifier("digits", *digits32, SHORT)
  assert c is not b and c.net.weights_hash == b.net.weights_hash
  assert c.held_out_accuracy == b.held_out_accuracy
  # The file is keyed by the recipe and the training data.
  x, y = digits32[:2]
  assert dc.cache_path("digits", dataclasses.replace(SHORT, seed=1), x, y) != path
  assert dc.cache_path("digits", SHORT, x[::-1], y[::-1]) != path
  assert dc.DomainRecipe().key() != SHORT.key()


def test_domain_cnn_takes_any_resolution_and_channels(digits32, fresh_cache, monkeypatch):
  monkeypatch.setattr(dc, "_MEMORY_CACHE", {})
  x_train, y_train, x_test, y_test = (resize_digits(a, 16, 3)[:200] if a.ndim == 4 else a[:200]
                                      for a in digits32)
  clf = dc.get_domain_classifier("rgb16", x_train, y_train, x_test, y_test, dc.DomainRecipe(num_steps=3))
  assert clf.input_shape == (16, 16, 3) and clf.net.resize == "none (native 16x16x3 input)"
  assert clf.params["Dense_0"]["kernel"].shape == (2 * 2 * 128, 128)  # 16 -> 8 -> 4 -> 2
  assert clf.features(x_test[:5]).shape == (5, 128)
  uint8 = np.round((x_test[:5] + 1) * 127.5).astype(np.uint8)  # uint8 in [0, 255] is mapped to [-1, 1]
  np.testing.assert_allclose(clf.features(uint8), clf.features(uint8.astype(np.float32) / 127.5 - 1))
  with pytest.raises(ValueError):
    dc.get_domain_classifier("bad", x_train, y_train + 10, x_test, y_test, dc.DomainRecipe(num_steps=3))
