"""Quality of the GAN zoo on the built-in digits or on MNIST: trains each experiment's `:digits` or
`:mnist` config through the real CLI (gan/sweep.py; a finished run is reused, a half-finished one
resumed) and tabulates.

Usage:
  python scripts/benchmarks/zoo.py [--dataset=digits] [--experiments=wgan,sngan,...] [--seeds=0] \
      [--workdir_root=/tmp/zoo_digits] [--output=table.md] [--config.key=value ...]
  python scripts/benchmarks/zoo.py --dataset=mnist --mnist_path=MNIST_DIR [...]

With --dataset=mnist each experiment runs as `experiments/NAME.py:mnist` (mnist_dcgan.py as it is) on
the IDX files at --mnist_path and is measured in the MnistCNN's feature space (trained once on those
files' training split; the metrics' real side is MNIST's training images).
Columns: wall-clock (the CLI's, startup and compilation included), the final evaluation's
`{prefix}_classes_covered`, `{prefix}_fd`, `{prefix}_is`, precision/recall (gan/evaluation.py; the
protocol is in each run's eval/protocol.json) and, for class-conditional experiments, the worst
class's accuracy (`{prefix}_cond_accuracy_min`) and, when run with
`--config.eval.augmentation_score=True`, the Classification Accuracy Score and the accuracy of a
classifier trained on 10 real images per class plus generated ones / on those 10 alone
(gan/metrics/augmentation_score.py); prefix = digits or mnist. Bars (the targets of docs/zoo.md): all
10 classes present, <= 15 minutes (digits) / 30 minutes (MNIST) on this CPU, and for conditional
models >= 95% of each class's samples recognised.
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from gan import sweep  # noqa: E402
from gan.errors import UserError  # noqa: E402

ZOO = {"digits": ("digits_dcgan", "wgan", "wgan_gp", "lsgan", "sngan", "sagan", "biggan", "biggan_deep",
                  "dragan", "r1", "bcr", "diffaug", "ada", "digits_cond_dcgan"),
       "mnist": ("mnist_dcgan", "lsgan", "wgan_gp", "sngan", "r1", "sagan", "biggan", "ada",
                 "digits_cond_dcgan")}
MAX_SECONDS = {"digits": 15 * 60, "mnist": 30 * 60}
COLUMNS = (("classes", "classes_covered", "{:.0f}"), ("FD", "fd", "{:.1f}"), ("IS", "is", "{:.2f}"),
           ("precision", "precision", "{:.3f}"), ("recall", "recall", "{:.3f}"),
           ("worst class acc.", "cond_accuracy_min", "{:.3f}"), ("CAS", "cas", "{:.3f}"),
           ("subset+gen / subset acc.", "subset_plus_generated_accuracy", "{:.3f}"))


def config_file(name: str, dataset: str) -> str:
  """The experiment's config argument: mnist_dcgan.py is MNIST's own file, the others take `:mnist`."""
  if dataset == "digits" or name == "mnist_dcgan":
    return f"experiments/{name}.py"
  return f"experiments/{name}.py:{dataset}"


def passes(row: dict, dataset: str) -> bool:
  prefix = f"eval/{dataset}_"
  ok = row[prefix + "classes_covered"] == 10 and (row["wall_clock_s"] or 0) <= MAX_SECONDS[dataset]
  if prefix + "cond_accuracy_min" in row:
    ok = ok and row[prefix + "cond_accuracy_min"] >= 0.95
  return ok


def cell(row: dict, key: str, fmt: str) -> str:
  if key not in row:
    return "-"
  if key.endswith("_subset_plus_generated_accuracy"):  # with the real-only subset baseline
    baseline = row[key.replace("_plus_generated", "")]
    return f"{fmt.format(row[key])} / {fmt.format(baseline)}"
  return fmt.format(row[key])


def table(rows: list[dict], dataset: str) -> str:
  header = ["experiment", "seed", "steps", "wall-clock (s)",
            *(f"{dataset} {name}" if name in ("FD", "IS") else name for name, _, _ in COLUMNS), "pass"]
  lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
  for row in rows:
    cells = [row["experiment"], str(row["seed"]), str(row["step"]), f"{row['wall_clock_s'] or 0:.0f}",
             *(cell(row, f"eval/{dataset}_{key}", fmt) for _, key, fmt in COLUMNS),
             "yes" if passes(row, dataset) else "NO"]
    lines.append("| " + " | ".join(cells) + " |")
  return "\n".join(lines)


def main(argv):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--dataset", default="digits", choices=sorted(ZOO))
  parser.add_argument("--experiments", default=None, help="comma-separated; default: the dataset's zoo")
  parser.add_argument("--seeds", default="0")
  parser.add_argument("--mnist_path", default="", help="directory of the four MNIST IDX files")
  parser.add_argument("--workdir_root", default=None, help="default: /tmp/zoo_DATASET")
  parser.add_argument("--output", default=None)
  args, overrides = parser.parse_known_args(argv)
  if args.dataset == "mnist":
    if not args.mnist_path:
      print("error: --mnist_path: --dataset=mnist needs the directory of the MNIST IDX files", file=sys.stderr)
      return 2
    overrides = [f"--config.data.path={args.mnist_path}", *overrides]
  workdir_root = args.workdir_root or f"/tmp/zoo_{args.dataset}"
  names = args.experiments.split(",") if args.experiments else ZOO[args.dataset]
  try:
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    for name in names:
      config = config_file(name, args.dataset)
      runs = sweep.train_unfinished(config, seeds, overrides, os.path.join(workdir_root, name))
      for row in sweep.collect(runs):
        rows.append({"experiment": config.removeprefix("experiments/").replace(".py", ""), **row})
        print(table([rows[-1]], args.dataset).splitlines()[-1], flush=True)
  except UserError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  text = table(rows, args.dataset)
  print(text)
  if args.output:
    with open(args.output, "w") as f:
      f.write(text + "\n")
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
