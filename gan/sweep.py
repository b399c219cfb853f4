"""Sweeps through the real CLI: a grid of config values x seeds, run, resumed, collected and tabulated.

Vocabulary: a *cell* is one point of the grid (e.g. `loss=hinge,n_critic=5`); a *run* is one cell
with one seed, trained by `python -m gan.main` in `SWEEP_DIR/<cell>/seed_<s>`. Beside the CLI's own
outputs, each run directory gets `sweep.log` (the CLI's stdout and stderr) and `sweep_runs.jsonl`
(one line per invocation made through this module: start time, seconds, exit status), whose seconds
add up to the run's wall-clock.

A run is finished when its metrics.jsonl has an eval row at `num_train_steps` and its checkpoint of
that step exists; anything else is (re)started with the same workdir, so the CLI resumes it.
"""
from __future__ import annotations

import csv
import dataclasses
import itertools
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time

from absl import flags
from ml_collections import config_dict, config_flags

from gan import config_validation
from gan.errors import UserError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EVAL_PREFIX = "eval/"


@dataclasses.dataclass(frozen=True)
class Run:
  """One training run of a sweep: a grid cell with one seed."""
  cell: str  # directory name of the grid point, e.g. "loss=hinge,n_critic=5"
  params: tuple  # ((key, value text), ...) of the grid point, in grid order
  seed: int
  workdir: str
  num_train_steps: int

  def overrides(self) -> list[str]:
    """The CLI flags that set this run's seed and grid values."""
    return [f"--config.seed={self.seed}", *(f"--config.{k}={v}" for k, v in self.params)]


def split_values(text: str) -> list[str]:
  """Splits `a,(1,2),b` on the commas outside brackets and quotes: ['a', '(1,2)', 'b']."""
  parts, depth, quote, current = [], 0, None, ""
  for char in text:
    if quote:
      quote = None if char == quote else quote
    elif char in "'\"":
      quote = char
    elif char in "([{":
      depth += 1
    elif char in ")]}":
      depth -= 1
    elif char == "," and depth == 0:
      parts.append(current.strip())
      current = ""
      continue
    current += char
  parts.append(current.strip())
  return parts


def parse_grid(specs: list[str]) -> list[tuple[str, list[str]]]:
  """`['loss=hinge,minimax', 'n_critic=1,5']` -> `[('loss', ['hinge', 'minimax']), ('n_critic', ['1', '5'])]`.

  Values stay text: the CLI parses them by the type of the config field (ints, floats, tuples,
  strings), so a value means exactly what it means on `gan.main`'s command line.
  """
  grid = []
  for spec in specs:
    key, sep, values = spec.partition("=")
    key = key.strip()
    if not sep or not key or not values.strip():
      raise UserError(f"--grid {spec!r}: expected KEY=VALUE1,VALUE2,... e.g. --grid 'loss=hinge,minimax'")
    if key == "seed":
      raise UserError("--grid seed=...: use --seeds, the sweep sets config.seed itself")
    if key in (k for k, _ in grid):
      raise UserError(f"--grid: key {key!r} is given twice")
    values = split_values(values)
    if "" in values or len(set(values)) != len(values):
      raise UserError(f"--grid {spec!r}: values must be non-empty and distinct")
    grid.append((key, values))
  return grid


def cell_name(params) -> str:
  """Directory name of a grid point: `key=value` joined by commas. In values, brackets, quotes and
  spaces are dropped, inner commas become '-' and slashes '_': `hidden=(32,32)` -> `hidden=32-32`,
  `hidden=(32,)` -> `hidden=32`."""
  if not params:
    return "base"
  def clean(value):
    parts = re.sub(r"[()\[\]{}'\" ]", "", value).replace("/", "_").split(",")
    return "-".join(p for p in parts if p)
  return ",".join(f"{k}={clean(v)}" for k, v in params)


def load_config(config_path: str, overrides: list[str]) -> config_dict.ConfigDict:
  """The config `gan.main` would train with `--config=config_path` and these `--config.k=v` overrides."""
  path = config_path.split(":", 1)[0]
  if not os.path.isfile(path):
    raise UserError(f"--config file {path!r} not found")
  def parse(argv):
    values = flags.FlagValues()
    config_flags.DEFINE_config_file("config", None, "experiment config", flag_values=values,
                                    lock_config=True, sys_argv=argv)
    try:
      values(argv)
    except flags.Error as e:  # a value that does not parse as the field's type
      raise UserError(str(e).splitlines()[0]) from None
    except Exception as e:  # pylint: disable=broad-except  (an error inside the config file itself)
      raise UserError(f"could not load --config={config_path}: {type(e).__name__}: {e}") from None
    return values.config
  base = parse(["sweep", f"--config={config_path}"])
  for override in overrides:
    key = override.split("=", 1)[0][len("--config."):]
    node = base
    for part in key.split("."):
      if not isinstance(node, config_dict.ConfigDict) or part not in node:
        raise UserError(f"unknown config key {key!r}: {path} defines no such key")
      node = node[part]
  return parse(["sweep", f"--config={config_path}", *overrides])


