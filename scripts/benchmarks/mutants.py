"""A mutation check of the test suite: deliberate one-line bugs ("mutants"), each of which the tests must catch.

Usage:
  nice -n 10 python scripts/benchmarks/mutants.py [--only=NAME[,NAME]] [--output=docs/mutants.md] [--timeout=900]

The repository's committed tree (`git archive HEAD`) is copied into a temporary directory; the working tree
is never touched, so edits in progress do not matter. With no mutant applied, the hint tests of the
selected mutants must pass there (else the script reports it and stops). Then, for each mutant of
MUTANTS, in turn: its one-line change is applied to the copy, its hint tests run
(`pytest -x -q <hints>`); if they pass, the whole suite runs (`pytest -x -n 2 tests`); the first failing
test and the seconds taken are recorded, and the file is restored. A mutant after which the suite
passes is NOT CAUGHT: the table says so and the script exits 1.

Each mutant is a plausible bug (wrong sign, wrong axis, dropped term, off-by-one, wrong variable, a line
deleted), not a syntax error: its original text must occur exactly once in its file (checked for every
mutant before anything runs, so that the table stays right as the code changes) and the mutated file
must still compile. Hints are test files, or single tests (`file::name`) where a file is slow.

The report (Markdown) holds the table, the totals, the date, commit and machine. A run with `--only`
updates those mutants' rows of an existing report (its results are kept in a comment at its end).
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import py_compile
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RESULTS_MARK = "<!-- mutant results: "


@dataclasses.dataclass(frozen=True)
class Mutant:
  name: str
  file: str
  original: str  # a substring of one line, occurring exactly once in `file`
  replacement: str
  why: str  # why the change is a bug
  hints: tuple[str, ...]  # tests likely to catch it: files or file::test ids, tried first


M = Mutant
MUTANTS = (
    # ------------------------------------------------------------------ the train step (gan/steps.py)
    M("critic_batch", "gan/steps.py",
      'batch["x"][i], batch["label"][i]', 'batch["x"][0], batch["label"][0]',
      "every D update of a step reads the first real batch instead of its own",
      ("tests/test_steps.py",)),
    M("d_penalty_dropped", "gan/steps.py",
      "return loss + sum(terms.values()), (loss, terms, real_logits, fake_logits, collections)",
      "return loss, (loss, terms, real_logits, fake_logits, collections)",
      "D's penalties are reported but no longer added to the loss it minimises",
      ("tests/test_steps.py",)),
    M("lazy_r1_index", "gan/steps.py",
      "state.step * self.n_critic + i", "state.step + i",
      "lazy regularization counts steps, not D updates, when n_critic > 1",
      ("tests/test_regularizers.py::test_lazy_penalty_in_the_step_counts_d_updates_over_the_run",)),
    M("g_not_augmented", "gan/steps.py",
      'fake = self._augment(fake, aug_key, state.augment_state["p"], axis_name)', "pass",
      "line deleted: G is scored on un-augmented fakes while D only ever saw augmented ones",
      ("tests/test_steps.py::test_g_update_scores_augmented_images",)),
    M("ada_due_off_by_one", "gan/steps.py",
      "due = count >= self.ada_interval", "due = count > self.ada_interval",
      "ADA's p is adjusted every interval + 1 D updates",
      ("tests/test_augment_step.py::test_ada_p_rises_when_d_is_confident_on_reals_and_falls_otherwise",)),
    M("ema_weight", "gan/steps.py",
      "state.ema_params, 1.0 - self.ema_decay)", "state.ema_params, self.ema_decay)",
      "the EMA keeps 1 - decay of the old average instead of decay",
      ("tests/test_steps.py::test_ema_is_incremental_average_after_start_step",)),
    # ------------------------------------------------------------------ losses
    M("hinge_fake_sign", "gan/losses.py",
      "jax.nn.relu(1.0 + fake_logits)", "jax.nn.relu(1.0 - fake_logits)",
      "hinge D loss pushes fake logits up instead of down",
      ("tests/test_losses.py",)),
    M("non_saturating_sign", "gan/losses.py",
      "return batch_mean(jax.nn.softplus(-fake_logits), axis_name)",
      "return batch_mean(jax.nn.softplus(fake_logits), axis_name)",
      "non-saturating G loss minimises -log(1 - D(G(z))): G trains to look fake",
      ("tests/test_losses.py",)),
    M("relativistic_local_mean", "gan/losses.py",
      "fake_logits - batch_mean(real_logits, axis_name))", "fake_logits - jnp.mean(real_logits))",
      "RaGAN's E[D(real)] over each device's slice, not the global batch, under pmap",
      ("tests/test_losses.py",)),
    # ------------------------------------------------------------------ penalties
    M("r1_on_fakes", "gan/regularizers.py",
      "(inputs.d_fn, inputs.real, inputs.real_y)", "(inputs.d_fn, inputs.fake, inputs.real_y)",
      "R1 penalises D's gradient on fakes (that is R2)",
      ("tests/test_regularizers.py",)),
    M("lazy_not_scaled", "gan/regularizers.py",
      "return (self.weight_at(d_step) * self.every", "return (self.weight_at(d_step)",
      "a penalty applied every k D updates is not multiplied by k: k times weaker",
      ("tests/test_regularizers.py::test_lazy_penalty_applies_every_k_updates_scaled_by_k",)),
    M("dragan_std_per_device", "gan/regularizers.py",
      "mean, mean_sq = lax.pmean((mean, mean_sq), axis_name)", "pass",
      "line deleted: DRAGAN's std is each device's, so pmap results depend on the device count",
      ("tests/test_regularizers.py::test_penalties_do_not_depend_on_the_device_count",)),
    M("unsafe_sqrt", "gan/regularizers.py",
      "jnp.sqrt(jnp.where(positive, x, 1.0))", "jnp.sqrt(x)",
      "the unselected sqrt branch's infinite gradient at 0 makes D's gradient NaN",
      ("tests/test_regularizers.py::test_zero_input_gradient_gives_finite_parameter_gradients",)),
    # ------------------------------------------------------------------ augmentation
    M("diff_color_axis", "gan/augment.py",
      "pixel_mean = jnp.mean(image, axis=-1, keepdims=True)", "pixel_mean = jnp.mean(image, axis=0, keepdims=True)",
      "DiffAugment's saturation around the column mean instead of each pixel's channel mean",
      ("tests/test_augment.py",)),
    M("ada_step_interval", "gan/augment.py",
      "step = batch_size * interval / (kimg * 1000.0)", "step = batch_size / (kimg * 1000.0)",
      "ADA's p moves by the images of one D update, not of the whole interval",
      ("tests/test_augment.py::test_ada_update_moves_p_by_the_exact_step_and_clips",)),
    M("overfitting_heuristic_no_sign", "gan/augment.py",
      "return jnp.mean(jnp.sign(real_logits))", "return jnp.mean(real_logits)",
      "ADA's r_t is the mean logit instead of the mean sign",
      ("tests/test_augment.py::test_overfitting_heuristic_is_the_mean_sign",)),
    # ------------------------------------------------------------------ data
    M("process_slice", "gan/data/__init__.py",
      "start = index * self.batch_size + self.process_index * local",
      "start = index * local + self.process_index * local",
      "global batches advance by the per-process batch: processes overlap and repeat rows",
      ("tests/test_data.py",)),
    M("epoch_order_repeats", "gan/data/__init__.py",
      "index_rng(self.seed, *self.stream, epoch)", "index_rng(self.seed, *self.stream)",
      "every epoch uses the same permutation",
      ("tests/test_data.py",)),
    # ------------------------------------------------------------------ checkpointing and resume
    M("digest_without_bytes", "gan/checkpointing.py",
      "digest.update(value.tobytes())", "pass",
      "line deleted: the checksum covers only dtypes and shapes, so garbled arrays restore silently",
      ("tests/test_faults.py::test_a_garbled_array_that_reads_back_without_error_is_caught_by_the_checksum",)),
    M("restore_oldest_first", "gan/checkpointing.py",
      "sorted(self.manager.all_steps(), reverse=True)", "sorted(self.manager.all_steps())",
      "resume tries the oldest checkpoint first",
      ("tests/test_faults.py::test_damaged_latest_checkpoint_resumes_from_the_previous_good_one",)),
    M("best_on_ties", "gan/checkpointing.py",
      "return value < self.value if self.mode", "return value <= self.value if self.mode",
      "an equal metric replaces the kept best checkpoint",
      ("tests/test_loop.py::test_best_checkpoint_beaten_at_an_earlier_step_on_resume_drops_the_later_one",)),
    M("resume_from_batch_0", "gan/train.py",
      "start=start // k)", "start=0)",
      "a resumed run reads the data from the first batch again",
      ("tests/test_loop.py::test_resume_accepts_new_eval_log_checkpoint_and_profile_settings_and_trains_the_same",)),
    # ------------------------------------------------------------------ parallel code
    M("grads_not_averaged", "gan/players.py",
      "grads = average_over_devices(grads, axis_name)", "pass",
      "line deleted: under pmap each device steps on its own slice's gradient",
      ("tests/test_parallel.py",)),
    M("local_rows_offset", "gan/players.py",
      "lax.axis_index(axis_name) * local_batch, local_batch)", "lax.axis_index(axis_name), local_batch)",
      "each device's slice of the global noise starts at its index, not index * local batch",
      ("tests/test_parallel.py",)),
    M("call_reports_first_step", "gan/parallel.py",
      "lambda m: m[-1], metrics)", "lambda m: m[0], metrics)",
      "with several steps per call, the first step's metrics are reported as the last's",
      ("tests/test_performance.py::test_steps_per_call_trains_like_one_step_per_call",)),
    M("nonfinite_step_off_by_one", "gan/parallel.py",
      "last_step - steps_per_call + offset + 1, names[quantity]", "last_step - steps_per_call + offset, names[quantity]",
      "a divergence is reported one step early",
      ("tests/test_divergence.py::test_the_nan_report_names_the_first_bad_step_and_quantity_of_a_call",)),
    # ------------------------------------------------------------------ metrics
    M("fd_cross_term", "gan/metrics/features.py",
      "np.trace(sigma_b) - 2.0 * tr_covmean", "np.trace(sigma_b) - tr_covmean",
      "FD's -2 Tr (S_a S_b)^1/2 term loses its factor 2",
      ("tests/test_feature_metrics.py",)),
    M("kid_biased", "gan/metrics/features.py",
      "return (k_xx + k_yy) / (m * (m - 1))", "return (k_xx + k_yy) / (m * m)",
      "KID divides the off-diagonal kernel sums by m^2, not m(m - 1)",
      ("tests/test_feature_metrics.py",)),
    M("knn_radius_self", "gan/metrics/features.py",
      "np.partition(d2, k, axis=1)[:, k]", "np.partition(d2, k - 1, axis=1)[:, k - 1]",
      "the k-NN radius counts the point itself: the (k-1)-th neighbour's distance",
      ("tests/test_feature_metrics.py",)),
    # ------------------------------------------------------------------ normalization
    M("bn_per_device", "gan/models/normalization.py",
      "axis_name=axis_name if train else None", "axis_name=None",
      "batch norm statistics per device under pmap instead of over the global batch",
      ("tests/test_parallel.py",)),
    M("cbn_gain_without_one", "gan/models/normalization.py",
      "return (1.0 + gain.reshape(shape)) * h", "return gain.reshape(shape) * h",
      "conditional BN multiplies by gamma instead of 1 + gamma (zero output at initialisation)",
      ("tests/test_conditioning.py::test_conditional_batch_norm_uses_each_examples_class_gain_and_bias",)),
    M("layer_norm_axes", "gan/models/normalization.py",
      "reduction_axes=tuple(range(1, h.ndim))", "reduction_axes=-1",
      "layer norm over channels only instead of all of an example's features",
      ("tests/test_normalization.py",)),
    # ------------------------------------------------------------------ schedules
    M("cosine_floor_dropped", "gan/schedules.py",
      "optax.cosine_decay_schedule(value, num_steps, alpha=final_fraction)",
      "optax.cosine_decay_schedule(value, num_steps)",
      "the cosine schedule decays to 0 whatever its final fraction",
      ("tests/test_regularizers.py::test_penalty_weight_follows_its_schedule",)),
    M("linear_tail_length", "gan/schedules.py",
      "num_steps - start, transition_begin=start", "num_steps, transition_begin=start",
      "pix2pix/CycleGAN's decay lasts the whole run after the constant half: the rate never reaches 0",
      ("tests/test_translation_steps.py::test_constant_then_linear_schedule_is_the_reference_rule_per_step",)),
    # ------------------------------------------------------------------ translation families
    M("pix2pix_l1_to_source", "gan/families/pix2pix.py",
      "l1 = jnp.mean(jnp.abs(target - output))", "l1 = jnp.mean(jnp.abs(source - output))",
      "pix2pix's L1 pulls G's output towards its input, not the target",
      ("tests/test_translation_steps.py::test_pix2pix_step_is_one_d_then_one_g_sgd_step_on_the_papers_objective",)),
    M("cyclegan_identity_direction", "gan/families/cyclegan.py",
      'self._generate(params, "AtoB", b) - b', 'self._generate(params, "BtoA", b) - b',
      "CycleGAN's identity term for G: B -> A feeds b to the wrong generator",
      ("tests/test_translation_steps.py::test_cyclegan_step_is_one_g_then_one_d_sgd_step_on_the_papers_objective",)),
    M("pool_fill_off_by_one", "gan/image_pool.py",
      "filling = count < size", "filling = count <= size",
      "the history pool counts one image too many as filling it",
      ("tests/test_translation_steps.py::test_pool_fills_then_returns_a_stored_image_with_probability_one_half",)),
    M("pool_rows_of_device_0", "gan/image_pool.py",
      "players.local_rows(shown, images.shape[0], axis_name)", "shown[:images.shape[0]]",
      "under pmap every device's D sees the first device's rows of the pooled images",
      ("tests/test_translation_steps.py::test_pool_is_the_same_under_pmap_on_four_devices",)),
)


@dataclasses.dataclass
class Result:
  name: str
  caught_by: str | None  # the first failing test id; None: not caught
  stage: str  # "hinted", "full suite", or "not caught"
  seconds: float


def check_mutants(tree: str, mutants) -> list[str]:
  """Problems that make the table wrong for this tree: an original that is not exactly once in its file
  (or spans lines), a replacement equal to it, a mutated file that does not compile."""
  problems = []
  names = [m.name for m in mutants]
  for name in sorted({n for n in names if names.count(n) > 1}):
    problems.append(f"{name}: the name is used twice")
  for m in mutants:
    path = os.path.join(tree, m.file)
    if not os.path.exists(path):
      problems.append(f"{m.name}: {m.file} does not exist")
      continue
    with open(path, encoding="utf-8") as f:
      text = f.read()
    count = text.count(m.original)
    if "\n" in m.original or "\n" in m.replacement:
      problems.append(f"{m.name}: the original and the replacement must lie within one line")
    elif m.original == m.replacement:
      problems.append(f"{m.name}: the replacement equals the original")
    elif count != 1:
      problems.append(f"{m.name}: {m.original!r} occurs {count} times in {m.file}, expected exactly once")
    else:
      mutated = os.path.join(tempfile.mkdtemp(prefix="mutant_compile_"), os.path.basename(m.file))
      with open(mutated, "w", encoding="utf-8") as f:
        f.write(text.replace(m.original, m.replacement))
      try:
        py_compile.compile(mutated, doraise=True)
      except py_compile.PyCompileError as e:
        problems.append(f"{m.name}: the mutated {m.file} does not compile: {e.msg.strip().splitlines()[-1]}")
      shutil.rmtree(os.path.dirname(mutated), ignore_errors=True)
    for hint in m.hints:
      if not os.path.exists(os.path.join(tree, hint.split("::")[0])):
        problems.append(f"{m.name}: hint {hint} names no file of the tree")
  return problems


def first_failure(output: str) -> str | None:
  """The first failing test id in pytest's output ("FAILED tests/...::name" of the short summary, or an
  ERROR line), without the parameters' message."""
  for line in output.splitlines():
    match = re.match(r"(FAILED|ERROR) (\S+)", line.strip())
    if match:
      return match.group(2)
  return None


