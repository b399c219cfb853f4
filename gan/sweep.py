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
  from gan import config_validation  # pylint: disable=g-import-not-at-top  (imports JAX: not for re-plotting)
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


def train_unfinished(config_path: str, seeds: list[int], overrides: list[str], sweep_dir: str) -> list[Run]:
  """The runs of one config over `seeds` (no grid), each trained or resumed unless it is finished: what the
  benchmark scripts (scripts/benchmarks/) do before they tabulate `collect(runs)`."""
  runs = plan(config_path, [], seeds, overrides, sweep_dir)
  for run in runs:
    if not is_finished(run):
      execute(config_path, run.workdir, [*overrides, *run.overrides()])
      if not is_finished(run):  # the CLI saved and exited 0 on a signal: the run is not finished
        raise RunFailed(f"{run.workdir}: stopped before step {run.num_train_steps} (interrupted?); run the "
                        "same command again to resume it")
  return runs


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


# What the sweep plot shows: the primary metric (the first of these that the rows have, as in
# gan/evaluation.py's defaults), then headline metrics in this order, 4 panels at most. Every metric
# stays in results.csv and results.md.
PRIMARY_METRICS = ("reverse_kl", "digits_fd", "inception_fd")
HEADLINE_METRICS = ("modes_covered", "high_quality_fraction", "digits_cond_accuracy_min", "digits_is",
                    "digits_precision", "digits_recall", "inception_is", "inception_precision",
                    "inception_recall")
MAX_PANELS = 4
_LOWER_IS_BETTER = ("fd", "kid", "reverse_kl", "max_class_share", "l1")
# Short names of grid keys in plot labels; None: the value alone (`hinge`, `bfloat16`). Other keys:
# their last part, with G/D for the players' keys (`D width 32`).
SHORT_KEYS = {"loss": None, "model.compute_dtype": None, "augment.kind": None,
              "model.discriminator.spectral_norm": "SN", "model.generator.spectral_norm": "G SN",
              "regularizers.r1.weight": "R1", "regularizers.r2.weight": "R2",
              "regularizers.wgan_gp.weight": "GP", "regularizers.dragan.weight": "DRAGAN",
              "regularizers.orthogonal.weight": "ortho", "ema.decay": "EMA", "batch_size": "batch"}


def lower_is_better(metric: str) -> bool:
  """Whether a smaller value of this eval metric is better (distances, KID, reverse KL, L1)."""
  name = metric[len(EVAL_PREFIX):] if metric.startswith(EVAL_PREFIX) else metric
  return name.split("_")[-1] in _LOWER_IS_BETTER or name.endswith(_LOWER_IS_BETTER)


def headline_metrics(metrics: list[str], limit: int = MAX_PANELS) -> list[str]:
  """Up to `limit` of `metrics` (`eval/...` names) for the plot: the primary metric first
  (`PRIMARY_METRICS`, else the first `*_fd`), then `HEADLINE_METRICS` in order, then the
  translation families' label preservation and FD; the first `limit` sorted names when none is known."""
  names = [m[len(EVAL_PREFIX):] for m in metrics]
  primary = [p for p in PRIMARY_METRICS if p in names] or [n for n in names if n.endswith("_fd")]
  order = [*primary[:1], *HEADLINE_METRICS, *(n for n in names if n.endswith("_label_preservation")),
           *(n for n in names if n.endswith("_fd"))]
  chosen = list(dict.fromkeys(n for n in order if n in names))[:limit]
  return [EVAL_PREFIX + n for n in (chosen or sorted(names)[:limit])]


def short_label(key: str, value: str) -> str:
  """A grid value as a plot label: `hinge`, `R1 1`, `no R1` (a weight of 0), `SN` / `no SN` (booleans),
  `D width 32`."""
  value = re.sub(r"[\'\"]", "", str(value)).strip()
  if key in SHORT_KEYS:
    name = SHORT_KEYS[key]
  else:
    parts = key.split(".")
    player = {"generator": "G ", "discriminator": "D ", "g": "G ", "d": "D "}.get(parts[-2] if len(parts) > 1 else "", "")
    name = player + (parts[-2] if parts[-1] == "weight" and len(parts) > 1 else parts[-1])
  if value in ("True", "False") and name:
    return name if value == "True" else f"no {name}"
  if key.endswith(".weight") and name and _is_zero(value):
    return f"no {name}"  # a regularizer at weight 0 is off
  return value if name is None else f"{name} {value}"


