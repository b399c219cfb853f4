"""scripts/translate.py (and sample.py / evaluate.py on translation runs): the file's contents against
in-process translations of the held-out data, determinism, the user's own images, and one-line errors."""
import json
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

from gan import checkpointing, config_validation, families, sampling, sweep, train
from gan.data import translation as tasks
from gan.errors import UserError
from gan.families import translation
from tests.test_cli import ROOT, env, run_script
from tests.test_families import smoke_config


def save_run(workdir, family, **overrides):
  """A checkpoint (step 0, initial state) of the family's smoke config, written as the CLI writes one."""
  config = smoke_config(family, **overrides)
  run = train.setup(config, jax.devices()[:1])
  ckpt = checkpointing.Checkpointer(str(workdir), every_steps=1, max_to_keep=1)
  ckpt.save(0, run.initial_state(config.seed), config.to_dict(), run.family.meta(run.dataset), force=True)
  ckpt.close()
  return config


@pytest.fixture(scope="module")
def pix2pix_run(tmp_path_factory):
  workdir = tmp_path_factory.mktemp("pix2pix")
  return workdir, save_run(workdir, "pix2pix")


def translate(workdir, out, *args):
  return run_script("scripts/translate.py", f"--workdir={workdir}", f"--output={out}", *args)


def in_process(workdir, direction, images, seed):
  _, _, game, state = sampling.load_run(str(workdir))
  return translation.translate(game, state, direction, images, seed=seed)


def test_held_out_translations_with_targets_labels_and_references(pix2pix_run, tmp_path):
  workdir, config = pix2pix_run
  result = translate(workdir, tmp_path / "t.npz", "--num=5")
  assert result.returncode == 0, result.stderr[-2000:]
  data = tasks.load_task(config.data.name, image_size=16, channels=1)
  with np.load(tmp_path / "t.npz") as f:
    out = dict(f)
  assert sorted(out) == ["label", "reference", "reference_label", "source", "target", "translated"]
  np.testing.assert_array_equal(out["source"], data.a.test[:5])  # held-out edges, never trained on
  np.testing.assert_array_equal(out["target"], data.b.test[:5])
  np.testing.assert_array_equal(out["label"], data.a.test_labels[:5])
  np.testing.assert_array_equal(out["reference"], data.b.test[:5])
  np.testing.assert_array_equal(out["reference_label"], data.b.test_labels[:5])
  assert out["translated"].shape == (5, 16, 16, 1) and out["translated"].dtype == np.float32
  assert out["label"].dtype == np.int32 and np.abs(out["translated"]).max() <= 1
  np.testing.assert_allclose(out["translated"], in_process(workdir, "AtoB", data.a.test[:5], 0), atol=1e-6)
  # pix2pix's dropout noise comes from the seed: the same seed repeats, another one differs.
  again = translate(workdir, tmp_path / "u.npz", "--num=5", "--seed=1")
  with np.load(tmp_path / "u.npz") as f:
    assert np.abs(f["translated"] - out["translated"]).max() > 1e-4
  np.testing.assert_allclose(in_process(workdir, "AtoB", data.a.test[:5], 1),
                             np.load(tmp_path / "u.npz")["translated"], atol=1e-6)
  assert again.returncode == 0


def test_the_users_own_images(pix2pix_run, tmp_path):
  workdir, _ = pix2pix_run
  images = np.random.default_rng(0).uniform(-1, 1, (3, 16, 16, 1)).astype(np.float32)
  np.save(tmp_path / "mine.npy", images)
  result = translate(workdir, tmp_path / "t.npz", f"--input={tmp_path / 'mine.npy'}")
  assert result.returncode == 0, result.stderr[-2000:]
  with np.load(tmp_path / "t.npz") as f:
    assert sorted(f) == ["reference", "reference_label", "source", "translated"]
    np.testing.assert_array_equal(f["source"], images)
    np.testing.assert_allclose(f["translated"], in_process(workdir, "AtoB", images, 0), atol=1e-6)


