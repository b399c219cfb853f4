"""Evaluation: the feature suite, its protocol and cache, the best checkpoint, scripts/evaluate.py."""
import json
import math
import os
import types

import jax
import numpy as np
import pytest
import tensorflow_datasets as tfds

import gan.metrics
from experiments import mnist_dcgan
from gan import checkpointing, config_validation, evaluation, factory, sampling
from gan.data import builtin, get_dataset
from gan.errors import UserError
from gan.metrics import augmentation_score, digits, features, inception, suite
from gan.train import train_and_evaluate
from tests.helpers import tiny_digits_config, tiny_ring_config
from tests.test_cli import read_jsonl, run_script

PROTOCOL_KEYS = {"step", "generator", "num_generated", "noise_seed", "data", "reference",
                 "primary_metric"}
FEATURE_NET_KEYS = {"name", "weights_hash", "input", "resize", "num_reference", "num_knn",
                    "reference_data_hash"}


def test_package_exports_the_feature_metrics():
  for name in ("frechet_distance", "kernel_inception_distance", "inception_score",
               "precision_recall", "density_coverage"):
    assert getattr(gan.metrics, name) is getattr(features, name)


def test_digits_fd_separates_held_out_real_digits_from_noise():
  x_train, _, x_test, _ = digits.split_digits()
  net = digits.get_classifier().net
  noise = np.random.default_rng(0).uniform(-1, 1, x_test.shape).astype(np.float32)
  train, held_out, random = (net(x)[0] for x in (x_train, x_test, noise))
  fd_real = gan.metrics.frechet_distance(train, held_out)
  fd_noise = gan.metrics.frechet_distance(train, random)
  assert fd_real < 0.05 * fd_noise, (fd_real, fd_noise)


def test_feature_net_does_not_depend_on_device_count():
  x, _ = digits.split_digits()[:2]
  net = digits.get_classifier().net
  one = net(x[:203], devices=jax.local_devices()[:1])
  four = net(x[:203])
  assert len(jax.local_devices()) == 4
  for a, b in zip(one, four):
    np.testing.assert_array_equal(a, b)


def pixels_evaluator(monkeypatch, tmp_path, generated, reference):
  """An Evaluator whose G returns `generated` and whose feature net's features are the pixels it is
  given (in [-1, 1]), against `reference`; returns (evaluator, the batches the net was given)."""
  monkeypatch.setenv("GAN_CACHE_DIR", str(tmp_path))
  monkeypatch.setattr(sampling, "generate", lambda game, g_params, g_collections, num, seed: generated[:num])
  seen = []

  def apply(x):
    seen.append(np.asarray(x))
    flat = x.reshape(len(x), -1)
    return flat, flat[:, :2]
  net = suite.FeatureNet("pixels", "none", "none", apply)
  evaluator = evaluation.Evaluator.__new__(evaluation.Evaluator)
  config = tiny_digits_config()
  config.eval.grid_size = len(generated)
  evaluator.config, evaluator.game, evaluator.primary, evaluator._reference = config, None, None, None
  evaluator.dataset, evaluator.num_samples = types.SimpleNamespace(kind="images"), len(generated)
  evaluator.samples_dir = str(tmp_path)
  evaluator.suite = evaluation.FeatureSuite("pixels", net, lambda: reference, "stand-in", {})
  return evaluator, seen


def test_generated_images_are_scored_as_8_bit_images(monkeypatch, tmp_path):
  """Generated images reach the feature net as the 8-bit images they would be saved as (StyleGAN2-ADA,
  metrics/metric_utils.py, `compute_feature_stats_for_generator`; pytorch-fid reads saved uint8 images):
  x and its 8-bit quantisation give identical features and metrics; uint8 reference images are read
  as they are."""
  rng = np.random.default_rng(0)
  x = rng.uniform(-1.1, 1.1, (12, 2, 2, 1)).astype(np.float32)
  levels = np.clip(x * 127.5 + 128, 0, 255).astype(np.uint8)  # the reference's expression
  reference = rng.integers(0, 256, (12, 2, 2, 1), dtype=np.uint8)
  results = []
  for i, generated in enumerate((x, levels.astype(np.float32) / 127.5 - 1.0)):
    evaluator, seen = pixels_evaluator(monkeypatch, tmp_path / str(i), generated, reference)
    results.append(evaluator(0, None, None, generator="raw", write_files=False).metrics)
    generated_input, reference_input = (batch[:12] for batch in seen)  # batches padded to 16 rows
    np.testing.assert_array_equal(generated_input, levels.astype(np.float32) / 127.5 - 1.0)
    np.testing.assert_array_equal(reference_input, reference.astype(np.float32) / 127.5 - 1.0)
  assert results[0] == results[1]


