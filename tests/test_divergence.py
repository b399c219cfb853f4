"""A diverging run (NaN or Inf in a loss, a gradient norm or the state) stops at the step it happens,
naming the step and the quantity, and leaves only finite checkpoints (gan/parallel.py `repeat_step`,
gan/train.py `Divergence`). The NaN is injected into a real run's step by wrapping the family's step."""
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
import pytest

from gan import checkpointing, parallel, train
from tests.helpers import tiny_ring_config


def poison(monkeypatch, at_step: int, where: str):
  """Makes the run's train step put a NaN into `where` ("d_loss", or a state field such as "g_params")
  at the step whose result has `state.step == at_step`."""
  make = parallel.make

  def make_poisoned(mode, train_step, devices=None, steps_per_call=1):
    def step(state, batch, axis_name=None):
      state, metrics = train_step(state, batch, axis_name=axis_name)
      hit = state.step == at_step
      if where in metrics:
        metrics = {**metrics, where: jnp.where(hit, jnp.nan, metrics[where])}
      else:
        part = jax.tree.map(lambda x: jnp.where(hit, jnp.inf, x), getattr(state, where))
        state = state.replace(**{where: part})
      return state, metrics
    return make(mode, step, devices, steps_per_call)
  monkeypatch.setattr(parallel, "make", make_poisoned)


def config(steps_per_call=1, parallelism="jit"):
  return tiny_ring_config(num_train_steps=12, steps_per_call=steps_per_call, parallelism=parallelism,
                          log={"every_steps": 4}, eval={**tiny_ring_config().eval.to_dict(), "every_steps": 4,
                                                        "num_samples": 200},
                          checkpoint={"every_steps": 4, "max_to_keep": 5})


def saved_states(workdir):
  reader = checkpointing.Checkpointer(str(workdir), every_steps=1, max_to_keep=5, create=False)
  try:
    steps = reader.manager.all_steps()
    return {s: reader.manager.restore(s, args=ocp.args.Composite(state=ocp.args.StandardRestore())).state
            for s in steps}
  finally:
    reader.close()


@pytest.mark.parametrize("steps_per_call,parallelism,at_step,where", [
    (1, "jit", 6, "d_loss"),  # found when the next call is dispatched (step 6 neither logs nor saves)
    (2, "pmap", 7, "g_params"),  # inside a call of two steps, one step after a save
])
def test_divergence_stops_at_its_step_naming_the_quantity_and_saves_nothing_non_finite(
    monkeypatch, tmp_path, steps_per_call, parallelism, at_step, where):
  poison(monkeypatch, at_step, where)
  with pytest.raises(train.Divergence) as info:
    train.train_and_evaluate(config(steps_per_call, parallelism), str(tmp_path))
  assert (info.value.step, info.value.quantity) == (at_step, where)
  message = str(info.value)
  assert f"{where} is NaN or Inf at step {at_step}" in message and "\n" not in message
  states = saved_states(tmp_path)
  # the first call's save (orbax saves the first step it is offered) and step 4's; never step 8's
  assert sorted(states) == [steps_per_call, 4] and info.value.last_good == 4
  assert all(np.isfinite(np.asarray(x)).all() for x in jax.tree.leaves(states[4])
             if np.issubdtype(np.asarray(x).dtype, np.floating))
  with open(tmp_path / "metrics.jsonl") as f:
    rows = [json.loads(line) for line in f]
  assert rows and max(r["step"] for r in rows) < at_step
  assert all(np.isfinite(v) for r in rows for v in r.values())
  best = checkpointing.Checkpointer(str(tmp_path), every_steps=1, max_to_keep=1, subdir="best", create=False)
  assert best.latest_step() in (None, 4)
  best.close()


def test_the_nan_report_names_the_first_bad_step_and_quantity_of_a_call():
  def train_step(state, batch, axis_name=None):
    del axis_name
    state = state.replace(step=state.step + 1, g_params=state.g_params * batch["x"][0])
    return state, {"loss": jnp.log(batch["x"][0])}
  from gan.state import GANState
  state = GANState(step=jnp.int32(0), g_params=jnp.ones(3), d_params={}, g_opt_state={}, d_opt_state={},
                   ema_params={}, g_collections={}, d_collections={}, rng=jnp.zeros(2, jnp.uint32),
                   augment_state={})
  call = jax.jit(parallel.repeat_step(train_step, 3))
  names = parallel.checked_quantities(["loss"], state)
  assert names == ["loss", "g_params"]
  for xs, expected in (([2.0, 3.0, 4.0], None),      # all finite
                       ([2.0, -1.0, 4.0], (2, "loss")),  # log(-1) = NaN at the call's second step
                       ([2.0, np.inf, 0.0], (2, "loss")),  # Inf in the loss and the params: loss first
                       ([0.5, 1e-30, 1e-30], None),
                       ([1e30, 1e30, 1.0], (2, "g_params"))):  # 1e60 overflows float32; log is finite
    batch = {"x": jnp.asarray(xs, jnp.float32)[:, None]}
    _, metrics = call(state, batch)
    found = parallel.first_nonfinite(metrics[parallel.NONFINITE], ["loss"], state, last_step=3, steps_per_call=3)
    assert found == expected, (xs, found)