def test_sample_script_writes_the_held_out_translations(pix2pix_run, tmp_path):
  workdir, config = pix2pix_run
  result = run_script("scripts/sample.py", f"--workdir={workdir}", "--num_samples=4", f"--output={tmp_path / 's.npy'}")
  assert result.returncode == 0, result.stderr[-2000:]
  data = tasks.load_task(config.data.name, image_size=16, channels=1)
  np.testing.assert_allclose(np.load(tmp_path / "s.npy"), in_process(workdir, "AtoB", data.a.test[:4], 0),
                             atol=1e-6)


def test_cyclegan_translates_both_ways(tmp_path):
  save_run(tmp_path, "cyclegan")
  result = translate(tmp_path, tmp_path / "t.npz", "--num=3", "--direction=BtoA")
  assert result.returncode == 0, result.stderr[-2000:]
  data = tasks.load_task("printed2handwritten", image_size=16, channels=1)
  with np.load(tmp_path / "t.npz") as f:
    assert "target" not in f  # unpaired
    np.testing.assert_array_equal(f["source"], data.b.test[:3])  # handwritten -> printed
    np.testing.assert_array_equal(f["reference"], data.a.test[:3])
    np.testing.assert_allclose(f["translated"], in_process(tmp_path, "BtoA", data.b.test[:3], 0), atol=1e-6)


@pytest.mark.usefixtures("translation_classifiers")
def test_evaluate_script_reports_every_metric_of_the_family(pix2pix_run, tmp_path):
  workdir, config = pix2pix_run
  result = subprocess.run([sys.executable, "scripts/evaluate.py", f"--workdir={workdir}", "--num_samples=30"],
                          cwd=ROOT, env=env(), capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-2000:]
  with open(workdir / "eval" / "step_0.json") as f:
    out = json.load(f)
  assert set(out["metrics"]) == set(families.get(config).metric_directions(config))
  assert out["protocol"]["directions"]["AtoB"]["num_translations"] == 30
  bad = run_script("scripts/evaluate.py", f"--workdir={workdir}", "--raw")
  assert bad.returncode == 2 and bad.stderr.strip() == (
      "error: --raw does not apply to a translation run: its generators have no EMA")


@pytest.mark.parametrize("args,expected", [
    (["--num=5", "--direction=BtoA"], "--direction=BtoA: this pix2pix run translates AtoB only"),
    (["--num=361"], "--num=361: edges2digits has 360 held-out edges images"),
    (["--input={bad}"], "images of shape (3, 8, 8, 1); this run translates (M, 16, 16, 1) arrays"),
    (["--num=5", "--raw"], "Unknown command line flag 'raw'"),
])
def test_bad_input_is_one_line_and_writes_nothing(pix2pix_run, tmp_path, args, expected):
  workdir, _ = pix2pix_run
  np.save(tmp_path / "bad.npy", np.zeros((3, 8, 8, 1), np.float32))
  result = translate(workdir, tmp_path / "t.npz", *[a.format(bad=tmp_path / "bad.npy") for a in args])
  assert result.returncode != 0 and "Traceback" not in result.stderr
  errors = [line for line in result.stderr.splitlines() if expected in line]
  assert errors, result.stderr[-2000:]
  assert not (tmp_path / "t.npz").exists()


def test_missing_workdir_and_a_run_of_another_family(tmp_path):
  result = translate(tmp_path / "nope", tmp_path / "t.npz", "--num=2")
  assert result.returncode == 2 and result.stderr.strip() == f"error: --workdir={str(tmp_path / 'nope')!r} does not exist"
  save_run(tmp_path / "ring", "image")
  result = translate(tmp_path / "ring", tmp_path / "t.npz", "--num=2")
  assert result.returncode == 2 and result.stderr.strip().startswith("error:") and "image family" in result.stderr
  assert not (tmp_path / "t.npz").exists()