def test_8_bit_quantisation_picks_the_levels_of_stylegan2_ada(monkeypatch, tmp_path):
  """(x * 127.5 + 128).clamp(0, 255).to(torch.uint8): the nearest of the 256 levels k / 127.5 - 1,
  clipped to [0, 255]. Values are placed at fractions of the way from level 100 to level 101."""
  fractions = np.array([0.0, 0.3, 0.49, 0.51, 0.7])
  x = np.concatenate([(100 + fractions) / 127.5 - 1.0, [-1.0, 1.0, -1.3, 1.2, 0.0]]).astype(np.float32)
  expected = np.array([100, 100, 100, 101, 101, 0, 255, 0, 255, 128], np.uint8)
  evaluator, seen = pixels_evaluator(monkeypatch, tmp_path, x.reshape(-1, 1, 1, 1),
                                     np.arange(10, dtype=np.uint8).reshape(-1, 1, 1, 1) * 25)
  evaluator(0, None, None, generator="raw", write_files=False)
  np.testing.assert_array_equal(seen[0][:10, 0, 0, 0], expected.astype(np.float32) / 127.5 - 1.0)
  np.testing.assert_array_equal(suite.quantize_8bit(x), expected)


def test_suite_on_the_reference_itself_gives_the_closed_forms(tmp_path, monkeypatch):
  """Generated = the reference's own k-NN set: FD 0, precision = recall = coverage = 1 and
  density = (k + 1) / k (each closed ball holds its centre and its k neighbours; up to a few
  rounding-level ties at the k-th neighbour among real digits)."""
  monkeypatch.setenv("GAN_CACHE_DIR", str(tmp_path))
  net = digits.get_classifier().net
  x, _ = digits.split_digits()[:2]
  reference = suite.get_reference(net, x)
  assert reference.num == len(x) == len(reference.knn_features)
  feats = reference.knn_features.astype(np.float64)
  probs = np.full((len(feats), 10), 0.1)
  metrics, protocol = suite.feature_metrics("digits", reference, feats, probs)
  assert metrics["digits_fd"] < 1e-6 * np.trace(reference.sigma)
  assert metrics["digits_precision"] == metrics["digits_recall"] == metrics["digits_coverage"] == 1.0
  assert metrics["digits_density"] == pytest.approx(6 / 5, rel=1e-3)
  assert metrics["digits_is"] == pytest.approx(1.0)  # uniform predictions
  assert protocol["num_knn"] == len(x) and protocol["precision_recall_k"] == 3


@pytest.mark.parametrize("m", [300, 1500])
def test_suite_kid_is_the_subset_protocol(m):
  """KID = mean over 100 seeded subsets of 1,000 per set (Binkowski et al.'s protocol); with m <= 1,000
  the single full estimate. Checked against gan.metrics' function and the formula's two regimes."""
  rng = np.random.default_rng(0)
  real = rng.normal(size=(m, 4)).astype(np.float32)
  fake = rng.normal(0.3, 1.0, size=(m, 4))
  reference = suite.Reference(np.zeros(4), np.eye(4), real, m, "hash")
  metrics, protocol = suite.feature_metrics("x", reference, fake, np.full((m, 10), 0.1))
  subsets = features.kernel_inception_distance(real.astype(np.float64), fake, subset_size=1000,
                                               num_subsets=100, seed=0)
  full = features.kernel_inception_distance(real.astype(np.float64), fake, subset_size=m)
  assert metrics["x_kid"] == pytest.approx(subsets["mean"], rel=1e-12)
  assert (subsets["std"] == 0.0) == (m <= 1000)  # one full estimate vs 100 different subsets
  if m > 1000:
    assert metrics["x_kid"] != full["mean"] and "100 random subsets of 1000" in protocol["kid"]
  else:
    assert metrics["x_kid"] == full["mean"] and f"all {m} x {m} pairs" in protocol["kid"]


