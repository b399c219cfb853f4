"""The training loop's branches (gan/train.py): the final evaluation and checkpoint of a run whose length
is not a multiple of the intervals, checkpoint pruning, the config changes a resume accepts, SIGINT, and
the best checkpoint re-evaluated at an earlier step."""
import os
import signal

import numpy as np

from gan import checkpointing
from gan.train import train_and_evaluate
from tests.helpers import tiny_ring_config
from tests.test_cli import TINY_RING, assert_bit_exact, final_state, interrupt, read_jsonl


def config_for(steps, **overrides):
  config = tiny_ring_config(num_train_steps=steps)
  config.eval.update(num_samples=500, every_steps=10)
  config.log.every_steps = 5
  config.checkpoint.every_steps = 10
  config.update_from_flattened_dict(overrides)
  return config


def steps_in(directory):
  return sorted(int(name) for name in os.listdir(directory) if name.isdigit())


def eval_steps(workdir):
  return [r["step"] for r in read_jsonl(workdir / "metrics.jsonl") if any(k.startswith("eval/") for k in r)]


def test_run_not_a_multiple_of_the_intervals_ends_evaluated_and_saved_and_prunes(tmp_path):
  train_and_evaluate(config_for(25, **{"checkpoint.max_to_keep": 2}), str(tmp_path))
  assert eval_steps(tmp_path) == [10, 20, 25]
  assert steps_in(tmp_path / "checkpoints") == [20, 25]  # the final step forced, max_to_keep=2 pruned 1, 10
  assert sorted(os.listdir(tmp_path / "samples")) == [f"step_{s:07d}.png" for s in (10, 20, 25)]
  train_steps = [r["step"] for r in read_jsonl(tmp_path / "metrics.jsonl") if "train/d_loss" in r]
  assert train_steps == [1, 5, 10, 15, 20, 25]


def test_resume_accepts_new_eval_log_checkpoint_and_profile_settings_and_trains_the_same(tmp_path):
  straight, resumed = tmp_path / "straight", tmp_path / "resumed"
  train_and_evaluate(config_for(30), str(straight))
  train_and_evaluate(config_for(20), str(resumed))
  changed = {"eval.every_steps": 4, "eval.num_samples": 300, "log.every_steps": 3,
             "checkpoint.every_steps": 6, "checkpoint.max_to_keep": 7, "profile_steps": (24, 25)}
  train_and_evaluate(config_for(30, **changed), str(resumed))
  assert_bit_exact(final_state(resumed), final_state(straight))
  assert eval_steps(resumed) == [10, 20, 24, 28, 30]
  logged = [r["step"] for r in read_jsonl(resumed / "metrics.jsonl") if "train/d_loss" in r]
  assert logged == [1, 5, 10, 15, 20, 21, 24, 27, 30]  # a resumed run logs its first step
  assert steps_in(resumed / "checkpoints") == [1, 10, 20, 24, 30]  # every 10, then every 6; max_to_keep 7
  assert any(files for _, _, files in os.walk(resumed / "profile"))  # steps 24-25 traced


def test_sigint_saves_and_exits_cleanly(tmp_path):
  returncode, stderr = interrupt([*TINY_RING, "--config.num_train_steps=1000000", "--config.log.every_steps=1",
                                  "--config.checkpoint.every_steps=1000000"], tmp_path, signal.SIGINT)
  assert returncode == 0 and "Received SIGINT" in stderr, stderr[-3000:]
  assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
  stopped_at = int(final_state(tmp_path).step)
  assert stopped_at >= 2 and steps_in(tmp_path / "checkpoints")[-1] == stopped_at


def test_best_checkpoint_beaten_at_an_earlier_step_on_resume_drops_the_later_one(tmp_path):
  """A resumed run that re-evaluates step 20 better than the kept best of step 30 (written by the run
  it resumes, after its last regular checkpoint) keeps step 20 only: a best checkpoint from the future
  of the state it replaces would be kept by max_to_keep=1's ordering instead."""
  best = checkpointing.BestCheckpointer(str(tmp_path), "fd", "min")
  assert best.update(30, {"fd": 2.0}, {"w": np.full(2, 30.0)}, {}, {})
  best.close()
  best = checkpointing.BestCheckpointer(str(tmp_path), "fd", "min")
  assert not best.update(20, {"fd": 2.0}, {"w": np.full(2, 20.0)}, {}, {})  # a tie keeps step 30
  assert best.update(20, {"fd": 1.0}, {"w": np.full(2, 20.0)}, {}, {})
  assert best.ckpt.manager.all_steps() == [20]
  best.close()
  assert steps_in(tmp_path / "best") == [20]
