"""Image datasets from TensorFlow Datasets (TFDS), loaded once into memory.

`build(data_config, ...)` is what `gan.data.get_dataset` calls when `data.name == "tfds"`. It opens
the prepared TFDS dataset `data.tfds_name` in `data.data_dir` (never downloading anything), reads the
whole split `data.split` in its fixed on-disk order, optionally takes a centred square crop
(`data.center_crop`), converts gray <-> RGB (`data.channels`), resizes to
`data.image_size` x `data.image_size` with the antialiased `tf.image.resize` (`data.resize_method`),
rounds to uint8, and wraps the result in a `gan.data.ArrayDataset` (kind "images", batches in
[-1, 1]). Labels come from `data.label_key` (int32, `num_classes` from the ClassLabel feature); a
dataset without that feature gets zero labels and `num_classes=None`.

Config keys (`data.*`): `tfds_name` (e.g. "mnist", "cifar10", "celeb_a", or "name/config:version"),
`split` ("train"; TFDS slicing such as "train[:90%]" or "train+test" works), `data_dir` (None: the
TFDS default, `$TFDS_DATA_DIR` or ~/tensorflow_datasets), `image_size` (0 keeps the native size),
`center_crop` (0: no crop; e.g. 140 for celeb_a, then resize to 64), `resize_method` ("bilinear",
"area" or "nearest"), `image_key` ("image"), `label_key` ("label"), `channels` (0 keeps them; 1 or 3).

Memory: the whole split is held in host memory as uint8 NHWC (cifar10 train ~150 MB; celeb_a train
at 64x64 ~2.0 GB, all 202,599 images ~2.5 GB); float conversion happens per batch.

Multi-host: every process loads the full split in the same deterministic order, and `ArrayDataset`
hands each process its own rows of each global batch, so the global batch does not depend on the
number of processes. (Sharding the files per process with `tfds.split_for_jax_process` would save
memory but would tie the data order to the process count.)

Offline use: TFDS cannot download anything here. A dataset that is not prepared in `data_dir` gives a
one-line `UserError` saying where it looked and how to prepare it (`tfds build NAME
--data_dir=DIR` on a machine with internet, then copy the folder). TensorFlow is imported lazily and
kept off the GPUs so that `import gan.data` stays cheap and JAX keeps the accelerator memory.
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

from gan.data import ArrayDataset
from gan.data.images import options as image_options
from gan.errors import UserError

_LOAD_BATCH = 256


def _import_tf():
  """Imports TensorFlow and TFDS with TensorFlow hidden from the GPUs (JAX owns them)."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  try:
    tf.config.set_visible_devices([], "GPU")
  except (RuntimeError, ValueError):  # Already initialised: devices can no longer be changed.
    pass
  import tensorflow_datasets as tfds_lib  # pylint: disable=g-import-not-at-top
  return tf, tfds_lib


def _one_line(text: Any) -> str:
  """First line of an exception text, for embedding in a one-line UserError."""
  lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
  return lines[0] if lines else type(text).__name__


def _options(data_config) -> dict[str, Any]:
  """Reads and validates the `data.*` keys used here (optional ones through `.get`)."""
  name = data_config.get("tfds_name", None)
  if not name or not isinstance(name, str):
    raise UserError(f"data.tfds_name must name a TFDS dataset (e.g. 'mnist'), got {name!r}")
  data_dir = data_config.get("data_dir", None) or None
  if data_dir is not None:
    data_dir = os.path.expanduser(str(data_dir))
  shape = image_options(data_config)  # the keys every image source shares (gan/data/images.py)
  return dict(
      name=name, split=str(data_config.get("split", "train") or "train"), data_dir=data_dir,
      image_size=shape.image_size, center_crop=shape.center_crop, resize_method=shape.resize_method,
      image_key=str(data_config.get("image_key", "image") or "image"),
      label_key=data_config.get("label_key", "label"), channels=shape.channels)


def _prepare_hint(name: str, data_dir: str) -> str:
  return (f"run `tfds build {name.split(':')[0]} --data_dir={data_dir}` on a machine with internet and "
          f"copy that folder here, or copy a prepared tensorflow_datasets folder to a directory and "
          f"set --config.data.data_dir to it")


