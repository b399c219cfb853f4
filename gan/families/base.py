"""The interface between a GAN family and the shared core.

The core (gan/train.py, gan/sampling.py, scripts/) calls only these methods; a family implements them
in its own module and is named in gan/families/__init__.py. Shapes the core relies on:

- A *game* (what `game` returns) has `init(key, batch) -> state`, `state` one pytree, and a pure
  `train_step(state, batch, *, axis_name=None) -> (state, metrics)` of scalar metrics: with
  `axis_name=None` it computes on the global batch (`jax.jit` shards it); under `jax.pmap` it sees its
  device's rows and averages over `axis_name` (gan/players.py). The step's `batch` is a dict of arrays
  `(updates_per_step, local_batch, ...)`: one slice per player update that reads fresh data (the
  image family's n_critic D updates), one for the others.
- Host batches: `batches(config, dataset)(c)` is call `c`'s batch, `(steps_per_call, updates_per_step,
  local_batch, ...)` per key, a function of (seed, c) only, so a resumed run sees what it would have seen.
- An *evaluator* has `evaluate_state(step, state, *, write_files=True, raw=False) -> EvalResult`,
  `primary` ((metric, "min" | "max") or None: what ranks the best checkpoint) and `samples_dir`.
- `meta(dataset)` is a JSON dict saved with every checkpoint; `game(config, meta)` must rebuild the
  same game from it without the data (sampling, evaluation and translation of saved runs).
"""
from __future__ import annotations

import abc
import dataclasses
from typing import Any, Callable

import jax
import numpy as np

from gan.errors import UserError


@dataclasses.dataclass
class EvalResult:
  metrics: dict[str, float]
  protocol: dict


def real_batches(dataset, updates_per_step: int, steps_per_call: int = 1) -> Callable[[int], dict[str, np.ndarray]]:
  """Host batch of call `c`: train steps c*k ... c*k+k-1 (k = `steps_per_call`), step s reading the
  dataset batches s*n ... s*n+n-1 (n = `updates_per_step`; the image family's n_critic), stacked
  `(k, n, local_batch, ...)` per key."""
  def make(call):
    parts = [[dataset.get_batch(step * updates_per_step + i) for i in range(updates_per_step)]
             for step in range(call * steps_per_call, (call + 1) * steps_per_call)]
    return {k: np.stack([np.stack([p[k] for p in step]) for step in parts]) for k in parts[0][0]}
  return make


def first_update(call_batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
  """The first train step's first update of a call's host batch: `{key: (local_batch, ...)}`."""
  return {k: v[0, 0] for k, v in call_batch.items()}


class Family(abc.ABC):
  """A kind of GAN game. Subclasses set the class attributes and implement the abstract methods.

  `experiment`: the family's default experiment file; `smoke`: `--config.key=value` overrides (as a
  dict) that shrink it to seconds per step on a CPU, used by the family test suite
  (tests/test_families.py) and for quick checks."""
  name: str
  experiment: str
  smoke: dict[str, Any]

  @abc.abstractmethod
  def validate(self, config, *, num_devices: int, process_count: int) -> None:
    """Checks the family's own config keys (the shared ones are checked by gan/config_validation.py);
    raises gan.errors.UserError naming the first bad key, its value and what was expected."""

  @abc.abstractmethod
  def dataset(self, config, *, process_index: int = 0, process_count: int = 1):
    """The run's data: an object with `get_batch(index) -> {key: (local_batch, ...)}`."""

  @abc.abstractmethod
  def meta(self, dataset) -> dict:
    """What `game` needs to know of the data (shapes, classes), saved with every checkpoint."""

  @abc.abstractmethod
  def game(self, config, meta: dict, *, axis_name: str | None = None):
    """The game (networks, losses, optimizers, train step) for data described by `meta`;
    `axis_name` is the pmap axis for cross-replica batch statistics (None under jit)."""

  def updates_per_step(self, config) -> int:
    """Data batches one train step reads (`batch` arrays' leading axis)."""
    del config
    return 1

  def batches(self, config, dataset) -> Callable[[int], dict[str, np.ndarray]]:
    """Host batch of call `c` (`real_batches`)."""
    return real_batches(dataset, self.updates_per_step(config), config.steps_per_call)

  def init_state(self, game, key, batch: dict[str, np.ndarray]):
    """The initial state from `key` and one update's batch (only its shapes may matter)."""
    return game.init(key, batch)

  @abc.abstractmethod
  def example_batch(self, config, meta: dict) -> dict[str, np.ndarray]:
    """Zeros shaped like one update's batch, to build a state's shapes without the data."""

  def abstract_state(self, config, game, meta: dict):
    """Shapes and dtypes of the state (`jax.ShapeDtypeStruct`s), computed without running anything."""
    return jax.eval_shape(lambda: self.init_state(game, jax.random.PRNGKey(0), self.example_batch(config, meta)))

  @abc.abstractmethod
  def evaluator(self, config, game, dataset, workdir: str, *, num_samples: int | None = None):
    """The evaluator of a run (see the module docstring)."""

  @abc.abstractmethod
  def metric_directions(self, config) -> dict[str, str]:
    """Every metric the evaluation reports that can rank checkpoints -> "min" or "max"."""

  def configure_evaluation(self, config, game, *, num_samples: int | None, options: dict[str, Any]) -> None:
    """Applies scripts/evaluate.py's family-specific `options` (name -> value, None/False when not
    given) to a saved run's config; the default refuses any that is given."""
    del config, game, num_samples
    given = sorted(name for name, value in options.items() if value is not None and value is not False)
    if given:
      raise UserError(f"--{given[0]} does not apply to a {self.name} run")

  @abc.abstractmethod
  def sample(self, config, meta: dict, game, state, num: int, *, seed: int, label: int | None = None,
             temperature: float | None = None, truncation: float | None = None) -> np.ndarray:
    """`num` outputs of the trained generator (what scripts/sample.py writes), a function of `seed`, the
    checkpoint and the run's data alone; `label`, `temperature` and `truncation` (None: not given) where
    they apply."""

  def save_samples(self, meta: dict, samples: np.ndarray, path: str) -> str:
    """Writes `samples` to `path` (.npy here; a family may know other formats) and says what it wrote."""
    del meta
    if not path.endswith(".npy"):
      raise UserError(f"--output={path!r}: expected a .npy file for a {self.name} run")
    np.save(path, samples)
    return f"{samples.shape} {samples.dtype} samples"
