"""Quality benchmark for the 2D toys: trains a config once per seed through the real CLI and tabulates.

Usage:
  python scripts/benchmarks/toy_quality.py --config=experiments/grid25.py --seeds=0,1,2 \
      [--workdir_root=/tmp/toyq] [--output=table.md] [--max_seconds=600] [--min_modes=25] \
      [--min_hq=0.95] [--max_rkl=0.02] [--config.key=value ...]

Each seed runs `python -m gan.main --config=CONFIG --workdir=ROOT/NAME_seedS --config.seed=S [overrides]`
in a fresh workdir (an existing one is deleted first, since a rerun would resume) through
gan/sweep.py's `execute` (the CLI's output goes to ROOT/NAME_seedS/sweep.log). Wall-clock time
covers the whole subprocess (startup and compilation included). The final `eval/*` line of
metrics.jsonl (`sweep.final_eval`) gives modes covered, high-quality fraction and reverse KL
(gan/metrics/toy.py). For grids of configs, use scripts/sweep.py.
The table is printed as Markdown (one row per seed plus a mean row) and optionally written to --output.

Default bars per dataset (the toy targets of docs/toys.md): ring8: 8 modes, HQ >= 0.97, rKL <= 0.02, <= 180 s;
grid25: 25 modes, HQ >= 0.95, rKL <= 0.02, <= 600 s. Flags override them.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import sys

BARS = {"ring8": dict(min_modes=8, min_hq=0.97, max_rkl=0.02, max_seconds=180),
        "grid25": dict(min_modes=25, min_hq=0.95, max_rkl=0.02, max_seconds=600)}
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from gan import sweep  # noqa: E402


def run_seed(config: str, seed: int, workdir: str, overrides: list[str]) -> tuple[float, dict]:
  """Trains one seed in a fresh WORKDIR (gan/sweep.py runs the CLI); returns (seconds, final eval row)."""
  shutil.rmtree(workdir, ignore_errors=True)
  try:
    seconds = sweep.execute(config, workdir, [f"--config.seed={seed}", *overrides])
  except sweep.RunFailed as e:
    raise SystemExit(f"seed {seed}: {e}") from None
  final = sweep.final_eval(workdir)
  if final is None:
    raise SystemExit(f"seed {seed}: no eval row in {workdir}/metrics.jsonl")
  return seconds, final


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--config", required=True)
  parser.add_argument("--seeds", default="0,1,2")
  parser.add_argument("--workdir_root", default="/tmp/toyq")
  parser.add_argument("--output", default=None, help="also write the Markdown table here")
  for name in ("min_modes", "min_hq", "max_rkl", "max_seconds"):
    parser.add_argument(f"--{name}", type=float, default=None)
  args, overrides = parser.parse_known_args(argv)
  bad = [o for o in overrides if not o.startswith("--config.")]
  if bad:
    parser.error(f"unrecognised arguments: {' '.join(bad)}")
  name = re.sub(r"\.py$", "", os.path.basename(args.config.split(":")[0]))
  dataset = next((d for d in BARS if d in name), "ring8")
  bars = {k: (getattr(args, k) if getattr(args, k) is not None else v) for k, v in BARS[dataset].items()}

  rows = []
  for seed in [int(s) for s in args.seeds.split(",")]:
    seconds, ev = run_seed(args.config, seed, os.path.join(args.workdir_root, f"{name}_seed{seed}"),
                           overrides)
    ok = (seconds <= bars["max_seconds"] and ev["eval/modes_covered"] >= bars["min_modes"]
          and ev["eval/high_quality_fraction"] >= bars["min_hq"] and ev["eval/reverse_kl"] <= bars["max_rkl"])
    rows.append((seed, seconds, ev["eval/modes_covered"], ev["eval/high_quality_fraction"],
                 ev["eval/reverse_kl"], ok))
    print(f"seed {seed}: {seconds:.0f} s, step {ev['step']}, {rows[-1][2]:.0f} modes, "
          f"HQ {rows[-1][3]:.4f}, rKL {rows[-1][4]:.4f}", file=sys.stderr, flush=True)

  n = len(rows)
  lines = [f"`{args.config}` {' '.join(overrides)} — bars: {bars['min_modes']:.0f} modes, "
           f"HQ >= {bars['min_hq']}, rKL <= {bars['max_rkl']}, <= {bars['max_seconds']:.0f} s",
           "", "| seed | wall-clock (s) | modes | HQ fraction | reverse KL | pass |",
           "|---|---|---|---|---|---|"]
  lines += [f"| {s} | {t:.0f} | {m:.0f} | {hq:.4f} | {kl:.4f} | {'yes' if ok else 'NO'} |"
            for s, t, m, hq, kl, ok in rows]
  lines.append(f"| mean | {sum(r[1] for r in rows) / n:.0f} | {sum(r[2] for r in rows) / n:.1f} | "
               f"{sum(r[3] for r in rows) / n:.4f} | {sum(r[4] for r in rows) / n:.4f} | "
               f"{sum(r[5] for r in rows)}/{n} |")
  table = "\n".join(lines)
  print(table)
  if args.output:
    with open(args.output, "w") as f:
      f.write(table + "\n")
  return 0 if all(r[5] for r in rows) else 1


if __name__ == "__main__":
  sys.exit(main())