def _is_zero(text: str) -> bool:
  try:
    return float(text) == 0
  except ValueError:
    return False


def cell_labels(cells: list[dict], grid_keys: list[str]) -> list[str]:
  """One short label per cell (a dict of grid key -> value text): only the keys whose value differs
  between cells, joined by ' · ' (`hinge · R1 1 · SN`); `cell` (its directory name) when none does."""
  varying = [k for k in grid_keys if len({str(c.get(k)) for c in cells}) > 1]
  if not varying:
    return [str(c.get("cell", "base")) for c in cells]
  return [" · ".join(short_label(k, c[k]) for k in varying) for c in cells]


@dataclasses.dataclass
class CellSummary:
  """One grid cell for the plot: its grid values, and per metric the mean, std and single values."""
  params: dict
  mean: dict
  std: dict
  values: dict  # metric -> per-run values (empty when only the summary is known, e.g. from results.md)


def summarize(rows: list[dict]) -> list[CellSummary]:
  """Per cell (in first-seen order): mean, sample std and the per-run values of every eval metric."""
  out = []
  for cell, cell_rows in _by_cell(rows).items():
    values = {m: [r[m] for r in cell_rows if r.get(m) is not None] for m in metric_names(cell_rows)}
    stats = {m: mean_std(v) for m, v in values.items() if v}
    out.append(CellSummary({"cell": cell, **{k: v for k, v in cell_rows[0].items() if k != "cell"}},
                           {m: s[0] for m, s in stats.items()}, {m: s[1] for m, s in stats.items()}, values))
  return out


def read_csv(path: str) -> tuple[list[dict], list[str]]:
  """results.csv (`write_csv`) -> (rows as `collect` makes them: numbers for metrics, seed, step and
  wall-clock, text for grid values; grid keys: the columns between `cell` and `seed`)."""
  with open(path, newline="") as f:
    reader = csv.DictReader(f)
    columns = reader.fieldnames or []
    if "cell" not in columns or "seed" not in columns:
      raise UserError(f"{path} is not a sweep's results.csv (no 'cell' and 'seed' columns)")
    grid_keys = columns[columns.index("cell") + 1:columns.index("seed")]
    numbers = {"seed": int, "step": int, "wall_clock_s": float}
    rows = [{k: (float(v) if k.startswith(EVAL_PREFIX) else numbers.get(k, str)(v)) for k, v in row.items()
             if v != ""} for row in reader]
  for row in rows:
    row.setdefault("wall_clock_s", None)
  return rows, grid_keys


def read_markdown(path: str) -> tuple[list[CellSummary], list[str]]:
  """results.md (`markdown_table`; text around the table is skipped) -> (cell summaries, grid keys:
  the columns before `runs`); `mean ± std` or `mean` cells."""
  with open(path) as f:
    lines = [line.strip() for line in f if line.strip().startswith("|")]
  table = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
  if len(table) < 3 or "runs" not in table[0]:
    raise UserError(f"{path} holds no sweep results table (a header with a 'runs' column)")
  header = table[0]
  grid_keys = header[:header.index("runs")]
  metrics = header[header.index("wall-clock (s)") + 1:] if "wall-clock (s)" in header else []
  cells = []
  for row in table[2:]:
    params = dict(zip(header, row))
    mean, std = {}, {}
    for name in metrics:
      text = params.get(name, "")
      if text:
        m, _, s = text.partition(" ± ")
        mean[EVAL_PREFIX + name], std[EVAL_PREFIX + name] = float(m), (float(s) if s else None)
    cells.append(CellSummary({"cell": ",".join(f"{k}={params[k]}" for k in grid_keys),
                              **{k: params[k] for k in grid_keys}, "runs": params["runs"]}, mean, std, {}))
  return cells, grid_keys


