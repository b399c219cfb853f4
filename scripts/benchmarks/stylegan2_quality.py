"""StyleGAN2 on the built-in digits or on MNIST: trains experiments/stylegan2.py through the real CLI
(gan/sweep.py; a finished run is reused, a half-finished one resumed), scores its final G_ema at
truncation psi 1.0, 0.8, 0.6, 0.4 (scripts/evaluate.py --truncation; StyleGAN Sec. 3.2: lower psi
trades diversity, recall, for typicality, precision) and, with --ladder, the ablation ladder:

  DCGAN (the zoo's digits_dcgan / mnist_dcgan) -> style-based G (mapping network, modulated convolutions,
  noise inputs) and residual D with no regularizer and no augmentation -> + lazy R1 -> + ADA (the ADA
  paper's 32x32 `cifar` setting) -> + path-length regularization and style mixing (its `paper256`
  setting). The rung the dataset's config already is (`:mnist` the third, `:digits` the fourth) reuses
  the main run.

Usage:
  python scripts/benchmarks/stylegan2_quality.py [--dataset=digits] [--ladder] [--seeds=0]
      [--workdir_root=/tmp/zoo_DATASET] [--output=table.md] [--figure=PNG] [--ladder_figure=PNG]
      [--config.key=value ...]
  python scripts/benchmarks/stylegan2_quality.py --dataset=mnist --mnist_path=MNIST_DIR [...]

The default workdir root is the zoo's (scripts/benchmarks/zoo.py), so the DCGAN rung reuses the zoo's
run. Columns as the zoo's table (classes covered, FD, IS, precision, recall in the digit classifier's
feature space; wall-clock of the CLI run). --figure: one row of samples per psi; --ladder_figure: one
row per rung (G_ema, seed 0). The truncation table (printed, and --output) and the figure are written
once the main run is scored; with --ladder the ladder's table and figure follow when its runs have
finished.
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
from scripts.benchmarks import zoo  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PSIS = (1.0, 0.8, 0.6, 0.4)
MAX_SECONDS = {"digits": 20 * 60, "mnist": 45 * 60}  # the time bars of the "pass" column
# (rung name, workdir name, settings over experiments/stylegan2.py's), after the DCGAN rung. Every rung
# states the keys it depends on, so the ladder is the same on a dataset whose config leaves some out; a
# rung whose settings the config already has is the main run itself.
# A regularizer that is off has no lazy phase (`every` 1), so its player's Adam is not corrected for one.
NO_PL_MIXING = (("path_length.weight", 0.0), ("path_length.every", 1), ("style_mixing_prob", 0.0))
NO_R1 = (("r1.gamma", 0.0), ("r1.every", 1))
LADDER = (("style-based G, no reg., no aug.", "stylegan2_plain", (*NO_R1, *NO_PL_MIXING, ("augment.kind", "none"))),
          ("+ R1", "stylegan2_r1", (*NO_PL_MIXING, ("augment.kind", "none"))),
          ("+ ADA", "stylegan2_r1_ada", (*NO_PL_MIXING, ("augment.kind", "ada"))),
          ("+ path length, style mixing", "stylegan2_r1_ada_pl",
           (("path_length.weight", 2.0), ("path_length.every", 4), ("style_mixing_prob", 0.9),
            ("augment.kind", "ada"))))


def is_configured(config, settings) -> bool:
  """Whether every (dotted key, value) of `settings` already holds in `config`."""
  def get(key):
    value = config
    for part in key.split("."):
      value = value[part]
    return value
  return all(get(key) == value for key, value in settings)


def experiment_config(dataset: str):
  from experiments import stylegan2  # pylint: disable=g-import-not-at-top
  return stylegan2.get_config(dataset)


def truncated_eval(workdir: str, step: int, psi: float) -> dict:
  """The final checkpoint's metrics at truncation `psi` (scripts/evaluate.py; its JSON reused)."""
  if psi == 1.0:
    return {k: v for k, v in sweep.final_eval(workdir).items() if k.startswith("eval/")}
  path = os.path.join(workdir, "eval", f"step_{step}_psi{psi:g}.json")
  if not os.path.exists(path):
    result = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "evaluate.py"), f"--workdir={workdir}",
                             f"--checkpoint_step={step}", f"--truncation={psi}"], cwd=ROOT, capture_output=True,
                            text=True)
    if result.returncode:
      raise UserError(f"evaluate.py --truncation={psi} failed on {workdir}: {result.stderr.strip()[-500:]}")
  with open(path) as f:
    return {f"eval/{k}": v for k, v in json.load(f)["metrics"].items()}


