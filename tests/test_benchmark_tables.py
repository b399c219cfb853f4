"""The zoo, StyleGAN2 and text benchmark scripts' tables, bars and argument errors
(scripts/benchmarks/zoo.py, stylegan2_quality.py, text_quality.py), and the shared `sweep.train_unfinished` they train with (no training here)."""
import json
import os
import sys

import pytest

from gan import sweep
from tests.test_cli import ROOT

sys.path.insert(0, os.path.join(ROOT, "scripts", "benchmarks"))
import stylegan2_quality  # noqa: E402  pylint: disable=g-import-not-at-top
import text_quality  # noqa: E402  pylint: disable=g-import-not-at-top
import zoo  # noqa: E402  pylint: disable=g-import-not-at-top


def test_zoo_mnist_rows_use_the_mnist_metrics_and_the_30_minute_bar(capsys):
  assert zoo.config_file("mnist_dcgan", "mnist") == "experiments/mnist_dcgan.py"
  assert zoo.config_file("sngan", "mnist") == "experiments/sngan.py:mnist"
  assert zoo.config_file("sngan", "digits") == "experiments/sngan.py"
  row = {"experiment": "digits_cond_dcgan:mnist", "seed": 0, "step": 5000, "wall_clock_s": 1700.0,
         "eval/mnist_classes_covered": 10.0, "eval/mnist_fd": 3.21, "eval/mnist_is": 9.5, "eval/mnist_precision": 0.8,
         "eval/mnist_recall": 0.7, "eval/mnist_cond_accuracy_min": 0.96, "eval/mnist_cas": 0.97}
  lines = zoo.table([row, {**row, "wall_clock_s": 1900.0}, {**row, "eval/mnist_cond_accuracy_min": 0.9}],
                    "mnist").splitlines()
  assert lines[0].startswith("| experiment | seed | steps | wall-clock (s) | classes | mnist FD | mnist IS |")
  assert lines[2] == ("| digits_cond_dcgan:mnist | 0 | 5000 | 1700 | 10 | 3.2 | 9.50 | 0.800 | 0.700 | 0.960 | "
                      "0.970 | - | yes |")
  assert lines[3].endswith("| NO |") and lines[4].endswith("| NO |")  # over 30 minutes; a class below 95 %
  assert zoo.passes({**row, "wall_clock_s": 1000.0}, "mnist") and not zoo.passes({**row, "wall_clock_s": 1000.0,
                                                                                   "eval/mnist_classes_covered": 9},
                                                                                  "mnist")
  assert zoo.main(["--dataset=mnist"]) == 2
  assert capsys.readouterr().err.splitlines() == [
      "error: --mnist_path: --dataset=mnist needs the directory of the MNIST IDX files"]


def test_stylegan2_ladder_rungs_are_explicit_and_reuse_the_main_run_only_where_it_is_configured():
  """Each rung adds one thing to the one before; the main run is reused for the rung its config is (the
  digits: path length, mixing and ADA on; MNIST: R1 and ADA only), and every rung's keys exist."""
  def reused(dataset):
    config = stylegan2_quality.experiment_config(dataset)
    return [name for _, name, settings in stylegan2_quality.LADDER
            if stylegan2_quality.is_configured(config, settings)]
  assert reused("digits") == ["stylegan2_r1_ada_pl"]
  assert reused("mnist") == ["stylegan2_r1_ada"]
  rungs = [dict(settings) for _, _, settings in stylegan2_quality.LADDER]
  off = {"path_length.weight": 0.0, "path_length.every": 1, "style_mixing_prob": 0.0}
  assert rungs[0] == {"r1.gamma": 0.0, "r1.every": 1, **off, "augment.kind": "none"}  # no lazy phase left
  assert rungs[1] == {**off, "augment.kind": "none"} and rungs[2] == {**off, "augment.kind": "ada"}
  assert rungs[3] == {"path_length.weight": 2.0, "path_length.every": 4, "style_mixing_prob": 0.9,
                      "augment.kind": "ada"}
  no_ada = stylegan2_quality.experiment_config("mnist")
  no_ada.augment.kind = "none"
  assert not stylegan2_quality.is_configured(no_ada, stylegan2_quality.LADDER[2][2])


