"""Checks a config before any work is done, so a bad value fails in one line, not mid-run.

`validate` checks the keys every family shares (seed, batch, steps, devices, logging, evaluation
and checkpoint intervals), then hands the config to its family (gan/families/), which checks its own
keys with the helpers below. Each helper raises gan.errors.UserError naming the key, its value and
what was expected.
"""
from __future__ import annotations

import ml_collections
import numpy as np

from gan import factory, families, rollback, schedules
from gan.errors import UserError

SHARED_REQUIRED = ("seed", "batch_size", "num_train_steps", "parallelism", "steps_per_call", "profile_steps",
                   "data", "log", "eval", "checkpoint")
SHARED_SECTIONS = ("data", "log", "eval", "checkpoint")
PARALLELISM = ("jit", "pmap")
INT_MAX = 2**31 - 1  # JAX's int32: step counters, example indices, array sizes in the step
FLOAT32_MAX = float(np.finfo(np.float32).max)


def fail(key: str, value, expected: str):
  if isinstance(value, ml_collections.ConfigDict):  # its repr takes several lines
    value = value.to_dict()
  raise UserError(f"config.{key}={value!r} is not valid: expected {expected}")


def is_section(node) -> bool:
  return isinstance(node, (ml_collections.ConfigDict, dict))


def get(config, key: str):
  """The value at dotted `key`; a missing key, or a value where a section of keys belongs, is a UserError."""
  node, parts = config, key.split(".")
  for i, part in enumerate(parts):
    if not is_section(node):
      fail(".".join(parts[:i]), node, f"a section of keys (holding {key})")
    if part not in node:
      family = f": the {config.family!r} family (config.family) needs it" if "family" in config else ""
      raise UserError(f"config.{key} is missing{family}")
    node = node[part]
  return node


def section(config, key: str):
  """Dotted `key` must hold a section of keys, not a single value."""
  node = get(config, key)
  if not is_section(node):
    fail(key, node, "a section of keys, not a single value")


def choice(config, key: str, choices):
  """One of `choices`, of the same type (True is not 1, 1.0 is not 1)."""
  value = get(config, key)
  if not any(type(value) is type(c) and value == c for c in choices):
    fail(key, value, "one of " + ", ".join(map(str, choices)))


def is_int(value) -> bool:
  return isinstance(value, int) and not isinstance(value, bool)


def int_at_least(config, key: str, minimum: int):
  value = get(config, key)
  if not is_int(value) or value < minimum:
    fail(key, value, f"an integer >= {minimum}")
  if value > INT_MAX:
    fail(key, value, f"an integer <= {INT_MAX} (JAX counts and indexes in int32)")


def int_sequence(config, key: str, minimum: int):
  """A tuple or list of integers, each in [minimum, INT_MAX]."""
  value = get(config, key)
  if not (isinstance(value, (tuple, list)) and all(is_int(v) and minimum <= v <= INT_MAX for v in value)):
    fail(key, value, f"a tuple of integers >= {minimum}, e.g. (128, 128)")


def number_in(config, key: str, low: float, high: float, *, closed_high=False):
  value = get(config, key)
  ok = (isinstance(value, float) or is_int(value)) and low <= value and (
      value <= high if closed_high else value < high)
  if not ok:
    fail(key, value, f"a number in [{low}, {high}{']' if closed_high else ')'}")
  if abs(value) > FLOAT32_MAX:
    fail(key, value, f"a number within float32's range (at most {FLOAT32_MAX:.4g}): the train step computes in "
         "float32, where it would be inf")


def boolean(config, key: str):
  if not isinstance(get(config, key), bool):
    fail(key, get(config, key), "True or False")


def optimizer(config, player: str):
  """`optim.<player>.*`: name, learning rate, schedule and, for Adam and RMSProp, the betas."""
  choice(config, f"optim.{player}.name", factory.OPTIMIZERS)
  number_in(config, f"optim.{player}.lr", 1e-12, 10.0)
  choice(config, f"optim.{player}.schedule", schedules.KINDS)
  if "final_lr_fraction" in config.optim[player]:
    number_in(config, f"optim.{player}.final_lr_fraction", 0.0, 1.0, closed_high=True)
  if "decay_start_fraction" in config.optim[player]:
    number_in(config, f"optim.{player}.decay_start_fraction", 0.0, 1.0)
  if "clip_norm" in config.optim[player]:
    number_in(config, f"optim.{player}.clip_norm", 0.0, float("inf"))
  if config.optim[player].name in ("adam", "rmsprop"):  # rmsprop: b2 is its decay
    number_in(config, f"optim.{player}.b1", 0.0, 1.0)
    number_in(config, f"optim.{player}.b2", 0.0, 1.0)


def validate(config, *, num_devices: int = 1, process_count: int = 1) -> None:
  """Raises UserError naming the first bad key, its value and what was expected."""
  if "family" in config:  # checked here so that a value of any type gets this message
    choice(config, "family", families.NAMES)
  family = families.get(config)
  for key in SHARED_REQUIRED:
    get(config, key)
  for key in SHARED_SECTIONS:
    section(config, key)
  int_at_least(config, "seed", 0)
  int_at_least(config, "batch_size", 1)
  int_at_least(config, "num_train_steps", 1)
  choice(config, "parallelism", PARALLELISM)
  if config.batch_size % (num_devices * process_count):
    fail("batch_size", config.batch_size, f"a multiple of the number of devices ({num_devices * process_count})")
  family.validate(config, num_devices=num_devices, process_count=process_count)
  int_at_least(config, "log.every_steps", 1)
  int_at_least(config, "eval.every_steps", 1)
  int_at_least(config, "eval.grid_size", 1)
  metrics = family.metric_directions(config)
  if config.eval.get("primary_metric", "") not in ("", *metrics):
    fail("eval.primary_metric", config.eval.primary_metric,
         "'' (the data's default) or one of " + (", ".join(metrics) or "nothing for this data"))
  int_at_least(config, "checkpoint.every_steps", 1)
  int_at_least(config, "checkpoint.max_to_keep", 1)
  if "divergence" in config:  # optional: configs written before it stop on a divergence
    section(config, "divergence")
    choice(config, "divergence.action", rollback.ACTIONS)
    number_in(config, "divergence.lr_factor", 1e-12, 1.0)
    int_at_least(config, "divergence.max_rollbacks", 0)
  _validate_calls(config)


def _validate_calls(config):
  """steps_per_call must divide every step count the loop stops at; profile_steps is [first, last)."""
  int_at_least(config, "steps_per_call", 1)
  k = config.steps_per_call
  for key in ("num_train_steps", "log.every_steps", "eval.every_steps", "checkpoint.every_steps"):
    if get(config, key) % k:
      fail(key, get(config, key), f"a multiple of steps_per_call={k} (the loop stops only between calls)")
  steps = config.profile_steps
  if not (isinstance(steps, (tuple, list)) and len(steps) == 2 and all(is_int(s) for s in steps)
          and 0 <= steps[0] <= steps[1]):
    fail("profile_steps", steps, "(first, last) with 0 <= first <= last: trace train steps [first, last)")
