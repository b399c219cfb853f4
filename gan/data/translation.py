"""Image-to-image translation tasks: two image domains, paired (pix2pix) or unpaired (CycleGAN).

Paired translation learns a map from examples (a_i, b_i) (Isola et al. 2017, "Image-to-Image
Translation with Conditional Adversarial Networks", pix2pix: e.g. edges2shoes, edge maps of shoe
photographs -> the photographs); unpaired translation learns it from two unrelated sets (Zhu et al.
2017, "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial Networks", CycleGAN).
The tasks here run offline at 32x32 (any `image_size` >= 8), images in [-1, 1] with background -1:

- `edges2digits` (paired): b = scikit-learn's 1,797 handwritten 8x8 digits (UCI optdigits; see
  gan/data/builtin.py) upsampled bilinearly; a = `edge_map(b)`, the outline of each digit.
- `lowerhalf2digits` (paired): a = `lower_half(b)`, the digit with its top half blanked; b = the digits.
  The lower half does not determine the upper one (a 3 or a 5, a 7 or a 9?): an L1-only model
  averages the completions into a blur, a conditional GAN has to pick one.
- `printed2handwritten` (unpaired): a = digits printed in DejaVu fonts and reduced to 8x8 exactly as
  optdigits reduced its bitmaps (gan/data/printed.py), upsampled like the digits; b = the digits.
- `digits2mnist` (unpaired): a = the digits; b = MNIST (LeCun et al. 1998) read from the user's IDX
  files in `path` (gan/data/idx.py), resized from 28x28 bilinearly; train = MNIST's 60,000 training
  images, test = its 10,000 t10k images (at 32x32x1, 290 MB of float32; three times that in RGB).
- `edges2mnist` (paired): b = MNIST as above, a = `edge_map(b)`.

The digits are split by the project's fixed stratified split `gan.metrics.digits.split_digits(seed=0)`
(1,437 train / 360 test), the one the digits classifier was trained on, so the classifier-based metrics
and these tasks agree on which digits are held out. Printed digits: train and test are rendered from
different seeds (`PRINTED_SEEDS`), and any test digit identical to a training one is dropped. The
`test` arrays are never used for training batches.

`TranslationDataset` serves training batches {"a", "b", "a_label", "b_label"} as a deterministic
function of (seed, batch index), with `gan.data.ArrayDataset`'s epoch and multi-process semantics:
paired tasks draw one permutation of the pairs (a and b rows stay aligned); unpaired tasks draw the
two domains from independent streams, so the correspondence of rows is never seen in training even
when the two sets have the same size.
"""
from __future__ import annotations

import dataclasses
import functools
import os

import numpy as np

from gan.data import ArrayDataset
from gan.data.builtin import resize_digits
from gan.data.idx import MNIST_FILES, load_mnist
from gan.data.printed import render_printed_digits
from gan.errors import UserError

TASKS = ("edges2digits", "lowerhalf2digits", "printed2handwritten", "digits2mnist", "edges2mnist")
PAIRED_TASKS = ("edges2digits", "lowerhalf2digits", "edges2mnist")
NEEDS_PATH = ("digits2mnist", "edges2mnist")
DIGITS_SPLIT_SEED = 0  # gan.metrics.digits.split_digits(seed=0): the classifier's split
PRINTED_SEEDS = (0, 1)  # render seeds of the printed train and test digits
DEFAULT_NUM_PRINTED = (2000, 500)
RESIZE_CHUNK = 10_000  # images per resize call (MNIST: bounds the temporary memory)
EDGE_CHUNK = 2_048  # images per step of edge_map (its temporaries stay in the CPU caches)


@dataclasses.dataclass(frozen=True)
class Domain:
  """One image domain: NHWC float32 images in [-1, 1] (read-only) and their int32 digit labels."""
  name: str
  train: np.ndarray
  train_labels: np.ndarray
  test: np.ndarray  # held out: never used in training
  test_labels: np.ndarray


@dataclasses.dataclass(frozen=True)
class TranslationData:
  """A task: translate domain `a` into domain `b`; when `paired`, a.train[i] <-> b.train[i] and
  a.test[i] <-> b.test[i] are pairs."""
  task: str
  a: Domain
  b: Domain
  paired: bool

  def __post_init__(self):
    if self.a.train.shape[1:] != self.b.train.shape[1:]:
      raise ValueError(f"{self.task}: domains of different shapes {self.a.train.shape[1:]} and "
                       f"{self.b.train.shape[1:]}")
    if self.paired and (len(self.a.train), len(self.a.test)) != (len(self.b.train), len(self.b.test)):
      raise ValueError(f"{self.task}: paired domains of different sizes")