@pytest.mark.parametrize("config_arg,overrides,expected", [
    ("experiments/pix2pix.py", ["--config.data.name=printed2handwritten"],
     "config.data.name='printed2handwritten' is not valid: expected a paired task for pix2pix"),
    ("experiments/cyclegan.py:digits2mnist", [],
     "config.data.path='' is not valid: expected the directory of the MNIST IDX files for digits2mnist"),
    ("experiments/pix2pix.py", ["--config.model.discriminator.receptive_field=142"],
     "config.model.discriminator.receptive_field=142 is not valid: expected one of 1, 16, 34, 70 for 32x32"),
    ("experiments/pix2pix.py", ["--config.data.image_size=24"],
     "config.data.image_size=24 is not valid: expected a power of two >= 8"),
    ("experiments/cyclegan.py", ["--config.model.generator.norm=batch"],
     "config.model.generator.norm='batch' is not valid: expected one of instance, none"),
    ("experiments/pix2pix.py", ["--config.l1_weight=0", "--config.gan_weight=0"],
     "config.gan_weight=0.0 is not valid: expected > 0 when l1_weight is 0"),
    ("experiments/cyclegan.py", ["--config.family=stylegan9"],
     "config.family='stylegan9' is not valid: expected one of image, pix2pix, cyclegan"),
])
def test_bad_translation_config_names_the_key(config_arg, overrides, expected):
  config = sweep.load_config(config_arg, overrides)  # as gan.main parses it
  with pytest.raises(UserError) as raised:
    config_validation.validate(config)
  assert expected in str(raised.value) and "\n" not in str(raised.value)


def test_bad_translation_config_through_the_cli_is_one_line_exit_2_and_no_workdir(tmp_path):
  for args, expected in (
      (["--config=experiments/pix2pix.py:printed2handwritten"],
       "could not load --config=experiments/pix2pix.py: ValueError: unknown pix2pix task 'printed2handwritten'"),
      (["--config=experiments/cyclegan.py", "--config.model.discriminator.receptive_field=286"],
       "config.model.discriminator.receptive_field=286 is not valid: expected one of 1, 16, 34, 70")):
    result = run_script("-m", "gan.main", f"--workdir={tmp_path / 'run'}", *args)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and expected in errors[0], result.stderr[-2000:]
    assert not (tmp_path / "run").exists()


def test_translation_benchmark_table_bars_and_bad_arguments(capsys):
  sys.path.insert(0, os.path.join(ROOT, "scripts", "benchmarks"))
  import translation_quality as tq  # pylint: disable=g-import-not-at-top
  rows = [{"name": "identity edges2digits", "direction": "AtoB", "seed": "-", "step": 0, "wall_clock_s": None,
           "label_preservation": 0.433, "fd": 1333.4},
          {"name": "pix2pix", "direction": "AtoB", "seed": 0, "step": 2000, "wall_clock_s": 341.0,
           "label_preservation": 0.975, "fd": 3.4, "l1": 0.074},
          {"name": "pix2pix", "direction": "AtoB", "seed": 1, "step": 2000, "wall_clock_s": 901.0,
           "label_preservation": 0.99, "fd": 3.0, "l1": 0.07}]
  lines = tq.table("pix2pix", rows).splitlines()
  assert lines[0] == "| run | direction | seed | steps | wall-clock (s) | label pres. | FD | L1 | pass |"
  assert lines[2] == "| identity edges2digits | AtoB | - | 0 | - | 0.433 | 1333.40 | - |  |"
  assert lines[3].endswith("| 341 | 0.975 | 3.40 | 0.074 | yes |")
  assert lines[4].endswith("| NO |")  # over the 15-minute bar
  # the same run in two suites shares one workdir; the MNIST path is not part of its name
  assert tq.run_workdir("/r", "experiments/pix2pix.py:edges2mnist", ["--config.data.path=/m/x",
                                                                      "--config.direction=BtoA"]) == \
      "/r/pix2pix_edges2mnist/direction=BtoA"
  headline, rf70 = tq.SUITES["pix2pix"][0], tq.SUITES["pix2pix_receptive_field"][0]
  assert tq.run_workdir("/r", *headline[1:]) == tq.run_workdir("/r", *rf70[1:]) == "/r/pix2pix_edges2digits/default"
  assert tq.main(["--suite=pix2pix", "--shard=2/2"]) == 2 and tq.main(["--suite=mnist", "--mnist=/nope"]) == 2
  assert capsys.readouterr().err.splitlines() == [
      "error: --shard='2/2': expected I/N with 0 <= I < N, e.g. 0/2",
      "error: --mnist='/nope': the mnist suite needs the directory of the MNIST IDX files"]
