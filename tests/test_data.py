import ml_collections
import numpy as np
import pytest

from gan.data import ArrayDataset, Prefetcher, get_dataset
from gan.data.builtin import TOY_STD, load_digits, toy_centers


def toy(name, **kw):
  return get_dataset(ml_collections.ConfigDict({"name": name}), **{"seed": 3, "batch_size": 4000, **kw})


@pytest.mark.parametrize("name,k", [("ring8", 8), ("grid25", 25)])
def test_toy_batches_follow_the_mixture(name, k):
  batch = toy(name).get_batch(0)
  centers = toy_centers(name)
  assert centers.shape == (k, 2)
  offsets = batch["x"] - centers[batch["label"]]
  np.testing.assert_allclose(offsets.std(), TOY_STD, rtol=0.05)
  np.testing.assert_allclose(np.bincount(batch["label"], minlength=k) / 4000, 1 / k, atol=0.03)


def test_toy_centres_match_the_definitions():
  np.testing.assert_allclose(np.linalg.norm(toy_centers("ring8"), axis=1), 2.0, rtol=1e-6)
  assert sorted(set(toy_centers("grid25")[:, 0].tolist())) == [-4, -2, 0, 2, 4]


def test_batches_are_a_function_of_seed_and_index():
  a, b = toy("ring8"), toy("ring8")
  np.testing.assert_array_equal(a.get_batch(7)["x"], b.get_batch(7)["x"])
  b.get_batch(3)  # call order does not matter
  np.testing.assert_array_equal(a.get_batch(8)["x"], b.get_batch(8)["x"])
  assert not np.array_equal(a.get_batch(7)["x"], a.get_batch(8)["x"])
  assert not np.array_equal(a.get_batch(7)["x"], toy("ring8", seed=4).get_batch(7)["x"])


def test_process_split_reassembles_the_global_batch():
  whole = toy("grid25", batch_size=8).get_batch(5)
  parts = [toy("grid25", batch_size=8, process_index=p, process_count=2).get_batch(5) for p in (0, 1)]
  np.testing.assert_array_equal(np.concatenate([p["x"] for p in parts]), whole["x"])


def test_digits_are_scaled_and_labelled():
  x, labels = load_digits()
  assert x.shape == (1797, 8, 8, 1) and x.dtype == np.float32
  assert x.min() == -1.0 and x.max() == 1.0
  assert sorted(set(labels.tolist())) == list(range(10))



def test_digits_upsample_to_rgb_for_cifar_shaped_benchmarks():
  x, labels = load_digits()
  config = ml_collections.ConfigDict(dict(name="digits", image_size=32, channels=3, resize_method="nearest"))
  ds = get_dataset(config, seed=0, batch_size=5)
  assert ds.example_shape == (32, 32, 3) and ds.num_classes == 10
  rows = ds.indices(0)
  expected = np.repeat(np.repeat(x[rows], 4, axis=1), 4, axis=2)  # nearest, exact 4x: each pixel 4x4
  batch = ds.get_batch(0)
  for c in range(3):
    np.testing.assert_array_equal(batch["x"][..., c:c + 1], expected)
  np.testing.assert_array_equal(batch["label"], labels[rows])
  native = get_dataset(ml_collections.ConfigDict(dict(name="digits", image_size=0, channels=0)),
                       seed=0, batch_size=5)
  np.testing.assert_array_equal(native.get_batch(0)["x"], x[rows])

def test_array_dataset_epochs_are_permutations_and_wrap_across_batches():
  n, batch = 10, 4  # epochs do not divide into batches
  data = ArrayDataset(x=np.arange(n, dtype=np.float32)[:, None], labels=np.arange(n), seed=0,
                      batch_size=batch, kind="points")
  stream = np.concatenate([data.get_batch(i)["label"] for i in range(5)])  # 20 = two epochs
  assert sorted(stream[:10].tolist()) == list(range(10))
  assert sorted(stream[10:].tolist()) == list(range(10))
  assert stream[:10].tolist() != stream[10:].tolist()  # a new order each epoch
  np.testing.assert_array_equal(data.get_batch(2)["x"][:, 0], data.get_batch(2)["label"])


def test_array_dataset_processes_take_consecutive_quarters_of_each_global_batch():
  """Global batch i is positions [i B, (i + 1) B) of the epoch stream; process p of P takes its rows
  [p B / P, (p + 1) B / P): by hand on a stream of 7 examples (batches cross epochs), and the processes'
  parts put together are the one-process batch."""
  n, batch, processes = 7, 8, 4

  def dataset(**kw):
    return ArrayDataset(x=np.arange(n, dtype=np.float32)[:, None], labels=np.arange(n), seed=1,
                        batch_size=batch, kind="points", **kw)
  whole = dataset()
  stream = np.concatenate([whole._permutation(e) for e in range(5)])  # epochs 0-4: positions 0..34
  for index in (0, 1, 3):
    np.testing.assert_array_equal(whole.get_batch(index)["label"], stream[index * batch:(index + 1) * batch])
    parts = [dataset(process_index=p, process_count=processes).get_batch(index)["label"] for p in range(processes)]
    for p, part in enumerate(parts):
      np.testing.assert_array_equal(part, stream[index * batch + 2 * p:index * batch + 2 * (p + 1)])
    np.testing.assert_array_equal(np.concatenate(parts), whole.get_batch(index)["label"])


def test_uint8_images_are_scaled_to_minus_one_one():
  x = np.array([[[[0]], [[255]]]], np.uint8).reshape(1, 1, 2, 1)
  data = ArrayDataset(x=np.repeat(x, 2, 0), labels=None, seed=0, batch_size=2, kind="images")
  batch = data.get_batch(0)
  np.testing.assert_array_equal(batch["x"][0, 0, :, 0], [-1.0, 1.0])
  np.testing.assert_array_equal(batch["label"], [0, 0])


def test_prefetcher_yields_batches_in_order_from_any_start():
  fetch = Prefetcher(lambda i: {"i": i}, start=5)
  assert [fetch.get(i)["i"] for i in range(5, 10)] == [5, 6, 7, 8, 9]
  fetch.close()


def test_prefetcher_reraises_errors_of_its_thread():
  def make(i):
    if i == 1:
      raise ValueError("bad batch 1")
    return i
  fetch = Prefetcher(make, start=0)
  assert fetch.get(0) == 0
  with pytest.raises(ValueError, match="bad batch 1"):
    fetch.get(1)
  fetch.close()
