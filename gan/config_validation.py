"""Checks a config before any work is done, so a bad value fails in one line, not mid-run."""
from __future__ import annotations

import os

from gan import augment, evaluation, factory, losses, models, regularizers, schedules
from gan.data import builtin
from gan.errors import UserError
from gan.metrics import suite
from gan.models import normalization

REQUIRED = ("seed", "batch_size", "num_train_steps", "loss", "n_critic", "parallelism", "steps_per_call",
            "profile_steps", "data",
            "model", "optim", "regularizers", "ema", "log", "eval", "checkpoint")
PARALLELISM = ("jit", "pmap")
DATASETS = (*builtin.DATASETS, "tfds")
AUGMENTATIONS = ("none", "diffaugment", "ada")


def _fail(key: str, value, expected: str):
  raise UserError(f"config.{key}={value!r} is not valid: expected {expected}")


def _choice(config, key: str, choices):
  value = _get(config, key)
  if value not in choices:
    _fail(key, value, "one of " + ", ".join(map(str, choices)))


def _get(config, key: str):
  node = config
  for part in key.split("."):
    if part not in node:
      raise UserError(f"config.{key} is missing")
    node = node[part]
  return node


def _op_list(config, key: str, known):
  value = _get(config, key)
  if any(op not in known for op in factory.split_ops(value)):
    _fail(key, value, "a comma-separated list of " + ", ".join(known))


def _int_at_least(config, key: str, minimum: int):
  value = _get(config, key)
  if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
    _fail(key, value, f"an integer >= {minimum}")


def _number_in(config, key: str, low: float, high: float, *, closed_high=False):
  value = _get(config, key)
  ok = isinstance(value, (int, float)) and not isinstance(value, bool) and low <= value and (
      value <= high if closed_high else value < high)
  if not ok:
    _fail(key, value, f"a number in [{low}, {high}{']' if closed_high else ')'}")