def test_stylegan2_ladder_trains_each_rung_once_and_tabulates_and_draws_a_row_per_rung(monkeypatch, tmp_path):
  """The ladder on MNIST: the DCGAN rung and the three rungs `:mnist` is not are trained (with their keys),
  `+ ADA` is the main run; the table and --ladder_figure have one row per rung, in the ladder's order."""
  trained, figures = [], []

  def train(name, config, seeds, overrides, root):
    trained.append((name, config, overrides))
    return [{"experiment": name, "workdir": os.path.join(root, name), "seed": 0, "step": 10,
             "wall_clock_s": 1.0, "eval/mnist_classes_covered": 10, "eval/mnist_fd": float(len(trained))}]
  monkeypatch.setattr(stylegan2_quality, "train", train)
  monkeypatch.setattr(stylegan2_quality, "truncated_eval", lambda workdir, step, psi: {"eval/mnist_fd": psi})
  monkeypatch.setattr(stylegan2_quality.zoo, "sample_figure",
                      lambda runs, dataset, path: figures.append((runs, dataset, path)))
  (tmp_path / "mnist").mkdir()
  assert stylegan2_quality.main(["--dataset=mnist", f"--mnist_path={tmp_path / 'mnist'}", "--ladder",
                                 f"--workdir_root={tmp_path}", f"--output={tmp_path / 'out.md'}",
                                 f"--ladder_figure={tmp_path / 'ladder.png'}"]) == 0
  data = f"--config.data.path={tmp_path / 'mnist'}"
  assert [(name, config) for name, config, _ in trained] == [
      ("stylegan2", "experiments/stylegan2.py:mnist"), ("mnist_dcgan", "experiments/mnist_dcgan.py"),
      ("stylegan2_plain", "experiments/stylegan2.py:mnist"), ("stylegan2_r1", "experiments/stylegan2.py:mnist"),
      ("stylegan2_r1_ada_pl", "experiments/stylegan2.py:mnist")]
  assert trained[0][2] == trained[1][2] == [data]
  assert trained[3][2] == [data, "--config.path_length.weight=0.0", "--config.path_length.every=1",
                           "--config.style_mixing_prob=0.0", "--config.augment.kind=none"]
  (runs, dataset, path), = figures
  labels = ["DCGAN (mnist_dcgan)", "style-based G, no reg., no aug.", "+ R1", "+ ADA", "+ path length, style mixing"]
  assert [label for label, _, _ in runs] == labels and (dataset, path) == ("mnist", str(tmp_path / "ladder.png"))
  assert [os.path.basename(workdir) for _, workdir, _ in runs] == [
      "mnist_dcgan", "stylegan2_plain", "stylegan2_r1", "stylegan2", "stylegan2_r1_ada_pl"]
  ladder = (tmp_path / "out.md").read_text().split("Ablation ladder:")[1].strip().splitlines()[2:]
  assert [line.split(" | ")[0].lstrip("| ") for line in ladder] == labels
  assert [line.split(" | ")[5] for line in ladder] == ["2.0", "3.0", "4.0", "1.0", "5.0"]  # FD: + ADA is run 1


