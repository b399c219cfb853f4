"""gan.data.translation, gan.data.idx and gan.data.printed: the data of the image-to-image tasks."""
import gzip
import os

import numpy as np
import pytest

from gan.data import ArrayDataset, index_rng
from gan.data import idx, printed
from gan.data import translation as T
from gan.data.builtin import resize_digits
from gan.errors import UserError
from gan.metrics import digits as digits_metrics


def write_idx(path, array, magic=None, *, extra=b"", cut=0):
  """Writes `array` (uint8 images (N, rows, cols) or labels (N,)) as an IDX file, gzipped if `path`
  ends in .gz; `extra` bytes appended, the last `cut` bytes dropped (corrupt files)."""
  array = np.asarray(array, np.uint8)
  magic = magic if magic is not None else (2051 if array.ndim == 3 else 2049)
  header = b"".join(int(v).to_bytes(4, "big") for v in (magic, *array.shape))
  data = header + array.tobytes() + extra
  data = data[:len(data) - cut]
  opener = gzip.open if str(path).endswith(".gz") else open
  with opener(path, "wb") as f:
    f.write(data)
  return str(path)


def one_line_error(fn, *args, match):
  with pytest.raises(UserError, match=match) as info:
    fn(*args)
  assert "\n" not in str(info.value)
  return str(info.value)


def tiny_mnist(directory, n_train=20, n_test=10, *, gz=True):
  """A tiny MNIST directory: 28x28 images with a filled rectangle per image, labels i % 10."""
  def images(n, offset):
    x = np.zeros((n, 28, 28), np.uint8)
    for i in range(n):
      top = 3 + (i + offset) % 8
      x[i, top:top + 12, 8:8 + 4 + (i % 5)] = 255
    return x
  data = {"train-images-idx3-ubyte": images(n_train, 0), "train-labels-idx1-ubyte": np.arange(n_train) % 10,
          "t10k-images-idx3-ubyte": images(n_test, 3), "t10k-labels-idx1-ubyte": (np.arange(n_test) + 3) % 10}
  for k, (name, array) in enumerate(data.items()):
    write_idx(os.path.join(directory, name + (".gz" if gz and k % 2 == 0 else "")), array)
  return data


# ---------------------------------------------------------------------------------------------- IDX
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip(tmp_path, suffix):
  images = np.random.default_rng(0).integers(0, 256, (3, 4, 5), dtype=np.uint8)
  labels = np.array([7, 0, 9], np.uint8)
  got_images = idx.read_idx(write_idx(tmp_path / f"images{suffix}", images))
  got_labels = idx.read_idx(write_idx(tmp_path / f"labels{suffix}", labels))
  assert got_images.dtype == np.uint8 and got_images.shape == (3, 4, 5)
  np.testing.assert_array_equal(got_images, images)
  np.testing.assert_array_equal(got_labels, labels)


def test_idx_header_is_big_endian_per_the_format(tmp_path):
  path = tmp_path / "labels"
  path.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 2, 4, 2]))  # magic 0x00000801, count 2, labels 4, 2
  np.testing.assert_array_equal(idx.read_idx(str(path)), [4, 2])


