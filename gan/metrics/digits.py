"""Offline class statistics for generated 8x8 digits.

A stop-gap: an RBF-kernel SVC from scikit-learn, fitted on a fixed 80% stratified split (seed 0) of
the 1,797 digits bundled with scikit-learn, labels generated images so that mode coverage of the
digits GAN can be checked without downloads. The evaluation-suite issue will replace it with a Flax
CNN (and add feature-based scores).

Images use the convention of `gan.data.builtin.load_digits`: float (N, 8, 8, 1) in [-1, 1], i.e.
the raw 0..16 pixel values as `x / 8 - 1`.

`class_metrics` reports, over the predicted labels of a batch:
- `digits_classes_covered`: classes receiving at least 2% of the samples (a fifth of the uniform
  share 1/10, `PRESENT_FRACTION = 0.02`);
- `digits_class_entropy`: entropy of the predicted-class histogram in nats (log 10 = 2.303 means
  equal shares, 0 means a single class);
- `digits_max_class_share`, `digits_min_class_share`: largest and smallest class shares.
"""
from __future__ import annotations

import functools

import numpy as np

NUM_CLASSES = 10
PRESENT_FRACTION = 0.02  # a class is covered if it gets >= 0.2 / NUM_CLASSES of the samples
_SEED = 0
_TRAIN_FRACTION = 0.8


def _to_features(images: np.ndarray) -> np.ndarray:
  images = np.asarray(images, np.float32)
  if images.ndim == 3:
    images = images[..., None]
  if images.shape[1:] != (8, 8, 1):
    raise ValueError(f"expected digits of shape (N, 8, 8, 1), got {images.shape}")
  return images.reshape(len(images), 64)


class DigitsClassifier:
  """RBF SVC on flattened [-1, 1] digits; deterministic fixed split, so `held_out_accuracy` is fixed."""

  def __init__(self, seed: int = _SEED, train_fraction: float = _TRAIN_FRACTION):
    from sklearn.model_selection import train_test_split  # pylint: disable=g-import-not-at-top
    from sklearn.svm import SVC  # pylint: disable=g-import-not-at-top
    from gan.data.builtin import load_digits  # pylint: disable=g-import-not-at-top
    x, y = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        _to_features(x), y, train_size=train_fraction, random_state=seed, stratify=y)
    # gamma in units of the [-1, 1] features (64 dims): equivalent to sklearn's classic
    # gamma=0.001 on the raw 0..16 pixels (scale factor 8^2).
    self._model = SVC(kernel="rbf", C=10.0, gamma=0.064)
    self._model.fit(x_train, y_train)
    self._held_out_accuracy = float((self._model.predict(x_test) == y_test).mean())
    self.num_train, self.num_test = len(y_train), len(y_test)

  @property
  def held_out_accuracy(self) -> float:
    """Accuracy on the 20% of the bundled digits not used for fitting."""
    return self._held_out_accuracy

  def predict(self, images: np.ndarray) -> np.ndarray:
    """Predicted int32 labels (N,) for images (N, 8, 8, 1) in [-1, 1]."""
    feats = _to_features(images)
    if len(feats) == 0:
      return np.zeros((0,), np.int32)
    return self._model.predict(feats).astype(np.int32)


@functools.lru_cache(maxsize=1)
def get_classifier() -> DigitsClassifier:
  """The process-wide classifier, fitted on first use (well under a second)."""
  return DigitsClassifier()


def class_metrics(images: np.ndarray, classifier: DigitsClassifier | None = None) -> dict[str, float]:
  """Class coverage/balance of `images` (N, 8, 8, 1) in [-1, 1]; see the module docstring."""
  labels = (classifier or get_classifier()).predict(images)
  n = len(labels)
  if n == 0:
    return {"digits_classes_covered": 0.0, "digits_class_entropy": 0.0,
            "digits_max_class_share": 0.0, "digits_min_class_share": 0.0}
  shares = np.bincount(labels, minlength=NUM_CLASSES) / n
  nz = shares > 0
  return {
      "digits_classes_covered": float((shares >= PRESENT_FRACTION).sum()),
      "digits_class_entropy": float(max(-np.sum(shares[nz] * np.log(shares[nz])), 0.0)),
      "digits_max_class_share": float(shares.max()),
      "digits_min_class_share": float(shares.min()),
  }