def _get_builder(tfds_lib, name: str, data_dir: str | None):
  """`tfds.builder` with TFDS's lookup errors turned into one-line UserErrors."""
  try:
    return tfds_lib.builder(name, data_dir=data_dir)
  except tfds_lib.core.registered.DatasetNotFoundError:
    where = f"data_dir={data_dir}" if data_dir else "the default TFDS data_dir"
    raise UserError(
        f"unknown TFDS dataset data.tfds_name={name!r}: it is neither registered in "
        f"tensorflow_datasets {tfds_lib.__version__} nor found prepared in {where} "
        f"(see https://www.tensorflow.org/datasets/catalog)") from None
  except (ValueError, AssertionError) as e:  # Unknown builder config or version, bad kwargs.
    raise UserError(f"cannot open TFDS dataset data.tfds_name={name!r}: {_one_line(e)}") from None


def _split_names(split: str) -> list[str]:
  """Base split names of a TFDS split expression such as "train[:10%]+test"."""
  return [part.split("[")[0].strip() for part in split.split("+") if part.strip()]


def _open_split(builder, opts):
  """The split as a tf.data.Dataset in its deterministic on-disk order, or a one-line UserError."""
  name, split = opts["name"], opts["split"]
  available = sorted(builder.info.splits.keys())
  if available:  # Known once prepared data was found (or from a read-only builder).
    unknown = [s for s in _split_names(split) if s not in available]
    if unknown:
      raise UserError(f"TFDS dataset {name!r} has no split {unknown[0]!r} (data.split={split!r}); "
                      f"available splits: {', '.join(available)}")
  try:
    return builder.as_dataset(split=split, shuffle_files=False)
  except AssertionError as e:
    # TFDS raises AssertionError("Dataset X: could not find data in DIR ...") when the data is not
    # there. Nothing is downloaded: `as_dataset` only reads prepared files.
    if builder.is_prepared():
      raise
    data_dir = builder.data_dir_root
    default = "" if opts["data_dir"] else "the default TFDS "
    raise UserError(
        f"TFDS dataset {name!r} is not prepared in {default}data_dir={data_dir} (looked for "
        f"{builder.data_dir}) and cannot be downloaded here: {_prepare_hint(name, data_dir)}"
    ) from None
  except ValueError as e:  # Bad split syntax or unknown split.
    raise UserError(f"cannot read split data.split={split!r} of TFDS dataset {name!r}: "
                    f"{_one_line(e)}") from None


def _label_info(tf, features, opts) -> tuple[str | None, int | None]:
  """(label key or None when the dataset has no such feature, number of classes or None)."""
  key = opts["label_key"]
  if not key or key not in features:
    return None, None
  feature = features[key]
  shape, dtype = getattr(feature, "shape", None), getattr(feature, "dtype", None)
  try:
    ok = tuple(shape) == () and tf.as_dtype(dtype).is_integer
  except (TypeError, ValueError):
    ok = False
  if not ok:
    raise UserError(f"data.label_key={key!r} of TFDS dataset {opts['name']!r} is not a scalar integer "
                    f"feature ({feature!r}); set data.label_key to a class-label feature or ''")
  return key, getattr(feature, "num_classes", None)


def _image_info(tf, features, opts) -> tuple[tuple, Any]:
  """Static (H, W, C) (entries may be None) and dtype of the image feature, with checks."""
  key = opts["image_key"]
  if key not in features:
    raise UserError(f"TFDS dataset {opts['name']!r} has no feature data.image_key={key!r}; its "
                    f"features are: {', '.join(sorted(features.keys()))}")
  feature = features[key]
  try:
    shape, dtype = tuple(feature.shape), tf.as_dtype(feature.dtype)
  except (AttributeError, TypeError, ValueError):
    shape, dtype = (), None
  if len(shape) != 3 or dtype is None:
    raise UserError(f"feature data.image_key={key!r} of TFDS dataset {opts['name']!r} is not an image "
                    f"of shape (H, W, C): {_one_line(repr(feature))}")
  return shape, dtype


def _output_shape(shape, opts) -> tuple[int, int, int]:
  """Checks the crop/resize/channel settings against the static image shape; returns the output shape."""
  height, width, channels = shape
  crop, size, name = opts["center_crop"], opts["image_size"], opts["name"]
  if crop and height is not None and width is not None and crop > min(height, width):
    raise UserError(f"data.center_crop={crop} is larger than the {height}x{width} images of {name!r}")
  if opts["channels"] and channels not in (1, 3, 4):
    raise UserError(f"data.channels={opts['channels']} cannot convert the {channels}-channel images "
                    f"of {name!r}; use data.channels=0")
  if not size:
    height, width = (crop, crop) if crop else (height, width)
    if height is None or width is None:
      raise UserError(f"the images of {name!r} vary in size: set data.image_size (and data.center_crop)")
  else:
    height = width = size
  out_channels = opts["channels"] or channels  # RGBA stays RGBA when data.channels == 0.
  if out_channels is None:
    raise UserError(f"the images of {name!r} have an unknown number of channels: set data.channels")
  return int(height), int(width), int(out_channels)