def test_reference_is_cached_on_disk_and_reused(tmp_path, monkeypatch):
  monkeypatch.setenv("GAN_CACHE_DIR", str(tmp_path))
  net = digits.get_classifier().net
  x = digits.split_digits()[2]
  first = suite.get_reference(net, x)
  path = suite.reference_path(net, suite.data_hash(x))
  assert os.path.exists(path)

  def broken(_):
    raise AssertionError("reference features recomputed instead of read from the cache")
  cached = suite.get_reference(suite.FeatureNet(net.name, net.weights_hash, net.resize, broken), x)
  np.testing.assert_array_equal(cached.mu, first.mu)
  np.testing.assert_array_equal(cached.knn_features, first.knn_features)
  # Other weights or other images: another file.
  assert suite.reference_path(net, suite.data_hash(x[1:])) != path
  assert suite.reference_path(suite.FeatureNet("DigitsCNN", "other", "", broken), first.data_hash) != path


def test_best_checkpointer_keeps_the_argmin_across_resumes(tmp_path):
  values = [3.0, 1.0, 2.0, 1.0, float("nan"), 0.5]
  best = checkpointing.BestCheckpointer(str(tmp_path), "fd", "min")
  saved = [best.update(s, {"fd": v}, {"w": np.full(2, s)}, {}, {}) for s, v in enumerate(values[:4])]
  assert saved == [True, True, False, False]  # a tie keeps the earlier step
  best.close()
  best = checkpointing.BestCheckpointer(str(tmp_path), "fd", "min")  # resumed run
  assert best.value == 1.0
  assert not best.update(4, {"fd": values[4]}, {"w": np.full(2, 4)}, {}, {})
  assert best.update(5, {"fd": values[5]}, {"w": np.full(2, 5)}, {}, {})
  assert best.ckpt.manager.all_steps() == [5]
  best.close()
  # Another primary metric: the kept checkpoint no longer counts, whatever its value.
  other = checkpointing.BestCheckpointer(str(tmp_path), "is", "max")
  assert other.value is None and other.update(6, {"is": -1.0}, {"w": np.zeros(2)}, {}, {})
  other.close()


def test_record_protocol_appends_only_changes(tmp_path):
  base = {"generator": "ema", "num_generated": 100}
  for step, num in ((10, 100), (20, 100), (30, 200)):
    evaluation.record_protocol(str(tmp_path), {**base, "step": step, "num_generated": num})
  with open(tmp_path / "eval" / "protocol.json") as f:
    entries = json.load(f)
  assert entries == [{"from_step": 10, **base}, {"from_step": 30, **base, "num_generated": 200}]


@pytest.mark.parametrize("key,value,expected", [
    ("primary_metric", "fid", "config.eval.primary_metric='fid' is not valid: expected '' (the data's "
     "default) or one of digits_classes_covered"),
    ("inception_weights", "/nonexistent.npz", "config.eval.inception_weights='/nonexistent.npz' is not valid"),
    ("num_samples", 5, "config.eval.num_samples=5 is not valid: expected an integer >= 10"),
])
def test_bad_eval_keys_are_refused(key, value, expected):
  config = tiny_digits_config()
  config.eval[key] = value
  with pytest.raises(UserError, match=expected.replace("(", r"\(").replace(")", r"\)")):
    config_validation.validate(config)


def test_primary_metric_defaults():
  assert evaluation.primary_metric(tiny_digits_config()) == ("digits_fd", "min")
  config = tiny_digits_config()
  config.eval.primary_metric = "digits_coverage"
  assert evaluation.primary_metric(config) == ("digits_coverage", "max")
  assert evaluation.primary_metric(tiny_ring_config()) == ("reverse_kl", "min")
  config = mnist_dcgan.get_config()
  assert evaluation.primary_metric(config) == ("mnist_fd", "min")  # eval.feature_net="mnist_cnn"
  config.eval.feature_net = ""
  assert evaluation.primary_metric(config) is None  # no Inception weights


def test_tfds_without_inception_weights_warns_once_and_skips(tmp_path, caplog):
  config = tiny_digits_config()
  config.data.update(name="tfds", tfds_name="mnist")  # any image data: the warning comes first
  dataset = get_dataset(tiny_digits_config().data, seed=0, batch_size=8)
  game = factory.build_game(config, example_shape=dataset.example_shape, num_classes=10)
  params = jax.jit(game.init)(jax.random.PRNGKey(0), np.zeros((8, 8, 8, 1), np.float32))
  evaluator = evaluation.Evaluator(config, game, dataset, str(tmp_path))
  results = [evaluator(s, params.g_params, params.g_collections, generator="raw") for s in (1, 2)]
  warnings = [r for r in caplog.records if "eval.inception_weights" in r.getMessage()]
  assert len(warnings) == 1 and warnings[0].levelname == "WARNING"
  assert results[0].metrics == {} and "feature_net" not in results[0].protocol


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("digits_run"))
  config = tiny_digits_config(num_train_steps=30)
  config.eval.update(every_steps=10, num_samples=100)
  config.checkpoint.every_steps = 10
  train_and_evaluate(config, workdir)
  return workdir