def validate(config, *, num_devices: int = 1, process_count: int = 1) -> None:
  """Raises UserError naming the first bad key, its value and what was expected."""
  for key in REQUIRED:
    _get(config, key)
  _int_at_least(config, "seed", 0)
  _int_at_least(config, "batch_size", 1)
  _int_at_least(config, "num_train_steps", 1)
  _int_at_least(config, "n_critic", 1)
  _choice(config, "loss", tuple(losses.LOSSES))
  _choice(config, "parallelism", PARALLELISM)
  if config.batch_size % (num_devices * process_count):
    _fail("batch_size", config.batch_size,
          f"a multiple of the number of devices ({num_devices * process_count})")

  _choice(config, "data.name", DATASETS)
  if config.data.name == "tfds" and not config.data.get("tfds_name"):
    _fail("data.tfds_name", config.data.get("tfds_name"), "a TFDS dataset name such as 'mnist'")
  image_size = config.data.get("image_size", 0)
  if config.data.name in ("tfds", "digits") and image_size != 0:
    _int_at_least(config, "data.image_size", 8)
  if config.data.name == "digits" and image_size not in (0, 8):
    _choice(config, "data.resize_method", builtin.DIGITS_RESIZE_METHODS)
  if config.data.name == "digits":
    _choice(config, "data.channels", (0, 1, 3))

  _int_at_least(config, "model.z_dim", 1)
  if "compute_dtype" in config.model:
    _choice(config, "model.compute_dtype", tuple(factory.COMPUTE_DTYPES))
  _choice(config, "model.generator.name", tuple(models.GENERATORS))
  _choice(config, "model.discriminator.name", tuple(models.DISCRIMINATORS))
  is_points = config.data.name in ("ring8", "grid25")
  for player in ("generator", "discriminator"):
    name = config.model[player].name
    if (name == "mlp") != is_points:
      _fail(f"model.{player}.name", name,
            "'mlp' for 2D data" if is_points else "an image model (not 'mlp') for image data")
  for player, choices in (("generator", models.GENERATOR_CONDITIONING),
                          ("discriminator", models.DISCRIMINATOR_CONDITIONING)):
    if "conditioning" in config.model[player]:
      _choice(config, f"model.{player}.conditioning", choices[config.model[player].name])
    if "norm" in config.model[player]:
      _choice(config, f"model.{player}.norm", normalization.NORMS)
  g_conditioning = config.model.generator.get("conditioning")
  if g_conditioning in ("cbn", "biggan") and config.model.generator.get("norm", "batch") != "batch":
    _fail("model.generator.norm", config.model.generator.get("norm"), f"'batch' with conditioning={g_conditioning!r}")
  pack = config.model.discriminator.get("pack", 1)
  if pack > 1 and config.model.discriminator.get("conditioning", "none") != "none":
    _fail("model.discriminator.pack", pack, "1 with a conditional discriminator")
  if pack < 1 or config.batch_size % (pack * num_devices * process_count):
    _fail("model.discriminator.pack", pack, "a positive divisor of each device's batch")

  for player in ("g", "d"):
    _choice(config, f"optim.{player}.name", factory.OPTIMIZERS)
    _number_in(config, f"optim.{player}.lr", 1e-12, 10.0)
    _choice(config, f"optim.{player}.schedule", schedules.KINDS)
    if config.optim[player].name in ("adam", "rmsprop"):  # rmsprop: b2 is its decay
      _number_in(config, f"optim.{player}.b1", 0.0, 1.0)
      _number_in(config, f"optim.{player}.b2", 0.0, 1.0)
  for name in regularizers.PENALTY_FUNCTIONS:
    _number_in(config, f"regularizers.{name}.weight", 0.0, float("inf"))
    _int_at_least(config, f"regularizers.{name}.every", 1)
    if "schedule" in config.regularizers[name]:
      _choice(config, f"regularizers.{name}.schedule", schedules.KINDS)
      _number_in(config, f"regularizers.{name}.final_weight_fraction", 0.0, 1.0, closed_high=True)
  _number_in(config, "regularizers.dragan.perturbation", 0.0, float("inf"))
  _number_in(config, "regularizers.weight_clip.value", 0.0, float("inf"))
  _number_in(config, "regularizers.orthogonal.weight", 0.0, float("inf"))
  if "consistency" in config.regularizers:
    for key in ("regularizers.consistency.real_weight", "regularizers.consistency.fake_weight"):
      _number_in(config, key, 0.0, float("inf"))
    if "transforms" in config.regularizers.consistency:
      _op_list(config, "regularizers.consistency.transforms", augment.ADA_OPS)
  if "augment" in config:
    _choice(config, "augment.kind", AUGMENTATIONS)
    if config.augment.kind != "none" and is_points:
      _fail("augment.kind", config.augment.kind, "'none' for 2D data (augmentations act on images)")
    for key, known in (("diffaugment_policy", augment.DIFF_AUGMENT_OPS), ("ada_ops", augment.ADA_OPS)):
      _op_list(config, f"augment.{key}", known)
    _number_in(config, "augment.ada_target", 0.0, 1.0)
    _int_at_least(config, "augment.ada_interval", 1)
    _number_in(config, "augment.ada_kimg", 1e-6, float("inf"))
  _number_in(config, "ema.decay", 0.0, 1.0)
  _int_at_least(config, "ema.start_step", 0)
  _int_at_least(config, "log.every_steps", 1)
  _int_at_least(config, "eval.every_steps", 1)
  _int_at_least(config, "eval.num_samples", suite.MIN_SAMPLES if evaluation.suite_prefix(config) else 1)
  weights = config.eval.get("inception_weights", "")
  if not isinstance(weights, str) or (weights and not os.path.isfile(weights)):
    _fail("eval.inception_weights", weights, "'' or an existing local .npz file made by "
          "scripts/convert_inception_weights.py")
  metrics = evaluation.metric_directions(config)
  if config.eval.get("primary_metric", "") not in ("", *metrics):
    _fail("eval.primary_metric", config.eval.primary_metric,
          "'' (the data's default) or one of " + (", ".join(metrics) or "nothing for this data"))
  _int_at_least(config, "eval.grid_size", 1)
  if not isinstance(config.eval.get("augmentation_score", False), bool):
    _fail("eval.augmentation_score", config.eval.augmentation_score, "True or False")
  _int_at_least(config, "checkpoint.every_steps", 1)
  _int_at_least(config, "checkpoint.max_to_keep", 1)
  _validate_calls(config)


def _validate_calls(config):
  """steps_per_call must divide every step count the loop stops at; profile_steps is [first, last)."""
  _int_at_least(config, "steps_per_call", 1)
  k = config.steps_per_call
  for key in ("num_train_steps", "log.every_steps", "eval.every_steps", "checkpoint.every_steps"):
    if _get(config, key) % k:
      _fail(key, _get(config, key), f"a multiple of steps_per_call={k} (the loop stops only between calls)")
  steps = config.profile_steps
  if not (isinstance(steps, (tuple, list)) and len(steps) == 2
          and all(isinstance(s, int) and not isinstance(s, bool) for s in steps) and 0 <= steps[0] <= steps[1]):
    _fail("profile_steps", steps, "(first, last) with 0 <= first <= last: trace train steps [first, last)")
