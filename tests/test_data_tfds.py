"""Tests of gan/data/tfds.py: mocked TFDS data (`tfds.testing.mock_data`), a tiny dataset prepared
from code into a temporary data_dir, and the offline errors (no data, unknown name, split, key)."""
import time

import ml_collections
import numpy as np
import pytest
import tensorflow as tf  # Imported up front so the timing of the missing-data error excludes it.
import tensorflow_datasets as tfds

from gan import data as gan_data
from gan.data import tfds as tfds_data
from gan.errors import UserError

NUM = 24  # Examples per mocked split.
BATCH = 8


def make_config(**overrides):
  config = dict(name="tfds", tfds_name="mnist", split="train", data_dir=None, image_size=32,
                center_crop=0, resize_method="bilinear")
  config.update(overrides)
  return ml_collections.ConfigDict(config)


def build_mocked(num_examples=NUM, *, seed=0, batch_size=BATCH, process_index=0, process_count=1,
                 **overrides):
  with tfds.testing.mock_data(num_examples=num_examples):
    return tfds_data.build(make_config(**overrides), seed=seed, batch_size=batch_size,
                           process_index=process_index, process_count=process_count)


def raw_mocked(name, num_examples=NUM):
  """The mocked examples exactly as TFDS yields them: (images, labels)."""
  with tfds.testing.mock_data(num_examples=num_examples):
    examples = list(tfds.as_numpy(tfds.load(name, split="train", shuffle_files=False)))
  return (np.stack([e["image"] for e in examples]),
          np.array([e["label"] for e in examples], np.int32))


@pytest.fixture(scope="module")
def mnist():
  return build_mocked(tfds_name="mnist", image_size=32)


@pytest.fixture(scope="module")
def cifar10():
  return build_mocked(tfds_name="cifar10", image_size=32)


def test_cifar10_keeps_exact_pixels_and_labels(cifar10):
  images, labels = raw_mocked("cifar10")
  assert images.shape == (NUM, 32, 32, 3)
  assert cifar10.kind == "images" and cifar10.example_shape == (32, 32, 3)
  assert cifar10.num_classes == 10
  assert cifar10.x.dtype == np.uint8 and cifar10.labels.dtype == np.int32
  np.testing.assert_array_equal(cifar10.x, images)  # 32x32 needs no resize: pixels untouched.
  np.testing.assert_array_equal(cifar10.labels, labels)
  batch = cifar10.get_batch(2)
  rows = cifar10.indices(2)
  assert batch["x"].shape == (BATCH, 32, 32, 3) and batch["x"].dtype == np.float32
  assert batch["label"].shape == (BATCH,) and batch["label"].dtype == np.int32
  np.testing.assert_allclose(batch["x"], images[rows] / 127.5 - 1.0, atol=1e-6)
  np.testing.assert_array_equal(batch["label"], labels[rows])
  assert -1.0 <= batch["x"].min() < -0.9 and 0.9 < batch["x"].max() <= 1.0


def test_mnist_resized_to_32(mnist):
  images, labels = raw_mocked("mnist")
  assert images.shape == (NUM, 28, 28, 1)
  assert mnist.example_shape == (32, 32, 1) and mnist.x.dtype == np.uint8
  assert mnist.num_classes == 10
  np.testing.assert_array_equal(mnist.labels, labels)
  assert set(np.unique(mnist.labels)) <= set(range(10))
  expected = tf.image.resize(images.astype(np.float32), (32, 32), method="bilinear", antialias=True)
  expected = np.clip(np.round(expected.numpy()), 0, 255).astype(np.uint8)
  np.testing.assert_array_equal(mnist.x, expected)
  # Upsampling keeps the per-image mean brightness.
  np.testing.assert_allclose(mnist.x.mean(axis=(1, 2, 3)), images.mean(axis=(1, 2, 3)), atol=1.0)
  batch = mnist.get_batch(0)
  assert batch["x"].shape == (BATCH, 32, 32, 1) and batch["x"].dtype == np.float32
  assert batch["x"].min() >= -1.0 and batch["x"].max() <= 1.0
  assert batch["x"].min() < -0.5 and batch["x"].max() > 0.5
  np.testing.assert_array_equal(batch["label"], labels[mnist.indices(0)])


