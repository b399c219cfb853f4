"""Decodes a local image source once into a prepared array file that training reads in seconds.

  python scripts/prepare_data.py --source=idx|image_folder --path=DIR --output=FILE.npz
      [--image_size=0] [--center_crop=0] [--resize_method=bilinear] [--channels=0] [--split=train]

Reads the IDX files or the image folder at --path exactly as training would with `data.name` =
--source and the same `data.*` keys (gan/data/files.py, gan/data/images.py), and writes an
uncompressed .npz: `x` uint8 (N, H, W, C), for labelled data `labels` int32 (N,) and `class_names`,
and `source` (JSON: what it was made from). Train on it with
  --config.data.name=array --config.data.path=FILE.npz
(a config whose image keys ask for another size or channel count reshapes it on loading). Prints the
number of images and classes and the image shape. Bad input prints one `error:` line and exits 2;
the output is written atomically, so nothing partial is left behind.
"""
from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

flags.DEFINE_enum("source", None, ["idx", "image_folder"], "What --path holds.")
flags.DEFINE_string("path", None, "IDX directory or image folder.")
flags.DEFINE_string("output", None, "The .npz file to write.")
flags.DEFINE_integer("image_size", 0, "Resize to image_size x image_size (0: keep).")
flags.DEFINE_integer("center_crop", 0, "Centred square crop of this side, before resizing (0: none).")
flags.DEFINE_enum("resize_method", "bilinear", ["bilinear", "area", "nearest"], "Resize filter.")
flags.DEFINE_integer("channels", 0, "0 keeps the channels, 1 grey, 3 RGB.")
flags.DEFINE_string("split", "train", "IDX split: train, test or train+test.")
FLAGS = flags.FLAGS


def fail(message):
  print(f"error: {message}", file=sys.stderr)
  sys.exit(2)


def prepare(source: str, path: str, output: str, **keys) -> str:
  """Writes the prepared file of `source` at `path` (shaped by the `data.*` `keys`); returns a summary."""
  import ml_collections  # pylint: disable=g-import-not-at-top
  from gan.data import files  # pylint: disable=g-import-not-at-top
  arrays = files.load(ml_collections.ConfigDict(dict(name=source, path=path, **keys)))
  files.save_arrays(output, arrays)
  n, height, width, channels = arrays.x.shape
  classes = (f"{arrays.num_classes} classes ({', '.join(arrays.class_names[:10])}"
             f"{', ...' if arrays.num_classes > 10 else ''})" if arrays.class_names else "unlabelled")
  return (f"wrote {output}: {n} images, {classes}, shape {height}x{width}x{channels} uint8, "
          f"{os.path.getsize(output) / 2**20:.1f} MiB")


def main(argv):
  if len(argv) > 1:
    fail(f"unexpected arguments: {' '.join(argv[1:])}")
  for name in ("source", "path", "output"):
    if not FLAGS[name].value:
      fail(f"--{name} is required")
  if not FLAGS.output.endswith(".npz"):
    fail(f"--output={FLAGS.output!r} must end in .npz")
  from gan.errors import UserError  # pylint: disable=g-import-not-at-top
  start = time.time()
  try:
    summary = prepare(FLAGS.source, FLAGS.path, FLAGS.output, image_size=FLAGS.image_size,
                      center_crop=FLAGS.center_crop, resize_method=FLAGS.resize_method,
                      channels=FLAGS.channels, split=FLAGS.split)
  except UserError as e:
    fail(str(e))
  except OSError as e:  # the output cannot be written
    fail(f"cannot write {e.filename or FLAGS.output}: {e.strerror or e}")
  print(f"{summary} in {time.time() - start:.1f} s")


if __name__ == "__main__":
  app.run(main)