def plot_cells(cells: list[CellSummary], grid_keys: list[str], path: str, metrics: list[str] | None = None) -> str:
  """The sweep's figure: horizontal bars per cell (mean over seeds, ± sample std, a dot per seed when
  known) for the headline metrics (`headline_metrics`, or `metrics`), one panel each, cells sorted by
  the first metric, best on top; labels show only the grid keys that vary (`cell_labels`)."""
  present = sorted({m for c in cells for m in c.mean})
  metrics = [m if m.startswith(EVAL_PREFIX) else EVAL_PREFIX + m for m in metrics] if metrics else headline_metrics(present)
  unknown = [m for m in metrics if m not in present]
  if unknown:
    raise UserError(f"no such metric in the results: {', '.join(m[len(EVAL_PREFIX):] for m in unknown)} (have: "
                    f"{', '.join(m[len(EVAL_PREFIX):] for m in present)})")
  if not metrics or not cells:
    raise UserError("no finished runs with eval metrics to plot")
  primary = metrics[0]
  sign = 1.0 if lower_is_better(primary) else -1.0
  cells = sorted(cells, key=lambda c: sign * c.mean.get(primary, math.inf * sign))
  labels = cell_labels([c.params for c in cells], grid_keys)
  panels = [{"title": m[len(EVAL_PREFIX):], "lower_is_better": lower_is_better(m),
             "mean": [c.mean.get(m, math.nan) for c in cells], "std": [c.std.get(m) for c in cells],
             "points": [c.values.get(m, []) for c in cells]} for m in metrics]
  runs = sorted({len(v) for c in cells for v in c.values.values()}
                or {int(c.params["runs"]) for c in cells if str(c.params.get("runs", "")).isdigit()})
  seeds = f"{'/'.join(map(str, runs))} seeds" if runs else "seeds"
  dots = any(c.values for c in cells)
  note = (f"bar: mean over {seeds}; line: ± sample std" + ("; dots: single runs" if dots else "")
          + f"; sorted by {primary[len(EVAL_PREFIX):]}, best on top")
  from gan import plotting  # pylint: disable=g-import-not-at-top
  return plotting.save_bar_panels(labels, panels, path, note=note)


def plot(rows: list[dict], path: str, grid_keys: list[str] | None = None, metrics: list[str] | None = None) -> str:
  """results.png from `collect`'s rows (see `plot_cells`); grid keys default to the rows' own."""
  if grid_keys is None:
    fixed = {"cell", "seed", "step", "wall_clock_s"}
    grid_keys = list(dict.fromkeys(k for r in rows for k in r if k not in fixed and not k.startswith(EVAL_PREFIX)))
  return plot_cells(summarize(rows), grid_keys, path, metrics)


def replot(results: str, output: str | None = None, metrics: list[str] | None = None) -> str:
  """Redraws a sweep's figure from its results.csv (per run: dots per seed) or results.md (per cell)
  without training anything; writes `output` (default: `results` with .png) and returns its path."""
  if not os.path.isfile(results):
    raise UserError(f"{results!r} not found (expected a sweep's results.csv or results.md)")
  output = output or os.path.splitext(results)[0] + ".png"
  if results.endswith(".csv"):
    rows, grid_keys = read_csv(results)
    return plot_cells(summarize(rows), grid_keys, output, metrics)
  if results.endswith(".md"):
    cells, grid_keys = read_markdown(results)
    return plot_cells(cells, grid_keys, output, metrics)
  raise UserError(f"{results!r}: expected a .csv or .md file of sweep results")


def write_results(runs: list[Run], grid_keys: list[str], sweep_dir: str,
                  plot_metrics: list[str] | None = None) -> tuple[str, list[Run]]:
  """Writes results.csv, results.md and results.png (when any run finished) into SWEEP_DIR; the plot
  shows `plot_metrics` (default: `headline_metrics`).

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
      plot(rows, os.path.join(sweep_dir, "results.png"), grid_keys, plot_metrics)
  return table, missing