def plan(config_path: str, grid: list[tuple[str, list[str]]], seeds: list[int], overrides: list[str],
         sweep_dir: str) -> list[Run]:
  """Every run of the sweep (cells in grid order, seeds inner), each config loaded and validated.

  Raises UserError on the first bad key or value, so nothing runs unless every run can start.
  """
  bad = [o for o in overrides if not re.match(r"--config\.[\w.]+=", o)]
  if bad:
    raise UserError(f"unrecognised arguments: {' '.join(bad)} (fixed overrides look like --config.key=value)")
  fixed = {o.split("=", 1)[0][len("--config."):] for o in overrides}
  both = sorted(fixed & {k for k, _ in grid} | fixed & {"seed"})
  if both:
    raise UserError(f"{both[0]!r} is set both by --config.{both[0]} and by --grid/--seeds")
  cells = [tuple(zip([k for k, _ in grid], values)) for values in itertools.product(*[v for _, v in grid])]
  names = [cell_name(params) for params in cells]
  if len(set(names)) != len(names):
    raise UserError("two grid points map to the same directory name; make the values differ in "
                    "more than brackets, quotes or spaces")
  runs = []
  for name, params in zip(names, cells):
    for seed in seeds:
      run = Run(name, params, seed, os.path.join(os.path.abspath(sweep_dir), name, f"seed_{seed}"), 0)
      config = load_config(config_path, [*overrides, *run.overrides()])
      try:
        config_validation.validate(config)
      except UserError as e:
        raise UserError(f"{name}, seed {seed}: {e}") from None
      runs.append(dataclasses.replace(run, num_train_steps=config.num_train_steps))
  return runs


def final_eval(workdir: str) -> dict | None:
  """The last row of WORKDIR/metrics.jsonl with `eval/*` keys (None when there is none)."""
  last = None
  path = os.path.join(workdir, "metrics.jsonl")
  if os.path.exists(path):
    with open(path) as f:
      for line in f:
        row = json.loads(line)
        if any(k.startswith(EVAL_PREFIX) for k in row):
          last = row
  return last


def is_finished(run: Run) -> bool:
  """Evaluated and checkpointed at num_train_steps."""
  row = final_eval(run.workdir)
  return (row is not None and row["step"] >= run.num_train_steps
          and os.path.isdir(os.path.join(run.workdir, "checkpoints", str(run.num_train_steps))))


def wall_clock(workdir: str) -> float | None:
  """Seconds of all invocations of this run made through `execute` (None when there were none)."""
  path = os.path.join(workdir, "sweep_runs.jsonl")
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return sum(json.loads(line)["seconds"] for line in f)


class RunFailed(UserError):
  """`gan.main` exited non-zero or stopped early; the message names the run (and its log)."""


def execute(config_path: str, workdir: str, overrides: list[str]) -> float:
  """Trains (or resumes) one run: `python -m gan.main --config=... --workdir=WORKDIR OVERRIDES`.

  Output goes to WORKDIR/sweep.log; the invocation is recorded in WORKDIR/sweep_runs.jsonl.
  Returns the wall-clock seconds (startup and compilation included); raises RunFailed. On Ctrl-C
  it waits for the CLI (which saves a checkpoint on SIGINT) before letting KeyboardInterrupt through.
  """
  os.makedirs(workdir, exist_ok=True)
  cmd = [sys.executable, "-m", "gan.main", f"--config={config_path}", f"--workdir={workdir}", *overrides]
  log_path = os.path.join(workdir, "sweep.log")
  started, start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), time.perf_counter()
  with open(log_path, "a") as log:
    log.write(f"$ {' '.join(cmd)}\n")
    log.flush()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    try:
      returncode = proc.wait()
    except KeyboardInterrupt:  # Ctrl-C reached the CLI too: let it save its checkpoint and exit
      proc.wait()
      raise
    finally:
      seconds = time.perf_counter() - start
      with open(os.path.join(workdir, "sweep_runs.jsonl"), "a") as f:
        f.write(json.dumps({"started": started, "seconds": seconds, "returncode": proc.poll()}) + "\n")
  if returncode:
    with open(log_path) as f:
      tail = f.read().splitlines()[-1:]
    raise RunFailed(f"{' '.join(cmd)} exited with status {returncode} ({tail[0] if tail else ''}); "
                    f"log: {log_path}")
  return seconds