def _preprocess_fn(tf, opts, in_shape, in_dtype):
  """Maps one image (H, W, C) to uint8 (image_size, image_size, channels)."""
  crop, size, want = opts["center_crop"], opts["image_size"], opts["channels"]
  method = {"bilinear": tf.image.ResizeMethod.BILINEAR, "area": tf.image.ResizeMethod.AREA,
            "nearest": tf.image.ResizeMethod.NEAREST_NEIGHBOR}[opts["resize_method"]]
  in_channels = in_shape[2]

  def fn(image):
    if crop:
      height, width = tf.shape(image)[0], tf.shape(image)[1]
      image = tf.image.crop_to_bounding_box(image, (height - crop) // 2, (width - crop) // 2, crop, crop)
    convert = bool(want) and want != in_channels
    resize = bool(size) and not (
        (crop and crop == size) or (not crop and in_shape[0] == in_shape[1] == size))
    if not (convert or resize) and in_dtype == tf.uint8:
      return image  # Exact pixels: no float round trip.
    if in_dtype == tf.uint8:
      image = tf.cast(image, tf.float32)
    else:  # Integer images are scaled from their full range, float images from [0, 1].
      image = tf.image.convert_image_dtype(image, tf.float32) * 255.0
    if convert:
      if in_channels == 4:
        image = image[..., :3]
      if want == 1 and in_channels != 1:
        image = tf.image.rgb_to_grayscale(image)
      elif want == 3 and in_channels == 1:
        image = tf.image.grayscale_to_rgb(image)
    if resize:
      image = tf.image.resize(image, (size, size), method=method, antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(image), 0.0, 255.0), tf.uint8)

  return fn


def load_arrays(data_config) -> tuple[np.ndarray, np.ndarray | None, int | None]:
  """Loads the configured split into memory: (uint8 images NHWC, int32 labels or None, num_classes)."""
  opts = _options(data_config)
  tf, tfds_lib = _import_tf()
  builder = _get_builder(tfds_lib, opts["name"], opts["data_dir"])
  ds = _open_split(builder, opts)
  features = builder.info.features
  in_shape, in_dtype = _image_info(tf, features, opts)
  label_key, num_classes = _label_info(tf, features, opts)
  out_shape = _output_shape(in_shape, opts)
  preprocess = _preprocess_fn(tf, opts, in_shape, in_dtype)
  image_key = opts["image_key"]

  def select(example):
    label = tf.cast(example[label_key], tf.int32) if label_key else tf.constant(0, tf.int32)
    return preprocess(example[image_key]), label

  ds = ds.map(select, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
  total = int(ds.cardinality())
  ds = ds.batch(_LOAD_BATCH).prefetch(2)
  if total >= 0:  # Known size (the usual case): fill preallocated arrays, no 2x peak memory.
    images = np.empty((total, *out_shape), np.uint8)
    labels = np.empty((total,), np.int32)
    n = 0
    for x, y in tfds_lib.as_numpy(ds):
      images[n:n + len(x)], labels[n:n + len(x)] = x, y
      n += len(x)
    images, labels = images[:n], labels[:n]
  else:
    parts = list(tfds_lib.as_numpy(ds))
    images = np.concatenate([p[0] for p in parts]) if parts else np.empty((0, *out_shape), np.uint8)
    labels = np.concatenate([p[1] for p in parts]) if parts else np.empty((0,), np.int32)
  if not len(images):
    raise UserError(f"split data.split={opts['split']!r} of TFDS dataset {opts['name']!r} is empty")
  return images, (labels if label_key else None), (num_classes if label_key else None)


def build(data_config, *, seed: int, batch_size: int, process_index: int = 0,
          process_count: int = 1) -> ArrayDataset:
  """The configured TFDS split as an in-memory `ArrayDataset` of uint8 images (batches in [-1, 1])."""
  images, labels, num_classes = load_arrays(data_config)
  return ArrayDataset(x=images, labels=labels, seed=seed, batch_size=batch_size, kind="images",
                      num_classes=num_classes, process_index=process_index,
                      process_count=process_count)