def run_pytest(tree: str, args: list[str], timeout: float) -> tuple[int, str, float]:
  """(exit code, output, seconds) of pytest in `tree`; exit code None when it ran past `timeout`."""
  basetemp = tempfile.mkdtemp(prefix="mutant_pytest_")
  env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("PYTEST_")}
  command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", f"--basetemp={basetemp}", *args]
  start = time.perf_counter()
  proc = subprocess.Popen(command, cwd=tree, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          start_new_session=True)
  try:
    output, _ = proc.communicate(timeout=timeout)
    code = proc.returncode
  except subprocess.TimeoutExpired:
    os.killpg(proc.pid, signal.SIGKILL)  # the pytest we started and its xdist workers
    output, _ = proc.communicate()
    code = None
  shutil.rmtree(basetemp, ignore_errors=True)
  return code, output, time.perf_counter() - start


def summary_line(output: str) -> str:
  lines = [line for line in output.strip().splitlines() if line.strip()]
  return lines[-1] if lines else "(no output)"


def run_mutant(tree: str, m: Mutant, timeout: float) -> Result:
  path = os.path.join(tree, m.file)
  with open(path, encoding="utf-8") as f:
    original = f.read()
  try:
    with open(path, "w", encoding="utf-8") as f:
      f.write(original.replace(m.original, m.replacement, 1))
    shutil.rmtree(os.path.join(os.path.dirname(path), "__pycache__"), ignore_errors=True)
    total = 0.0
    for stage, args in (("hinted", list(m.hints)), ("full suite", ["-n", "2", "tests"])):
      code, output, seconds = run_pytest(tree, args, timeout)
      total += seconds
      if code is None:
        return Result(m.name, f"timed out after {timeout:.0f} s", stage, total)
      if code != 0:
        caught = first_failure(output) or f"exit {code}: {summary_line(output)}"
        return Result(m.name, caught, stage, total)
      print(f"  {m.name}: the {stage} run passed ({summary_line(output)})", flush=True)
    return Result(m.name, None, "not caught", total)
  finally:
    with open(path, "w", encoding="utf-8") as f:
      f.write(original)


