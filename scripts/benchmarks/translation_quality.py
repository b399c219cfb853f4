"""Quality of image-to-image translation (pix2pix, CycleGAN): trains each run of a suite through the real
CLI (gan/sweep.py; a finished run is reused, a half-finished one resumed) and tabulates the final
evaluation on held-out images (gan/families/translation.py), beside the identity map (no translation)
as the floor.

Usage:
  python scripts/benchmarks/translation_quality.py --suite=SUITE [--seeds=0] [--mnist=DIR] \
      [--workdir_root=/tmp/translation] [--output=table.md] [--shard=I/N] [--config.key=value ...]

`--shard=I/N` trains only the suite's runs I, I+N, I+2N, ... (N processes share the machine); a final
call without it trains nothing that is finished and tabulates everything.

Suites:
- `pix2pix`: the paper's recipe on edges2digits. Bars: <= 15 minutes on this CPU, label preservation
  >= 0.95.
- `pix2pix_objective`: Isola et al. 2017, Table 1 on edges2digits: L1 alone (gan_weight 0), cGAN
  alone (l1_weight 0), L1 + cGAN, and L1 + unconditional GAN (D sees the output alone).
- `pix2pix_objective_lowerhalf`: L1 alone against L1 + cGAN on lowerhalf2digits, where the input does
  not determine the output.
- `pix2pix_receptive_field`: Table 3 on edges2digits: PatchGAN receptive fields 1 (PixelGAN), 16 and 70
  (the paper's; at 32x32 it sees the whole image, the ImageGAN).
- `cyclegan`: the paper's recipe on printed2handwritten. Bars: <= 20 minutes, label preservation >= 0.90
  in both directions.
- `cyclegan_ablation`: Zhu et al. 2017, Table 4 and Sec. 5.1.4 on printed2handwritten, 2,000 steps
  each (half the default): the full objective, without the cycle loss (GAN alone), without the
  identity loss, without the history pool.
- `mnist` (needs --mnist=DIR, the MNIST IDX files): pix2pix on edges2mnist (both directions, one run
  each), CycleGAN on digits2mnist.
Columns: wall-clock (the CLI's, startup and compilation included) and, per direction, label
preservation, FD in the target-domain classifier's features, L1 / PSNR / SSIM against the true target
(paired tasks) and cycle L1 (CycleGAN). Identity rows score the source images themselves.
"""
from __future__ import annotations

import argparse
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from gan import sweep  # noqa: E402
from gan.errors import UserError  # noqa: E402

PIX2PIX, CYCLEGAN = "experiments/pix2pix.py", "experiments/cyclegan.py"
OBJECTIVES = (("L1", ["--config.gan_weight=0"]), ("cGAN", ["--config.l1_weight=0"]), ("L1+cGAN", []),
              ("L1+GAN", ["--config.model.discriminator.conditional=False"]))
ABLATION_STEPS = ["--config.num_train_steps=2000", "--config.eval.every_steps=1000"]
# suite -> [(row name, experiment:task, overrides)]; runs with the same task and overrides share a workdir
SUITES = {
    "pix2pix": [("pix2pix", f"{PIX2PIX}:edges2digits", [])],
    "pix2pix_objective": [(name, f"{PIX2PIX}:edges2digits", overrides) for name, overrides in OBJECTIVES],
    "pix2pix_objective_lowerhalf": [(name, f"{PIX2PIX}:lowerhalf2digits", overrides)
                                    for name, overrides in OBJECTIVES if name in ("L1", "L1+cGAN")],
    "pix2pix_receptive_field": [
        (f"{rf}x{rf} D", f"{PIX2PIX}:edges2digits", [] if rf == 70 else
         [f"--config.model.discriminator.receptive_field={rf}"]) for rf in (70, 1, 16)],
    "cyclegan": [("cyclegan", f"{CYCLEGAN}:printed2handwritten", [])],
    "cyclegan_ablation": [
        (name, f"{CYCLEGAN}:printed2handwritten", [*ABLATION_STEPS, *overrides])
        for name, overrides in (("CycleGAN", []), ("no cycle (GAN alone)", ["--config.cycle_weight=0"]),
                                ("no identity", ["--config.identity_weight=0"]),
                                ("no pool", ["--config.pool_size=0"]))],
    "mnist": [("pix2pix edges2mnist", f"{PIX2PIX}:edges2mnist", []),
              ("pix2pix edges2mnist", f"{PIX2PIX}:edges2mnist", ["--config.direction=BtoA"]),
              ("cyclegan digits2mnist", f"{CYCLEGAN}:digits2mnist", [])],
}
BARS = {"pix2pix": (15 * 60, 0.95), "cyclegan": (20 * 60, 0.90)}  # (seconds, label preservation)
METRICS = (("label pres.", "label_preservation", "{:.3f}"), ("FD", "fd", "{:.2f}"), ("L1", "l1", "{:.3f}"),
           ("PSNR", "psnr", "{:.1f}"), ("SSIM", "ssim", "{:.3f}"), ("cycle L1", "cycle_l1", "{:.3f}"))


class IdentityGame:
  """The identity map as a translation game: the floor every translation should beat."""
  directions = ("AtoB", "BtoA")

  def translate(self, state, images, example_ids, key, *, direction):
    del state, example_ids, key, direction
    return images