def test_gray_to_rgb_and_nearest():
  images, _ = raw_mocked("mnist", 6)
  ds = build_mocked(6, tfds_name="mnist", image_size=28, channels=3, resize_method="nearest")
  assert ds.example_shape == (28, 28, 3)
  for c in range(3):
    np.testing.assert_array_equal(ds.x[..., c], images[..., 0])
  down = build_mocked(6, tfds_name="mnist", image_size=14, resize_method="nearest")
  assert down.example_shape == (14, 14, 1)
  # Nearest-neighbour halving picks one of each 2x2 block.
  blocks = images.reshape(6, 14, 2, 14, 2, 1)
  picked = down.x[:, :, None, :, None, :]
  assert np.all((blocks == picked).any(axis=(2, 4)))


def position_coded_celeb_a(self, *args, **kwargs):
  """Mocked celeb_a split: channel 0 holds the row, channel 1 the column, channel 2 the example."""
  del self, args, kwargs
  rows, cols = np.meshgrid(np.arange(218), np.arange(178), indexing="ij")

  def examples():
    for i in range(4):
      yield {"image": np.stack([rows, cols, np.full_like(rows, i)], axis=-1).astype(np.uint8)}

  return tf.data.Dataset.from_generator(
      examples, output_signature={"image": tf.TensorSpec((218, 178, 3), tf.uint8)})


def test_center_crop_then_resize():
  with tfds.testing.mock_data(as_dataset_fn=position_coded_celeb_a):
    crop = tfds_data.build(make_config(tfds_name="celeb_a", center_crop=140, image_size=140),
                           seed=0, batch_size=4)
    small = tfds_data.build(make_config(tfds_name="celeb_a", center_crop=140, image_size=64),
                            seed=0, batch_size=4)
  top, left = (218 - 140) // 2, (178 - 140) // 2  # 39, 19
  assert crop.example_shape == (140, 140, 3)
  np.testing.assert_array_equal(crop.x[:, :, :, 0], np.broadcast_to(np.arange(top, top + 140)[:, None], (4, 140, 140)))
  np.testing.assert_array_equal(crop.x[:, :, :, 1], np.broadcast_to(np.arange(left, left + 140)[None, :], (4, 140, 140)))
  np.testing.assert_array_equal(crop.x[:, 0, 0, 2], np.arange(4))
  # celeb_a has no "label" feature: no classes, zero labels.
  assert crop.labels is None and crop.num_classes is None
  np.testing.assert_array_equal(crop.get_batch(0)["label"], np.zeros(4, np.int32))
  assert small.example_shape == (64, 64, 3)
  # Antialiased bilinear downscaling of a linear ramp is the ramp at the output pixel centres.
  centres = top + (np.arange(64) + 0.5) * 140 / 64 - 0.5
  interior = slice(3, 61)
  np.testing.assert_allclose(small.x[0, interior, 10, 0], centres[interior], atol=1.0)
  np.testing.assert_allclose(small.x[0, 10, interior, 1], centres[interior] - top + left, atol=1.0)


def test_deterministic_batches(mnist):
  again = build_mocked(tfds_name="mnist", image_size=32)
  np.testing.assert_array_equal(again.x, mnist.x)
  for index in (0, 5):
    a, b = mnist.get_batch(index), again.get_batch(index)
    np.testing.assert_array_equal(a["x"], b["x"])
    np.testing.assert_array_equal(a["label"], b["label"])
  assert not np.array_equal(mnist.get_batch(0)["x"], mnist.get_batch(1)["x"])
  other_seed = build_mocked(tfds_name="mnist", image_size=32, seed=1)
  assert not np.array_equal(other_seed.get_batch(0)["x"], mnist.get_batch(0)["x"])


