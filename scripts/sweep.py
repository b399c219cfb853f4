"""Sweep: trains every grid cell x seed through `python -m gan.main`, then tabulates the final eval metrics.

  python scripts/sweep.py --config=experiments/X.py[:ARG] --workdir=DIR \
      [--grid 'loss=hinge,non_saturating' --grid 'n_critic=1,5' ...] [--seeds=3] [--config.key=value ...]
      [--list | --run=I | --only_collect] [--plot_metrics=a,b,c]
  python scripts/sweep.py --plot_only=RESULTS.csv|RESULTS.md [--output=FILE.png] [--plot_metrics=a,b,c]

Every run (grid point x seed 0..N-1) trains in DIR/<cell>/seed_<s>, e.g. DIR/loss=hinge,n_critic=5/seed_0,
with `--config.seed=s --config.<key>=<value> ...` after the fixed `--config.key=value` overrides. Grid
values are split on commas outside brackets and parsed by the CLI like any override (ints, floats,
tuples such as `model.generator.hidden=(64,64),(128,128)`, strings). Before anything runs, every run's
config is loaded and validated; an unknown key or a bad value prints one `error:` line and exits 2.

Modes:
- default: runs all runs one after the other here, then collects. A finished run (evaluated and
  checkpointed at num_train_steps) is skipped; an unfinished one is restarted in its workdir, where the
  CLI resumes it from its last checkpoint. So rerunning the same command continues a half-done sweep.
- `--list`: prints one command per run (index order), each the same command plus `--run=I`; nothing
  runs. Cluster use: submit line I as job I (e.g. a SLURM array job running
  `$(sed -n "$((SLURM_ARRAY_TASK_ID+1))p" cmds.txt)`), then `--only_collect` once all have ended.
- `--run=I`: trains (or resumes, or skips if finished) run I of the list only; no collection.
- `--only_collect`: runs nothing; collects whatever runs are finished.
- `--plot_only=FILE`: trains and collects nothing; redraws the figure from a sweep's results.csv (dots
  for single runs) or results.md (means and stds only) into `--output` (default: FILE with .png).

Collection writes DIR/results.csv (one row per finished run: cell, grid keys, seed, step,
wall_clock_s = seconds of the invocations made through this script, every final eval metric),
DIR/results.md (per cell: mean ± sample std over seeds; also printed) and DIR/results.png (a panel
per headline metric, at most 4: the primary metric first, then e.g. modes/HQ or IS/precision/recall,
or those named by --plot_metrics; a horizontal bar per cell, mean ± sample std and a dot per seed,
cells sorted by the first metric, best on top, labelled by the grid values that vary, e.g.
`hinge · R1 1 · SN`). Unfinished runs are listed on stderr.
Logs of each run: DIR/<cell>/seed_<s>/sweep.log. Exit status: 0; 1 if a run failed or stopped early; 2 on bad input; 130 on Ctrl-C (the
running CLI saves a checkpoint first; rerun to resume).
"""
from __future__ import annotations

import argparse
import os
import shlex
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from gan import sweep  # noqa: E402
from gan.errors import UserError  # noqa: E402


