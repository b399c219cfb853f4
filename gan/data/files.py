"""Image datasets from local files, read without any download into a `gan.data.ArrayDataset`.

`data.name` picks the source and `data.path` where it is:
- "idx": a directory of MNIST-format IDX files, `train-images-idx3-ubyte[.gz]`,
  `train-labels-idx1-ubyte[.gz]`, `t10k-images-idx3-ubyte[.gz]`, `t10k-labels-idx1-ubyte[.gz]`
  (gan/data/idx.py; MNIST, Fashion-MNIST and KMNIST ship as such). `data.split` is "train", "test" or
  "train+test". Grey images, labels 0-9; num_classes = the largest label + 1.
- "image_folder": a folder of PNG/JPEG images, labelled by class sub-folders or unlabelled
  (gan/data/images.py).
- "array": a prepared file written by scripts/prepare_data.py (`save_arrays`): an uncompressed .npz
  holding `x` uint8 (N, H, W, C), and for labelled data `labels` int32 (N,) and `class_names` (K,);
  `source` records what it was made from. It loads in about the time it takes to read its bytes, so a
  large folder is decoded once.

Every source ends in uint8 NHWC images shaped by `data.center_crop`, `data.channels`,
`data.image_size` and `data.resize_method` as the TFDS source shapes them (gan/data/images.py); a
prepared file is reshaped only where the config asks for something else than it holds. Batches are
those of `ArrayDataset`: a function of (seed, batch index), process p of P taking its rows of each
global batch. Problems with the files are one-line `gan.errors.UserError`s naming the file; they are
raised while the run is set up, before anything is written to its workdir.
"""
from __future__ import annotations

import dataclasses
import json
import os
import zipfile

import numpy as np

from gan.data import ArrayDataset, idx, images
from gan.errors import UserError

SOURCES = ("idx", "image_folder", "array")
PATH_HELP = {"idx": "a directory of MNIST-format IDX files", "image_folder": "a folder of PNG/JPEG images",
             "array": "a .npz file written by scripts/prepare_data.py"}


@dataclasses.dataclass
class Arrays:
  """Images of one source: uint8 (N, H, W, C), int32 labels or None, class names or None."""
  x: np.ndarray
  labels: np.ndarray | None
  class_names: list[str] | None
  source: dict  # what they were read from and how they were shaped (JSON-able)

  @property
  def num_classes(self) -> int | None:
    return None if self.class_names is None else len(self.class_names)


def _path(data_config) -> str:
  name, path = data_config.name, data_config.get("path", "")
  if not path or not isinstance(path, str):
    raise UserError(f"data.name={name!r} reads {PATH_HELP[name]}: set --config.data.path")
  return os.path.expanduser(path)


def load(data_config) -> Arrays:
  """The images of `data_config` (name in SOURCES), shaped by its `data.*` image keys."""
  path, opts = _path(data_config), images.options(data_config)
  name = data_config.name
  source = {"name": name, "path": path, **dataclasses.asdict(opts)}
  if name == "idx":
    split = str(data_config.get("split", "train") or "train")
    x, labels = idx.load_split(path, split)
    x = images.transform_all(x[..., None], opts, f"IDX directory {path}")
    num_classes = int(labels.max()) + 1 if len(labels) else 0
    return Arrays(x, labels, [str(k) for k in range(num_classes)], {**source, "split": split})
  if name == "image_folder":
    x, labels, class_names = images.load_folder(path, opts)
    return Arrays(x, labels, class_names, source)
  if name == "array":
    prepared = read_arrays(path)
    x = images.transform_all(prepared.x, opts, path)
    return Arrays(x, prepared.labels, prepared.class_names, {**source, "prepared_from": prepared.source})
  raise ValueError(f"unknown file source {name!r}")


def save_arrays(path: str, arrays: Arrays) -> None:
  """Writes `arrays` as an uncompressed .npz (read back by `read_arrays`), atomically."""
  content = {"x": arrays.x, "source": np.array(json.dumps(arrays.source, sort_keys=True))}
  if arrays.labels is not None:
    content.update(labels=arrays.labels.astype(np.int32), class_names=np.array(arrays.class_names, str))
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  tmp = f"{path}.tmp{os.getpid()}.npz"
  try:
    np.savez(tmp, **content)
    os.replace(tmp, path)
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)


def read_arrays(path: str) -> Arrays:
  """The images, labels and class names of a file written by `save_arrays`, checked."""
  if not os.path.isfile(path):
    raise UserError(f"{path}: no such file (data.path of data.name='array'; make it with "
                    "scripts/prepare_data.py)")
  try:
    with np.load(path, allow_pickle=False) as f:
      content = {k: f[k] for k in f.files}
  except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
    lines = str(e).strip().splitlines()
    raise UserError(f"{path}: not a readable .npz file ({lines[0] if lines else type(e).__name__})") from None
  x = content.get("x")
  if x is None or x.dtype != np.uint8 or x.ndim != 4 or x.shape[-1] not in (1, 3, 4) or not len(x):
    what = "no array 'x'" if x is None else f"'x' is {x.dtype} {x.shape}"
    raise UserError(f"{path}: {what}; expected uint8 images (N, H, W, C) with C 1, 3 or 4 "
                    "(made by scripts/prepare_data.py)")
  labels, names = content.get("labels"), content.get("class_names")
  if (labels is None) != (names is None):
    raise UserError(f"{path}: has {'labels' if names is None else 'class_names'} without "
                    f"{'class_names' if names is None else 'labels'}")
  if labels is not None:
    if labels.shape != (len(x),) or not np.issubdtype(labels.dtype, np.integer):
      raise UserError(f"{path}: 'labels' is {labels.dtype} {labels.shape}, expected integers ({len(x)},)")
    if labels.min() < 0 or labels.max() >= len(names):
      raise UserError(f"{path}: labels run from {labels.min()} to {labels.max()} but there are "
                      f"{len(names)} class_names")
  try:
    source = json.loads(str(content["source"])) if "source" in content else {}
  except ValueError:
    source = {}
  return Arrays(x, None if labels is None else labels.astype(np.int32),
                None if names is None else [str(n) for n in names], source)


def build(data_config, *, seed: int, batch_size: int, process_index: int = 0,
          process_count: int = 1) -> ArrayDataset:
  """The source of `data_config` as an in-memory `ArrayDataset` (kind "images", batches in [-1, 1])."""
  arrays = load(data_config)
  return ArrayDataset(x=arrays.x, labels=arrays.labels, seed=seed, batch_size=batch_size, kind="images",
                      num_classes=arrays.num_classes, process_index=process_index,
                      process_count=process_count)
