"""The sweep runner: grid parsing and naming, validation before any run, collection, tables, resume."""
import csv
import importlib.util
import math
import os
import re

import numpy as np
import pytest

from gan import sweep
from gan.errors import UserError
from tests.test_cli import ROOT, TINY_RING, read_jsonl, run_script

SCRIPT = os.path.join(ROOT, "scripts", "sweep.py")
TINY = [a for a in TINY_RING if not a.startswith("--config=")]  # constant learning rates: steps may grow


def sweep_args(workdir, *args, steps=20):
  return ["--config=experiments/ring8.py", f"--workdir={workdir}", "--grid", "loss=hinge,non_saturating",
          "--seeds=2", *TINY, f"--config.num_train_steps={steps}", *args]


def sweep_cli(workdir, *args, steps=20):
  """scripts/sweep.py in a subprocess (for the runs that train). The timeout only catches hangs: four
  tiny runs take ~40 s on an idle 2-core machine but over 10 minutes when it is heavily shared."""
  return run_script(SCRIPT, *sweep_args(workdir, *args, steps=steps), timeout=1200)


def sweep_main(workdir, *args, capsys):
  """scripts/sweep.py's main() in this process (cheaper, for the calls that train nothing)."""
  spec = importlib.util.spec_from_file_location("sweep_script", SCRIPT)
  script = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(script)
  returncode = script.main(sweep_args(workdir, *args))
  return returncode, *capsys.readouterr()


def test_grid_values_split_outside_brackets_and_stay_text():
  assert sweep.parse_grid(["loss=hinge,minimax", "model.generator.hidden=(16,16),(32,)", "optim.g.lr=1e-3"]) == [
      ("loss", ["hinge", "minimax"]), ("model.generator.hidden", ["(16,16)", "(32,)"]), ("optim.g.lr", ["1e-3"])]
  assert sweep.split_values("'a,b',[1, 2],c") == ["'a,b'", "[1, 2]", "c"]


@pytest.mark.parametrize("spec,message", [("loss", "expected KEY=VALUE"), ("loss=", "expected KEY=VALUE"),
                                          ("loss=hinge,,minimax", "non-empty and distinct"),
                                          ("loss=hinge,hinge", "non-empty and distinct"),
                                          ("seed=1,2", "use --seeds")])
def test_malformed_grid_is_refused(spec, message):
  with pytest.raises(UserError, match=message):
    sweep.parse_grid([spec])


def test_plan_is_the_grid_product_times_seeds_with_values_parsed_like_the_cli(tmp_path):
  grid = sweep.parse_grid(["loss=hinge,minimax", "model.generator.hidden=(16,16),(32,)"])
  runs = sweep.plan("experiments/ring8.py", grid, [0, 1], ["--config.num_train_steps=7"], str(tmp_path))
  assert [(r.cell, r.seed) for r in runs] == [
      (cell, seed) for cell in ("loss=hinge,model.generator.hidden=16-16", "loss=hinge,model.generator.hidden=32",
                                "loss=minimax,model.generator.hidden=16-16", "loss=minimax,model.generator.hidden=32")
      for seed in (0, 1)]
  assert runs[3].workdir == str(tmp_path / "loss=hinge,model.generator.hidden=32" / "seed_1")
  assert all(r.num_train_steps == 7 for r in runs)
  config = sweep.load_config("experiments/ring8.py", ["--config.num_train_steps=7", *runs[3].overrides()])
  assert (config.seed, config.loss, config.model.generator.hidden) == (1, "hinge", (32,))
  assert not os.listdir(tmp_path)  # planning writes nothing


@pytest.mark.parametrize("grid,overrides,message", [
    (["lossx=hinge"], [], "unknown config key 'lossx'"),
    (["optim.g.lrx=1"], [], "unknown config key 'optim.g.lrx'"),
    (["n_critic=1,x"], [], "invalid literal for int"),
    (["loss=hinge"], ["--config.loss=minimax"], "set both"),
    (["model.generator.hidden=(8,8),[8,8]"], [], "same directory name")])
def test_bad_grid_key_or_value_is_refused_while_planning(tmp_path, grid, overrides, message):
  with pytest.raises(UserError, match=re.escape(message)):
    sweep.plan("experiments/ring8.py", sweep.parse_grid(grid), [0], overrides, str(tmp_path))