def test_idx_problems_are_one_line_errors_naming_the_file(tmp_path):
  images = np.zeros((3, 4, 5), np.uint8)
  path = write_idx(tmp_path / "train-images-idx3-ubyte.gz", images, magic=1234)
  message = one_line_error(idx.read_idx, path, match="magic number 1234 is not an IDX image")
  assert path in message
  path = write_idx(tmp_path / "short-images", images, cut=10)
  assert path in one_line_error(idx.read_idx, path, match=r"truncated: .* 3x4x5 .*\(60\), the file has 50")
  path = write_idx(tmp_path / "short-header", images, cut=60 + 5)
  assert path in one_line_error(idx.read_idx, path, match="truncated header: 11 bytes")
  path = write_idx(tmp_path / "long-labels", np.zeros(4, np.uint8), extra=b"xy")
  assert path in one_line_error(idx.read_idx, path, match="2 bytes after the 4")
  missing = str(tmp_path / "nothing.gz")
  assert missing in one_line_error(idx.read_idx, missing, match="no such file")
  bad_gzip = tmp_path / "not-gzip.gz"
  bad_gzip.write_bytes(b"plain bytes, not gzip")
  assert str(bad_gzip) in one_line_error(idx.read_idx, str(bad_gzip), match="unreadable gzip file")
  whole = gzip.compress(b"\0\0\x08\x01" + (1000).to_bytes(4, "big") + bytes(1000))
  cut_gzip = tmp_path / "cut.gz"
  cut_gzip.write_bytes(whole[:len(whole) // 2])
  one_line_error(idx.read_idx, str(cut_gzip), match="unreadable gzip file")


def test_load_mnist_reads_a_directory_and_prefers_uncompressed_files(tmp_path):
  data = tiny_mnist(tmp_path)
  # A stale gzipped copy next to the plain labels is ignored.
  write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.full(20, 9))
  train_x, train_y, test_x, test_y = idx.load_mnist(str(tmp_path))
  assert train_x.shape == (20, 28, 28) and train_x.dtype == np.uint8
  assert train_y.dtype == np.int32 and test_y.dtype == np.int32
  np.testing.assert_array_equal(train_x, data["train-images-idx3-ubyte"])
  np.testing.assert_array_equal(train_y, np.arange(20) % 10)
  np.testing.assert_array_equal(test_x, data["t10k-images-idx3-ubyte"])
  np.testing.assert_array_equal(test_y, (np.arange(10) + 3) % 10)


def test_load_mnist_problems_are_one_line_errors(tmp_path):
  absent = str(tmp_path / "absent")
  message = one_line_error(idx.load_mnist, absent, match="does not exist")
  assert absent in message and "t10k-labels-idx1-ubyte[.gz]" in message
  one_line_error(idx.load_mnist, str(tmp_path), match="holds none of the MNIST IDX files train-images")
  tiny_mnist(tmp_path)
  os.remove(tmp_path / "t10k-labels-idx1-ubyte")
  one_line_error(idx.load_mnist, str(tmp_path), match=r"lacks t10k-labels-idx1-ubyte\[\.gz\] \(expected")
  write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(9))
  one_line_error(idx.load_mnist, str(tmp_path), match="has 10 images but .*t10k-labels-idx1-ubyte has 9 lab")
  write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros((10, 28, 28)))
  one_line_error(idx.load_mnist, str(tmp_path), match="is an IDX image file, expected labels")


# ---------------------------------------------------------------------------------------- operators
def test_edge_map_of_a_filled_square_is_its_outline_ring():
  image = np.full((1, 12, 12, 1), -1.0, np.float32)
  image[0, 3:9, 2:8] = 1.0
  expected = np.full((12, 12), -1.0)
  expected[3:9, 2:8] = 1.0
  expected[4:8, 3:7] = -1.0  # the interior: every 4-neighbour is on
  edges = T.edge_map(image)
  assert edges.shape == image.shape and edges.dtype == np.float32
  np.testing.assert_array_equal(edges[0, ..., 0], expected)
  assert (edges[0, ..., 0] == 1).sum() == 6 * 6 - 4 * 4


def test_edge_map_is_binary_thin_and_blank_for_blank_images():
  blank = np.full((2, 8, 8, 3), -1.0, np.float32)
  np.testing.assert_array_equal(T.edge_map(blank), blank)
  image = np.full((1, 6, 6, 3), -1.0, np.float32)
  image[0, :, 2, :] = 0.5  # a one-pixel line touching both borders: all edge
  image[0, 0, 4, :] = 0.0  # exactly half intensity: background
  edges = T.edge_map(image)
  assert set(np.unique(edges)) == {-1.0, 1.0}
  np.testing.assert_array_equal(edges[0, :, :, 0] == 1, image[0, :, :, 0] == 0.5)
  np.testing.assert_array_equal(edges[..., 0], edges[..., 2])  # channels equal
  full = np.ones((1, 4, 4, 1), np.float32)  # the image border counts as background
  np.testing.assert_array_equal(T.edge_map(full)[0, 1:3, 1:3, 0], -1.0)
  assert (T.edge_map(full) == 1).sum() == 12


def test_lower_half_blanks_exactly_the_top_half():
  images = np.random.default_rng(0).uniform(-1, 1, (2, 5, 4, 1)).astype(np.float32)
  out = T.lower_half(images)
  np.testing.assert_array_equal(out[:, :2], -1.0)  # H // 2 = 2 of 5 rows
  np.testing.assert_array_equal(out[:, 2:], images[:, 2:])
  assert not np.all(images[:, :2] == -1.0)  # the input is untouched


