"""Command line entry point.

  python -m gan.main --config=experiments/NAME.py[:ARG] --workdir=DIR [--config.key=value ...]

Rerunning with the same workdir resumes. Input problems (missing config file, unknown or invalid
config key, missing data) print one line to stderr and exit with status 2, before anything is
written to the workdir.
"""
from __future__ import annotations

import logging as std_logging
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow (TFDS, TensorBoard writer) start-up noise

from absl import app, flags, logging
from ml_collections import config_flags
from ml_collections.config_flags import config_flags as config_flags_lib
from ml_collections.config_flags import config_path

from gan.errors import UserError

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", None, "Experiment config file (experiments/*.py).",
                                lock_config=True)
flags.DEFINE_string("workdir", None, "Directory for checkpoints, logs and samples.")
flags.DEFINE_enum("jax_distributed", "auto", ["auto", "off"],
                    "'auto': call jax.distributed.initialize() when a cluster environment is "
                    "detected (several hosts); 'off': never.")


def fail(message: str):
  print("error: " + " ".join(line.strip() for line in str(message).splitlines()), file=sys.stderr)
  sys.exit(2)


def _config_spec(argv) -> str | None:
  """The value of --config: PATH or PATH:ARG."""
  for i, arg in enumerate(argv):
    if arg.startswith("--config="):
      return arg.split("=", 1)[1]
    if arg == "--config" and i + 1 < len(argv):
      return argv[i + 1]
  return None


def _unknown_override(spec: str, argv) -> str | None:
  """The first `--config.KEY` of `argv` whose KEY the config of `spec` (loaded again) lacks, or None
  (also when the file itself does not load)."""
  try:
    config = config_flags_lib.ConfigFileFlagParser("config").parse(spec)
  except Exception:  # pylint: disable=broad-except  (reported as the file's own error)
    return None
  for arg in argv:
    if arg.startswith("--config."):
      key = arg[len("--config."):].split("=", 1)[0]
      try:
        config_path.get_value(key, config)
      except Exception:  # pylint: disable=broad-except  (KeyError, AttributeError, TypeError or ValueError)
        return "--config." + key
  return None


def parse_flags(argv, *, require_workdir: bool = True):
  """absl flag parsing that turns every input problem into one line and exit status 2."""
  spec = _config_spec(argv)
  if spec is None:
    fail("--config is required, e.g. --config=experiments/digits_dcgan.py")
  path = spec.split(":", 1)[0]
  if not os.path.isfile(path):
    fail(f"--config file {path!r} not found")
  try:
    rest = FLAGS(argv)
  except flags.Error as e:  # bad value type, unknown flag, or an error raised inside get_config(ARG)
    lines = [line for line in str(e).splitlines() if line.strip()]
    if "Error whilst parsing config file" in lines[0]:
      fail(f"could not load --config={path}: {lines[-1]}")  # the exception's own line, not the traceback
    fail(lines[0])
  except Exception as e:  # pylint: disable=broad-except  (an unknown --config.KEY, or an error in the file)
    unknown = _unknown_override(spec, argv)
    if unknown:
      fail(f"unknown config key {unknown!r}: {path} defines no such key")
    fail(f"could not load --config={path}: {type(e).__name__}: {e}")
  if require_workdir and not FLAGS.workdir:
    fail("--workdir is required")
  return rest


def _maybe_initialize_distributed():
  """Joins the processes of a multi-host run (`jax.distributed.initialize`) when a cluster environment
  says there are several: SLURM, Open MPI and Cloud TPU pods are detected by JAX itself; elsewhere set
  JAX_COORDINATOR_ADDRESS=host:port, JAX_NUM_PROCESSES and JAX_PROCESS_ID on every process. CPU devices
  exchange their collectives over Gloo (TCP), so several processes on one or more machines run without
  accelerators too."""
  import jax  # pylint: disable=g-import-not-at-top
  if FLAGS.jax_distributed == "off" or not any(
      v in os.environ for v in ("JAX_COORDINATOR_ADDRESS", "SLURM_NTASKS", "TPU_WORKER_HOSTNAMES",
                                "OMPI_COMM_WORLD_SIZE")):
    return
  explicit = {}
  for name, key in (("JAX_NUM_PROCESSES", "num_processes"), ("JAX_PROCESS_ID", "process_id")):
    if name in os.environ:
      try:
        explicit[key] = int(os.environ[name])
      except ValueError:
        fail(f"environment variable {name}={os.environ[name]!r} is not an integer")
  jax.config.update("jax_cpu_collectives_implementation", "gloo")
  try:
    jax.distributed.initialize(**explicit)
  except (ValueError, TypeError, RuntimeError) as e:
    fail(f"jax.distributed.initialize() failed: {e} (set JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES and "
         f"JAX_PROCESS_ID, or --jax_distributed=off)")


class _QuietLibraries:
  """Drops INFO lines from orbax (one per checkpoint file) and other libraries; warnings still pass."""
  PATHS = ("/orbax/", "/absl/logging", "/jax/_src/xla_bridge")

  def filter(self, record):
    return record.levelno > 20 or not any(p in record.pathname for p in self.PATHS)


def _unraisable(info):
  """Drops the "Event loop is closed" errors of TensorStore callbacks that orbax leaves behind when the
  restore of a damaged checkpoint fails (gan/checkpointing.py `restore_newest`): they printed tracebacks
  around the run's own warning or one-line error. Other unraisable exceptions are printed as usual."""
  if not (info.exc_type is RuntimeError and str(info.exc_value) == "Event loop is closed"):
    sys.__unraisablehook__(info)


class _UnretrievedAsyncErrors:
  """Drops asyncio's "... exception was never retrieved" reports (with their tracebacks): TensorStore's
  reads of a damaged checkpoint leave them behind after the restore has already failed and been reported
  as one warning or one error line (gan/checkpointing.py `restore_newest`)."""

  def filter(self, record):
    return "exception was never retrieved" not in str(record.msg)


def main(argv):
  if len(argv) > 1:
    fail(f"unexpected arguments: {' '.join(argv[1:])}")
  _maybe_initialize_distributed()  # before anything starts JAX's backend
  from gan import train  # pylint: disable=g-import-not-at-top  (imports jax only after flag checks)
  logging.set_verbosity(logging.INFO)
  logging.get_absl_handler().addFilter(_QuietLibraries())
  sys.unraisablehook = _unraisable
  std_logging.getLogger("asyncio").addFilter(_UnretrievedAsyncErrors())
  train_or_fail(train.train_and_evaluate, FLAGS.config, FLAGS.workdir)


def train_or_fail(train_and_evaluate, config, workdir: str):
  """Runs `train_and_evaluate(config, workdir)`; the user's errors, and writes that the storage refuses
  (a sample grid, evaluation file or event file on a full or read-only disk), end in one line, exit 2."""
  from gan.checkpointing import storage_errno  # pylint: disable=g-import-not-at-top
  try:
    train_and_evaluate(config, workdir)
  except UserError as e:
    fail(str(e))
  except OSError as e:
    if storage_errno(e) is None:
      raise
    fail(f"cannot write {e.filename or workdir}: {e.strerror or e}; the checkpoints already saved are intact")


if __name__ == "__main__":
  app.run(main, flags_parser=parse_flags)