class _Parser(argparse.ArgumentParser):
  def error(self, message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def parse_args(argv):
  parser = _Parser(description=__doc__.split("\n")[0])
  parser.add_argument("--config", help="experiment config file, as for gan.main")
  parser.add_argument("--workdir", help="sweep directory")
  parser.add_argument("--grid", action="append", default=[], help="KEY=VALUE1,VALUE2,... (repeatable)")
  parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 per cell")
  mode = parser.add_mutually_exclusive_group()
  mode.add_argument("--list", action="store_true", help="print one command per run and exit")
  mode.add_argument("--run", type=int, default=None, help="train only run I of --list")
  mode.add_argument("--only_collect", action="store_true", help="run nothing, collect results")
  mode.add_argument("--plot_only", metavar="RESULTS", help="redraw the figure from results.csv or .md")
  parser.add_argument("--output", help="with --plot_only: the PNG to write (default: RESULTS with .png)")
  parser.add_argument("--plot_metrics", default="", help="comma-separated eval metrics to plot (max 4)")
  args, overrides = parser.parse_known_args(argv)
  if args.plot_only is None and not (args.config and args.workdir):
    parser.error("--config and --workdir are required (or --plot_only=RESULTS.csv)")
  if args.plot_only is not None and (args.config or args.workdir or args.grid or overrides):
    parser.error("--plot_only takes only --output and --plot_metrics")
  if args.output and args.plot_only is None:
    parser.error("--output goes with --plot_only")
  if args.seeds < 1:
    parser.error(f"--seeds={args.seeds} must be >= 1")
  return args, overrides


def run_command(args, overrides, index: int) -> str:
  """The shell command that trains run `index` alone (absolute paths: it may run on another node)."""
  cmd = [sys.executable, os.path.abspath(__file__), f"--config={os.path.abspath(args.config)}",
         f"--workdir={os.path.abspath(args.workdir)}", *(f"--grid={g}" for g in args.grid),
         f"--seeds={args.seeds}", *overrides, f"--run={index}"]
  return shlex.join(cmd)


def train(runs, indices, config_path, overrides) -> None:
  for i in indices:
    run = runs[i]
    name = f"[{i + 1}/{len(runs)}] {run.cell} seed {run.seed}"
    if sweep.is_finished(run):
      print(f"{name}: finished already, skipped", file=sys.stderr, flush=True)
      continue
    print(f"{name}: training in {run.workdir}", file=sys.stderr, flush=True)
    seconds = sweep.execute(config_path, run.workdir, [*overrides, *run.overrides()])
    if not sweep.is_finished(run):  # the CLI exits 0 when stopped by a signal, after saving
      raise sweep.RunFailed(f"{name} stopped before step {run.num_train_steps}; rerun to resume")
    row = sweep.final_eval(run.workdir)
    shown = " ".join(f"{k[len(sweep.EVAL_PREFIX):]}={v:.4g}" for k, v in sorted(row.items())
                     if k.startswith(sweep.EVAL_PREFIX))
    print(f"{name}: {seconds:.0f} s, step {row['step']}: {shown}", file=sys.stderr, flush=True)


def plot_metrics(args) -> list[str] | None:
  names = [m.strip() for m in args.plot_metrics.split(",") if m.strip()]
  if len(names) > sweep.MAX_PANELS:
    raise UserError(f"--plot_metrics names {len(names)} metrics; at most {sweep.MAX_PANELS} fit a legible figure")
  return names or None


def main(argv=None) -> int:
  args, overrides = parse_args(sys.argv[1:] if argv is None else argv)
  if args.plot_only is not None:
    try:
      print(f"wrote {sweep.replot(args.plot_only, args.output, plot_metrics(args))}")
    except UserError as e:
      print(f"error: {e}", file=sys.stderr)
      return 2
    return 0
  config_path = os.path.abspath(args.config)  # the CLI runs in the repository root
  try:
    grid = sweep.parse_grid(args.grid)
    metrics = plot_metrics(args)
    runs = sweep.plan(args.config, grid, list(range(args.seeds)), overrides, args.workdir)
    if args.list:
      print("\n".join(run_command(args, overrides, i) for i in range(len(runs))))
      return 0
    if args.run is not None:
      if not 0 <= args.run < len(runs):
        raise UserError(f"--run={args.run} is out of range: this sweep has runs 0..{len(runs) - 1}")
      train(runs, [args.run], config_path, overrides)
      return 0
    if not args.only_collect:
      train(runs, range(len(runs)), config_path, overrides)
  except sweep.RunFailed as e:
    print(f"error: {e}", file=sys.stderr)
    return 1
  except KeyboardInterrupt:
    print("error: interrupted; rerun the same command to resume", file=sys.stderr)
    return 130
  except UserError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  try:
    table, missing = sweep.write_results(runs, [k for k, _ in grid], args.workdir, metrics)
  except UserError as e:  # --plot_metrics naming a metric the runs do not report
    print(f"error: {e}; results.csv and results.md are written: redraw with --plot_only="
          f"{os.path.join(args.workdir, 'results.csv')}", file=sys.stderr)
    return 2
  print(table)
  if missing:
    print(f"{len(missing)} of {len(runs)} runs not finished: "
          + ", ".join(f"{r.cell}/seed_{r.seed}" for r in missing), file=sys.stderr)
  return 0


if __name__ == "__main__":
  sys.exit(main())
