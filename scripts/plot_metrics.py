"""Training curves of a run (finished or still running) as one PNG.

  python scripts/plot_metrics.py --workdir=DIR [--output=FILE.png] [--metric=NAME]

Reads DIR/metrics.jsonl (one JSON object per logged step: "step", "train/*", "eval/*"; a torn last
line of a running or killed run is skipped) and draws, against the step:
  1. the players' losses (train/*_loss, and pix2pix's train/g_l1),
  2. D's mean output on real and on generated data (train/d_real_logit, train/d_fake_logit), when the
     family logs them,
  3. the primary eval metric (the one that picks DIR/best/: DIR/eval/protocol.json, else the first of
     gan/sweep.py's headline metrics; --metric=NAME picks another), its best value marked.
Default output: DIR/metrics.png. A missing workdir or metrics.jsonl, or a file with no complete line,
is one `error:` line and exit status 2.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from gan import sweep  # noqa: E402
from gan.errors import UserError  # noqa: E402

TRAIN, EVAL = "train/", "eval/"


class _Parser(argparse.ArgumentParser):
  def error(self, message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def read_metrics(workdir: str) -> list[dict]:
  """The rows of WORKDIR/metrics.jsonl in file order; lines that are not a complete JSON object with an
  integer "step" (a torn last line while the run writes, or after a kill) are skipped."""
  if not os.path.isdir(workdir):
    raise UserError(f"--workdir={workdir!r} does not exist")
  path = os.path.join(workdir, "metrics.jsonl")
  if not os.path.isfile(path):
    raise UserError(f"no metrics.jsonl in {workdir} (is it the --workdir of a run that has logged a step?)")
  rows = []
  with open(path, "rb") as f:
    for line in f:
      try:
        row = json.loads(line)
      except ValueError:
        continue
      if isinstance(row, dict) and isinstance(row.get("step"), int):
        rows.append(row)
  if not rows:
    raise UserError(f"{path} has no complete line yet")
  return rows


def series(rows: list[dict], key: str) -> tuple[list[int], list[float]]:
  """(steps, values) of `key` over the rows that have it, by step (the last row wins for a step)."""
  points = {r["step"]: float(r[key]) for r in rows if key in r}
  steps = sorted(points)
  return steps, [points[s] for s in steps]


def primary_metric(workdir: str, rows: list[dict]) -> str | None:
  """The run's primary metric as `eval/NAME`: from DIR/eval/protocol.json when it names one that is
  logged, else the first headline metric of the logged ones (gan/sweep.py), else None."""
  logged = sorted({k for r in rows for k in r if k.startswith(EVAL)})
  try:
    with open(os.path.join(workdir, "eval", "protocol.json")) as f:
      name = json.load(f)[-1]["primary_metric"][0]
    if EVAL + name in logged:
      return EVAL + name
  except (OSError, ValueError, LookupError, TypeError):
    pass
  chosen = sweep.headline_metrics(logged, limit=1)
  return chosen[0] if chosen else None


def loss_keys(keys) -> list[str]:
  return sorted(k for k in keys if k.startswith(TRAIN) and (k.endswith("_loss") or k == TRAIN + "g_l1"))


def d_output_keys(keys) -> list[str]:
  return [k for k in (TRAIN + "d_real_logit", TRAIN + "d_fake_logit") if k in keys]


def plot(workdir: str, output: str, metric: str | None = None) -> str:
  """Writes the figure (see the module docstring) to `output`; returns its path."""
  rows = read_metrics(workdir)
  keys = {k for r in rows for k in r}
  if metric:
    metric = metric if metric.startswith(EVAL) else EVAL + metric
    if metric not in keys:
      logged = sorted(k[len(EVAL):] for k in keys if k.startswith(EVAL))
      raise UserError(f"--metric={metric[len(EVAL):]} is not logged in {workdir}/metrics.jsonl "
                      f"(logged: {', '.join(logged) or 'no eval metrics yet'})")
  else:
    metric = primary_metric(workdir, rows)
  panels = [("losses", loss_keys(keys)), ("D's mean output (logit)", d_output_keys(keys)),
            (metric[len(EVAL):] if metric else "eval", [metric] if metric else [])]
  panels = [p for p in panels if p[1] or p[0] != "D's mean output (logit)"]

  from gan.plotting import _ensure_parent, _figure  # pylint: disable=g-import-not-at-top
  fig = _figure(10, 2.6 * len(panels) + 0.6, 100)
  axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
  last_step = max(r["step"] for r in rows)
  for ax, (title, panel_keys) in zip(axes, panels):
    for key in panel_keys:
      steps, values = series(rows, key)
      marker = "o" if key.startswith(EVAL) or len(steps) < 30 else None
      ax.plot(steps, values, marker=marker, ms=4, lw=1.5, label=key[len(TRAIN):] if key.startswith(TRAIN) else None)
    if title == "D's mean output (logit)":
      ax.axhline(0.0, color="#999999", lw=0.8, zorder=0)
    if panel_keys and panel_keys[0].startswith(EVAL):
      steps, values = series(rows, panel_keys[0])
      lower = sweep.lower_is_better(panel_keys[0])
      best = (min if lower else max)(range(len(values)), key=values.__getitem__)
      ax.plot([steps[best]], [values[best]], "*", ms=14, color="tab:red", zorder=5,
              label=f"best {values[best]:.4g} at step {steps[best]}")
      title = f"{title} ({'lower' if lower else 'higher'} is better)"
      positive = [v for v in values if v > 0]
      if len(positive) == len(values) > 1 and max(values) / min(values) > 100:
        ax.set_yscale("log")
    elif not panel_keys:
      ax.text(0.5, 0.5, "no evaluation logged yet", transform=ax.transAxes, ha="center", va="center",
              fontsize=12, color="#666666")
    ax.set_title(title, fontsize=12, loc="left")
    ax.grid(color="#e5e5e5")
    ax.tick_params(labelsize=10)
    if ax.get_legend_handles_labels()[0]:
      ax.legend(fontsize=10, loc="best", frameon=False)
  axes[-1].set_xlabel("step", fontsize=11)
  axes[-1].set_xlim(0, max(last_step, 1) * 1.03)  # room for the best-value marker at the last step
  fig.suptitle(f"{os.path.basename(os.path.abspath(workdir))}: {len(rows)} logged rows, last step {last_step}",
               fontsize=12)
  fig.tight_layout()
  _ensure_parent(output)
  fig.savefig(output, format="png", facecolor="white")
  return output


def main(argv=None) -> int:
  parser = _Parser(description=__doc__.split("\n")[0])
  parser.add_argument("--workdir", required=True, help="the run's directory (gan.main's --workdir)")
  parser.add_argument("--output", help="PNG to write (default: WORKDIR/metrics.png)")
  parser.add_argument("--metric", help="eval metric for the third panel (default: the primary metric)")
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  try:
    path = plot(args.workdir, args.output or os.path.join(args.workdir, "metrics.png"), args.metric)
  except UserError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  print(f"wrote {path}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
