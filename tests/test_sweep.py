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