def edge_map(images: np.ndarray) -> np.ndarray:
  """Thin outlines of the shapes in `images` (N, H, W, C) in [-1, 1]: +1 on edges, -1 elsewhere.

  The project's edge operator, a stand-in for the HED/Canny edge maps of pix2pix's edges2shoes: the
  gray image (mean over channels) is binarised at 0 (half intensity), and an edge pixel is an "on"
  pixel with at least one "off" 4-neighbour (pixels outside the image count as off): the inner
  boundary of each shape, one pixel thin and 8-connected. A filled square gives its outline ring, a
  blank image no edges; a stroke gives its two sides. (Sobel magnitudes of the bilinearly upsampled
  digits are bands as wide as their 4-pixel ramps on both sides of a boundary, which merge across
  4-6 pixel strokes.) The result has the input's channels, all equal.
  """
  images = np.asarray(images, np.float32)
  out = np.empty(images.shape, np.float32)
  for start in range(0, len(images), EDGE_CHUNK):
    chunk = images[start:start + EDGE_CHUNK]
    on = (chunk[..., 0] if chunk.shape[-1] == 1 else chunk.mean(axis=-1)) > 0
    padded = np.pad(on, ((0, 0), (1, 1), (1, 1)))
    interior = padded[:, :-2, 1:-1] & padded[:, 2:, 1:-1] & padded[:, 1:-1, :-2] & padded[:, 1:-1, 2:]
    interior &= on
    out[start:start + len(chunk)] = np.where(on ^ interior, np.float32(1), np.float32(-1))[..., None]
  return out


def lower_half(images: np.ndarray) -> np.ndarray:
  """`images` (N, H, W, C) with their top H // 2 rows set to the background -1."""
  out = np.array(images, np.float32, copy=True)
  out[:, :out.shape[1] // 2] = -1.0
  return out


def _frozen(array: np.ndarray) -> np.ndarray:
  array.flags.writeable = False
  return array


def _domain(name, train, train_labels, test, test_labels) -> Domain:
  """A Domain with read-only arrays (pieces are cached and shared between calls)."""
  arrays = [np.asarray(train, np.float32), np.asarray(train_labels, np.int32),
            np.asarray(test, np.float32), np.asarray(test_labels, np.int32)]
  return Domain(name, *[_frozen(a) for a in arrays])


def _resize(x: np.ndarray, image_size: int) -> np.ndarray:
  """Float images (N, h, w, 1) in [-1, 1] or uint8 ones (N, h, w) in [0, 255] as float32
  (N, image_size, image_size, 1): bilinear (`resize_digits`), RESIZE_CHUNK images at a time."""
  out = np.empty((len(x), image_size, image_size, 1), np.float32)
  for start in range(0, len(x), RESIZE_CHUNK):
    chunk = x[start:start + RESIZE_CHUNK]
    if chunk.dtype == np.uint8:
      chunk = chunk[..., None].astype(np.float32) / 127.5 - 1.0
    out[start:start + len(chunk)] = resize_digits(chunk, image_size, 1, "bilinear")
  return out


def _resize_split(train: np.ndarray, test: np.ndarray, image_size: int):
  """`_resize` of train and test together (one resize per chunk shape), split back."""
  both = _resize(np.concatenate([train, test]), image_size)
  return both[:len(train)], both[len(train):]


@functools.lru_cache(maxsize=4)
def _handwritten(image_size: int) -> Domain:
  """The digits, split by split_digits(seed=0), resized."""
  from gan.metrics.digits import split_digits  # pylint: disable=g-import-not-at-top  (imports Flax)
  x_train, y_train, x_test, y_test = split_digits(seed=DIGITS_SPLIT_SEED)
  train, test = _resize_split(x_train, x_test, image_size)
  return _domain("digits", train, y_train, test, y_test)


def _unique_test(x_train: np.ndarray, x_test: np.ndarray) -> np.ndarray:
  """Mask of the test images that equal no training image."""
  seen = {row.tobytes() for row in x_train}
  return np.array([row.tobytes() not in seen for row in x_test], bool)


@functools.lru_cache(maxsize=4)
def _printed(image_size: int, num_train: int, num_test: int) -> Domain:
  """Printed digits: train and test from different seeds, test copies of training digits dropped."""
  x_train, y_train = render_printed_digits(num_train, PRINTED_SEEDS[0])
  x_test, y_test = render_printed_digits(num_test, PRINTED_SEEDS[1])
  keep = _unique_test(x_train, x_test)
  train, test = _resize_split(x_train, x_test[keep], image_size)
  return _domain("printed", train, y_train, test, y_test[keep])


def _mnist(path: str, image_size: int) -> Domain:
  train_x, train_y, test_x, test_y = load_mnist(path)
  return _domain("mnist", _resize(train_x, image_size), train_y, _resize(test_x, image_size), test_y)


def _with_channels(domain: Domain, channels: int) -> Domain:
  """`domain` (gray) with its channel repeated `channels` times."""
  if channels == 1:
    return domain
  gray = lambda x: np.repeat(x, channels, axis=-1)
  return _domain(domain.name, gray(domain.train), domain.train_labels, gray(domain.test), domain.test_labels)


def _derived(name: str, domain: Domain, transform) -> Domain:
  """`transform` of each image of `domain`, same labels: the paired source domain."""
  return _domain(name, transform(domain.train), domain.train_labels, transform(domain.test),
                 domain.test_labels)


def _check_options(task: str, image_size, channels, path: str, num_printed) -> None:
  if task not in TASKS:
    raise UserError(f"unknown translation task {task!r}: expected one of {', '.join(TASKS)}")
  if isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer)) or image_size < 8:
    raise UserError(f"image_size={image_size!r} is not valid: expected an integer >= 8")
  if isinstance(channels, bool) or channels not in (1, 3):
    raise UserError(f"channels={channels!r} is not valid: expected 1 (gray) or 3 (gray repeated to RGB)")
  if task in NEEDS_PATH and (not path or not os.path.isdir(path)):
    files = ", ".join(f"{name}[.gz]" for name in MNIST_FILES)
    where = "no path was given" if not path else f"{path!r} is not a directory"
    raise UserError(f"task {task} needs path= a directory with the MNIST IDX files {files}; {where}")
  ok = (isinstance(num_printed, (tuple, list)) and len(num_printed) == 2
        and all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in num_printed))
  if not ok:
    raise UserError(f"num_printed={num_printed!r} is not valid: expected (train, test) positive integers")


