"""Local image files as training data: IDX directories, image folders and prepared array files
(gan/data/files.py, gan/data/images.py, scripts/prepare_data.py). Every file is made in tmp_path."""
import os
import subprocess
import sys

import ml_collections
import numpy as np
import pytest
from PIL import Image

from experiments import mnist_dcgan
from gan import config_validation, train
from gan.data import files, get_dataset, idx
from gan.errors import UserError
from tests.helpers import run_steps, tiny_digits_config
from tests.test_translation_data import write_idx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def data_config(name, path, **keys):
  return ml_collections.ConfigDict(dict(dict(name=name, path=str(path), split="train", image_size=0,
                                             center_crop=0, resize_method="bilinear", channels=0), **keys))


def load(name, path, **keys):
  return files.load(data_config(name, path, **keys))


def one_line(match, name, path, **keys):
  with pytest.raises(UserError, match=match) as info:
    load(name, path, **keys)
  assert "\n" not in str(info.value)
  return str(info.value)


def idx_dir(directory, n_train=12, n_test=6, size=(6, 5), gz=False):
  """A tiny IDX directory: random images, labels i % 10 (train) and (i + 1) % 10 (test)."""
  rng = np.random.default_rng(0)
  data = {"train-images-idx3-ubyte": rng.integers(0, 256, (n_train, *size)),
          "train-labels-idx1-ubyte": np.arange(n_train) % 10,
          "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, *size)),
          "t10k-labels-idx1-ubyte": (np.arange(n_test) + 1) % 10}
  os.makedirs(directory, exist_ok=True)
  for name, array in data.items():
    write_idx(os.path.join(directory, name + (".gz" if gz else "")), array)
  return {k: np.asarray(v, np.uint8) for k, v in data.items()}


def save_image(path, array, fmt=None):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  array = np.asarray(array, np.uint8)
  Image.fromarray(array[..., 0] if array.ndim == 3 and array.shape[-1] == 1 else array).save(path, fmt)
  return str(path)


def colour(value, size=(8, 8)):
  return np.full((*size, 3), value, np.uint8)


# ---------------------------------------------------------------------------------------------- IDX
@pytest.mark.parametrize("gz", [False, True])
def test_idx_source_reads_the_split_with_labels(tmp_path, gz):
  data = idx_dir(tmp_path, gz=gz)
  train_set = load("idx", tmp_path)
  assert train_set.x.shape == (12, 6, 5, 1) and train_set.x.dtype == np.uint8
  np.testing.assert_array_equal(train_set.x[..., 0], data["train-images-idx3-ubyte"])
  np.testing.assert_array_equal(train_set.labels, data["train-labels-idx1-ubyte"])
  assert train_set.num_classes == 10 and train_set.labels.dtype == np.int32
  test_set = load("idx", tmp_path, split="test")
  np.testing.assert_array_equal(test_set.x[..., 0], data["t10k-images-idx3-ubyte"])
  both = load("idx", tmp_path, split="train+test")
  assert len(both.x) == 18 and both.labels[12] == 1


def test_idx_source_needs_only_the_files_of_its_split(tmp_path):
  idx_dir(tmp_path)
  os.remove(tmp_path / "t10k-images-idx3-ubyte")
  assert len(load("idx", tmp_path).x) == 12
  one_line(r"lacks t10k-images-idx3-ubyte\[.gz\] \(split 'test'", "idx", tmp_path, split="test")


def test_idx_images_are_resized_and_converted_to_rgb(tmp_path):
  idx_dir(tmp_path, size=(4, 4))
  got = load("idx", tmp_path, image_size=8, channels=3, resize_method="nearest")
  assert got.x.shape == (12, 8, 8, 3)
  original = load("idx", tmp_path).x
  np.testing.assert_array_equal(got.x[..., 1:2], np.repeat(np.repeat(original, 2, 1), 2, 2))


def test_idx_errors_name_the_file(tmp_path):
  idx_dir(tmp_path)
  bad = write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(12), magic=2052)
  assert bad in one_line("magic number 2052 is not an IDX image", "idx", tmp_path)
  write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(12))
  cut = write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((12, 6, 5)), cut=7)
  assert cut in one_line("truncated", "idx", tmp_path)
  one_line("IDX directory .* does not exist", "idx", tmp_path / "nowhere")
  one_line("data.split='validation' is not one of", "idx", tmp_path, split="validation")
  one_line("set --config.data.path", "idx", "")