# ---------------------------------------------------------------------------------------- printed
def test_block_counts_count_on_pixels_per_4x4_block():
  bitmap = np.zeros((1, 32, 32), bool)
  bitmap[0, 0:4, 0:4] = True  # a full block: 16
  bitmap[0, 5, 4:7] = True  # 3 pixels in block (1, 1)
  bitmap[0, 31, 31] = True
  counts = printed.block_counts(bitmap)
  expected = np.zeros((8, 8), int)
  expected[0, 0], expected[1, 1], expected[7, 7] = 16, 3, 1
  np.testing.assert_array_equal(counts[0], expected)


def test_printed_digits_are_deterministic_optdigits_counts_with_balanced_labels():
  x, labels = printed.render_printed_digits(50, seed=3)
  assert x.shape == (50, 8, 8, 1) and x.dtype == np.float32 and labels.dtype == np.int32
  counts = (x + 1.0) * 8.0
  np.testing.assert_array_equal(counts, np.rint(counts))  # count / 8 - 1, counts 0..16
  assert counts.min() == 0 and counts.max() == 16
  np.testing.assert_array_equal(labels, np.arange(50) % 10)
  again, _ = printed.render_printed_digits(50, seed=3)
  np.testing.assert_array_equal(again, x)
  prefix, _ = printed.render_printed_digits(20, seed=3)
  np.testing.assert_array_equal(prefix, x[:20])  # digit i depends on (seed, i) only
  assert not np.array_equal(printed.render_printed_digits(20, seed=4)[0], prefix)


def test_printed_digits_have_optdigits_size_and_position():
  """Every scikit-learn digit touches the top and bottom rows and is centred (column 3.5)."""
  x, _ = printed.render_printed_digits(300, seed=0)
  on = x[..., 0] > -1
  rows, cols = on.any(2), on.any(1)
  assert (rows[:, 0] & rows[:, 7]).mean() > 0.95
  centre = (cols.argmax(1) + 7 - cols[:, ::-1].argmax(1)) / 2
  assert abs(centre.mean() - 3.5) < 0.3
  ink = (x + 1) * 8
  assert 250 < ink.sum((1, 2, 3)).mean() < 380  # scikit-learn's digits: 312 of 1,024 pixels on


def test_printed_digits_are_recognised_by_the_handwritten_digits_classifier():
  x, labels = printed.render_printed_digits(500, seed=0)
  accuracy = (digits_metrics.get_classifier().predict(x) == labels).mean()
  assert accuracy > 0.5  # measured 0.75 on 3,000; chance is 0.1


# ------------------------------------------------------------------------------------------- tasks
def test_digits_tasks_use_the_fixed_split_and_pair_each_digit_with_its_source():
  x_train, y_train, x_test, y_test = digits_metrics.split_digits(seed=0)
  edges = T.load_task("edges2digits")
  assert edges.paired and (edges.a.name, edges.b.name) == ("edges", "digits")
  np.testing.assert_array_equal(edges.b.train, resize_digits(x_train, 32, 1, "bilinear"))
  np.testing.assert_array_equal(edges.b.test, resize_digits(x_test, 32, 1, "bilinear"))
  np.testing.assert_array_equal(edges.b.train_labels, y_train)
  np.testing.assert_array_equal(edges.b.test_labels, y_test)
  np.testing.assert_array_equal(edges.a.train, T.edge_map(edges.b.train))
  np.testing.assert_array_equal(edges.a.test, T.edge_map(edges.b.test))
  np.testing.assert_array_equal(edges.a.train_labels, y_train)
  train_images = {row.tobytes() for row in edges.b.train}
  assert not any(row.tobytes() in train_images for row in edges.b.test)
  half = T.load_task("lowerhalf2digits")
  assert half.paired and half.a.name == "lower_half"
  np.testing.assert_array_equal(half.a.test, T.lower_half(half.b.test))
  assert edges.b.train.min() == -1.0 and edges.b.train.max() == 1.0