def test_bad_value_in_a_later_cell_fails_in_one_line_before_anything_runs(tmp_path):
  result = run_script(SCRIPT, "--config=experiments/ring8.py", f"--workdir={tmp_path / 's'}", "--grid",
                      "loss=hinge,foo", "--seeds=2")
  assert result.returncode == 2
  lines = result.stderr.splitlines()
  assert len(lines) == 1 and lines[0].startswith("error: loss=foo, seed 0: config.loss='foo' is not valid")
  assert not (tmp_path / "s").exists()


def parse_table(path):
  """results.md -> {cell value: {column: cell text}}."""
  with open(path) as f:
    lines = [[c.strip() for c in line.strip().strip("|").split("|")] for line in f]
  header = lines[0]
  return {row[0]: dict(zip(header, row)) for row in lines[2:]}


def assert_mean_std(text, values):
  """`text` ("mean ± std") matches numpy's mean and sample std of `values` to its printed precision."""
  mean, std = text.split(" ± ")
  if std == "0":
    assert np.std(values) == 0 and float(mean) == pytest.approx(values[0], rel=5e-4)
  else:
    half_digit = 0.5 * 10 ** (math.floor(math.log10(float(std))) - 1)  # of the std's 2nd digit
    assert float(mean) == pytest.approx(np.mean(values), abs=half_digit * 1.01)
    assert float(std) == pytest.approx(np.std(values, ddof=1), abs=half_digit * 1.01)


def test_mean_std_is_printed_to_the_precision_of_the_std():
  assert sweep.format_mean_std([0.975, 0.9817, 0.9771]) == "0.9779 ± 0.0034"
  assert sweep.format_mean_std([100.0, 640.0, None]) == "370 ± 380"
  assert sweep.format_mean_std([8.0, 8.0]) == "8 ± 0"
  assert sweep.format_mean_std([0.5]) == "0.5"
  assert sweep.format_mean_std([None]) == ""


def snapshot(root):
  """{path: mtime} of every file under the run directories."""
  return {os.path.join(d, f): os.stat(os.path.join(d, f)).st_mtime_ns
          for d, _, files in os.walk(root) for f in files if "seed_" in d}


def test_sweep_resumes_collects_tabulates_and_skips_finished_runs(tmp_path, capsys):
  # Run 0 alone, to step 10: a half-finished run for the full sweep (to step 20) to resume.
  first = sweep_cli(tmp_path, "--run=0", steps=10)
  assert first.returncode == 0, first.stderr[-3000:]
  assert not (tmp_path / "results.csv").exists()
  full = sweep_cli(tmp_path)
  assert full.returncode == 0, full.stderr[-3000:]

  cells = {"loss=hinge": "hinge", "loss=non_saturating": "non_saturating"}
  finals = {(cell, seed): [r for r in read_jsonl(tmp_path / cell / f"seed_{seed}" / "metrics.jsonl")
                           if "eval/modes_covered" in r][-1] for cell in cells for seed in (0, 1)}
  resumed = read_jsonl(tmp_path / "loss=hinge" / "seed_0" / "metrics.jsonl")
  assert [r["step"] for r in resumed if "eval/modes_covered" in r] == [10, 20]  # continued, not restarted
  assert len(read_jsonl(tmp_path / "loss=hinge" / "seed_0" / "sweep_runs.jsonl")) == 2

  # results.csv: one row per run with the final eval row's numbers and the summed wall-clock.
  with open(tmp_path / "results.csv") as f:
    rows = list(csv.DictReader(f))
  assert [(r["cell"], r["loss"], int(r["seed"])) for r in rows] == [
      (cell, loss, seed) for cell, loss in cells.items() for seed in (0, 1)]
  metrics = sorted(k for k in finals["loss=hinge", 0] if k.startswith("eval/"))
  for row in rows:
    final = finals[row["cell"], int(row["seed"])]
    assert int(row["step"]) == final["step"] == 20
    assert {m: float(row[m]) for m in metrics} == {m: final[m] for m in metrics}
    invocations = read_jsonl(tmp_path / row["cell"] / f"seed_{row['seed']}" / "sweep_runs.jsonl")
    assert float(row["wall_clock_s"]) == pytest.approx(sum(i["seconds"] for i in invocations))

  # results.md: mean ± sample std over the two seeds, as computed by hand from metrics.jsonl.
  table = parse_table(tmp_path / "results.md")
  assert list(table) == list(cells.values())
  for cell, loss in cells.items():
    assert table[loss]["runs"] == "2" and table[loss]["step"] == "20"
    for m in metrics:
      assert_mean_std(table[loss][m[len("eval/"):]], [finals[cell, seed][m] for seed in (0, 1)])
  with open(tmp_path / "results.png", "rb") as f:
    assert f.read(8) == b"\x89PNG\r\n\x1a\n"

  # Rerunning trains nothing: no file of any run changes; the tables come out the same.
  before, csv_before = snapshot(tmp_path), (tmp_path / "results.csv").read_text()
  returncode, _, stderr = sweep_main(tmp_path, capsys=capsys)
  assert returncode == 0 and stderr.count("finished already, skipped") == 4
  assert snapshot(tmp_path) == before
  assert (tmp_path / "results.csv").read_text() == csv_before

  # --list gives one command per run; --only_collect rebuilds the results without training.
  returncode, stdout, _ = sweep_main(tmp_path, "--list", capsys=capsys)
  commands = stdout.splitlines()
  assert returncode == 0 and len(commands) == 4
  assert all(c.endswith(f"--run={i}") and f"--workdir={tmp_path}" in c for i, c in enumerate(commands))
  os.remove(tmp_path / "results.csv")
  returncode, _, _ = sweep_main(tmp_path, "--only_collect", capsys=capsys)
  assert returncode == 0 and snapshot(tmp_path) == before
  assert (tmp_path / "results.csv").read_text() == csv_before