def collect(runs: list[Run]) -> list[dict]:
  """One row per finished run: cell, grid values, seed, step, wall_clock_s (or None), eval metrics."""
  rows = []
  for run in runs:
    if is_finished(run):
      row = final_eval(run.workdir)
      rows.append({"cell": run.cell, **dict(run.params), "seed": run.seed, "step": row["step"],
                   "wall_clock_s": wall_clock(run.workdir),
                   **{k: v for k, v in row.items() if k.startswith(EVAL_PREFIX)}})
  return rows


def metric_names(rows: list[dict]) -> list[str]:
  """The eval metrics present in any row, sorted."""
  return sorted({k for row in rows for k in row if k.startswith(EVAL_PREFIX)})


def write_csv(rows: list[dict], path: str) -> None:
  """results.csv: the columns of `collect`'s rows (metrics sorted); empty cells for missing values."""
  columns = list(dict.fromkeys(k for row in rows for k in row if not k.startswith(EVAL_PREFIX)))
  with open(path, "w", newline="") as f:
    writer = csv.DictWriter(f, fieldnames=columns + metric_names(rows), restval="")
    writer.writeheader()
    writer.writerows({k: "" if v is None else v for k, v in row.items()} for row in rows)


def mean_std(values: list[float]) -> tuple[float, float | None]:
  """Mean and sample standard deviation (n-1); the std is None for a single value."""
  return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else None)


def _by_cell(rows: list[dict]) -> dict[str, list[dict]]:
  cells = {}
  for row in rows:
    cells.setdefault(row["cell"], []).append(row)
  return cells


def format_mean_std(values: list) -> str:
  """`mean ± std` with the std to two significant digits and the mean to the same decimal place
  (`0.9781 ± 0.0033`, `370 ± 380`); `.4g` for the mean when the std is 0 or undefined (one value)."""
  values = [v for v in values if v is not None]
  if not values:
    return ""
  mean, std = mean_std(values)
  if not std:
    return f"{mean:.4g}" if std is None else f"{mean:.4g} ± 0"
  digits = 1 - math.floor(math.log10(std))  # decimal place of the std's second significant digit
  return f"{round(mean, digits):.{max(0, digits)}f} ± {round(std, digits):.{max(0, digits)}f}"


def markdown_table(rows: list[dict], grid_keys: list[str]) -> str:
  """One line per cell: grid values, number of runs, step, then mean ± sample std over seeds of
  wall-clock and of every eval metric (`format_mean_std`)."""
  metrics = metric_names(rows)
  header = [*grid_keys, "runs", "step", "wall-clock (s)", *(m[len(EVAL_PREFIX):] for m in metrics)]
  lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
  for cell_rows in _by_cell(rows).values():
    steps = sorted({r["step"] for r in cell_rows})
    cells = [*(cell_rows[0][k] for k in grid_keys), str(len(cell_rows)), "/".join(map(str, steps)),
             format_mean_std([r["wall_clock_s"] for r in cell_rows]),
             *(format_mean_std([r.get(m) for r in cell_rows]) for m in metrics)]
    lines.append("| " + " | ".join(cells) + " |")
  return "\n".join(lines)


def plot(rows: list[dict], path: str) -> None:
  """PNG with one panel per eval metric: a bar per cell (mean over seeds), error bar = sample std."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  metrics, cells = metric_names(rows), _by_cell(rows)
  ncols = min(3, len(metrics))
  nrows = -(-len(metrics) // ncols)
  fig, axes = plt.subplots(nrows, ncols, figsize=(1.2 + 0.6 * len(cells) * ncols + 2 * ncols, 4 * nrows),
                           squeeze=False)
  for ax, metric in zip(axes.flat, metrics):
    stats = [mean_std([r[metric] for r in cell_rows if metric in r]) for cell_rows in cells.values()]
    ax.bar(range(len(cells)), [m for m, _ in stats], yerr=[s or 0.0 for _, s in stats], capsize=4,
           color="tab:blue")
    ax.set_xticks(range(len(cells)), list(cells), rotation=45, ha="right", fontsize=8)
    ax.set_title(metric[len(EVAL_PREFIX):])
  for ax in axes.flat[len(metrics):]:
    ax.axis("off")
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)


def write_results(runs: list[Run], grid_keys: list[str], sweep_dir: str) -> tuple[str, list[Run]]:
  """Writes results.csv, results.md and results.png (when any run finished) into SWEEP_DIR.

  Returns the Markdown table and the runs that are not finished yet.
  """
  rows = collect(runs)
  done = {(r["cell"], r["seed"]) for r in rows}
  missing = [run for run in runs if (run.cell, run.seed) not in done]
  table = markdown_table(rows, grid_keys)
  if rows:
    write_csv(rows, os.path.join(sweep_dir, "results.csv"))
    with open(os.path.join(sweep_dir, "results.md"), "w") as f:
      f.write(table + "\n")
    if metric_names(rows):
      plot(rows, os.path.join(sweep_dir, "results.png"))
  return table, missing
