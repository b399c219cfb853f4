"""gan.metrics.digits: the digits CNN, the MnistCNN (on tiny synthetic IDX files) and the class statistics
of samples."""
import math
import os

import jax
import numpy as np
import pytest

from experiments import mnist_dcgan
from gan import config_validation, train
from gan.data.builtin import load_digits
from gan.errors import UserError
from gan.metrics import augmentation_score, digits
from tests.test_translation_data import write_idx


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


# ------------------------------------------------------------------- the MnistCNN (tiny synthetic IDX)
TINY_RECIPE = digits.Recipe(num_steps=60, batch_size=32, learning_rate=3e-3)


def tiny_mnist(directory, n_train=200, n_test=50, seed=0):
  """MNIST-format IDX files of 28x28 'digits': class k is a horizontal bar at row 3 + 2k (+0/1)."""
  rng = np.random.default_rng(seed)
  os.makedirs(directory, exist_ok=True)
  for prefix, n in (("train", n_train), ("t10k", n_test)):
    labels = np.arange(n) % 10
    images = np.zeros((n, 28, 28), np.uint8)
    for i, k in enumerate(labels):
      row = 3 + 2 * k + rng.integers(0, 2)
      images[i, row:row + 2, 4:24] = 255
    write_idx(os.path.join(directory, f"{prefix}-images-idx3-ubyte.gz"), images)
    write_idx(os.path.join(directory, f"{prefix}-labels-idx1-ubyte"), labels)
  return str(directory)


@pytest.fixture
def cache(tmp_path, monkeypatch):
  """A fresh disk cache, and the in-process caches emptied before and after."""
  monkeypatch.setenv("GAN_CACHE_DIR", str(tmp_path / "cache"))
  cached = (digits.get_mnist_classifier, digits.mnist_split)  # as defined, should a test patch them
  for function in cached:
    function.cache_clear()
  yield tmp_path / "cache"
  for function in cached:
    function.cache_clear()


def test_mnist_classifier_trains_caches_and_reads_28_and_32(tmp_path, cache, monkeypatch):
  directory = tiny_mnist(tmp_path / "mnist")
  clf = digits.get_mnist_classifier(directory, TINY_RECIPE)
  assert clf.held_out_accuracy > 0.5 and clf.net.name == "MnistCNN"  # chance is 0.1
  assert clf.trained_on["num_train"] == 200 and clf.trained_on["num_test"] == 50
  files = os.listdir(cache)
  assert files == [f"mnist_cnn_{digits.MNIST_CNN.key(TINY_RECIPE)}_{clf.trained_on['train_data_hash']}.msgpack"]
  x_train, _, x_test, y_test = digits.mnist_split(directory)[:4]
  assert x_train.shape == (200, 28, 28, 1) and x_train.min() == -1.0 and x_train.max() == 1.0
  digits.get_mnist_classifier.cache_clear()  # a new process: read from the disk cache, not retrained
  monkeypatch.setattr(digits, "train_classifier", lambda *a, **k: pytest.fail("trained despite the cache"))
  again = digits.get_mnist_classifier(directory, TINY_RECIPE)
  assert again.net.weights_hash == clf.net.weights_hash and again.held_out_accuracy == clf.held_out_accuracy
  assert clf.features(x_test[:3]).shape == (3, 128)
  big = np.asarray(jax.image.resize(x_test, (50, 32, 32, 1), "linear"))  # 32x32 digits are resized to 28
  assert (clf.predict(big) == y_test).mean() > 0.5
  assert "32x32x1 resized to 28x28" in clf.net.resize
  with pytest.raises(ValueError, match=r"expected digits of shape \(N, 28, 28, 1\) or \(N, 32, 32, 1\)"):
    clf.predict(np.zeros((2, 8, 8, 1), np.float32))


def test_mnist_cache_is_keyed_by_the_training_data(tmp_path, cache):
  a = digits.get_mnist_classifier(tiny_mnist(tmp_path / "a", seed=0), TINY_RECIPE)
  b = digits.get_mnist_classifier(tiny_mnist(tmp_path / "b", seed=1), TINY_RECIPE)
  assert a.trained_on["train_data_hash"] != b.trained_on["train_data_hash"] and len(os.listdir(cache)) == 2


def test_mnist_problems_are_one_line(tmp_path, cache):
  write_idx(str(tmp_path / "train-images-idx3-ubyte"), np.zeros((4, 8, 8)))
  write_idx(str(tmp_path / "train-labels-idx1-ubyte"), np.zeros(4))
  write_idx(str(tmp_path / "t10k-images-idx3-ubyte"), np.zeros((4, 8, 8)))
  write_idx(str(tmp_path / "t10k-labels-idx1-ubyte"), np.zeros(4))
  with pytest.raises(UserError, match="holds 8x8 images; the MnistCNN reads 28x28 digits"):
    digits.get_mnist_classifier(str(tmp_path), TINY_RECIPE)
  with pytest.raises(UserError, match="does not exist"):
    digits.get_mnist_classifier(str(tmp_path / "nowhere"), TINY_RECIPE)


