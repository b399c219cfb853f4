"""MNIST from the user's copy of its four IDX files (gzipped or not), read with NumPy alone.

MNIST (Y. LeCun, C. Cortes, C. J. C. Burges, http://yann.lecun.com/exdb/mnist/; LeCun et al. 1998,
"Gradient-based learning applied to document recognition") is 60,000 training and 10,000 test
handwritten digits, 28x28 grey (0 = background, 255 = ink), labels 0-9. Its files use the IDX format
described on that page: a big-endian header, then the data as unsigned bytes.

- images: magic 2051 (0x00000803: unsigned bytes, 3 dimensions), count, rows, cols (int32 each), then
  count * rows * cols pixels, row-major;
- labels: magic 2049 (0x00000801: unsigned bytes, 1 dimension), count, then count labels.

`load_split` reads one split (the files of Fashion-MNIST and KMNIST have the same names and format),
`load_mnist` all four files. Every problem with a file (missing, unreadable gzip, wrong magic number,
short header, data longer or shorter than the header says) is a `gan.errors.UserError` of one line
that names the file.
"""
from __future__ import annotations

import gzip
import os
import zlib

import numpy as np

from gan.errors import UserError

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
               "t10k-labels-idx1-ubyte")


def _one_line(error: Exception) -> str:
  text = str(error).strip().splitlines()
  return text[0] if text else type(error).__name__


def _read_bytes(path: str) -> bytes:
  """The file's bytes, decompressed when its name ends in .gz."""
  if not os.path.isfile(path):
    raise UserError(f"{path}: no such file")
  try:
    if path.endswith(".gz"):
      with gzip.open(path, "rb") as f:
        return f.read()
    with open(path, "rb") as f:
      return f.read()
  except (OSError, EOFError, zlib.error) as e:
    kind = "unreadable gzip file" if path.endswith(".gz") else "unreadable file"
    raise UserError(f"{path}: {kind} ({_one_line(e)})") from None


def read_idx(path: str) -> np.ndarray:
  """uint8 images (N, rows, cols) of an IDX image file, or labels (N,) of an IDX label file."""
  data = _read_bytes(path)
  if len(data) < 4:
    raise UserError(f"{path}: truncated: {len(data)} bytes, shorter than the 4-byte IDX magic number")
  magic = int.from_bytes(data[:4], "big")
  if magic not in (IMAGES_MAGIC, LABELS_MAGIC):
    raise UserError(f"{path}: magic number {magic} is not an IDX image ({IMAGES_MAGIC}) or label "
                    f"({LABELS_MAGIC}) file")
  ndim = 3 if magic == IMAGES_MAGIC else 1
  header = 4 + 4 * ndim
  if len(data) < header:
    kind = "image" if ndim == 3 else "label"
    raise UserError(f"{path}: truncated header: {len(data)} bytes, an IDX {kind} header has {header}")
  shape = tuple(int.from_bytes(data[4 + 4 * k:8 + 4 * k], "big") for k in range(ndim))
  expected, found = int(np.prod(shape)), len(data) - header
  what = "x".join(map(str, shape))
  if found < expected:
    raise UserError(f"{path}: truncated: the header declares {what} bytes of data ({expected}), "
                    f"the file has {found}")
  if found > expected:
    raise UserError(f"{path}: {found - expected} bytes after the {what} the header declares "
                    f"(not an IDX file, or a corrupt one)")
  return np.frombuffer(data, np.uint8, offset=header).reshape(shape).copy()


def _find(directory: str, name: str) -> str | None:
  """`name` in `directory`, else `name.gz`, else None."""
  for candidate in (name, name + ".gz"):
    path = os.path.join(directory, candidate)
    if os.path.isfile(path):
      return path
  return None


def _expected() -> str:
  return ", ".join(f"{name}[.gz]" for name in MNIST_FILES)


def _pair(images_path: str, labels_path: str) -> tuple[np.ndarray, np.ndarray]:
  """Images and int32 labels of one split, checked against each other."""
  images, labels = read_idx(images_path), read_idx(labels_path)
  if images.ndim != 3:
    raise UserError(f"{images_path}: is an IDX label file, expected images (magic {IMAGES_MAGIC})")
  if labels.ndim != 1:
    raise UserError(f"{labels_path}: is an IDX image file, expected labels (magic {LABELS_MAGIC})")
  if len(images) != len(labels):
    raise UserError(f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} labels")
  if len(labels) and labels.max() > 9:
    raise UserError(f"{labels_path}: label {int(labels.max())} is not a digit 0-9")
  return images, labels.astype(np.int32)


SPLITS = {"train": MNIST_FILES[:2], "test": MNIST_FILES[2:]}


def load_split(directory: str, split: str) -> tuple[np.ndarray, np.ndarray]:
  """uint8 images (N, rows, cols) and int32 labels of `split`: "train", "test" or "train+test"
  (concatenated in that order), read from only the files that split needs."""
  names = [s.strip() for s in split.split("+")]
  if not names or any(name not in SPLITS for name in names):
    raise UserError(f"data.split={split!r} is not one of train, test, train+test for IDX files")
  if not os.path.isdir(directory):
    raise UserError(f"IDX directory {directory!r} does not exist (data.path; expected it to hold "
                    f"{_expected()})")
  parts = []
  for name in names:
    paths = [_find(directory, f) for f in SPLITS[name]]
    missing = [f"{f}[.gz]" for f, p in zip(SPLITS[name], paths) if p is None]
    if missing:
      raise UserError(f"IDX directory {directory!r} lacks {', '.join(missing)} (split {name!r} of "
                      f"data.split={split!r})")
    parts.append(_pair(*paths))
  if len({p[0].shape[1:] for p in parts}) > 1:
    raise UserError(f"the splits of data.split={split!r} in {directory!r} have images of different sizes")
  return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def load_mnist(directory: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
  """(train_x uint8 (N, 28, 28), train_y int32, test_x, test_y) from the four MNIST IDX files.

  Each file may be gzipped (`.gz`); the uncompressed one is read when both exist. Images of any size
  are accepted (Fashion-MNIST and KMNIST use the same files) as long as train and test agree.
  """
  if not os.path.isdir(directory):
    raise UserError(f"MNIST directory {directory!r} does not exist (expected it to hold {_expected()})")
  paths = [_find(directory, name) for name in MNIST_FILES]
  missing = [f"{name}[.gz]" for name, path in zip(MNIST_FILES, paths) if path is None]
  if len(missing) == len(MNIST_FILES):
    raise UserError(f"MNIST directory {directory!r} holds none of the MNIST IDX files {_expected()}")
  if missing:
    raise UserError(f"MNIST directory {directory!r} lacks {', '.join(missing)} (expected {_expected()})")
  train_x, train_y = _pair(paths[0], paths[1])
  test_x, test_y = _pair(paths[2], paths[3])
  if train_x.shape[1:] != test_x.shape[1:]:
    raise UserError(f"{paths[0]} has {train_x.shape[1]}x{train_x.shape[2]} images but {paths[2]} has "
                    f"{test_x.shape[1]}x{test_x.shape[2]}")
  return train_x, train_y, test_x, test_y
