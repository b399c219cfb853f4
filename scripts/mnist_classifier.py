"""Trains (once) and tests the MnistCNN feature net of `eval.feature_net="mnist_cnn"`.

  python scripts/mnist_classifier.py --mnist_path=DIR

Trains the MnistCNN (gan/metrics/digits.py, `MNIST_RECIPE`) on the training split of the MNIST-format
IDX files in DIR, or reads it from the cache under $GAN_CACHE_DIR (default ~/.cache/jax_gan) where an
earlier run or evaluation put it, and prints its accuracy on DIR's test split, its weights hash and
the time taken. Run it before training to keep the first evaluation short. Bad input prints one
`error:` line and exits 2.
"""
from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

flags.DEFINE_string("mnist_path", None, "Directory of the four MNIST-format IDX files (gzipped or not).")
FLAGS = flags.FLAGS


def fail(message):
  print(f"error: {message}", file=sys.stderr)
  sys.exit(2)


def main(argv):
  if len(argv) > 1:
    fail(f"unexpected arguments: {' '.join(argv[1:])}")
  if not FLAGS.mnist_path:
    fail("--mnist_path is required")
  from gan.errors import UserError  # pylint: disable=g-import-not-at-top
  from gan.metrics import digits  # pylint: disable=g-import-not-at-top
  start = time.time()
  try:
    classifier = digits.get_mnist_classifier(os.path.expanduser(FLAGS.mnist_path))
  except UserError as e:
    fail(str(e))
  info = classifier.trained_on
  print(f"MnistCNN weights {classifier.net.weights_hash}: test accuracy {classifier.held_out_accuracy:.4%} "
        f"on {info['num_test']} test digits, trained on {info['num_train']} (data {info['train_data_hash']}; "
        f"{digits.MNIST_RECIPE.num_steps} steps); {time.time() - start:.0f} s")


if __name__ == "__main__":
  app.run(main)