def blow_up_on_large_updates(monkeypatch, from_step: int, threshold: float):
  """Makes the run's train step report a NaN d_loss at steps >= `from_step` whose largest G parameter
  change exceeds `threshold`: a divergence that a smaller learning rate avoids (Adam moves each
  parameter by about lr per step)."""
  make = parallel.make

  def make_unstable(mode, train_step, devices=None, steps_per_call=1):
    def step(state, batch, axis_name=None):
      new_state, metrics = train_step(state, batch, axis_name=axis_name)
      change = jnp.max(jnp.stack([jnp.abs(a - b).max() for a, b in zip(jax.tree.leaves(new_state.g_params),
                                                                          jax.tree.leaves(state.g_params))]))
      blown = (new_state.step >= from_step) & (change > threshold)
      return new_state, {**metrics, "d_loss": jnp.where(blown, jnp.nan, metrics["d_loss"])}
    return make(mode, step, devices, steps_per_call)
  monkeypatch.setattr(parallel, "make", make_unstable)


def rollback_config(max_rollbacks, num_train_steps=12):
  c = config()
  c.num_train_steps = num_train_steps
  c.divergence = {"action": "rollback", "lr_factor": 0.01, "max_rollbacks": max_rollbacks}
  return c


def test_rollback_returns_to_the_last_good_checkpoint_with_smaller_learning_rates_and_keeps_them(
    monkeypatch, tmp_path):
  lr = tiny_ring_config().optim.g.lr
  blow_up_on_large_updates(monkeypatch, from_step=6, threshold=0.5 * lr)
  state, _ = train.train_and_evaluate(rollback_config(max_rollbacks=1), str(tmp_path))
  assert int(state.step) == 12
  with open(tmp_path / "rollbacks.json") as f:
    assert json.load(f) == [{"diverged_at": 6, "quantity": "d_loss", "from_step": 4, "lr_scale": 0.01}]
  with open(tmp_path / "metrics.jsonl") as f:
    rows = [json.loads(line) for line in f]
  steps = [r["step"] for r in rows if "train/d_loss" in r]
  assert steps == sorted(set(steps)) and steps[-1] == 12  # the rolled-back steps' lines are not kept twice
  assert [r.get("train/lr_scale") for r in rows if "train/d_loss" in r] == [None if s <= 4 else 0.01
                                                                             for s in steps]
  assert all(np.isfinite(v) for r in rows for v in r.values())
  # A resumed run keeps the reduced rates: at the config's own it would blow up at its first step.
  state, _ = train.train_and_evaluate(rollback_config(max_rollbacks=1, num_train_steps=16), str(tmp_path))
  assert int(state.step) == 16


def test_rollback_stops_when_its_rollbacks_are_spent(monkeypatch, tmp_path):
  blow_up_on_large_updates(monkeypatch, from_step=6, threshold=0.0)  # any learning rate blows up
  with pytest.raises(train.Divergence, match=r"d_loss is NaN or Inf at step 6 after 2 rollbacks "
                                             r"\(divergence.max_rollbacks=2\)") as info:
    train.train_and_evaluate(rollback_config(max_rollbacks=2), str(tmp_path))
  assert info.value.last_good == 4
  with open(tmp_path / "rollbacks.json") as f:
    assert [r["lr_scale"] for r in json.load(f)] == [0.01, 0.0001]


def test_a_damaged_rollback_record_is_one_user_error(tmp_path):
  (tmp_path / "rollbacks.json").write_text("[{\"diverged_at\": 6")  # torn
  with pytest.raises(train.UserError, match="rollbacks.json is not a list of rollbacks"):
    train.train_and_evaluate(rollback_config(max_rollbacks=1), str(tmp_path))
  assert sorted(os.listdir(tmp_path)) == ["rollbacks.json"]  # nothing written
