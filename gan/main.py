"""Command line entry point.

  python -m gan.main --config=experiments/NAME.py[:ARG] --workdir=DIR [--config.key=value ...]

Rerunning with the same workdir resumes. Input problems (missing config file, unknown or invalid
config key, missing data) print one line to stderr and exit with status 2, before anything is
written to the workdir.
"""
from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow (TFDS, TensorBoard writer) start-up noise

from absl import app, flags, logging
from ml_collections import config_flags

from gan.errors import UserError

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", None, "Experiment config file (experiments/*.py).",
                                lock_config=True)
flags.DEFINE_string("workdir", None, "Directory for checkpoints, logs and samples.")
flags.DEFINE_string("jax_distributed", "auto",
                    "'auto': call jax.distributed.initialize() when a cluster environment is "
                    "detected (several hosts); 'off': never.")


def fail(message: str):
  print(f"error: {message}", file=sys.stderr)
  sys.exit(2)


def _config_path(argv) -> str | None:
  for i, arg in enumerate(argv):
    if arg.startswith("--config="):
      return arg.split("=", 1)[1].split(":", 1)[0]
    if arg == "--config" and i + 1 < len(argv):
      return argv[i + 1].split(":", 1)[0]
  return None


def parse_flags(argv, *, require_workdir: bool = True):
  """absl flag parsing that turns every input problem into one line and exit status 2."""
  path = _config_path(argv)
  if path is None:
    fail("--config is required, e.g. --config=experiments/digits_dcgan.py")
  if not os.path.isfile(path):
    fail(f"--config file {path!r} not found")
  try:
    rest = FLAGS(argv)
  except flags.Error as e:  # bad value type, unknown flag, or an error raised inside get_config(ARG)
    lines = [line for line in str(e).splitlines() if line.strip()]
    if "Error whilst parsing config file" in lines[0]:
      fail(f"could not load --config={path}: {lines[-1]}")  # the exception's own line, not the traceback
    fail(lines[0])
  except (AttributeError, KeyError) as e:  # --config.key=value for a key the config does not have
    key = str(e).strip("\"'")
    overrides = [a.split("=")[0] for a in argv if a.startswith("--config.") and key in a.split("=")[0]]
    fail(f"unknown config key {overrides[0] if overrides else key!r}: {path} defines no such key")
  except Exception as e:  # pylint: disable=broad-except  (an error inside the config file itself)
    fail(f"could not load --config={path}: {type(e).__name__}: {e}")
  if require_workdir and not FLAGS.workdir:
    fail("--workdir is required")
  return rest


def _maybe_initialize_distributed():
  import jax  # pylint: disable=g-import-not-at-top
  if FLAGS.jax_distributed == "auto" and any(
      v in os.environ for v in ("JAX_COORDINATOR_ADDRESS", "SLURM_NTASKS", "TPU_WORKER_HOSTNAMES",
                                "OMPI_COMM_WORLD_SIZE")):
    jax.distributed.initialize()


class _QuietLibraries:
  """Drops INFO lines from orbax and clu (one per checkpoint file / scalar); warnings still pass."""
  PATHS = ("/orbax/", "/clu/", "/absl/logging", "/jax/_src/xla_bridge")

  def filter(self, record):
    return record.levelno > 20 or not any(p in record.pathname for p in self.PATHS)


def main(argv):
  if len(argv) > 1:
    fail(f"unexpected arguments: {' '.join(argv[1:])}")
  from gan import train  # pylint: disable=g-import-not-at-top  (imports jax only after flag checks)
  logging.set_verbosity(logging.INFO)
  logging.get_absl_handler().addFilter(_QuietLibraries())
  _maybe_initialize_distributed()
  try:
    train.train_and_evaluate(FLAGS.config, FLAGS.workdir)
  except UserError as e:
    fail(str(e))


if __name__ == "__main__":
  app.run(main, flags_parser=parse_flags)