def test_tasks_take_image_size_and_rgb_channels():
  data = T.load_task("edges2digits", image_size=16, channels=3)
  assert data.a.train.shape == (1437, 16, 16, 3) and data.b.test.shape == (360, 16, 16, 3)
  np.testing.assert_array_equal(data.b.train[..., 0], data.b.train[..., 2])
  gray = T.load_task("edges2digits", image_size=16)
  np.testing.assert_array_equal(data.b.train[..., 1:2], gray.b.train)
  np.testing.assert_array_equal(data.a.train, T.edge_map(data.b.train))


def test_printed2handwritten_holds_out_unseen_printed_digits():
  data = T.load_task("printed2handwritten", num_printed=(300, 100))
  assert not data.paired and (data.a.name, data.b.name) == ("printed", "digits")
  assert data.a.train.shape == (300, 32, 32, 1) and data.a.test.shape == (100, 32, 32, 1)
  x, labels = printed.render_printed_digits(300, T.PRINTED_SEEDS[0])
  np.testing.assert_array_equal(data.a.train, resize_digits(x, 32, 1, "bilinear"))
  np.testing.assert_array_equal(np.bincount(data.a.train_labels), 30)
  train_images = {row.tobytes() for row in data.a.train}
  assert not any(row.tobytes() in train_images for row in data.a.test)
  assert data.b.train.shape == (1437, 32, 32, 1)


def test_mnist_tasks_read_the_idx_files_of_path(tmp_path):
  data = tiny_mnist(tmp_path)
  pairs = T.load_task("edges2mnist", path=str(tmp_path))
  assert pairs.paired and (pairs.a.name, pairs.b.name) == ("mnist_edges", "mnist")
  raw = data["train-images-idx3-ubyte"][..., None].astype(np.float32) / 127.5 - 1.0
  np.testing.assert_allclose(pairs.b.train, resize_digits(raw, 32, 1, "bilinear"), atol=1e-6)
  assert pairs.b.train.shape == (20, 32, 32, 1) and pairs.b.test.shape == (10, 32, 32, 1)
  assert pairs.b.train.min() == -1.0  # background 0 -> -1
  np.testing.assert_array_equal(pairs.a.train, T.edge_map(pairs.b.train))
  np.testing.assert_array_equal(pairs.b.test_labels, (np.arange(10) + 3) % 10)
  unpaired = T.load_task("digits2mnist", path=str(tmp_path), channels=3)
  assert not unpaired.paired and (unpaired.a.name, unpaired.b.name) == ("digits", "mnist")
  assert unpaired.a.train.shape == (1437, 32, 32, 3) and unpaired.b.train.shape == (20, 32, 32, 3)
  np.testing.assert_array_equal(unpaired.b.train[..., 2:], pairs.b.train)


def test_load_task_problems_are_one_line_errors(tmp_path):
  message = one_line_error(T.load_task, "edges2shoes", match="unknown translation task 'edges2shoes'")
  assert all(task in message for task in T.TASKS)
  for task in T.NEEDS_PATH:
    message = one_line_error(T.load_task, task, match=f"task {task} needs path=.*no path was given")
    assert "train-images-idx3-ubyte[.gz]" in message
  one_line_error(lambda: T.load_task("digits2mnist", path=str(tmp_path / "x")), match="is not a directory")
  tiny_mnist(tmp_path)
  bad = write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((2, 28, 28)), magic=7)
  message = one_line_error(lambda: T.load_task("edges2mnist", path=str(tmp_path)), match="magic number 7")
  assert bad in message  # idx errors pass through
  one_line_error(lambda: T.load_task("edges2digits", channels=2), match="channels=2")
  one_line_error(lambda: T.load_task("edges2digits", image_size=4), match="image_size=4")
  one_line_error(lambda: T.load_task("printed2handwritten", num_printed=(10,)), match=r"num_printed=\(10,\)")


# ----------------------------------------------------------------------------------------- batches
def test_array_dataset_streams_are_independent_and_default_to_the_plain_order():
  x = np.arange(10, dtype=np.float32)[:, None]
  plain = ArrayDataset(x=x, labels=None, seed=5, batch_size=10, kind="points")
  np.testing.assert_array_equal(plain.indices(1), index_rng(5, 1).permutation(10))
  streamed = ArrayDataset(x=x, labels=None, seed=5, batch_size=10, kind="points", stream=(1,))
  np.testing.assert_array_equal(streamed.indices(1), index_rng(5, 1, 1).permutation(10))
  assert not np.array_equal(streamed.indices(1), plain.indices(1))


