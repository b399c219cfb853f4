"""Quality of the GAN zoo on the built-in digits or on MNIST: trains each experiment's `:digits` or
`:mnist` config through the real CLI (gan/sweep.py; a finished run is reused, a half-finished one
resumed) and tabulates.

Usage:
  python scripts/benchmarks/zoo.py [--dataset=digits] [--experiments=wgan,sngan,...] [--seeds=0] \
      [--workdir_root=/tmp/zoo_digits] [--output=table.md] [--config.key=value ...]
  python scripts/benchmarks/zoo.py --dataset=mnist --mnist_path=MNIST_DIR [--cas] [--figure=PNG] [...]

With --dataset=mnist each experiment runs as `experiments/NAME.py:mnist` (mnist_dcgan.py as it is) on
the IDX files at --mnist_path and is measured in the MnistCNN's feature space (trained once on those
files' training split; the metrics' real side is MNIST's training images); a last row scores MNIST's
10,000 real test digits the same way, the floor for scale.
Columns: wall-clock (the CLI's, startup and compilation included), the final evaluation's
`{prefix}_classes_covered`, `{prefix}_fd`, `{prefix}_is`, precision/recall (gan/evaluation.py; the
protocol is in each run's eval/protocol.json) and, for class-conditional experiments, the worst
class's accuracy (`{prefix}_cond_accuracy_min`) and, when run with `--cas` (once, on the final
checkpoint) or `--config.eval.augmentation_score=True` (at every evaluation), the Classification Accuracy Score and the accuracy of a
classifier trained on a few real images per class (digits 10, MNIST 100) plus generated ones / on those alone
(gan/metrics/augmentation_score.py); prefix = digits or mnist. Bars (the targets of docs/zoo.md): all
10 classes present, <= 15 minutes (digits) / 30 minutes (MNIST) on this CPU, and for conditional
models >= 95% of each class's samples recognised.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
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


def real_test_row(mnist_path: str) -> dict:
  """The floor for scale: MNIST's 10,000 real test digits, loaded and resized as training loads its
  images, scored like generated samples (the same MnistCNN, reference and metrics; gan/evaluation.py)."""
  from experiments import mnist_dcgan  # pylint: disable=g-import-not-at-top
  from gan import evaluation  # pylint: disable=g-import-not-at-top
  from gan.data import get_dataset  # pylint: disable=g-import-not-at-top
  from gan.metrics import digits, suite  # pylint: disable=g-import-not-at-top
  config = mnist_dcgan.get_config()
  config.data.path = mnist_path
  train = get_dataset(config.data, seed=0, batch_size=64)
  config.data.split = "test"
  test = get_dataset(config.data, seed=0, batch_size=64)
  features = evaluation.feature_suite(config, train)
  reference = suite.get_reference(features.net, suite.quantize_8bit(train.x))
  feats, probs = features.net(suite.quantize_8bit(test.x))
  metrics = {**digits.class_histogram_metrics(probs.argmax(axis=1), "mnist"),
             **suite.feature_metrics("mnist", reference, feats, probs)[0]}
  return {"experiment": "real test digits (floor)", "seed": "-", "step": 0, "wall_clock_s": None,
          **{f"eval/{k}": v for k, v in metrics.items()}}


def augmentation_scores(workdir: str, step: int, prefix: str) -> dict:
  """CAS and the augmentation score of a finished class-conditional run's final checkpoint, by
  scripts/evaluate.py --augmentation_score (run once; its eval/step_N.json is reused)."""
  path = os.path.join(workdir, "eval", f"step_{step}.json")

  def metrics():
    with open(path) as f:
      return json.load(f)["metrics"]

  if not (os.path.exists(path) and f"{prefix}_cas" in metrics()):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    result = subprocess.run([sys.executable, os.path.join(root, "scripts", "evaluate.py"), f"--workdir={workdir}",
                             f"--checkpoint_step={step}", "--augmentation_score"], cwd=root, capture_output=True,
                            text=True)
    if result.returncode:
      raise UserError(f"evaluate.py --augmentation_score failed on {workdir}: {result.stderr.strip()[-500:]}")
  return {f"eval/{k}": v for k, v in metrics().items() if k.startswith(prefix)}


def sample_figure(runs: list[tuple[str, str, dict]], dataset: str, path: str, num: int = 12) -> None:
  """A PNG with one row of `num` samples (seed 0, the generator evaluation uses) per run, titled with its
  FD and precision: `runs` = [(name, workdir, table row)]."""
  from gan import families, plotting, sampling  # pylint: disable=g-import-not-at-top
  panels = []
  for name, workdir, row in runs:
    config, meta, game, state = sampling.load_run(workdir)
    images = families.get(config).sample(config, meta, game, state, num, seed=0)
    panels.append((f"{name}: FD {row[f'eval/{dataset}_fd']:.1f}, precision {row[f'eval/{dataset}_precision']:.2f}",
                   images))
  plotting.save_titled_grids(panels, path, ncols=num, upscale=2)


def passes(row: dict, dataset: str, max_seconds: float | None = None) -> bool:
  """All 10 classes, within `max_seconds` (default: the zoo's bar for `dataset`) and, for conditional
  models, >= 95 % of each class's samples recognised."""
  prefix = f"eval/{dataset}_"
  ok = row[prefix + "classes_covered"] == 10 and (row["wall_clock_s"] or 0) <= (max_seconds or MAX_SECONDS[dataset])
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


def table(rows: list[dict], dataset: str, max_seconds: float | None = None) -> str:
  header = ["experiment", "seed", "steps", "wall-clock (s)",
            *(f"{dataset} {name}" if name in ("FD", "IS") else name for name, _, _ in COLUMNS), "pass"]
  lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
  for row in rows:
    floor = row["wall_clock_s"] is None and row["seed"] == "-"
    cells = [row["experiment"], str(row["seed"]), str(row["step"]),
             "-" if row["wall_clock_s"] is None else f"{row['wall_clock_s']:.0f}",
             *(cell(row, f"eval/{dataset}_{key}", fmt) for _, key, fmt in COLUMNS),
             "" if floor or row["wall_clock_s"] is None else "yes" if passes(row, dataset, max_seconds) else "NO"]
    lines.append("| " + " | ".join(cells) + " |")
  return "\n".join(lines)


def main(argv):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--dataset", default="digits", choices=sorted(ZOO))
  parser.add_argument("--experiments", default=None, help="comma-separated; default: the dataset's zoo")
  parser.add_argument("--seeds", default="0")
  parser.add_argument("--mnist_path", default="", help="directory of the four MNIST IDX files")
  parser.add_argument("--workdir_root", default=None, help="default: /tmp/zoo_DATASET")
  parser.add_argument("--cas", action="store_true",
                      help="also CAS of the class-conditional runs (evaluate.py --augmentation_score)")
  parser.add_argument("--output", default=None)
  parser.add_argument("--figure", default=None, help="PNG: a row of samples of every run")
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
    rows, trained = [], []
    for name in names:
      config = config_file(name, args.dataset)
      runs = sweep.train_unfinished(config, seeds, overrides, os.path.join(workdir_root, name))
      for run, row in zip(runs, sweep.collect(runs)):
        if args.cas and f"eval/{args.dataset}_cond_accuracy_min" in row:
          row.update(augmentation_scores(run.workdir, row["step"], args.dataset))
        rows.append({"experiment": config.removeprefix("experiments/").replace(".py", ""), **row})
        trained.append((rows[-1]["experiment"], run.workdir, rows[-1]))
        print(table([rows[-1]], args.dataset).splitlines()[-1], flush=True)
  except UserError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  if args.dataset == "mnist":
    rows.append(real_test_row(args.mnist_path))
  text = table(rows, args.dataset)
  print(text)
  if args.output:
    with open(args.output, "w") as f:
      f.write(text + "\n")
  if args.figure:
    sample_figure(trained, args.dataset, args.figure)
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