def test_training_logs_eval_metrics_protocol_and_keeps_the_best(digits_run):
  rows = [r for r in read_jsonl(os.path.join(digits_run, "metrics.jsonl")) if "eval/digits_fd" in r]
  assert [r["step"] for r in rows] == [10, 20, 30]
  for name in ("is", "kid", "precision", "recall", "density", "coverage"):
    assert math.isfinite(rows[-1][f"eval/digits_{name}"])
  with open(os.path.join(digits_run, "eval", "protocol.json")) as f:
    (protocol,) = json.load(f)
  assert protocol["from_step"] == 10 and PROTOCOL_KEYS - {"step"} <= set(protocol)
  assert FEATURE_NET_KEYS <= set(protocol["feature_net"])
  assert protocol["generator"] == "ema" and protocol["num_generated"] == 100
  assert protocol["feature_net"]["weights_hash"] == digits.get_classifier().net.weights_hash
  assert protocol["feature_net"]["num_reference"] == 1797
  best_row = min(rows, key=lambda r: r["eval/digits_fd"])
  _, meta, _, state = sampling.load_run(digits_run, best=True)
  assert int(state.step) == best_row["step"]
  assert meta["best"] == {"metric": "digits_fd", "value": best_row["eval/digits_fd"], "mode": "min"}


def run_evaluate(*args):
  return run_script("scripts/evaluate.py", *args)


def test_evaluate_script_reproduces_the_training_eval_and_writes_json(digits_run):
  result = run_evaluate(f"--workdir={digits_run}")
  assert result.returncode == 0, result.stderr[-3000:]
  with open(os.path.join(digits_run, "eval", "step_30.json")) as f:
    out = json.load(f)
  assert out["step"] == 30 and PROTOCOL_KEYS <= set(out["protocol"])
  assert out["protocol"]["step"] == 30 and out["protocol"]["generator"] == "ema"
  logged = [r for r in read_jsonl(os.path.join(digits_run, "metrics.jsonl")) if r["step"] == 30
            and "eval/digits_fd" in r][0]
  assert {f"eval/{name}" for name in out["metrics"]} == {k for k in logged if k.startswith("eval/")}
  for name, value in out["metrics"].items():  # same checkpoint, noise and protocol: same numbers
    assert value == pytest.approx(logged[f"eval/{name}"], rel=1e-6, abs=1e-9), name
  assert "digits_fd" in result.stdout and "step_30.json" in result.stdout


@pytest.mark.parametrize("args,expected", [
    (["--workdir={run}", "--checkpoint_step=25"], "error: --checkpoint_step=25 not found in"),
    (["--workdir={run}/nope"], "error: --workdir="),
    (["--workdir={run}", "--augmentation_score"],
     "error: --augmentation_score needs a class-conditional generator trained on the digits"),
])
def test_evaluate_script_bad_input_is_one_line_exit_2(digits_run, args, expected):
  result = run_evaluate(*[a.format(run=digits_run) for a in args])
  assert result.returncode == 2
  errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
  assert len(errors) == 1 and errors[0].startswith(expected), result.stderr[-2000:]
  assert "Traceback" not in result.stderr