def test_plot_labels_show_only_the_grid_values_that_vary():
  assert sweep.short_label("loss", "hinge") == "hinge"
  assert sweep.short_label("regularizers.r1.weight", "1") == "R1 1"
  assert sweep.short_label("regularizers.r1.weight", "0.0") == "no R1"
  assert sweep.short_label("model.discriminator.spectral_norm", "True") == "SN"
  assert sweep.short_label("model.discriminator.spectral_norm", "False") == "no SN"
  assert sweep.short_label("model.discriminator.width", "32") == "D width 32"
  assert sweep.short_label("optim.g.lr", "1e-3") == "G lr 1e-3"
  cells = [{"cell": "a", "loss": "hinge", "n_critic": "5", "regularizers.r1.weight": "1"},
           {"cell": "b", "loss": "minimax", "n_critic": "5", "regularizers.r1.weight": "0"}]
  assert sweep.cell_labels(cells, ["loss", "n_critic", "regularizers.r1.weight"]) == ["hinge · R1 1", "minimax · no R1"]
  assert sweep.cell_labels(cells[:1], ["loss"]) == ["a"]  # nothing varies: the cell's name


def test_headline_metrics_put_the_primary_metric_first():
  toy = ["eval/high_quality_fraction", "eval/modes_covered", "eval/num_modes", "eval/reverse_kl"]
  assert sweep.headline_metrics(toy) == ["eval/reverse_kl", "eval/modes_covered", "eval/high_quality_fraction"]
  digits = [f"eval/digits_{m}" for m in ("class_entropy", "coverage", "fd", "is", "kid", "precision", "recall")]
  assert sweep.headline_metrics(digits) == ["eval/digits_fd", "eval/digits_is", "eval/digits_precision",
                                            "eval/digits_recall"]
  assert sweep.headline_metrics(["eval/b", "eval/a"]) == ["eval/a", "eval/b"]
  assert [sweep.lower_is_better(m) for m in ("eval/digits_fd", "eval/reverse_kl", "eval/AtoB_cycle_l1",
                                              "eval/digits_kid", "eval/digits_is", "eval/modes_covered")] == [
                                                  True, True, True, True, False, False]


def write_rows(path, rows):
  sweep.write_csv(rows, str(path))
  return sweep.read_csv(str(path))