def test_mnist_augmentation_score_on_a_perfect_and_a_mislabelling_generator(tmp_path, cache):
  directory = tiny_mnist(tmp_path / "mnist")
  protocol = augmentation_score.Protocol(real_per_class=2, generated_per_class=20, recipe=TINY_RECIPE,
                                         network=digits.MNIST_CNN, data_dir=directory)
  x_train, y_train, _, _ = digits.mnist_split(directory)[:4]
  big = np.asarray(jax.image.resize(x_train, (len(x_train), 32, 32, 1), "linear"))  # as mnist_dcgan's G

  def generator(shift):
    return lambda k, n: big[np.flatnonzero(y_train == (k + shift) % 10)[np.arange(n) % 20]]
  perfect, record = augmentation_score.augmentation_scores(generator(0), protocol)
  wrong, _ = augmentation_score.augmentation_scores(generator(3), protocol)
  assert perfect["mnist_cas"] > 0.5 > wrong["mnist_cas"]
  assert perfect["mnist_real_accuracy"] == digits.get_mnist_classifier(directory, TINY_RECIPE).held_out_accuracy
  assert "the 50 test digits of" in record["test"] and record["classifier"].startswith("MnistCNN")


def test_mnist_dcgan_evaluates_in_the_mnist_cnn_space(tmp_path, cache, monkeypatch):
  directory = tiny_mnist(tmp_path / "mnist", n_train=40, n_test=20)
  tiny = digits.get_mnist_classifier.__wrapped__
  monkeypatch.setattr(digits, "get_mnist_classifier", lambda d: tiny(d, TINY_RECIPE))
  config = mnist_dcgan.get_config()
  config.data.path = directory
  config.update(batch_size=8, num_train_steps=2)
  config.model.update(z_dim=8)
  config.model.generator.update(width=8, conditioning="cbn")
  config.model.discriminator.update(width=8, conditioning="projection")
  config.eval.update(grid_size=4, num_samples=20)
  run = train.setup(config)  # the evaluation the training loop runs, on the initial generator
  evaluator = run.family.evaluator(config, run.game, run.dataset, str(tmp_path / "run"))
  result = evaluator.evaluate_state(0, run.initial_state(config.seed), write_files=False)
  for name in ("mnist_fd", "mnist_kid", "mnist_is", "mnist_precision", "mnist_recall", "mnist_density",
               "mnist_coverage", "mnist_classes_covered", "mnist_cond_accuracy", "mnist_cond_accuracy_min"):
    assert np.isfinite(result.metrics[name]), name
  protocol = result.protocol
  assert protocol["feature_net"]["name"] == "MnistCNN" and protocol["primary_metric"] == ["mnist_fd", "min"]
  assert protocol["feature_net"]["classifier_trained_on"]["directory"] == directory
  assert 0 <= protocol["feature_net"]["classifier_test_accuracy"] <= 1


def test_mnist_cnn_config_errors(tmp_path):
  config = mnist_dcgan.get_config()
  config.data.path = str(tmp_path / "nowhere")
  with pytest.raises(UserError, match="config.data.path=.*nowhere.* an existing directory of MNIST-format IDX"):
    config_validation.validate(config)
  config.data.update(name="tfds", path="")
  with pytest.raises(UserError, match="config.eval.mnist_path='' is not valid"):
    config_validation.validate(config)
  config.eval.mnist_path = str(tmp_path)
  config_validation.validate(config)
  config.data.channels = 3
  with pytest.raises(UserError, match="config.data.channels=3 is not valid: expected 1"):
    config_validation.validate(config)
  config.data.update(channels=1, image_size=64)
  with pytest.raises(UserError, match="config.data.image_size=64 is not valid: expected 28 or 32"):
    config_validation.validate(config)


def test_random_shifts_translate_each_image_within_the_bound():
  x = np.zeros((50, 9, 9, 1), np.float32) - 1.0
  x[:, 4, 4] = 1.0  # one bright pixel in the centre
  a = digits.random_shifts(x, np.random.default_rng(0), 2)
  np.testing.assert_array_equal(a, digits.random_shifts(x, np.random.default_rng(0), 2))
  rows, cols = np.nonzero(a[..., 0] == 1.0)[1:]
  assert len(rows) == 50 and set(rows) == set(range(2, 7)) and set(cols) == set(range(2, 7))
  assert a.min() == -1.0 and (a == 1.0).sum() == 50  # the border is filled with the background