def test_processes_split_the_global_batch(cifar10):
  halves = [build_mocked(tfds_name="cifar10", process_index=p, process_count=2) for p in range(2)]
  for index in (0, 4):  # Batch 4 crosses into the second epoch (24 examples, batches of 8).
    parts = [h.get_batch(index) for h in halves]
    assert parts[0]["x"].shape == (BATCH // 2, 32, 32, 3)
    whole = cifar10.get_batch(index)
    np.testing.assert_array_equal(np.concatenate([p["x"] for p in parts]), whole["x"])
    np.testing.assert_array_equal(np.concatenate([p["label"] for p in parts]), whole["label"])


def test_get_dataset_dispatches_to_tfds():
  with tfds.testing.mock_data(num_examples=4):
    ds = gan_data.get_dataset(make_config(tfds_name="cifar10"), seed=0, batch_size=2)
  assert isinstance(ds, gan_data.ArrayDataset) and ds.x.shape == (4, 32, 32, 3)


def test_missing_data_is_a_quick_one_line_error(tmp_path):
  data_dir = tmp_path / "empty_tfds"
  data_dir.mkdir()
  start = time.time()
  with pytest.raises(UserError) as info:
    tfds_data.build(make_config(tfds_name="mnist", data_dir=str(data_dir)), seed=0, batch_size=8)
  assert time.time() - start < 10
  message = str(info.value)
  assert "\n" not in message
  assert "'mnist'" in message and str(data_dir) in message
  assert f"tfds build mnist --data_dir={data_dir}" in message
  assert "data.data_dir" in message
  assert list(data_dir.iterdir()) == []  # Nothing was downloaded or written.


def test_unknown_name():
  with pytest.raises(UserError) as info:
    tfds_data.build(make_config(tfds_name="no_such_dataset_xyz"), seed=0, batch_size=8)
  message = str(info.value)
  assert "\n" not in message
  assert "data.tfds_name='no_such_dataset_xyz'" in message


def test_missing_image_key():
  with pytest.raises(UserError) as info:
    build_mocked(4, tfds_name="mnist", image_key="picture")
  message = str(info.value)
  assert "\n" not in message and "'picture'" in message and "image, label" in message


def test_bad_resize_method():
  with pytest.raises(UserError, match="resize_method"):
    tfds_data.build(make_config(resize_method="cubic"), seed=0, batch_size=8)


class TinyImages(tfds.core.GeneratorBasedBuilder, skip_registration=True):
  """A real (not mocked) dataset prepared from code: 12 train and 6 test 10x12 RGB images."""
  VERSION = tfds.core.Version("1.0.0")

  def _info(self):
    return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict({
        "image": tfds.features.Image(shape=(10, 12, 3)),
        "label": tfds.features.ClassLabel(num_classes=5)}))

  def _split_generators(self, dl_manager):
    del dl_manager
    return {"train": self._generate_examples(0, 12), "test": self._generate_examples(100, 6)}

  def _generate_examples(self, start, count):
    for i in range(start, start + count):
      yield i, {"image": np.random.default_rng(i).integers(0, 256, (10, 12, 3), dtype=np.uint8),
                "label": i % 5}


@pytest.fixture(scope="module")
def tiny_data_dir(tmp_path_factory):
  data_dir = tmp_path_factory.mktemp("tfds_prepared")
  TinyImages(data_dir=str(data_dir)).download_and_prepare(file_format="tfrecord")
  return str(data_dir)


def test_prepared_dataset_from_data_dir(tiny_data_dir):
  config = make_config(tfds_name="tiny_images", data_dir=tiny_data_dir, image_size=0)
  ds = tfds_data.build(config, seed=0, batch_size=4)
  assert ds.x.shape == (12, 10, 12, 3) and ds.num_classes == 5
  expected = {i: np.random.default_rng(i).integers(0, 256, (10, 12, 3), dtype=np.uint8) for i in range(12)}
  # Every stored image is one of the generated ones, with its label, each exactly once.
  found = sorted(next(i for i, img in expected.items() if np.array_equal(img, x)) for x in ds.x)
  assert found == list(range(12))
  for x, label in zip(ds.x, ds.labels):
    i = next(i for i, img in expected.items() if np.array_equal(img, x))
    assert label == i % 5
  config.split = "train[:50%]+test"
  assert tfds_data.build(config, seed=0, batch_size=4).x.shape == (12, 10, 12, 3)
  config.split, config.image_size, config.center_crop = "test", 8, 10
  assert tfds_data.build(config, seed=0, batch_size=2).x.shape == (6, 8, 8, 3)


def test_unknown_split_names_available_ones(tiny_data_dir):
  config = make_config(tfds_name="tiny_images", data_dir=tiny_data_dir, split="validation")
  with pytest.raises(UserError) as info:
    tfds_data.build(config, seed=0, batch_size=4)
  message = str(info.value)
  assert "\n" not in message and "'validation'" in message and "test, train" in message
  config.split = "train"
  config.center_crop = 11  # Larger than the 10x12 images.
  with pytest.raises(UserError, match="center_crop=11"):
    tfds_data.build(config, seed=0, batch_size=4)