# ------------------------------------------------------------------------------------- image folders
def test_image_folder_labels_come_from_sorted_sub_folders(tmp_path):
  for cls, value in (("zebra", 200), ("ant", 10), ("bee", 100)):
    for i in range(2):
      save_image(str(tmp_path / cls / f"{i}.png"), colour(value + i))
  save_image(str(tmp_path / "bee" / "nested" / "deep.png"), colour(150))
  (tmp_path / "bee" / "notes.txt").write_text("not an image")
  (tmp_path / ".hidden").mkdir()
  got = load("image_folder", tmp_path)
  assert got.class_names == ["ant", "bee", "zebra"] and got.num_classes == 3
  np.testing.assert_array_equal(got.labels, [0, 0, 1, 1, 1, 2, 2])
  assert got.x.shape == (7, 8, 8, 3)
  np.testing.assert_array_equal(got.x[:, 0, 0, 0], [10, 11, 100, 101, 150, 200, 201])


def test_image_folder_without_sub_folders_is_unlabelled(tmp_path):
  for i in range(3):
    save_image(str(tmp_path / f"{i}.jpg"), np.full((8, 8, 1), 60 * i), "JPEG")
  got = load("image_folder", tmp_path)
  assert got.labels is None and got.num_classes is None
  assert got.x.shape == (3, 8, 8, 1)  # grey JPEGs keep one channel
  np.testing.assert_allclose(got.x[:, 4, 4, 0], [0, 60, 120], atol=2)  # JPEG is lossy
  ds = get_dataset(data_config("image_folder", tmp_path), seed=0, batch_size=2)
  assert ds.num_classes is None and ds.get_batch(0)["label"].tolist() == [0, 0]


def test_image_folder_channels_follow_the_config(tmp_path):
  save_image(str(tmp_path / "a" / "grey.png"), np.full((8, 8, 1), 90))
  save_image(str(tmp_path / "a" / "rgb.png"), np.stack([np.full((8, 8), v) for v in (255, 0, 0)], -1))
  rgba = np.concatenate([colour(40), np.full((8, 8, 1), 7)], -1)
  save_image(str(tmp_path / "b" / "rgba.png"), rgba)
  native = load("image_folder", tmp_path)  # one colour image: all become RGB, alpha dropped
  assert native.x.shape == (3, 8, 8, 3)
  np.testing.assert_array_equal(native.x[:, 0, 0], [[90, 90, 90], [255, 0, 0], [40, 40, 40]])
  grey = load("image_folder", tmp_path, channels=1)
  assert grey.x.shape == (3, 8, 8, 1)
  np.testing.assert_array_equal(grey.x[:, 0, 0, 0], [90, 76, 40])  # L = 0.299 R + 0.587 G + 0.114 B


def test_image_folder_crop_then_resize(tmp_path):
  image = np.zeros((12, 16, 3), np.uint8)
  image[2:10, 4:12] = 255  # the centred 8x8 square of a 12x16 image
  save_image(str(tmp_path / "x.png"), image)
  save_image(str(tmp_path / "y.png"), np.zeros((10, 10, 3)))  # another size: fine once cropped
  cropped = load("image_folder", tmp_path, center_crop=8)
  assert cropped.x.shape == (2, 8, 8, 3) and cropped.x[0].min() == 255
  resized = load("image_folder", tmp_path, center_crop=8, image_size=4, resize_method="area")
  assert resized.x.shape == (2, 4, 4, 3) and resized.x[0].min() == 255 and resized.x[1].max() == 0
  stretched = load("image_folder", tmp_path, image_size=8, resize_method="nearest")
  assert stretched.x.shape == (2, 8, 8, 3)
  expected = np.asarray(Image.fromarray(image).resize((8, 8), Image.Resampling.NEAREST))
  np.testing.assert_array_equal(stretched.x[0], expected)