def test_text_table_puts_the_published_numbers_beside_the_runs(capsys):
  rows = [{"gan": "seqgan", "seed": 0, "step": 19920, "wall_clock_s": 600.0, "eval/nll_oracle": 8.5,
           "eval/nll_test": 6.9, "eval/unique_fraction": 1.0, "eval/copied_fraction": 0.0},
          {"gan": "mle", "seed": 0, "step": 18720, "wall_clock_s": 100.0, "eval/nll_oracle": 9.1}]
  lines = text_quality.table(rows, "oracle").splitlines()
  assert lines[0] == ("| run | seed | steps | wall-clock (s) | nll_oracle | nll_test | unique_fraction | "
                      "copied_fraction | published nll_oracle |")
  assert lines[2] == "| seqgan | 0 | 19920 | 600 | 8.500 | 6.900 | 1.000 | 0.000 | 8.736 |"
  assert lines[3] == "| mle | 0 | 18720 | 100 | 9.100 | - | - | - | 9.038 |"
  assert text_quality.main(["--suite=coco", "--coco_path=/nonexistent"]) == 2
  assert capsys.readouterr().err.splitlines() == [
      "error: --coco_path='/nonexistent': expected a directory with train.txt and test.txt"]
  for bad in ("", "1,x", "0.5,0"):
    assert text_quality.main(["--suite=oracle", f"--temperatures={bad}"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"error: --temperatures={bad!r}: expected a comma-separated list of numbers > 0"]


def test_train_unfinished_trains_only_what_is_not_finished(monkeypatch, tmp_path):
  calls = []
  monkeypatch.setattr(sweep, "execute", lambda config, workdir, overrides: calls.append((workdir, overrides)))
  monkeypatch.setattr(sweep, "is_finished", lambda run: run.seed == 1 or run.workdir in dict(calls))
  runs = sweep.train_unfinished("experiments/ring8.py", [0, 1], ["--config.num_train_steps=10"], str(tmp_path))
  assert [r.seed for r in runs] == [0, 1]
  assert calls == [(runs[0].workdir, ["--config.num_train_steps=10", *runs[0].overrides()])]
  # A run the CLI stopped early (a signal: it saves and exits 0) is not taken as finished.
  monkeypatch.setattr(sweep, "is_finished", lambda run: False)
  with pytest.raises(sweep.RunFailed, match="seed_0: stopped before step 10 .* run the same command again"):
    sweep.train_unfinished("experiments/ring8.py", [0], ["--config.num_train_steps=10"], str(tmp_path))


def test_text_temperature_sweep_is_kept_for_the_step_it_evaluated(monkeypatch, tmp_path):
  """A finished run's sweep is reused, any subset of its temperatures too; a new temperature is evaluated;
  once the run has moved on (another step) everything is evaluated again."""
  from gan import families, sampling  # pylint: disable=g-import-not-at-top

  class Evaluated(Exception):
    pass

  def evaluate(config):
    raise Evaluated

  step = {"value": 500}
  monkeypatch.setattr(sampling, "load_run",
                      lambda workdir, at=None: (None, None, None, type("S", (), {"step": at or step["value"]})))
  monkeypatch.setattr(families, "get", evaluate)
  kept = [{"temperature": t, "nll_test": t} for t in (0.5, 1.0)]
  (tmp_path / "temperature_sweep.json").write_text(json.dumps({"step": 500, "rows": kept}))
  assert text_quality.temperature_sweep(str(tmp_path), (0.5, 1.0)) == kept
  assert text_quality.temperature_sweep(str(tmp_path), (1.0,)) == kept[1:]
  with pytest.raises(Evaluated):  # another temperature
    text_quality.temperature_sweep(str(tmp_path), (0.5, 0.8))
  step["value"] = 600
  with pytest.raises(Evaluated):  # the run has moved on
    text_quality.temperature_sweep(str(tmp_path), (0.5, 1.0))
  with pytest.raises(Evaluated):  # an earlier checkpoint has its own file
    text_quality.temperature_sweep(str(tmp_path), (0.5, 1.0), step=500)
  (tmp_path / "temperature_sweep_step_500.json").write_text(json.dumps({"step": 500, "rows": kept}))
  assert text_quality.temperature_sweep(str(tmp_path), (0.5, 1.0), step=500) == kept


@pytest.mark.parametrize("gan,mle_steps,kept,expected", [
    ("relgan", 3000, [2000, 3000, 3400], 3000),  # the MLE stage's last checkpoint was kept
    ("relgan", 3000, [3400], None),              # pruned
    ("mle", 3000, [3000], None),                 # no adversarial stage
    ("seqgan", 3400, [3400], None),              # the run never left its MLE stage
])
def test_text_mle_stage_checkpoint(monkeypatch, gan, mle_steps, kept, expected):
  from gan import checkpointing  # pylint: disable=g-import-not-at-top
  config = dict(gan=gan, mle_steps=mle_steps, num_train_steps=3400)

  class Saved:  # a run's checkpoint directory: its config and the steps it kept
    manager = type("M", (), {"all_steps": lambda self: kept})()

    def read_config(self):
      return config, {}
  monkeypatch.setattr(checkpointing, "Checkpointer", lambda *a, **k: Saved())
  assert text_quality.mle_stage_checkpoint("unused") == expected
