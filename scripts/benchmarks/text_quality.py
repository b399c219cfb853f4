"""Quality of the text GANs against the published numbers and the tuned-temperature MLE baseline: trains
MLE, SeqGAN and RelGAN through the real CLI (gan/sweep.py; a finished run is reused, a half-finished one
resumed), tabulates their final evaluations and sweeps the sampling temperature (Caccia et al. 2020,
"Language GANs falling short", Sec. 4: a model at temperature T is softmax(o_t / T); lower T trades
diversity for quality).

Usage:
  python scripts/benchmarks/text_quality.py --suite=oracle [--seeds=0] [--workdir_root=/tmp/text]
      [--cpu] [--output=table.md] [--plot=sweep.png] [--temperatures=0.5,...,1.5] [--config.key=value ...]
  python scripts/benchmarks/text_quality.py --suite=coco --coco_path=DIR [...]

Suites:
- `oracle`: SeqGAN's synthetic benchmark (length 20). Columns NLL_oracle (quality: the oracle's NLL of
  10,000 samples) and NLL_test (G's NLL of the oracle's 10,000 held-out sequences: coverage), beside the
  published NLL_oracle (SeqGAN paper, Table 1: MLE 9.038, SeqGAN 8.736; LeakGAN 7.038 and RelGAN 6.680
  from RelGAN's Table 1). Then every run is evaluated at temperatures 0.5 ... 1.5 and the plot puts
  NLL_oracle against NLL_test: a GAN beats MLE only if it lies below MLE's temperature curve. Each GAN's
  checkpoint at the end of its MLE stage, when the run kept it, is swept too ("GAN (MLE stage)"): the
  same generator before adversarial training, the controlled baseline for what that stage adds.
- `coco`: COCO captions (a directory with train.txt and test.txt; Texygen's files). BLEU-2..5 of 200
  samples against the whole test set and Self-BLEU-2..5, beside the published BLEU (RelGAN's Table 2:
  MLE .731/.497/.305/.189, RelGAN(100) .849/.687/.502/.331), and the same temperature sweep with
  BLEU-4 (quality) against NLL_test.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from gan import sweep  # noqa: E402
from gan.errors import UserError  # noqa: E402

GANS = ("mle", "seqgan", "relgan")
PUBLISHED = {"oracle": {"mle": {"nll_oracle": 9.038}, "seqgan": {"nll_oracle": 8.736},
                        "relgan": {"nll_oracle": 6.680}},
             "coco": {"mle": {"bleu_2": .731, "bleu_3": .497, "bleu_4": .305, "bleu_5": .189},
                      "relgan": {"bleu_2": .849, "bleu_3": .687, "bleu_4": .502, "bleu_5": .331}}}
COLUMNS = {"oracle": ("nll_oracle", "nll_test", "unique_fraction", "copied_fraction"),
           "coco": ("bleu_2", "bleu_3", "bleu_4", "bleu_5", "self_bleu_2", "self_bleu_3", "self_bleu_4",
                    "self_bleu_5", "nll_test", "unique_fraction", "copied_fraction")}
TEMPERATURES = (0.5, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5)
QUALITY = {"oracle": "nll_oracle", "coco": "bleu_4"}


def temperature_sweep(workdir: str, temperatures, step: int | None = None) -> list[dict]:
  """The run's checkpoint at `step` (default: the final one) evaluated (gan/families/text_evaluation.py)
  at each temperature; kept in WORKDIR/temperature_sweep.json (temperature_sweep_step_STEP.json for a
  given step) with the step it evaluated: a temperature already evaluated there is reused while the run
  has not moved on, and only the others are evaluated (and added to the file)."""
  from gan import families, sampling  # pylint: disable=g-import-not-at-top
  config, _, game, state = sampling.load_run(workdir, step)
  name = "temperature_sweep.json" if step is None else f"temperature_sweep_step_{step}.json"
  path = os.path.join(workdir, name)
  rows = {}
  if os.path.isfile(path):
    with open(path) as f:
      kept = json.load(f)
    if kept.get("step") == int(state.step):
      rows = {r["temperature"]: r for r in kept["rows"]}
  missing = [float(t) for t in temperatures if float(t) not in rows]
  if missing:
    family = families.get(config)
    data = family.dataset(config).text
    from gan.families import text_evaluation  # pylint: disable=g-import-not-at-top
    for t in missing:
      with config.unlocked():
        config.eval.temperature = t
      evaluator = text_evaluation.TextEvaluator(config, game, data, workdir)
      rows[t] = {"temperature": t, **evaluator.evaluate_state(int(state.step), state, write_files=False).metrics}
    with open(path, "w") as f:
      json.dump({"step": int(state.step), "rows": sorted(rows.values(), key=lambda r: r["temperature"])}, f,
                indent=1)
  return [rows[float(t)] for t in temperatures]


def mle_stage_checkpoint(workdir: str) -> int | None:
  """The step of a GAN run's checkpoint at the end of its MLE stage (`config.mle_steps`), if the run kept
  one and has an adversarial stage after it; else None."""
  from gan import checkpointing  # pylint: disable=g-import-not-at-top
  ckpt = checkpointing.Checkpointer(workdir, every_steps=1, max_to_keep=1_000_000, create=False)
  config = ckpt.read_config()[0]
  if config["gan"] == "mle" or config["mle_steps"] >= config["num_train_steps"]:
    return None
  return config["mle_steps"] if config["mle_steps"] in ckpt.manager.all_steps() else None


def table(rows: list[dict], suite: str) -> str:
  names = COLUMNS[suite]
  published = sorted({k for v in PUBLISHED[suite].values() for k in v})
  header = ["run", "seed", "steps", "wall-clock (s)", *names, *(f"published {k}" for k in published)]
  lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
  for row in rows:
    paper = PUBLISHED[suite].get(row["gan"], {})
    cells = [row["gan"], str(row["seed"]), str(row["step"]), f"{row['wall_clock_s'] or 0:.0f}",
             *(f"{row[f'eval/{k}']:.3f}" if f"eval/{k}" in row else "-" for k in names),
             *(f"{paper[k]:.3f}" if k in paper else "-" for k in published)]
    lines.append("| " + " | ".join(cells) + " |")
  return "\n".join(lines)


def plot(sweeps: dict[str, list[dict]], suite: str, path: str) -> None:
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  quality = QUALITY[suite]
  fig, ax = plt.subplots(figsize=(5.5, 4.2), dpi=120)
  for name, rows in sweeps.items():
    xs, ys = [r["nll_test"] for r in rows], [r[quality] for r in rows]
    style = "o-" if name == "mle" else "x:" if name.endswith("(MLE stage)") else "s--"
    single = len(rows) == 1  # a run evaluated at one temperature: a point, its temperature in the legend
    ax.plot(xs, ys, style, label=f"{name}, T={rows[0]['temperature']:g}" if single else name,
            lw=2 if name == "mle" else 1.2, ms=8 if single else 6)
    at_one = [r for r in rows if r["temperature"] == 1.0]
    if at_one and not single:
      ax.annotate("T=1", (at_one[0]["nll_test"], at_one[0][quality]), fontsize=8, xytext=(4, 4),
                  textcoords="offset points")
  ax.set_xlabel("NLL_test (lower: more of the data covered)")
  ax.set_ylabel({"nll_oracle": "NLL_oracle (lower: better samples)", "bleu_4": "BLEU-4 (higher: better)"}[quality])
  ax.set_title(f"{suite}: temperature {min(TEMPERATURES)}-{max(TEMPERATURES)}", fontsize=10)
  ax.legend(fontsize=9)
  fig.tight_layout()
  fig.savefig(path)


def main(argv):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--suite", required=True, choices=sorted(COLUMNS))
  parser.add_argument("--gans", default=",".join(GANS))
  parser.add_argument("--seeds", default="0")
  parser.add_argument("--cpu", action="store_true",
                      help="the experiments at their CPU sizes (experiments/*.py SUITE,cpu: shorter stages)")
  parser.add_argument("--coco_path", default="", help="directory with train.txt and test.txt")
  parser.add_argument("--workdir_root", default=None, help="default: /tmp/text_SUITE")
  parser.add_argument("--output", default=None)
  parser.add_argument("--plot", default=None, help="PNG of the temperature sweep")
  parser.add_argument("--temperatures", default=",".join(f"{t:g}" for t in TEMPERATURES),
                      help="the sweep's temperatures (each an evaluation of every run and its MLE stage)")
  args, overrides = parser.parse_known_args(argv)
  try:
    temperatures = [float(t) for t in args.temperatures.split(",")]
  except ValueError:
    temperatures = []
  if not temperatures or min(temperatures) <= 0:
    print(f"error: --temperatures={args.temperatures!r}: expected a comma-separated list of numbers > 0",
          file=sys.stderr)
    return 2
  if args.suite == "coco":
    if not os.path.isdir(args.coco_path):
      print(f"error: --coco_path={args.coco_path!r}: expected a directory with train.txt and test.txt",
            file=sys.stderr)
      return 2
    overrides = [f"--config.data.path={args.coco_path}", *overrides]
  root = args.workdir_root or f"/tmp/text_{args.suite}"
  try:
    seeds = [int(s) for s in args.seeds.split(",")]
    rows, sweeps = [], {}
    for gan in args.gans.split(","):
      config = f"experiments/{gan}.py:{args.suite}" + (",cpu" if args.cpu else "")
      runs = sweep.train_unfinished(config, seeds, overrides, os.path.join(root, gan))
      for row in sweep.collect(runs):
        rows.append({"gan": gan, **row})
        print(table([rows[-1]], args.suite).splitlines()[-1], flush=True)
      sweeps[gan] = temperature_sweep(runs[0].workdir, temperatures)
      stage_end = mle_stage_checkpoint(runs[0].workdir)
      if stage_end is not None:  # the same G before its adversarial stage: the controlled baseline
        sweeps[f"{gan} (MLE stage)"] = temperature_sweep(runs[0].workdir, temperatures, stage_end)
  except UserError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  text = table(rows, args.suite)
  sweep_lines = ["| run | T | " + " | ".join(COLUMNS[args.suite]) + " |", "|" + "---|" * (2 + len(COLUMNS[args.suite]))]
  for gan, sweep_rows in sweeps.items():
    for r in sweep_rows:
      sweep_lines.append(f"| {gan} | {r['temperature']} | " + " | ".join(f"{r[k]:.3f}" for k in COLUMNS[args.suite])
                         + " |")
  text += "\n\nTemperature sweep (seed " + str(seeds[0]) + "):\n\n" + "\n".join(sweep_lines)
  print(text)
  if args.output:
    with open(args.output, "w") as f:
      f.write(text + "\n")
  if args.plot:
    plot(sweeps, args.suite, args.plot)
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
