"""Quality of the GAN zoo on the built-in digits: trains each experiment's `:digits` config through the
real CLI (gan/sweep.py; a finished run is reused, a half-finished one resumed) and tabulates.

Usage:
  python scripts/benchmarks/zoo_digits.py [--experiments=wgan,sngan,...] [--seeds=0] \
      [--workdir_root=/tmp/zoo_digits] [--output=table.md] [--config.key=value ...]

Columns: wall-clock (the CLI's, startup and compilation included), the final evaluation's
`digits_classes_covered`, `digits_fd`, `digits_is`, precision/recall (gan/evaluation.py; the
protocol is in each run's eval/protocol.json) and, for class-conditional experiments, the worst
class's accuracy (`digits_cond_accuracy_min`) and, when run with
`--config.eval.augmentation_score=True`, the Classification Accuracy Score and the accuracy of a
classifier trained on 10 real digits per class plus generated ones / on those 10 alone
(gan/metrics/augmentation_score.py). Bars (the targets of docs/zoo.md): all 10 classes present, <= 15
minutes on this CPU, and for conditional models >= 95% of each class's samples recognised.
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from gan import sweep  # noqa: E402
from gan.errors import UserError  # noqa: E402

ZOO = ("digits_dcgan", "wgan", "wgan_gp", "lsgan", "sngan", "sagan", "biggan", "biggan_deep", "dragan", "r1",
       "bcr", "diffaug", "ada", "digits_cond_dcgan")
MAX_SECONDS = 15 * 60
COLUMNS = (("classes", "eval/digits_classes_covered", "{:.0f}"), ("digits FD", "eval/digits_fd", "{:.1f}"),
           ("digits IS", "eval/digits_is", "{:.2f}"), ("precision", "eval/digits_precision", "{:.3f}"),
           ("recall", "eval/digits_recall", "{:.3f}"),
           ("worst class acc.", "eval/digits_cond_accuracy_min", "{:.3f}"),
           ("CAS", "eval/digits_cas", "{:.3f}"),
           ("subset+gen / subset acc.", "eval/digits_subset_plus_generated_accuracy", "{:.3f}"))


def passes(row: dict) -> bool:
  ok = row["eval/digits_classes_covered"] == 10 and (row["wall_clock_s"] or 0) <= MAX_SECONDS
  if "eval/digits_cond_accuracy_min" in row:
    ok = ok and row["eval/digits_cond_accuracy_min"] >= 0.95
  return ok


def cell(row: dict, key: str, fmt: str) -> str:
  if key not in row:
    return "-"
  if key == "eval/digits_subset_plus_generated_accuracy":  # with the real-only subset baseline
    return f"{fmt.format(row[key])} / {fmt.format(row['eval/digits_subset_accuracy'])}"
  return fmt.format(row[key])


def table(rows: list[dict]) -> str:
  header = ["experiment", "seed", "steps", "wall-clock (s)", *(name for name, _, _ in COLUMNS), "pass"]
  lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
  for row in rows:
    cells = [row["experiment"], str(row["seed"]), str(row["step"]), f"{row['wall_clock_s'] or 0:.0f}",
             *(cell(row, key, fmt) for _, key, fmt in COLUMNS),
             "yes" if passes(row) else "NO"]
    lines.append("| " + " | ".join(cells) + " |")
  return "\n".join(lines)


def main(argv):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--experiments", default=",".join(ZOO))
  parser.add_argument("--seeds", default="0")
  parser.add_argument("--workdir_root", default="/tmp/zoo_digits")
  parser.add_argument("--output", default=None)
  args, overrides = parser.parse_known_args(argv)
  try:
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    for name in args.experiments.split(","):
      config = f"experiments/{name}.py"
      runs = sweep.plan(config, [], seeds, overrides, os.path.join(args.workdir_root, name))
      for run in runs:
        if not sweep.is_finished(run):
          sweep.execute(config, run.workdir, [*overrides, *run.overrides()])
      for row in sweep.collect(runs):
        rows.append({"experiment": name, **row})
        print(table([rows[-1]]).splitlines()[-1], flush=True)
  except UserError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  text = table(rows)
  print(text)
  if args.output:
    with open(args.output, "w") as f:
      f.write(text + "\n")
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