def test_paired_batches_keep_pairs_aligned():
  data = T.load_task("edges2digits")
  ds = T.TranslationDataset(data, seed=0, batch_size=16)
  assert ds.kind == "translation" and ds.num_classes == 10 and ds.paired
  assert ds.example_shape == (32, 32, 1)
  for index in (0, 95):  # 95: past the first epoch of 1,437 pairs
    batch = ds.get_batch(index)
    assert batch["a"].dtype == np.float32 and batch["a_label"].dtype == np.int32
    assert batch["a"].shape == (16, 32, 32, 1) and batch["b_label"].shape == (16,)
    np.testing.assert_array_equal(batch["a"], T.edge_map(batch["b"]))
    np.testing.assert_array_equal(batch["a_label"], batch["b_label"])


def test_paired_epochs_are_permutations_of_the_pairs():
  n = 10
  values = np.arange(n, dtype=np.float32).reshape(n, 1, 1, 1) / n
  labels = np.arange(n, dtype=np.int32)
  domain = lambda sign: T.Domain("toy", sign * values, labels, values[:1], labels[:1])
  data = T.TranslationData("toy", domain(1.0), domain(-1.0), paired=True)
  ds = T.TranslationDataset(data, seed=2, batch_size=4)
  batches = [ds.get_batch(i) for i in range(5)]  # 20 rows = two epochs
  a = np.concatenate([b["a"] for b in batches]).ravel()
  np.testing.assert_array_equal(np.concatenate([b["b"] for b in batches]).ravel(), -a)
  labels = np.concatenate([b["a_label"] for b in batches])
  assert sorted(labels[:10]) == list(range(10)) and sorted(labels[10:]) == list(range(10))
  np.testing.assert_array_equal(labels, np.concatenate([ArrayDataset(
      x=values, labels=None, seed=2, batch_size=4, kind="images").indices(i) for i in range(5)]))


def test_unpaired_batches_draw_the_domains_independently():
  n = 12
  images = np.arange(n, dtype=np.float32).reshape(n, 1, 1, 1) / n
  same = T.Domain("toy", images, np.arange(n, dtype=np.int32), images[:1], np.zeros(1, np.int32))
  data = T.TranslationData("toy", same, same, paired=False)  # equal sets: rows still not paired
  ds = T.TranslationDataset(data, seed=1, batch_size=n)
  batch = ds.get_batch(3)
  order = lambda stream: ArrayDataset(x=images, labels=None, seed=1, batch_size=n, kind="images",
                                      stream=stream).indices(3)
  np.testing.assert_array_equal(batch["a_label"], order((0,)))
  np.testing.assert_array_equal(batch["b_label"], order((1,)))
  assert not np.array_equal(batch["a_label"], batch["b_label"])
  np.testing.assert_array_equal(batch["a"], images[batch["a_label"]])
  np.testing.assert_array_equal(batch["b"], images[batch["b_label"]])


def test_unpaired_task_batches_are_deterministic_and_differ_in_label_order():
  data = T.load_task("printed2handwritten", num_printed=(300, 100))
  one, two = (T.TranslationDataset(data, seed=7, batch_size=32) for _ in range(2))
  assert not one.paired
  two.get_batch(9)  # call order does not matter
  first, again = one.get_batch(4), two.get_batch(4)
  for key in ("a", "b", "a_label", "b_label"):
    np.testing.assert_array_equal(first[key], again[key])
  assert not np.array_equal(first["a_label"], first["b_label"])
  assert not np.array_equal(one.get_batch(5)["a"], first["a"])
  assert not np.array_equal(T.TranslationDataset(data, seed=8, batch_size=32).get_batch(4)["b"], first["b"])


@pytest.mark.parametrize("task", ["edges2digits", "printed2handwritten"])
def test_process_slices_reassemble_the_global_batch(task):
  data = T.load_task(task, num_printed=(300, 100))
  whole = T.TranslationDataset(data, seed=3, batch_size=8).get_batch(11)
  parts = [T.TranslationDataset(data, seed=3, batch_size=8, process_index=p, process_count=4).get_batch(11)
           for p in range(4)]
  for key in whole:
    np.testing.assert_array_equal(np.concatenate([p[key] for p in parts]), whole[key])
  assert parts[0]["a"].shape == (2, 32, 32, 1)