def identity_rows(config_path: str, overrides: list[str]) -> list[dict]:
  """The metrics of the identity map on the config's task, one row per direction."""
  from gan import families  # pylint: disable=g-import-not-at-top
  config = sweep.load_config(config_path, overrides)
  family = families.get(config)
  evaluator = family.evaluator(config, IdentityGame(), family.dataset(config), "/tmp/unused")
  metrics = evaluator.evaluate_state(0, None, write_files=False).metrics
  return [{"name": f"identity {config.data.name}", "direction": d, "seed": "-", "step": 0, "wall_clock_s": None,
           **{k[len(d) + 1:]: v for k, v in metrics.items() if k.startswith(d) and "cycle" not in k}}
          for d in IdentityGame.directions]


def run_workdir(root: str, config_path: str, overrides: list[str]) -> str:
  """ROOT/EXPERIMENT_TASK/OVERRIDES: the same run in two suites is trained once (data.path left out)."""
  experiment, task = os.path.splitext(os.path.basename(config_path.split(":")[0]))[0], config_path.split(":")[1]
  keys = [o.removeprefix("--config.") for o in overrides if not o.startswith("--config.data.path=")]
  return os.path.join(root, f"{experiment}_{task}", re.sub(r"[^\w.=,-]", "_", "-".join(keys)) or "default")


def run_rows(name: str, config_path: str, overrides: list[str], seeds: list[int], root: str) -> list[dict]:
  """Trains (or resumes) the runs and returns one row per (seed, direction) with its final metrics."""
  workdir = run_workdir(root, config_path, overrides)
  runs = sweep.train_unfinished(config_path, seeds, overrides, workdir)
  rows = []
  for row in sweep.collect(runs):
    for direction in ("AtoB", "BtoA"):
      prefix = f"eval/{direction}_"
      values = {k[len(prefix):]: v for k, v in row.items() if k.startswith(prefix)}
      if values:
        rows.append({"name": name, "direction": direction, "seed": row["seed"], "step": row["step"],
                     "wall_clock_s": row["wall_clock_s"], **values})
  return rows


def passes(suite: str, row: dict) -> str:
  if suite not in BARS or row["seed"] == "-":
    return ""
  seconds, preservation = BARS[suite]
  return "yes" if (row["wall_clock_s"] or 0) <= seconds and row["label_preservation"] >= preservation else "NO"


def table(suite: str, rows: list[dict]) -> str:
  shown = [m for m in METRICS if any(m[1] in r for r in rows)]
  header = ["run", "direction", "seed", "steps", "wall-clock (s)", *(n for n, _, _ in shown),
            *(["pass"] if suite in BARS else [])]
  lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
  for row in rows:
    cells = [row["name"], row["direction"], str(row["seed"]), str(row["step"]),
             "-" if row["wall_clock_s"] is None else f"{row['wall_clock_s']:.0f}",
             *(fmt.format(row[key]) if key in row else "-" for _, key, fmt in shown),
             *([passes(suite, row)] if suite in BARS else [])]
    lines.append("| " + " | ".join(cells) + " |")
  return "\n".join(lines)


def main(argv):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--suite", required=True, choices=sorted(SUITES))
  parser.add_argument("--seeds", default="0")
  parser.add_argument("--mnist", default="", help="MNIST IDX directory (suite mnist)")
  parser.add_argument("--workdir_root", default="/tmp/translation")
  parser.add_argument("--output", default=None)
  parser.add_argument("--shard", default="0/1", help="I/N: train only the runs I, I+N, ... of the suite")
  args, extra = parser.parse_known_args(argv)
  try:
    if args.suite == "mnist" and not os.path.isdir(args.mnist):
      raise UserError(f"--mnist={args.mnist!r}: the mnist suite needs the directory of the MNIST IDX files")
    seeds = [int(s) for s in args.seeds.split(",")]
    shard, _, num_shards = args.shard.partition("/")
    if not (shard.isdigit() and num_shards.isdigit() and int(shard) < int(num_shards)):
      raise UserError(f"--shard={args.shard!r}: expected I/N with 0 <= I < N, e.g. 0/2")
    shard, num_shards = int(shard), int(num_shards)
    mnist = [f"--config.data.path={os.path.abspath(args.mnist)}"] if args.suite == "mnist" else []
    rows, floors = [], {}
    for i, (name, config_path, overrides) in enumerate(SUITES[args.suite]):
      if i % num_shards != shard:
        continue
      overrides = [*mnist, *overrides, *extra]
      task = config_path.split(":")[1]
      if task not in floors:
        floors[task] = identity_rows(config_path, [*mnist, *extra])
        rows += floors[task]
      new_rows = run_rows(name, config_path, overrides, seeds, args.workdir_root)
      rows += new_rows
      print("\n".join(table(args.suite, new_rows).splitlines()[2:]), flush=True)
  except UserError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  trained = {r["direction"] for r in rows if r["seed"] != "-"}
  text = table(args.suite, [r for r in rows if r["direction"] in trained])  # floors of trained directions
  print(text)
  if args.output:
    with open(args.output, "w") as f:
      f.write(text + "\n")
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
