"""Input pipeline: every dataset is a deterministic function of (seed, batch index).

`get_dataset(config)` returns an object with
  - `get_batch(index) -> {"x": float32 (local_batch, ...), "label": int32 (local_batch,)}`: the part of
    global batch number `index` that belongs to this process;
  - `example_shape` (shape of one `x`), `num_classes` (int, or None when unlabelled), `kind`
    (`"points"` for 2D toys, `"images"` for NHWC images in [-1, 1]).

Because a batch depends only on the seed and its index, a resumed run sees exactly the batches it
would have seen, and the global batch is the same for any number of processes or devices.
"""
from __future__ import annotations

import dataclasses
import threading
import queue

import numpy as np


def index_rng(seed: int, *indices: int) -> np.random.Generator:
  """A NumPy generator that depends only on `seed` and the given indices (never on call order)."""
  return np.random.default_rng([seed, *indices])


@dataclasses.dataclass
class ArrayDataset:
  """An in-memory dataset read in epochs, each a fresh permutation drawn from (seed, epoch).

  Global batch `i` holds the examples at positions i*B ... (i+1)*B-1 of the endless sequence of
  epochs, so epochs need not be a multiple of the batch size. Process `p` of `P` gets rows
  [p*B/P, (p+1)*B/P) of each global batch.
  """
  x: np.ndarray  # (N, ...) uint8 images in [0, 255], or float32 values already in data space.
  labels: np.ndarray | None
  seed: int
  batch_size: int
  kind: str
  num_classes: int | None = None
  process_index: int = 0
  process_count: int = 1
  stream: tuple[int, ...] = ()  # extra generator indices: independent orders of the same seed

  def __post_init__(self):
    if self.batch_size % self.process_count:
      raise ValueError(f"batch_size={self.batch_size} is not divisible by the {self.process_count} processes")
    self._epoch_cache: dict[int, np.ndarray] = {}

  @property
  def example_shape(self) -> tuple[int, ...]:
    return tuple(self.x.shape[1:])

  def _permutation(self, epoch: int) -> np.ndarray:
    if epoch not in self._epoch_cache:
      if len(self._epoch_cache) > 2:
        self._epoch_cache.pop(min(self._epoch_cache))
      self._epoch_cache[epoch] = index_rng(self.seed, *self.stream, epoch).permutation(len(self.x))
    return self._epoch_cache[epoch]

  def indices(self, index: int) -> np.ndarray:
    """Dataset rows of this process's part of global batch `index`."""
    local = self.batch_size // self.process_count
    start = index * self.batch_size + self.process_index * local
    positions = np.arange(start, start + local)
    epochs, offsets = np.divmod(positions, len(self.x))
    return np.array([self._permutation(e)[o] for e, o in zip(epochs, offsets)])

  def get_batch(self, index: int) -> dict[str, np.ndarray]:
    rows = self.indices(index)
    x = self.x[rows]
    if x.dtype == np.uint8:
      x = x.astype(np.float32) / 127.5 - 1.0
    labels = self.labels[rows] if self.labels is not None else np.zeros(len(rows), np.int32)
    return {"x": x.astype(np.float32), "label": labels.astype(np.int32)}


def get_dataset(data_config, *, seed: int, batch_size: int, process_index: int = 0,
                process_count: int = 1):
  """Builds the dataset named by `data_config.name` (gan/data/builtin.py, gan/data/files.py for local
  image files, gan/data/tfds.py)."""
  from gan.data import builtin  # pylint: disable=g-import-not-at-top
  common = dict(seed=seed, batch_size=batch_size, process_index=process_index,
                process_count=process_count)
  if data_config.name in builtin.DATASETS:
    return builtin.DATASETS[data_config.name](data_config, **common)
  if data_config.name in ("idx", "image_folder", "array"):
    from gan.data import files  # pylint: disable=g-import-not-at-top
    return files.build(data_config, **common)
  if data_config.name == "tfds":
    from gan.data import tfds  # pylint: disable=g-import-not-at-top  (imports TensorFlow)
    return tfds.build(data_config, **common)
  raise ValueError(f"unknown data.name={data_config.name!r}")


class Prefetcher:
  """Produces batches `start, start+1, ...` of `make_batch` on a background thread, `size` ahead."""

  def __init__(self, make_batch, start: int, size: int = 2):
    self._queue: queue.Queue = queue.Queue(maxsize=size)
    self._next = start
    self._stop = threading.Event()
    self._thread = threading.Thread(target=self._run, args=(make_batch, start), daemon=True)
    self._thread.start()

  def _run(self, make_batch, index):
    while not self._stop.is_set():
      try:
        item = (index, make_batch(index), None)
      except Exception as e:  # pylint: disable=broad-except
        item = (index, None, e)
      while not self._stop.is_set():
        try:
          self._queue.put(item, timeout=0.1)
          break
        except queue.Full:
          continue
      index += 1

  def get(self, index: int):
    """Returns batch `index`; batches must be asked for in order."""
    got, batch, error = self._queue.get()
    assert got == index == self._next, (got, index, self._next)
    self._next += 1
    if error is not None:
      raise error
    return batch

  def close(self):
    self._stop.set()
    self._thread.join(timeout=5)
