"""Writes samples of a trained run's generator to a file, for any GAN family.

  python scripts/sample.py --workdir=DIR --num_samples=N --output=FILE.npy [--seed=0] [--checkpoint_step=S] [--best]
      [--label=K] [--temperature=T] [--truncation=PSI]

Uses the latest checkpoint (or --checkpoint_step; --best: the best one, in DIR/best/).
Image family: the EMA generator when the run's config has EMA; --label=K (class-conditional
generators): all N samples of class K; float32 in data space, (N, 2) for 2D data or (N, H, W, C) in
[-1, 1] for images. Translation families (pix2pix, CycleGAN): the translations (N, H, W, C) of the
first N held-out source images in the task's direction (scripts/translate.py writes sources, targets
and labels beside them). Text family: int32 token ids (N, max_length) in a .npy, or with --output=FILE.txt
one sentence per line, words separated by single spaces (no <bos>/<eos>); --temperature=T samples from
softmax(logits / T) (default 1). StyleGAN2: G_ema's images; --truncation=PSI samples w' = w_avg +
PSI (w - w_avg) (the truncation trick; 1 = none, 0 = the average image). The noise comes from --seed alone, so the same checkpoint and seed always
give the same samples.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags, logging  # noqa: E402

flags.DEFINE_string("workdir", None, "Run directory (the --workdir of gan.main).")
flags.DEFINE_integer("num_samples", 10000, "Number of samples.")
flags.DEFINE_string("output", None, "Output .npy path.")
flags.DEFINE_integer("seed", 0, "Seed of the noise.")
flags.DEFINE_integer("checkpoint_step", None, "Checkpoint step (default: latest).")
flags.DEFINE_integer("label", None, "Class of every sample (class-conditional generators only).")
flags.DEFINE_float("temperature", None, "Sampling temperature (text family; default 1).")
flags.DEFINE_float("truncation", None, "Truncation psi in [0, 1] (StyleGAN2; default 1: none).")
flags.DEFINE_bool("best", False, "Sample the best checkpoint (DIR/best/) instead of DIR/checkpoints/.")
FLAGS = flags.FLAGS


def fail(message):
  print(f"error: {message}", file=sys.stderr)
  sys.exit(2)


def main(argv):
  del argv
  if not FLAGS.workdir or not FLAGS.output:
    fail("--workdir and --output are required")
  if not os.path.isdir(FLAGS.workdir):
    fail(f"--workdir={FLAGS.workdir!r} does not exist")
  if FLAGS.num_samples < 1:
    fail(f"--num_samples={FLAGS.num_samples} must be >= 1")
  if FLAGS.temperature is not None and not FLAGS.temperature > 0:
    fail(f"--temperature={FLAGS.temperature} must be > 0")
  if FLAGS.truncation is not None and not 0 <= FLAGS.truncation <= 1:
    fail(f"--truncation={FLAGS.truncation} must be in [0, 1]")
  logging.set_verbosity(logging.WARNING)  # orbax's INFO lines; an error stays one line
  import numpy as np  # pylint: disable=g-import-not-at-top
  from gan import families, sampling  # pylint: disable=g-import-not-at-top
  from gan.errors import UserError  # pylint: disable=g-import-not-at-top
  try:
    config, meta, game, state = sampling.load_run(FLAGS.workdir, FLAGS.checkpoint_step, best=FLAGS.best)
    family = families.get(config)
    samples = family.sample(config, meta, game, state, FLAGS.num_samples, seed=FLAGS.seed, label=FLAGS.label,
                            temperature=FLAGS.temperature, truncation=FLAGS.truncation)
    os.makedirs(os.path.dirname(os.path.abspath(FLAGS.output)), exist_ok=True)
    what = family.save_samples(meta, np.asarray(samples), FLAGS.output)
  except UserError as e:
    fail(str(e))
  print(f"wrote {what} of step {int(state.step)} to {FLAGS.output}")


if __name__ == "__main__":
  app.run(main)