def test_image_folder_errors_name_the_file(tmp_path):
  one_line("no such directory", "image_folder", tmp_path / "nowhere")
  (tmp_path / "empty").mkdir()
  one_line("holds no images", "image_folder", tmp_path / "empty")
  save_image(str(tmp_path / "mixed" / "a" / "0.png"), colour(1))
  save_image(str(tmp_path / "mixed" / "top.png"), colour(1))
  one_line("holds both images", "image_folder", tmp_path / "mixed")
  save_image(str(tmp_path / "classes" / "a" / "0.png"), colour(1))
  (tmp_path / "classes" / "b").mkdir()
  one_line("class folder b/ holds no images", "image_folder", tmp_path / "classes")
  garbage = tmp_path / "garbage"
  save_image(str(garbage / "0.png"), colour(1))
  (garbage / "1.png").write_bytes(b"not a png at all")
  assert str(garbage / "1.png") in one_line("not a readable image", "image_folder", garbage)
  truncated = tmp_path / "truncated"
  save_image(str(truncated / "0.png"), colour(1, (32, 32)))
  data = open(save_image(str(truncated / "1.png"), np.random.default_rng(0).integers(0, 256, (32, 32, 3))),
              "rb").read()
  (truncated / "1.png").write_bytes(data[:len(data) // 2])
  assert str(truncated / "1.png") in one_line("corrupt or truncated image", "image_folder", truncated)
  sizes = tmp_path / "sizes"
  save_image(str(sizes / "0.png"), colour(1, (8, 8)))
  save_image(str(sizes / "1.png"), colour(1, (6, 8)))
  message = one_line("is 6x8 but .* is 8x8 .*set data.image_size", "image_folder", sizes)
  assert str(sizes / "1.png") in message
  assert str(sizes / "1.png") in one_line("center_crop=7 is larger than its 6x8", "image_folder", sizes,
                                          center_crop=7)
  one_line("data.resize_method='cubic' is not one of", "image_folder", sizes, resize_method="cubic")


# ---------------------------------------------------------------------------- prepared array files
def test_prepared_file_round_trip_through_the_script(tmp_path):
  for cls in ("cat", "dog"):
    for i in range(3):
      save_image(str(tmp_path / "folder" / cls / f"{i}.png"), colour(10 * i + (cls == "dog"), (10, 10)))
  output = str(tmp_path / "prepared.npz")
  result = subprocess.run([sys.executable, "scripts/prepare_data.py", "--source=image_folder",
                           f"--path={tmp_path / 'folder'}", f"--output={output}", "--image_size=8",
                           "--channels=1"], cwd=ROOT, capture_output=True, text=True, timeout=120)
  assert result.returncode == 0, result.stderr
  assert "6 images, 2 classes (cat, dog), shape 8x8x1 uint8" in result.stdout
  direct = load("image_folder", tmp_path / "folder", image_size=8, channels=1)
  prepared = load("array", output)
  np.testing.assert_array_equal(prepared.x, direct.x)
  np.testing.assert_array_equal(prepared.labels, direct.labels)
  assert prepared.class_names == ["cat", "dog"]
  assert prepared.source["prepared_from"]["name"] == "image_folder"
  assert load("array", output, image_size=4, channels=3).x.shape == (6, 4, 4, 3)  # reshaped on loading
  a = get_dataset(data_config("array", output), seed=1, batch_size=4).get_batch(3)
  b = get_dataset(data_config("image_folder", tmp_path / "folder", image_size=8, channels=1),
                  seed=1, batch_size=4).get_batch(3)
  np.testing.assert_array_equal(a["x"], b["x"])


def test_prepared_unlabelled_idx_and_bad_files(tmp_path):
  idx_dir(tmp_path / "idx")
  arrays = load("idx", tmp_path / "idx")
  files.save_arrays(str(tmp_path / "m.npz"), arrays)
  np.testing.assert_array_equal(load("array", tmp_path / "m.npz").labels, arrays.labels)
  unlabelled = files.Arrays(arrays.x, None, None, {})
  files.save_arrays(str(tmp_path / "u.npz"), unlabelled)
  assert load("array", tmp_path / "u.npz").num_classes is None
  one_line("no such file", "array", tmp_path / "missing.npz")
  (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 broken")
  one_line("not a readable .npz file", "array", tmp_path / "bad.npz")
  np.savez(tmp_path / "floats.npz", x=np.zeros((2, 4, 4, 1), np.float32))
  one_line("'x' is float32 .* expected uint8 images", "array", tmp_path / "floats.npz")
  np.savez(tmp_path / "labels.npz", x=arrays.x, labels=np.full(len(arrays.x), 5), class_names=np.array(["a"]))
  one_line("labels run from 5 to 5 but there are 1 class_names", "array", tmp_path / "labels.npz")


def test_prepare_script_errors_in_one_line(tmp_path):
  result = subprocess.run([sys.executable, "scripts/prepare_data.py", "--source=image_folder",
                           f"--path={tmp_path}", f"--output={tmp_path / 'out.npz'}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
  assert result.returncode == 2 and result.stderr.count("\n") == 1
  assert result.stderr.startswith("error: image folder") and "holds no images" in result.stderr
  assert not os.path.exists(tmp_path / "out.npz")


# ------------------------------------------------------------------------- batches and training runs
def test_batches_are_deterministic_and_split_over_processes(tmp_path):
  idx_dir(tmp_path, n_train=10)
  config = data_config("idx", tmp_path)
  a = get_dataset(config, seed=3, batch_size=4)
  b = get_dataset(config, seed=3, batch_size=4)
  b.get_batch(5)  # call order does not matter
  for i in (0, 2, 7):
    np.testing.assert_array_equal(a.get_batch(i)["x"], b.get_batch(i)["x"])
  assert not np.array_equal(a.get_batch(2)["x"], get_dataset(config, seed=4, batch_size=4).get_batch(2)["x"])
  for i in (0, 3):  # batch 3 crosses into the second epoch
    parts = [get_dataset(config, seed=3, batch_size=4, process_index=p, process_count=2).get_batch(i)
             for p in (0, 1)]
    for key in ("x", "label"):
      np.testing.assert_array_equal(np.concatenate([p[key] for p in parts]), a.get_batch(i)[key])


def test_models_take_the_shape_of_the_loaded_images(tmp_path):
  for i in range(6):
    save_image(str(tmp_path / "data" / f"c{i % 2}" / f"{i}.png"), colour(40 * i, (12, 12)))
  config = tiny_digits_config(num_train_steps=2)
  config.data.update(name="image_folder", path=str(tmp_path / "data"), image_size=8)
  config.model.generator.conditioning = "concat"
  config_validation.validate(config)
  state, history = run_steps(config, 2)
  assert len(history) == 2 and np.isfinite(history[-1]["d_loss"])
  run = train.setup(config)
  assert run.dataset.example_shape == (8, 8, 3) and run.dataset.num_classes == 2
  config.data.image_size = 0
  config.data.center_crop = 6
  with pytest.raises(UserError, match="are 6x6; the image models need a square power-of-two size"):
    train.setup(config)


def test_cli_data_errors_are_one_line_and_write_nothing(tmp_path):
  (tmp_path / "empty").mkdir()
  workdir = tmp_path / "run"
  result = subprocess.run(
      [sys.executable, "-m", "gan.main", "--config=experiments/digits_dcgan.py", f"--workdir={workdir}",
       "--config.data.name=image_folder", f"--config.data.path={tmp_path / 'empty'}",
       "--config.data.image_size=8"],
      cwd=ROOT, capture_output=True, text=True, timeout=300,
      env=dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3"))
  assert result.returncode == 2, result.stderr[-2000:]
  errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
  assert len(errors) == 1 and errors[0] == result.stderr.strip().splitlines()[-1]  # no traceback after it
  assert errors[0].startswith("error: image folder ") and "holds no images" in errors[0]
  assert "Traceback" not in result.stderr
  assert not os.path.exists(workdir)


def test_mnist_experiment_reads_idx_from_data_path(tmp_path):
  config = mnist_dcgan.get_config()
  config_validation.validate(config)
  assert config.data.name == "idx" and config.data.path == ""
  with pytest.raises(UserError, match="data.name='idx' reads a directory of MNIST-format IDX files: set "
                                      "--config.data.path"):
    train.setup(config)
  idx_dir(tmp_path, size=(28, 28))
  config.data.path = str(tmp_path)
  config.batch_size = 4
  run = train.setup(config)
  assert run.dataset.example_shape == (32, 32, 1) and run.dataset.num_classes == 10


def test_checkpoints_written_before_data_path_resume():
  saved = {"data": {"name": "digits"}}
  train.check_resumable(saved, {"data": {"name": "digits", "path": ""}}, "DIR")
  with pytest.raises(UserError, match="data.path: '' -> 'x'"):
    train.check_resumable(saved, {"data": {"name": "digits", "path": "x"}}, "DIR")


def test_idx_read_both_magic_numbers_directly(tmp_path):
  images_path = write_idx(tmp_path / "i.gz", np.arange(24).reshape(2, 3, 4))
  labels_path = write_idx(tmp_path / "l", [3, 4])
  assert idx.read_idx(images_path).shape == (2, 3, 4) and idx.read_idx(labels_path).tolist() == [3, 4]