def test_results_csv_and_markdown_read_back_for_the_plot(tmp_path):
  rows = [{"cell": f"loss={loss}", "loss": loss, "seed": seed, "step": 20, "wall_clock_s": 1.0,
           "eval/reverse_kl": value, "eval/modes_covered": 8.0}
          for loss, values in (("hinge", (0.5, 0.7)), ("minimax", (0.1, 0.2))) for seed, value in enumerate(values)]
  read, grid_keys = write_rows(tmp_path / "results.csv", rows)
  assert grid_keys == ["loss"] and [r["eval/reverse_kl"] for r in read] == [0.5, 0.7, 0.1, 0.2]
  cells = sweep.summarize(read)
  assert [c.params["loss"] for c in cells] == ["hinge", "minimax"]
  assert cells[0].mean["eval/reverse_kl"] == pytest.approx(0.6)
  assert cells[0].std["eval/reverse_kl"] == pytest.approx(np.std([0.5, 0.7], ddof=1))
  assert cells[1].values["eval/reverse_kl"] == [0.1, 0.2]
  (tmp_path / "results.md").write_text("# a title\n\nsome text\n\n" + sweep.markdown_table(read, grid_keys) + "\n")
  md_cells, md_keys = sweep.read_markdown(str(tmp_path / "results.md"))
  assert md_keys == ["loss"] and md_cells[1].params["loss"] == "minimax"
  assert md_cells[1].mean["eval/reverse_kl"] == pytest.approx(0.15, abs=0.006)  # as printed: 0.150 ± 0.071
  assert md_cells[1].std["eval/reverse_kl"] == pytest.approx(0.071)


def test_plot_only_redraws_from_the_csv_without_training(tmp_path, capsys):
  rows = [{"cell": f"loss={loss},regularizers.r1.weight={r1}", "loss": loss, "regularizers.r1.weight": r1,
           "seed": seed, "step": 20, "wall_clock_s": None, "eval/digits_fd": fd + seed, "eval/digits_is": 7.5,
           "eval/digits_precision": 0.3, "eval/digits_recall": 0.7, "eval/digits_kid": 1.0}
          for loss, r1, fd in (("hinge", 0, 40.0), ("hinge", 1, 30.0)) for seed in range(3)]
  write_rows(tmp_path / "ablation.csv", rows)
  spec = importlib.util.spec_from_file_location("sweep_script", SCRIPT)
  script = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(script)
  assert script.main([f"--plot_only={tmp_path / 'ablation.csv'}"]) == 0
  assert capsys.readouterr().out.strip() == f"wrote {tmp_path / 'ablation.png'}"
  from PIL import Image  # pylint: disable=g-import-not-at-top
  with Image.open(tmp_path / "ablation.png") as image:
    assert image.size == (1000, 220)  # 1.3 in + 0.3 in per cell (2) + 0.3 in for the note, at 100 dpi
  assert script.main([f"--plot_only={tmp_path / 'ablation.csv'}", "--plot_metrics=digits_fd,nope",
                      f"--output={tmp_path / 'x.png'}"]) == 2
  err = capsys.readouterr().err.strip()
  assert err.startswith("error: no such metric in the results: nope") and "\n" not in err
  assert script.main([f"--plot_only={tmp_path / 'missing.csv'}"]) == 2
  with pytest.raises(SystemExit) as exit_info:
    script.main([f"--plot_only={tmp_path / 'ablation.csv'}", "--config=experiments/ring8.py"])
  assert exit_info.value.code == 2


def test_plot_sorts_cells_by_the_primary_metric_and_draws_the_headlines(tmp_path, monkeypatch):
  from gan import plotting  # pylint: disable=g-import-not-at-top
  drawn = {}
  monkeypatch.setattr(plotting, "save_bar_panels",
                      lambda labels, panels, path, note: drawn.update(labels=labels, panels=panels, note=note))
  rows = [{"cell": str(fd), "loss": loss, "model.discriminator.spectral_norm": sn, "seed": seed,
           "eval/digits_fd": fd + seed, "eval/digits_is": 7.0, "eval/digits_precision": 0.3,
           "eval/digits_recall": 0.7, "eval/digits_kid": 1.0, "eval/digits_coverage": 0.3}
          for loss, sn, fd in (("hinge", "True", 40.0), ("minimax", "True", 30.0), ("hinge", "False", 35.0))
          for seed in range(2)]
  sweep.plot(rows, str(tmp_path / "p.png"), ["loss", "model.discriminator.spectral_norm"])
  assert drawn["labels"] == ["minimax · SN", "hinge · no SN", "hinge · SN"]  # digits_fd, lower first
  assert [p["title"] for p in drawn["panels"]] == ["digits_fd", "digits_is", "digits_precision", "digits_recall"]
  assert drawn["panels"][0]["mean"] == [30.5, 35.5, 40.5] and drawn["panels"][0]["lower_is_better"]
  assert drawn["panels"][0]["points"] == [[30.0, 31.0], [35.0, 36.0], [40.0, 41.0]]
  assert "mean over 2 seeds" in drawn["note"] and "sorted by digits_fd" in drawn["note"]