def machine() -> str:
  model = "unknown CPU"
  try:
    out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    found = re.search(r"^Model name:\s*(.+)$", out, re.M)
    model = found.group(1).strip() if found else model
  except (OSError, subprocess.CalledProcessError):
    pass
  return f"{model}, {os.cpu_count()} cores"


def code(text: str) -> str:
  """Inline code in a Markdown table cell."""
  text = text.replace("|", "\\|")
  return f"``{text}``" if "`" in text else f"`{text}`"


def load_previous(path: str) -> dict:
  if not os.path.exists(path):
    return {}
  with open(path, encoding="utf-8") as f:
    text = f.read()
  start = text.rfind(RESULTS_MARK)
  if start < 0:
    return {}
  return json.loads(text[start + len(RESULTS_MARK):text.index(" -->", start)])


def write_report(path: str, results: dict, runs: list[dict]) -> None:
  by_name = {m.name: m for m in MUTANTS}
  ordered = [by_name[n] for n in by_name if n in results]
  rows = []
  for m in ordered:
    r = results[m.name]
    caught = "**NOT CAUGHT**" if r["caught_by"] is None else (
        code(r["caught_by"]) + ("" if r["stage"] == "hinted" else f" ({r['stage']})"))
    rows.append(f"| {m.name}: {m.why} | {code(m.file)} | {code(m.original)} → {code(m.replacement)} | {caught} "
                f"| {r['seconds']:.0f} |")
  hinted = sum(1 for n in results if results[n]["stage"] == "hinted")
  full = sum(1 for n in results if results[n]["stage"] == "full suite")
  missed = [n for n in results if results[n]["caught_by"] is None]
  seconds = sum(r["seconds"] for r in results.values())
  lines = [
      "# Mutation check of the test suite",
      "",
      "Each row is a deliberate one-line bug (a mutant) put into a copy of the committed code, one at a time: a "
      "wrong sign, axis or variable, a dropped term, an off-by-one or a deleted line. For each, the tests named "
      "as its hints in the script ran first (`pytest -x`), and the whole suite (`pytest -x -n 2 tests`) only when "
      "they passed; \"caught by\" is the first test that failed. A mutant that the whole suite lets pass would "
      "be marked NOT CAUGHT. Rerun with `nice -n 10 .venv/bin/python scripts/benchmarks/mutants.py` "
      "(`--only=NAME[,NAME]` for some mutants; the mutants, their reasons and hints are the table `MUTANTS` in "
      "scripts/benchmarks/mutants.py, which checks that each original text occurs exactly once in its file).",
      "",
      "| mutant: why it is a bug | file | change | caught by | seconds |",
      "|---|---|---|---|---:|",
      *rows,
      "",
      f"Total: {len(results)} mutants, {len(results) - len(missed)} caught ({hinted} by their hint tests, {full} "
      f"by the full suite), {len(missed)} not caught{': ' + ', '.join(missed) if missed else ''}; "
      f"{seconds / 60:.1f} minutes of test runs.",
      "",
  ]
  for run in runs:
    lines.append(f"Run {run['date']}, commit {run['commit'][:12]}, {run['machine']}: "
                 f"{run['what']} ({run['minutes']:.1f} minutes including the check of the unmodified copy).")
  lines += ["", RESULTS_MARK + json.dumps({"results": results, "runs": runs}, sort_keys=True) + " -->", ""]
  with open(path, "w", encoding="utf-8") as f:
    f.write("\n".join(lines))


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--only", default="", help="comma-separated mutant names (default: all)")
  parser.add_argument("--output", default="docs/mutants.md", help="the Markdown report (relative to the repository)")
  parser.add_argument("--timeout", type=float, default=900.0, help="seconds allowed to one pytest run")
  args = parser.parse_args(argv)

  names = [n for n in args.only.split(",") if n]
  unknown = [n for n in names if n not in {m.name for m in MUTANTS}]
  if unknown:
    print(f"error: unknown mutant(s) {', '.join(unknown)}; known: {', '.join(m.name for m in MUTANTS)}",
          file=sys.stderr)
    return 2
  selected = [m for m in MUTANTS if not names or m.name in names]
  output = os.path.join(ROOT, args.output) if not os.path.isabs(args.output) else args.output
  started = time.perf_counter()

  commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
  tree = tempfile.mkdtemp(prefix="mutants_tree_")
  try:
    archive = subprocess.Popen(["git", "-C", ROOT, "archive", commit], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", tree], stdin=archive.stdout, check=True)
    if archive.wait() != 0:
      raise SystemExit("error: git archive failed")
    problems = check_mutants(tree, MUTANTS)
    if problems:
      print("error: the mutant table does not fit the code at commit " + commit[:12] + ":\n  " + "\n  ".join(problems),
            file=sys.stderr)
      return 2

    hints = list(dict.fromkeys(h for m in selected for h in m.hints))
    print(f"Checking the {len(hints)} hint tests on the unmodified copy of {commit[:12]} ...", flush=True)
    code_, out, seconds = run_pytest(tree, hints, args.timeout)
    if code_ != 0:
      print(f"error: the hint tests fail without any mutant ({summary_line(out)}; first failure "
            f"{first_failure(out)}), so the check would mean nothing:\n{out[-3000:]}", file=sys.stderr)
      return 2
    print(f"  passed in {seconds:.0f} s: {summary_line(out)}", flush=True)

    results = {}
    for i, m in enumerate(selected, 1):
      print(f"[{i}/{len(selected)}] {m.name} ({m.file}) ...", flush=True)
      r = run_mutant(tree, m, args.timeout)
      results[m.name] = dataclasses.asdict(r)
      status = "NOT CAUGHT" if r.caught_by is None else f"caught by {r.caught_by} ({r.stage})"
      print(f"  {status} in {r.seconds:.0f} s", flush=True)
  finally:
    shutil.rmtree(tree, ignore_errors=True)

  run = {"date": datetime.date.today().isoformat(), "commit": commit, "machine": machine(),
         "minutes": (time.perf_counter() - started) / 60,
         "what": "all mutants" if not names else "rerun of " + ", ".join(m.name for m in selected)}
  previous = load_previous(output) if names else {}
  merged = {**previous.get("results", {}), **results}
  merged = {n: merged[n] for n in (m.name for m in MUTANTS) if n in merged}  # drop mutants no longer listed
  runs = [*previous.get("runs", []), run] if names else [run]
  os.makedirs(os.path.dirname(output) or ".", exist_ok=True)
  write_report(output, merged, runs)
  missed = [n for n, r in results.items() if r["caught_by"] is None]
  print(f"Wrote {output}: {len(results) - len(missed)} of {len(results)} caught"
        + (f"; NOT CAUGHT: {', '.join(missed)}" if missed else ""))
  return 1 if missed else 0


if __name__ == "__main__":
  sys.exit(main())