def load_task(task: str, *, image_size: int = 32, channels: int = 1, path: str = "",
              num_printed: tuple[int, int] = DEFAULT_NUM_PRINTED) -> TranslationData:
  """The named task (see the module docstring) at image_size x image_size x channels.

  `path`: the MNIST directory of the tasks in NEEDS_PATH. `num_printed`: (train, test) sizes of the
  printed digits of printed2handwritten. Bad options are UserErrors of one line.
  """
  _check_options(task, image_size, channels, path, num_printed)
  if task == "digits2mnist":
    a, b = _handwritten(image_size), _mnist(path, image_size)
  elif task == "edges2mnist":
    b = _mnist(path, image_size)
    a = _derived("mnist_edges", b, edge_map)
  elif task == "printed2handwritten":
    a, b = _printed(image_size, *num_printed), _handwritten(image_size)
  else:
    b = _handwritten(image_size)
    a = _derived(*(("edges", b, edge_map) if task == "edges2digits" else ("lower_half", b, lower_half)))
  a, b = _with_channels(a, channels), _with_channels(b, channels)  # edges of gray = edges of its RGB
  return TranslationData(task=task, a=a, b=b, paired=task in PAIRED_TASKS)


class TranslationDataset:
  """Deterministic batches: get_batch(index) -> {"a": float32 (local_batch, H, W, C), "b": ...,
  "a_label": int32 (local_batch,), "b_label": int32}.

  Batch `index` is a function of (seed, index) only, read in epochs of fresh permutations, and process
  `p` of `P` gets rows [p*B/P, (p+1)*B/P) of each global batch (gan.data.ArrayDataset). Paired data: one
  permutation of the pairs; unpaired: domain a from stream (0,), domain b from stream (1,) of the seed.
  """
  kind = "translation"
  num_classes = 10

  def __init__(self, data: TranslationData, *, seed: int, batch_size: int, process_index: int = 0,
               process_count: int = 1):
    self.data = data
    common = dict(seed=seed, batch_size=batch_size, kind="images", num_classes=self.num_classes,
                  process_index=process_index, process_count=process_count)
    if data.paired:
      order = ArrayDataset(x=data.a.train, labels=data.a.train_labels, **common)
      self._orders = (order, order)
    else:
      self._orders = tuple(ArrayDataset(x=d.train, labels=d.train_labels, stream=(k,), **common)
                           for k, d in enumerate((data.a, data.b)))

  @property
  def example_shape(self) -> tuple[int, ...]:
    return tuple(self.data.a.train.shape[1:])

  @property
  def paired(self) -> bool:
    return self.data.paired

  def get_batch(self, index: int) -> dict[str, np.ndarray]:
    """This process's rows of global batch `index` (see the class docstring)."""
    rows_a = self._orders[0].indices(index)
    rows_b = rows_a if self.paired else self._orders[1].indices(index)
    a, b = self.data.a, self.data.b
    return {"a": a.train[rows_a], "b": b.train[rows_b], "a_label": a.train_labels[rows_a],
            "b_label": b.train_labels[rows_b]}
