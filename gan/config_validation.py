"""Checks a config before any work is done, so a bad value fails in one line, not mid-run.

`validate` checks the keys every family shares (seed, batch, steps, devices, logging, evaluation
and checkpoint intervals), then hands the config to its family (gan/families/), which checks its own
keys with the helpers below. Each helper raises gan.errors.UserError naming the key, its value and
what was expected.
"""
from __future__ import annotations

from gan import factory, families, schedules
from gan.errors import UserError

SHARED_REQUIRED = ("seed", "batch_size", "num_train_steps", "parallelism", "steps_per_call", "profile_steps",
                   "data", "log", "eval", "checkpoint")
PARALLELISM = ("jit", "pmap")


def fail(key: str, value, expected: str):
  raise UserError(f"config.{key}={value!r} is not valid: expected {expected}")


def get(config, key: str):
  """The value at dotted `key`; a missing key is a UserError."""
  node = config
  for part in key.split("."):
    if part not in node:
      raise UserError(f"config.{key} is missing")
    node = node[part]
  return node


def choice(config, key: str, choices):
  value = get(config, key)
  if value not in choices:
    fail(key, value, "one of " + ", ".join(map(str, choices)))


def int_at_least(config, key: str, minimum: int):
  value = get(config, key)
  if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
    fail(key, value, f"an integer >= {minimum}")


def number_in(config, key: str, low: float, high: float, *, closed_high=False):
  value = get(config, key)
  ok = isinstance(value, (int, float)) and not isinstance(value, bool) and low <= value and (
      value <= high if closed_high else value < high)
  if not ok:
    fail(key, value, f"a number in [{low}, {high}{']' if closed_high else ')'}")


def boolean(config, key: str):
  if not isinstance(get(config, key), bool):
    fail(key, get(config, key), "True or False")


def optimizer(config, player: str):
  """`optim.<player>.*`: name, learning rate, schedule and, for Adam and RMSProp, the betas."""
  choice(config, f"optim.{player}.name", factory.OPTIMIZERS)
  number_in(config, f"optim.{player}.lr", 1e-12, 10.0)
  choice(config, f"optim.{player}.schedule", schedules.KINDS)
  if config.optim[player].schedule == "constant_then_linear" and "decay_start_fraction" in config.optim[player]:
    number_in(config, f"optim.{player}.decay_start_fraction", 0.0, 1.0)
  if config.optim[player].name in ("adam", "rmsprop"):  # rmsprop: b2 is its decay
    number_in(config, f"optim.{player}.b1", 0.0, 1.0)
    number_in(config, f"optim.{player}.b2", 0.0, 1.0)


def validate(config, *, num_devices: int = 1, process_count: int = 1) -> None:
  """Raises UserError naming the first bad key, its value and what was expected."""
  family = families.get(config)
  for key in SHARED_REQUIRED:
    get(config, key)
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
  _validate_calls(config)


def _validate_calls(config):
  """steps_per_call must divide every step count the loop stops at; profile_steps is [first, last)."""
  int_at_least(config, "steps_per_call", 1)
  k = config.steps_per_call
  for key in ("num_train_steps", "log.every_steps", "eval.every_steps", "checkpoint.every_steps"):
    if get(config, key) % k:
      fail(key, get(config, key), f"a multiple of steps_per_call={k} (the loop stops only between calls)")
  steps = config.profile_steps
  if not (isinstance(steps, (tuple, list)) and len(steps) == 2
          and all(isinstance(s, int) and not isinstance(s, bool) for s in steps) and 0 <= steps[0] <= steps[1]):
    fail("profile_steps", steps, "(first, last) with 0 <= first <= last: trace train steps [first, last)")
