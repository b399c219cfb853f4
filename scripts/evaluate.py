"""Evaluates a saved run's checkpoint (any GAN family): every metric that applies, with its protocol, to JSON.

  python scripts/evaluate.py --workdir=DIR [--checkpoint_step=N] [--num_samples=N] [--raw] [--best]
                             [--inception_weights=FILE.npz] [--augmentation_score] [--truncation=PSI]

Uses the latest checkpoint (or --checkpoint_step; --best: the one in DIR/best/) and the generator
that sampling uses (EMA when the run's config has EMA; --raw: the raw generator). Writes
`DIR/eval/step_N.json` (`step_N_raw.json` with --raw): {"step", "metrics", "protocol"}, the metrics
and protocol of gan/evaluation.py, and prints them as a table. --num_samples defaults to the run's
`eval.num_samples`, --inception_weights to its `eval.inception_weights`. Bad input (no such
workdir or step) prints one `error:` line and exits 2.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags, logging  # noqa: E402

flags.DEFINE_string("workdir", None, "Run directory (the --workdir of gan.main).")
flags.DEFINE_integer("checkpoint_step", None, "Checkpoint step (default: latest).")
flags.DEFINE_integer("num_samples", None, "Generated samples (default: the run's eval.num_samples).")
flags.DEFINE_bool("raw", False, "Evaluate the raw generator instead of its EMA.")
flags.DEFINE_bool("best", False, "Evaluate the best checkpoint (DIR/best/) instead of DIR/checkpoints/.")
flags.DEFINE_bool("augmentation_score", False,
                  "Also train classifiers on generated digits: CAS and the data-augmentation score "
                  "(class-conditional runs on the digits, or on MNIST with eval.feature_net=mnist_cnn; "
                  "gan/metrics/augmentation_score.py).")
flags.DEFINE_string("inception_weights", None,
                    "Inception .npz for TFDS image metrics (default: the run's eval.inception_weights).")
flags.DEFINE_float("truncation", None, "Truncation psi of the scored samples (StyleGAN2; default: the run's "
                   "eval.truncation_psi, 1).")
FLAGS = flags.FLAGS


def fail(message):
  print(f"error: {message}", file=sys.stderr)
  sys.exit(2)


def evaluate(workdir: str, step: int | None, *, num_samples: int | None, raw: bool, best: bool,
             inception_weights: str | None, augmentation_score: bool = False, truncation: float | None = None):
  """(path of the written JSON, its content) for the checkpoint of `workdir` at `step`."""
  import jax  # pylint: disable=g-import-not-at-top
  from gan import families, json_io, sampling  # pylint: disable=g-import-not-at-top
  config, _, game, state = sampling.load_run(workdir, step, best=best)
  family = families.get(config)
  family.configure_evaluation(config, game, num_samples=num_samples, options={
      "inception_weights": inception_weights, "augmentation_score": augmentation_score,
      "truncation": truncation})
  evaluator = family.evaluator(config, game, family.dataset(config), workdir, num_samples=num_samples)
  state = jax.device_get(state)
  result = evaluator.evaluate_state(int(state.step), state, raw=raw, write_files=False)
  out = {"step": int(state.step), "metrics": result.metrics, "protocol": result.protocol}
  suffix = ("_raw" if raw else "") + (f"_psi{truncation:g}" if truncation is not None else "")
  path = os.path.join(workdir, "eval", f"step_{int(state.step)}{suffix}.json")
  json_io.write_json(path, out)
  return path, out


def main(argv):
  if len(argv) > 1:
    fail(f"unexpected arguments: {' '.join(argv[1:])}")
  if not FLAGS.workdir:
    fail("--workdir is required")
  if not os.path.isdir(FLAGS.workdir):
    fail(f"--workdir={FLAGS.workdir!r} does not exist")
  if FLAGS.num_samples is not None and FLAGS.num_samples < 1:
    fail(f"--num_samples={FLAGS.num_samples} must be >= 1")
  from gan.errors import UserError  # pylint: disable=g-import-not-at-top
  logging.set_verbosity(logging.WARNING)  # orbax's INFO lines; warnings (skipped metrics) still show
  try:
    path, out = evaluate(FLAGS.workdir, FLAGS.checkpoint_step, num_samples=FLAGS.num_samples,
                         raw=FLAGS.raw, best=FLAGS.best, inception_weights=FLAGS.inception_weights,
                         augmentation_score=FLAGS.augmentation_score, truncation=FLAGS.truncation)
  except UserError as e:
    fail(str(e))
  protocol = out["protocol"]
  if "generator" in protocol:  # the image family: which generator, on how many samples, against what
    print(f"step {out['step']}  generator {protocol['generator']}  {protocol['num_generated']} samples"
          f"  reference: {protocol.get('reference', '-')}")
  else:
    print(f"step {out['step']}  " + "  ".join(f"{k}: {v}" for k, v in protocol.items() if isinstance(v, (str, int))
                                             and k != "step"))
  width = max((len(k) for k in out["metrics"]), default=0)
  for name, value in sorted(out["metrics"].items()):
    print(f"  {name:<{width}}  {value:.6g}")
  print(f"wrote {path}")


if __name__ == "__main__":
  app.run(main)