def train(name: str, config: str, seeds, overrides, root: str) -> list[dict]:
  runs = sweep.train_unfinished(config, seeds, overrides, os.path.join(root, name))
  return [{"experiment": name, "workdir": run.workdir, **row} for run, row in zip(runs, sweep.collect(runs))]


def truncation_figure(workdir: str, rows: list[dict], dataset: str, path: str, num: int = 12) -> None:
  """One row of `num` G_ema samples (seed 0) per psi, titled with its FD and precision."""
  from gan import families, plotting, sampling  # pylint: disable=g-import-not-at-top
  config, meta, game, state = sampling.load_run(workdir)
  panels = [(f"psi {row['psi']:g}: FD {row[f'eval/{dataset}_fd']:.1f}, precision "
             f"{row[f'eval/{dataset}_precision']:.2f}, recall {row[f'eval/{dataset}_recall']:.2f}",
             families.get(config).sample(config, meta, game, state, num, seed=0, truncation=row["psi"]))
            for row in rows]
  plotting.save_titled_grids(panels, path, ncols=num, upscale=2 if dataset == "mnist" else 4)


def main(argv):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--dataset", default="digits", choices=("digits", "mnist"))
  parser.add_argument("--ladder", action="store_true", help="also train and tabulate the ablation ladder")
  parser.add_argument("--seeds", default="0")
  parser.add_argument("--mnist_path", default="", help="directory of the four MNIST IDX files")
  parser.add_argument("--workdir_root", default=None, help="default: the zoo's, /tmp/zoo_DATASET")
  parser.add_argument("--output", default=None)
  parser.add_argument("--figure", default=None, help="PNG: samples at each truncation psi")
  parser.add_argument("--ladder_figure", default=None, help="PNG: samples of each ladder rung (with --ladder)")
  args, overrides = parser.parse_known_args(argv)
  if args.dataset == "mnist":
    if not os.path.isdir(args.mnist_path):
      print(f"error: --mnist_path={args.mnist_path!r}: expected the directory of MNIST's IDX files", file=sys.stderr)
      return 2
    overrides = [f"--config.data.path={args.mnist_path}", *overrides]
  root = args.workdir_root or f"/tmp/zoo_{args.dataset}"
  config = f"experiments/stylegan2.py:{args.dataset}"
  try:
    seeds = [int(s) for s in args.seeds.split(",")]
    main_rows = train("stylegan2", config, seeds, overrides, root)
    sweep_rows = []
    for psi in PSIS:
      first = main_rows[0]
      sweep_rows.append({**first, "experiment": f"stylegan2, psi {psi:g}", "psi": psi,
                         "wall_clock_s": first["wall_clock_s"] if psi == 1.0 else None,
                         **truncated_eval(first["workdir"], first["step"], psi)})
    text = "Truncation (G_ema, seed " + str(seeds[0]) + "):\n\n" + zoo.table(sweep_rows, args.dataset, MAX_SECONDS[args.dataset])
    # The main run's results are out before the ladder's hours of training start.
    print(text, flush=True)
    write(args.output, text)
    if args.figure:
      truncation_figure(main_rows[0]["workdir"], sweep_rows, args.dataset, args.figure)
    if args.ladder:
      dcgan = "digits_dcgan" if args.dataset == "digits" else "mnist_dcgan"
      ladder_rows = [{**row, "experiment": f"DCGAN ({dcgan})"} for row in
                     train(dcgan, zoo.config_file(dcgan, args.dataset), seeds,
                           overrides if args.dataset == "mnist" else [], root)]
      base = experiment_config(args.dataset)
      for label, name, settings in LADDER:
        rows = main_rows if is_configured(base, settings) else train(
            name, config, seeds, [*overrides, *(f"--config.{k}={v}" for k, v in settings)], root)
        ladder_rows += [{**row, "experiment": label} for row in rows]
      ladder = "Ablation ladder:\n\n" + zoo.table(ladder_rows, args.dataset, MAX_SECONDS[args.dataset])
      print("\n" + ladder)
      write(args.output, text + "\n\n" + ladder)
      if args.ladder_figure:
        zoo.sample_figure([(row["experiment"], row["workdir"], row) for row in ladder_rows], args.dataset,
                          args.ladder_figure)
  except UserError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  return 0


def write(path: str | None, text: str) -> None:
  if path:
    with open(path, "w") as f:
      f.write(text + "\n")


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
