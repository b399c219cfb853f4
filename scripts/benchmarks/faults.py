"""Fault injection through the real CLI: kill -9 at random moments, a forced divergence, damaged
checkpoints and a second run on a workdir in use. Each scenario checks what must hold and the script
writes one Markdown report.

Usage:
  python scripts/benchmarks/faults.py [--experiments=ring8,digits_dcgan] [--cycles=10] [--seed=0] \
      [--workdir_root=/tmp/faults] [--output=report.md]

- kill -9: a straight run, then the same run killed with SIGKILL `--cycles` times and rerun each time,
  then rerun to the end. Each kill is aimed at one of: a random moment of the start (imports, restore,
  compilation; one in five), the moment a save's temporary directory appears (one in five), or a random
  step not yet checkpointed plus a random fraction of a logging interval (steps, saves, evaluations,
  metrics writes). Must hold: every rerun resumes (no error),
  metrics.jsonl parses line by line and equals the straight run's (each step once, same values), the
  final state is bit-identical (every array) and best/ holds the same step.
- divergence: ring8 with a WGAN loss and SGD at a learning rate that blows up within steps. With
  `divergence.action=stop` the run ends with one `error:` line naming the step and the quantity; with
  `rollback` it returns to its last good checkpoint with half the learning rates and finishes. Every
  checkpoint on disk (and best/) must be finite.
- damaged: the straight run's latest checkpoint truncated, emptied or garbled (a copy of the workdir
  each): the rerun warns naming it, moves it to damaged/ and redoes the steps from the previous one,
  bit-identically; with every checkpoint damaged: one `error:` line, exit 2, no file touched.
- lock: a second run on the workdir of a running one: one `error:` line, exit 2; after kill -9 of the
  first, a rerun starts (the lock is not stale).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

# Small runs that checkpoint, evaluate and log often, so that random kills land on every kind of moment.
RUNS = {
    "ring8": ["--config=experiments/ring8.py", "--config.num_train_steps=3000", "--config.log.every_steps=10",
              "--config.eval.every_steps=500", "--config.checkpoint.every_steps=100"],
    "digits_dcgan": ["--config=experiments/digits_dcgan.py", "--config.num_train_steps=400",
                     "--config.log.every_steps=10", "--config.eval.every_steps=100",
                     "--config.checkpoint.every_steps=50"],
}
DIVERGING = ["--config=experiments/ring8.py", "--config.num_train_steps=300", "--config.loss=wasserstein",
             "--config.optim.g.name=sgd", "--config.optim.d.name=sgd", "--config.optim.g.lr=0.05",
             "--config.optim.d.lr=0.05", "--config.log.every_steps=5", "--config.eval.every_steps=100",
             "--config.checkpoint.every_steps=5", "--config.divergence.lr_factor=0.5"]
COMPILED = "Compiled the train step"


class Process:
  """One CLI run in the background, its stderr in a file."""

  def __init__(self, args: list[str], workdir: str, log: str):
    self.log = log
    with open(log, "w") as err:
      self.proc = subprocess.Popen([sys.executable, "-m", "gan.main", *args, f"--workdir={workdir}"], cwd=ROOT,
                                   stdout=subprocess.DEVNULL, stderr=err)
    self.started = time.time()

  def stderr(self) -> str:
    with open(self.log) as f:
      return f.read()

  def wait_for(self, text: str, timeout: float = 600) -> float | None:
    """Seconds from start until `text` appears in stderr; None if the process ended first."""
    while time.time() - self.started < timeout:
      if text in self.stderr():
        return time.time() - self.started
      if self.proc.poll() is not None:
        return None
      time.sleep(0.05)
    raise TimeoutError(f"{text!r} not seen in {timeout} s: {self.log}")

  def finish(self) -> tuple[int, str]:
    return self.proc.wait(), self.stderr()


def run(args, workdir, log) -> tuple[int, str]:
  return Process(args, workdir, log).finish()


def error_lines(stderr: str) -> list[str]:
  return [line for line in stderr.splitlines() if line.startswith("error:")]


def clean(stderr: str) -> bool:
  """No traceback and no error line."""
  return "Traceback" not in stderr and not error_lines(stderr)


def metrics(workdir: str) -> list[dict]:
  """metrics.jsonl, one dict per line; raises ValueError on a torn line."""
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    return [json.loads(line) for line in f]


def states(workdir: str, subdir: str = "checkpoints") -> dict:
  """Every checkpoint's state by step, restored as scripts/sample.py restores one (the SHA-256 stored
  with each is checked)."""
  from gan import sampling  # pylint: disable=g-import-not-at-top  (jax only where needed)
  steps = checkpoint_steps(workdir, subdir)
  return {step: sampling.load_run(workdir, step, best=subdir == "best")[3] for step in steps}


def leaves(state) -> list[np.ndarray]:
  import jax  # pylint: disable=g-import-not-at-top
  return [np.asarray(x) for x in jax.tree.leaves(state)]


def bit_identical(a, b) -> bool:
  la, lb = leaves(a), leaves(b)
  return len(la) == len(lb) and all(x.dtype == y.dtype and np.array_equal(x, y, equal_nan=True)
                                    for x, y in zip(la, lb))


def finite(state) -> bool:
  return all(np.isfinite(x).all() for x in leaves(state) if np.issubdtype(x.dtype, np.floating))


def final(workdir: str, subdir: str = "checkpoints"):
  """(step, state) of the newest checkpoint, or (None, None)."""
  from gan import sampling  # pylint: disable=g-import-not-at-top
  steps = checkpoint_steps(workdir, subdir)
  return (steps[-1], sampling.load_run(workdir, steps[-1], best=subdir == "best")[3]) if steps else (None, None)


def checkpoint_steps(workdir: str, subdir: str = "checkpoints") -> list[int]:
  """The committed steps in WORKDIR/<subdir> (orbax's half-written saves carry a suffix)."""
  directory = os.path.join(workdir, subdir)
  return sorted(int(n) for n in os.listdir(directory) if n.isdigit()) if os.path.isdir(directory) else []


def last_logged_step(workdir: str) -> int:
  """The step of metrics.jsonl's last complete line (-1 if none)."""
  try:
    with open(os.path.join(workdir, "metrics.jsonl"), "rb") as f:
      lines = f.read().split(b"\n")[:-1]
    return json.loads(lines[-1])["step"] if lines else -1
  except (OSError, ValueError):
    return -1


def partial_saves(workdir: str) -> set[str]:
  """orbax's temporary directories of saves under way (or cut short) in WORKDIR/checkpoints."""
  directory = os.path.join(workdir, "checkpoints")
  return {name for name in os.listdir(directory) if "tmp" in name} if os.path.isdir(directory) else set()


def kill_cycles(name: str, cycles: int, rng: random.Random, root: str) -> dict:
  args, base = RUNS[name], os.path.join(root, name)
  shutil.rmtree(base, ignore_errors=True)
  os.makedirs(base)
  straight, killed = os.path.join(base, "straight"), os.path.join(base, "killed")
  probe = Process(args, straight, os.path.join(base, "straight.log"))
  startup = probe.wait_for(COMPILED)
  rc, stderr = probe.finish()
  assert rc == 0 and clean(stderr), f"the straight run failed: {probe.log}"
  total = int(args[1].split("=")[1])
  interval = (time.time() - probe.started - startup) / total * 10  # the time of one logging interval
  kills, resumed, expected, moments = 0, 0, 0, []

  def count_resume(stderr, had_checkpoint):  # a rerun that got past its restore must have resumed
    nonlocal resumed, expected
    if had_checkpoint and COMPILED in stderr:
      expected += 1
      resumed += "Resuming from" in stderr

  for cycle in range(cycles):
    had_checkpoint = bool(checkpoint_steps(killed))
    left_before = partial_saves(killed)  # by earlier kills
    proc = Process(args, killed, os.path.join(base, f"killed_{cycle}.log"))
    moment = rng.choices(("startup", "save", "training"), weights=(1, 1, 3))[0]
    if moment == "startup":  # imports, restore, compilation
      time.sleep(rng.uniform(0, startup))
    elif proc.wait_for(COMPILED) is None:
      break
    elif moment == "save":  # the moment orbax's temporary directory of a save appears
      while proc.proc.poll() is None and not partial_saves(killed) - left_before:
        time.sleep(0.001)
    else:  # a random step not yet checkpointed, then a random fraction of a logging interval
      target = rng.randint(max(checkpoint_steps(killed), default=0) + 1, total - 1)
      while proc.proc.poll() is None and last_logged_step(killed) < target:
        time.sleep(0.01)
      time.sleep(rng.uniform(0, interval))
    if proc.proc.poll() is not None:  # finished before the kill
      rc, stderr = proc.finish()
      assert rc == 0 and clean(stderr), f"a rerun failed: {proc.log}"
      count_resume(stderr, had_checkpoint)
      break
    proc.proc.kill()
    proc.proc.wait()
    kills += 1
    stderr = proc.stderr()
    assert clean(stderr), f"a rerun failed before it was killed: {proc.log}"
    count_resume(stderr, had_checkpoint)
    rows = metrics(killed) if os.path.exists(os.path.join(killed, "metrics.jsonl")) else []
    moments.append({"aimed_at": moment, "after_s": round(time.time() - proc.started, 2),
                    "last_logged_step": max((r["step"] for r in rows), default=None),
                    "newest_checkpoint": max(checkpoint_steps(killed), default=None),
                    "half_written_save": bool(partial_saves(killed) - left_before)})
  had_checkpoint = bool(checkpoint_steps(killed))
  proc = Process(args, killed, os.path.join(base, "killed_last.log"))
  rc, stderr = proc.finish()
  assert rc == 0 and clean(stderr), f"the last rerun failed: {proc.log}"
  count_resume(stderr, had_checkpoint)
  straight_rows, killed_rows = metrics(straight), metrics(killed)
  steps = [r["step"] for r in killed_rows if any(k.startswith("train/") for k in r)]
  # A run logs the first step it trains (gan/train.py): a resumed one adds that line.
  straight_steps = {r["step"] for r in straight_rows}
  return {
      "experiment": name, "steps": total, "kills": kills, "moments": moments,
      "reruns_resumed": f"{resumed}/{expected}",
      "kills_during_a_save": sum(m["half_written_save"] for m in moments),
      "metrics_equal": straight_rows == [r for r in killed_rows if r["step"] in straight_steps],
      "extra_lines": len(killed_rows) - sum(r["step"] in straight_steps for r in killed_rows),
      "logged_steps_once": steps == sorted(set(steps)),
      "final_state_bit_identical": bit_identical(final(straight)[1], final(killed)[1]),
      "best_same_step": final(straight, "best")[0] == final(killed, "best")[0],
  }


def divergence(root: str) -> list[dict]:
  out = []
  for action in ("stop", "rollback"):
    workdir = os.path.join(root, f"diverge_{action}")
    shutil.rmtree(workdir, ignore_errors=True)
    rc, stderr = run([*DIVERGING, f"--config.divergence.action={action}"], workdir, workdir + ".log")
    saved = {**states(workdir), **{f"best/{s}": v for s, v in states(workdir, "best").items()}}
    from gan import rollback  # pylint: disable=g-import-not-at-top
    rollbacks = rollback.history(workdir)
    out.append({"action": action, "exit": rc, "error_line": (error_lines(stderr) or [""])[0][:240],
                "traceback": "Traceback" in stderr, "rollbacks": rollbacks,
                "checkpoints": sorted(saved, key=str), "all_finite": all(map(finite, saved.values()))})
  return out


def damage(directory: str, how: str) -> None:
  """Damages every file under `directory`: truncated to half, emptied, or every 7th byte flipped."""
  for parent, _, files in os.walk(directory):
    for name in files:
      path = os.path.join(parent, name)
      with open(path, "rb") as f:
        data = f.read()
      if how == "truncated":
        data = data[:len(data) // 2]
      elif how == "emptied":
        data = b""
      else:
        data = bytes(b ^ 0xFF if i % 7 == 0 else b for i, b in enumerate(data))
      with open(path, "wb") as f:
        f.write(data)


def listing(workdir: str) -> dict:
  out = {}
  for parent, _, files in os.walk(workdir):
    for name in files:
      path = os.path.join(parent, name)
      if path == os.path.join(workdir, ".lock"):  # the holder's pid and host: a note, rewritten by each run
        continue
      out[os.path.relpath(path, workdir)] = os.path.getsize(path)
  return out


def damaged_checkpoints(root: str) -> list[dict]:
  straight = os.path.join(root, "ring8", "straight")
  args = RUNS["ring8"]
  out = []
  for how in ("truncated", "emptied", "garbled", "all garbled"):
    workdir = os.path.join(root, f"damaged_{how.replace(' ', '_')}")
    shutil.rmtree(workdir, ignore_errors=True)
    shutil.copytree(straight, workdir)
    steps = sorted(checkpoint_steps(workdir))
    for step in steps if how == "all garbled" else steps[-1:]:
      damage(os.path.join(workdir, "checkpoints", str(step)), how.split()[-1])
    before = listing(workdir)
    rc, stderr = run(args, workdir, workdir + ".log")
    warnings = [line for line in stderr.splitlines() if "cannot be restored" in line]
    row = {"damage": how, "exit": rc, "warnings": len(warnings), "error_line": (error_lines(stderr) or [""])[0][:240]}
    if how == "all garbled":
      row["files_untouched"] = listing(workdir) == before
    else:
      row["resumed_from"] = steps[-2]
      row["moved_aside"] = os.path.isdir(os.path.join(workdir, "damaged", "checkpoints", str(steps[-1])))
      row["final_state_bit_identical"] = bit_identical(final(straight)[1], final(workdir)[1])
    out.append(row)
  return out


def lock(root: str) -> dict:
  workdir = os.path.join(root, "lock")
  shutil.rmtree(workdir, ignore_errors=True)
  args = [*RUNS["ring8"][:1], "--config.num_train_steps=100000"]
  first = Process(args, workdir, workdir + "_first.log")
  first.wait_for(COMPILED)
  rc, stderr = run(args, workdir, workdir + "_second.log")
  first.proc.kill()
  first.proc.wait()
  third = Process([*RUNS["ring8"][:1], "--config.num_train_steps=100000"], workdir, workdir + "_third.log")
  third_started = third.wait_for(COMPILED) is not None
  third.proc.kill()
  third.proc.wait()
  return {"second_exit": rc, "second_error_line": (error_lines(stderr) or [""])[0][:200],
          "rerun_after_kill_9_starts": third_started}


def report(kills: list[dict], diverged: list[dict], damaged: list[dict], locked: dict, args) -> str:
  lines = [f"Command: `python scripts/benchmarks/faults.py --experiments={args.experiments} "
           f"--cycles={args.cycles} --seed={args.seed}`", "",
           "kill -9 at random moments, rerun each time, then run to the end:", "",
           "| experiment | steps | kills | kills during a save | reruns resumed | metrics.jsonl lines equal | "
           "extra lines (a resumed run's first step) | each step once | final state bit-identical | "
           "best/ same step |", "|---|---|---|---|---|---|---|---|---|---|"]
  for k in kills:
    lines.append(f"| {k['experiment']} | {k['steps']} | {k['kills']} | {k['kills_during_a_save']} | "
                 f"{k['reruns_resumed']} | {k['metrics_equal']} | {k['extra_lines']} | {k['logged_steps_once']} | "
                 f"{k['final_state_bit_identical']} | {k['best_same_step']} |")
  lines += ["", "Where the kills landed (aimed at; seconds after the start; last logged step; newest checkpoint):",
            ""]
  for k in kills:
    shown = ", ".join(f"{m['aimed_at']} {m['after_s']} s/{m['last_logged_step']}/{m['newest_checkpoint']}"
                      + (" (half-written save)" if m["half_written_save"] else "") for m in k["moments"])
    lines.append(f"- {k['experiment']}: {shown}")
  lines += ["", "Forced divergence (ring8, WGAN loss, SGD lr 0.05):", "",
            "| divergence.action | exit | error line | rollbacks | checkpoints on disk | all finite |",
            "|---|---|---|---|---|---|"]
  for d in diverged:
    rollbacks = "; ".join(f"step {r['diverged_at']} {r['quantity']} -> from {r['from_step']} at lr x{r['lr_scale']}"
                          for r in d["rollbacks"]) or "-"
    lines.append(f"| {d['action']} | {d['exit']} | {d['error_line'] or '-'} | {rollbacks} | "
                 f"{', '.join(map(str, d['checkpoints']))} | {d['all_finite']} |")
  lines += ["", "Damaged checkpoints (ring8; every file of the latest step, or of every step):", "",
            "| damage | exit | warnings | resumed from | moved to damaged/ | final state bit-identical | "
            "error line | files untouched |", "|---|---|---|---|---|---|---|---|"]
  for d in damaged:
    lines.append(f"| {d['damage']} | {d['exit']} | {d['warnings']} | {d.get('resumed_from', '-')} | "
                 f"{d.get('moved_aside', '-')} | {d.get('final_state_bit_identical', '-')} | "
                 f"{d['error_line'] or '-'} | {d.get('files_untouched', '-')} |")
  lines += ["", f"Second run on a workdir in use: exit {locked['second_exit']}, `{locked['second_error_line']}`; "
            f"a rerun after kill -9 of the first starts: {locked['rerun_after_kill_9_starts']}."]
  return "\n".join(lines) + "\n"


def main(argv):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--experiments", default="ring8,digits_dcgan")
  parser.add_argument("--cycles", type=int, default=10)
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--workdir_root", default="/tmp/faults")
  parser.add_argument("--output", default=None)
  args = parser.parse_args(argv)
  rng = random.Random(args.seed)
  names = args.experiments.split(",")
  unknown = [n for n in names if n not in RUNS]
  if unknown:
    print(f"error: --experiments: unknown {', '.join(unknown)}; expected some of {', '.join(RUNS)}",
          file=sys.stderr)
    return 2
  kills = [kill_cycles(name, args.cycles, rng, args.workdir_root) for name in names]
  diverged = divergence(args.workdir_root)
  damaged = damaged_checkpoints(args.workdir_root) if "ring8" in names else []
  text = report(kills, diverged, damaged, lock(args.workdir_root), args)
  print(text)
  if args.output:
    with open(args.output, "w") as f:
      f.write(text)
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