def test_tfds_fid_with_random_inception_weights(tmp_path, monkeypatch):
  """The TFDS path on mock MNIST (12 images, resized to 32x32) with a random Inception file."""
  monkeypatch.setenv("GAN_CACHE_DIR", str(tmp_path))
  weights = str(tmp_path / "random_inception.npz")
  inception.save_params(weights, inception.random_variables(0))
  config = mnist_dcgan.get_config()
  config.data.name = "tfds"  # mnist_dcgan's TFDS route (its default reads IDX files)
  config.model.z_dim = 8
  config.model.generator.width = config.model.discriminator.width = 8
  config.eval.update(grid_size=4, num_samples=10, inception_weights=weights, feature_net="")
  config_validation.validate(config)
  with tfds.testing.mock_data(num_examples=12):
    dataset = get_dataset(config.data, seed=0, batch_size=8)
  game = factory.build_game(config, example_shape=dataset.example_shape, num_classes=10)
  state = jax.jit(game.init)(jax.random.PRNGKey(0), np.zeros((8, *dataset.example_shape), np.float32))
  evaluator = evaluation.Evaluator(config, game, dataset, str(tmp_path / "run"))
  assert evaluator.primary == ("inception_fd", "min")
  result = evaluator(7, state.g_params, state.g_collections, generator="raw")
  for name in ("fd", "kid", "is", "precision", "recall", "density", "coverage"):
    assert math.isfinite(result.metrics[f"inception_{name}"]), name
  assert 1.0 <= result.metrics["inception_is"] <= 1008
  protocol = result.protocol
  assert PROTOCOL_KEYS <= set(protocol) and protocol["step"] == 7 and protocol["generator"] == "raw"
  assert "'mnist' split 'train'" in protocol["reference"] and "32x32x1" in protocol["reference"]
  net = protocol["feature_net"]
  assert net["name"] == "InceptionV3-FID" and net["weights_hash"] == inception.weights_hash(weights)
  assert net["resize"].startswith("bilinear to 299x299")
  assert net["num_reference"] == 12 and net["num_knn"] == 10
  assert os.path.exists(suite.reference_path(evaluator.suite.net, suite.data_hash(dataset.x)))


@pytest.mark.parametrize("shift,expected", [(0, 0.97), (1, 0.05)])
def test_class_accuracy_of_a_generator_that_returns_real_digits(monkeypatch, shift, expected):
  """A stand-in G that returns real digits of class (k + shift) % 10 when asked for class k."""
  images, labels = builtin.load_digits()
  def fake_generate(game, g_params, g_collections, num, seed, *, label=None, chunk=1000):
    return images[labels == (label + shift) % 10][:num]
  monkeypatch.setattr(sampling, "generate", fake_generate)
  config = tiny_digits_config()
  config.model.generator.conditioning = "cbn"
  game = factory.build_game(config, example_shape=(8, 8, 1), num_classes=10)
  evaluator = evaluation.Evaluator.__new__(evaluation.Evaluator)
  evaluator.config, evaluator.game = config, game
  evaluator.suite = evaluation.feature_suite(config, None)  # the DigitsCNN's (the digits need no dataset)
  accuracy = evaluator.class_accuracy(None, None, per_class=150)
  assert accuracy.shape == (10,)
  assert (accuracy.mean() >= expected) if shift == 0 else (accuracy.max() <= expected)


def test_augmentation_score_runs_on_the_conditional_generator_and_is_recorded(tmp_path, monkeypatch):
  """The evaluation hands gan/metrics/augmentation_score.py the run's G, drawing the asked class."""
  asked = []

  def fake_scores(generate, protocol):
    assert protocol == augmentation_score.Protocol()  # the digits' protocol
    for k in (3, 7):
      images = generate(k, 5)
      asked.append((k, images.shape))
    return {"digits_cas": 0.5}, {"generated_per_class": 5}
  monkeypatch.setattr(augmentation_score, "augmentation_scores", fake_scores)
  config = tiny_digits_config()
  config.model.generator.conditioning = "cbn"
  config.eval.update(num_samples=50, grid_size=4, augmentation_score=True)
  dataset = get_dataset(config.data, seed=0, batch_size=8)
  game = factory.build_game(config, example_shape=(8, 8, 1), num_classes=10)
  state = game.init(jax.random.PRNGKey(0), np.zeros((8, 8, 8, 1), np.float32))
  result = evaluation.Evaluator(config, game, dataset, str(tmp_path))(
      1, state.g_params, state.g_collections, generator="raw", write_files=False)
  assert asked == [(3, (5, 8, 8, 1)), (7, (5, 8, 8, 1))]
  assert result.metrics["digits_cas"] == 0.5
  assert result.protocol["augmentation_score"] == {"generated_per_class": 5}
  assert evaluation.metric_directions(config)["digits_cas"] == "max"


@pytest.fixture(scope="module")
def run_with_early_best(digits_run, tmp_path_factory):
  """digits_run with its best checkpoint replaced by step 10's state (as if step 10 had scored best), so
  that --best and the latest checkpoint differ."""
  import shutil  # pylint: disable=g-import-not-at-top
  workdir = str(tmp_path_factory.mktemp("early_best") / "run")
  shutil.copytree(digits_run, workdir)
  shutil.rmtree(os.path.join(workdir, "best"))
  config, meta, _, state = sampling.load_run(workdir, 10)
  logged = [r for r in read_jsonl(os.path.join(workdir, "metrics.jsonl")) if r["step"] == 10 and "eval/digits_fd" in r]
  best = checkpointing.BestCheckpointer(workdir, "digits_fd", "min")
  assert best.update(10, {"digits_fd": logged[0]["eval/digits_fd"]}, jax.device_get(state), config.to_dict(), meta)
  best.close()
  return workdir, logged[0]


