"""Translates images with a trained image-to-image translation run (pix2pix, CycleGAN) into a .npz file.

  python scripts/translate.py --workdir=DIR --num=N --output=FILE.npz [--direction=AtoB|BtoA] [--seed=0]
      [--checkpoint_step=S] [--best] [--input=FILE.npy]

Translates the first N held-out source images of the run's task (never used in training) in
`--direction` (AtoB is the task name's direction: edges -> digits, printed -> handwritten; the default
is AtoB, or the one direction a pix2pix run was trained in) with the latest checkpoint (or
--checkpoint_step; --best: the best one, in DIR/best/). The output holds float32 arrays in [-1, 1]:
`source` and `translated` (N, H, W, C); `target` (the true output of each source, paired tasks); int32
`label` (each source's class); `reference` and `reference_label`: up to N held-out real images of the
target domain and their classes. `--input=FILE.npy` translates the user's own float images
(M, H, W, C) in [-1, 1] instead of the held-out sources (all M, or the first N with --num; no `target`
or `label` then). pix2pix's dropout noise comes from --seed and each image's position in the input
alone, so the same checkpoint, images and seed give the same translations. Bad input (no such workdir
or checkpoint, a direction the run does not translate, images of the wrong shape) prints one `error:`
line and exits 2, writing nothing.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags, logging  # noqa: E402

flags.DEFINE_string("workdir", None, "Run directory (the --workdir of gan.main).")
flags.DEFINE_integer("num", None, "Number of images (required without --input).")
flags.DEFINE_string("output", None, "Output .npz path.")
flags.DEFINE_enum("direction", None, ["AtoB", "BtoA"],
                  "AtoB: the task name's direction; BtoA: the reverse (default: AtoB, or the one direction "
                  "a pix2pix run was trained in).")
flags.DEFINE_integer("seed", 0, "Seed of the translation noise (pix2pix's dropout).")
flags.DEFINE_integer("checkpoint_step", None, "Checkpoint step (default: latest).")
flags.DEFINE_bool("best", False, "Use the best checkpoint (DIR/best/) instead of DIR/checkpoints/.")
flags.DEFINE_string("input", None, "A .npy of float images (M, H, W, C) in [-1, 1] to translate instead.")
FLAGS = flags.FLAGS


def fail(message):
  print(f"error: {message}", file=sys.stderr)
  sys.exit(2)


def read_input(path: str, example_shape: tuple[int, ...]):
  """The user's images: float (M, *example_shape) in [-1, 1], or a UserError of one line."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  from gan.errors import UserError  # pylint: disable=g-import-not-at-top
  try:
    images = np.load(path, allow_pickle=False)
  except (OSError, ValueError) as e:
    raise UserError(f"--input={path}: cannot read a .npy array ({e})") from None
  expected = "(M, " + ", ".join(map(str, example_shape)) + ")"
  if images.ndim != len(example_shape) + 1 or tuple(images.shape[1:]) != tuple(example_shape) or not len(images):
    raise UserError(f"--input={path}: images of shape {images.shape}; this run translates {expected} arrays")
  if not np.issubdtype(images.dtype, np.floating) or not np.all(np.abs(images) <= 1.0):
    raise UserError(f"--input={path}: expected float images in [-1, 1], got {images.dtype} in "
                    f"[{images.min()}, {images.max()}]")
  return images.astype(np.float32)


def translate(workdir: str, *, num: int | None, direction: str | None, seed: int, step: int | None, best: bool,
              input_path: str | None) -> dict:
  """The arrays the script writes (see the module docstring)."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  from gan import families, sampling  # pylint: disable=g-import-not-at-top
  from gan.errors import UserError  # pylint: disable=g-import-not-at-top
  from gan.families import translation  # pylint: disable=g-import-not-at-top
  config, meta, game, state = sampling.load_run(workdir, step, best=best)
  family = families.get(config)
  if not isinstance(family, translation.TranslationFamily):
    raise UserError(f"{workdir} holds a run of the {family.name} family; scripts/translate.py translates "
                    "pix2pix and cyclegan runs (scripts/sample.py samples the others)")
  direction = direction or game.directions[0]
  if direction not in game.directions:
    raise UserError(f"--direction={direction}: this {family.name} run translates {', '.join(game.directions)} only")
  data = family.dataset(config).data
  source, target = translation.source_and_target(data, direction)
  out = {}
  if input_path is not None:
    images = read_input(input_path, tuple(meta["example_shape"]))[:num]
  else:
    if num > len(source.test):
      raise UserError(f"--num={num}: {data.task} has {len(source.test)} held-out {source.name} images")
    images = source.test[:num]
    out["label"] = source.test_labels[:num].astype(np.int32)
    if data.paired:
      out["target"] = target.test[:num]
  out.update(source=images, translated=translation.translate(game, state, direction, images, seed=seed),
             reference=target.test[:len(images)], reference_label=target.test_labels[:len(images)].astype(np.int32))
  return direction, {k: np.asarray(v) for k, v in out.items()}


def main(argv):
  if len(argv) > 1:
    fail(f"unexpected arguments: {' '.join(argv[1:])}")
  if not FLAGS.workdir or not FLAGS.output:
    fail("--workdir and --output are required")
  if not FLAGS.output.endswith(".npz"):
    fail(f"--output={FLAGS.output!r} must end in .npz")
  if not os.path.isdir(FLAGS.workdir):
    fail(f"--workdir={FLAGS.workdir!r} does not exist")
  if FLAGS.num is None and FLAGS.input is None:
    fail("--num is required (or --input=FILE.npy)")
  if FLAGS.num is not None and FLAGS.num < 1:
    fail(f"--num={FLAGS.num} must be >= 1")
  if FLAGS.input is not None and not os.path.isfile(FLAGS.input):
    fail(f"--input={FLAGS.input!r} does not exist")
  logging.set_verbosity(logging.WARNING)  # orbax's INFO lines; an error stays one line
  import numpy as np  # pylint: disable=g-import-not-at-top
  from gan.errors import UserError  # pylint: disable=g-import-not-at-top
  try:
    direction, arrays = translate(FLAGS.workdir, num=FLAGS.num, direction=FLAGS.direction, seed=FLAGS.seed,
                       step=FLAGS.checkpoint_step, best=FLAGS.best, input_path=FLAGS.input)
  except UserError as e:
    fail(str(e))
  os.makedirs(os.path.dirname(os.path.abspath(FLAGS.output)), exist_ok=True)
  np.savez(FLAGS.output, **arrays)
  print(f"wrote {len(arrays['translated'])} {direction} translations "
        f"({', '.join(sorted(arrays))}) to {FLAGS.output}")


if __name__ == "__main__":
  app.run(main)