def test_evaluate_and_sample_scripts_best_and_raw(run_with_early_best, tmp_path):
  workdir, logged_at_10 = run_with_early_best
  result = run_evaluate(f"--workdir={workdir}", "--best")
  assert result.returncode == 0, result.stderr[-3000:]
  with open(os.path.join(workdir, "eval", "step_10.json")) as f:
    out = json.load(f)
  assert out["step"] == 10 and out["protocol"]["generator"] == "ema"
  for name, value in out["metrics"].items():
    assert value == pytest.approx(logged_at_10[f"eval/{name}"], rel=1e-6, abs=1e-9), name

  result = run_evaluate(f"--workdir={workdir}", "--raw")
  assert result.returncode == 0, result.stderr[-3000:]
  with open(os.path.join(workdir, "eval", "step_30_raw.json")) as f:
    raw = json.load(f)
  logged_at_30 = [r for r in read_jsonl(os.path.join(workdir, "metrics.jsonl")) if r["step"] == 30
                  and "eval/digits_fd" in r][0]
  assert raw["step"] == 30 and raw["protocol"]["generator"] == "raw"
  assert set(raw["metrics"]) == {k[len("eval/"):] for k in logged_at_30 if k.startswith("eval/")}
  assert raw["metrics"]["digits_fd"] != pytest.approx(logged_at_30["eval/digits_fd"], rel=1e-3)  # not the EMA's

  result = run_script("scripts/sample.py", f"--workdir={workdir}", "--best", "--num_samples=8",
                      f"--output={tmp_path / 'best.npy'}")
  assert result.returncode == 0, result.stderr[-3000:]
  _, _, game, state = sampling.load_run(workdir, 10)
  expected = sampling.generate(game, state.ema_params, state.g_collections, 8, seed=0)
  np.testing.assert_allclose(np.load(tmp_path / "best.npy"), expected, rtol=1e-6, atol=1e-6)
  _, _, _, latest = sampling.load_run(workdir)
  assert not np.allclose(expected, sampling.generate(game, latest.ema_params, latest.g_collections, 8, seed=0))


def test_conditional_evaluation_reports_each_class_in_metrics_and_keeps_one_protocol(monkeypatch, tmp_path):
  """A stand-in conditional G whose classes come out right or shifted by one, alternately: the per-class
  accuracies are metrics (their mean is cond_accuracy), and protocol.json, which says how the numbers were
  measured, keeps one entry across evaluations whose numbers differ."""
  images, labels = builtin.load_digits()
  shift = {"value": 0}

  def fake_generate(game, g_params, g_collections, num, seed, *, label=None, chunk=1000):
    if label is None:
      return images[:num]
    return images[labels == (label + shift["value"] * (label % 2)) % 10][:num]
  monkeypatch.setattr(sampling, "generate", fake_generate)
  config = tiny_digits_config()
  config.model.generator.conditioning = "cbn"
  config.eval.update(num_samples=300, grid_size=4)
  dataset = get_dataset(config.data, seed=0, batch_size=8)
  game = factory.build_game(config, example_shape=(8, 8, 1), num_classes=10)
  evaluator = evaluation.Evaluator(config, game, dataset, str(tmp_path))
  for step, value in ((10, 0), (20, 1)):
    shift["value"] = value
    result = evaluator(step, None, None, generator="ema", write_files=False)
    evaluation.record_protocol(str(tmp_path), result.protocol)
    per_class = np.array([result.metrics[f"digits_class_accuracy_{k}"] for k in range(10)])
    assert result.metrics["digits_cond_accuracy"] == pytest.approx(per_class.mean())
    assert result.metrics["digits_cond_accuracy_min"] == pytest.approx(per_class.min())
    odd = per_class[1::2]
    assert (odd.min() > 0.8) if value == 0 else (odd.max() < 0.2)  # odd classes drawn as the next digit
    assert set(result.metrics) - set(evaluation.metric_directions(config)) == {"digits_is_std"}  # ranks nothing
  with open(tmp_path / "eval" / "protocol.json") as f:
    (entry,) = json.load(f)
  assert entry["from_step"] == 10 and entry["class_accuracy"] == {"samples_per_class": 30}
