"""Evaluation: a sample picture from fixed noise, the metrics that apply, and their protocol.

Metrics (logged as `eval/<name>`; all on the first `eval.num_samples` samples):
- 2D toys (`ring8`, `grid25`): `modes_covered`, `high_quality_fraction`, `reverse_kl`, `num_modes`
  against the analytic mixture (gan/metrics/toy.py).
- `digits`: the predicted-class histogram (`digits_classes_covered`, ..., gan/metrics/digits.py) and
  the feature suite of gan/metrics/suite.py in the DigitsCNN's 128-d feature space: `digits_fd`,
  `digits_is`, `digits_kid`, `digits_precision`, `digits_recall`, `digits_density`,
  `digits_coverage`; for class-conditional generators also `digits_cond_accuracy` (mean over
  classes k of the fraction of samples drawn for k that the classifier calls k) and
  `digits_cond_accuracy_min` (the worst class) and each class's, `digits_class_accuracy_0` ... `_9`, and with `eval.augmentation_score` the
  Classification Accuracy Score and data-augmentation score (`digits_cas`,
  `digits_subset_plus_generated_accuracy`, `digits_augmentation_gain` and their real-only baselines;
  gan/metrics/augmentation_score.py). Reference: all 1,797 bundled digits, i.e. the training set of the GAN (the
  classifier saw 80% of them; taking all rather than the 360 held-out digits lowers the small-sample
  bias of FD in 128 dimensions).
- `eval.feature_net = "mnist_cnn"` (grey 28x28 or 32x32 digits, e.g. experiments/mnist_dcgan.py): the
  same metrics in the 128-d feature space of the MnistCNN (gan/metrics/digits.py), prefix `mnist`
  (`mnist_fd`, `mnist_classes_covered`, `mnist_cond_accuracy`, `mnist_cas`, ...), the classifier trained
  on the training split of the IDX files at `eval.mnist_path` (default: `data.path` of `idx` data) and
  its accuracy on their test split recorded. Reference: the training images as the model sees them.
- TFDS and local images (`idx`, `image_folder`, `array`) with `eval.inception_weights` naming a local
  weights file: the same suite in FID Inception-v3 pool3 space, prefix `inception` (`inception_fd` is
  FID, `inception_kid` KID, `inception_is` IS). Reference: the whole `data.split` as the model is
  trained on it (after the `data.*` crop/resize), generated and real images both resized bilinearly to
  299x299. Without weights these are skipped with one warning naming the key.
The sample noise is drawn from `config.seed` alone, so pictures and metrics are comparable across
evaluations and resumes.

Protocol: every `EvalResult` carries `protocol`, a JSON-able dict: `step`, `generator` ("ema" or
"raw"), `num_generated`, `noise_seed`, `data`, `reference` (what the samples are compared with),
`primary_metric`, and for the feature suite `feature_net` (name, weights hash, `input`, resize
method, reference size and hash, k's): how the numbers were measured, never a measured number, so
that it stays the same across a run's evaluations. The training loop appends it (without `step`, with
`from_step`) to `WORKDIR/eval/protocol.json` whenever it differs from the last entry;
scripts/evaluate.py writes it into `WORKDIR/eval/step_N.json`.

8-bit images: generated and reference images reach the feature suite as the uint8 images they would
be saved as (`suite.quantize_8bit`), as StyleGAN2-ADA's metrics quantise generated images
(metrics/metric_utils.py, `compute_feature_stats_for_generator`) and pytorch-fid reads saved ones;
uint8 data (TFDS) is unchanged, float data (the digits) is quantised like the samples.

Primary metric: `eval.primary_metric` ("" = the default of the data: `reverse_kl` for toys,
`digits_fd` for digits, `mnist_fd` with the MnistCNN, `inception_fd` for other images with Inception
weights, none otherwise) ranks evaluations; the training loop keeps the best checkpoint in
`WORKDIR/best/`.
"""
from __future__ import annotations

import dataclasses
import json
import os
from typing import Callable

import numpy as np
from absl import logging

from gan import plotting, sampling
from gan.data import builtin
from gan.errors import UserError
from gan.families.base import EvalResult
from gan.json_io import write_json
from gan.metrics import augmentation_score
from gan.metrics import digits as digits_metrics
from gan.metrics import suite, toy

TOY_DATASETS = tuple(n for n in builtin.DATASETS if n != "digits")
IMAGE_DATASETS = ("tfds", "idx", "image_folder", "array")  # the suite runs in Inception space given weights
TOY_DIRECTIONS = {"modes_covered": "max", "high_quality_fraction": "max", "reverse_kl": "min"}
CLASSIFIER_PREFIXES = ("digits", "mnist")  # feature spaces of the digit classifiers (gan/metrics/digits.py)
CLASS_DIRECTIONS = {"classes_covered": "max", "class_entropy": "max", "min_class_share": "max",
                    "max_class_share": "min"}
SUITE_DIRECTIONS = {"fd": "min", "kid": "min", "is": "max", "precision": "max", "recall": "max",
                    "density": "max", "coverage": "max"}
DEFAULT_PRIMARY = {"points": "reverse_kl", "digits": "digits_fd", "mnist": "mnist_fd",
                   "inception": "inception_fd"}
FEATURE_NETS = ("", "mnist_cnn")  # eval.feature_net: "" = the data's default (suite_prefix)
NO_WEIGHTS_WARNING = ("image FID/KID/IS skipped: config key eval.inception_weights is empty (convert "
                      "pytorch-fid's weights with scripts/convert_inception_weights.py and set it)")


def inception_weights(config) -> str:
  return config.eval.get("inception_weights", "") or ""


def mnist_path(config) -> str:
  """The MNIST-format IDX directory the MnistCNN trains on: eval.mnist_path, else data.path of idx data."""
  data_path = config.data.get("path", "") if config.data.name == "idx" else ""
  return config.eval.get("mnist_path", "") or data_path


def suite_prefix(config) -> str | None:
  """"digits", "mnist", "inception" or None: the feature space the suite runs in for this config.

  `eval.feature_net = "mnist_cnn"` picks the MnistCNN (grey 28x28 or 32x32 digits); "" the default:
  the DigitsCNN for the native 8x8 digits, Inception-v3 for other images given eval.inception_weights."""
  if config.eval.get("feature_net", "") == "mnist_cnn":
    return "mnist"
  if config.data.name == "digits":  # the DigitsCNN reads native 8x8x1 digits only
    native = config.data.get("image_size", 0) in (0, 8) and config.data.get("channels", 0) in (0, 1)
    return "digits" if native else None
  if config.data.name in IMAGE_DATASETS and inception_weights(config):
    return "inception"
  return None


def conditional_generator(config) -> bool:
  """Whether the config's G takes class labels: `model.conditional` (StyleGAN2) or a
  `model.generator.conditioning` other than "none"."""
  if "conditional" in config.model:
    return bool(config.model.conditional)
  return config.model.generator.get("conditioning", "none") != "none"


def metric_directions(config) -> dict[str, str]:
  """Every metric this config's evaluation reports that can rank checkpoints -> "min" or "max"."""
  if config.data.name in TOY_DATASETS:
    return dict(TOY_DIRECTIONS)
  prefix = suite_prefix(config)
  classes = prefix in CLASSIFIER_PREFIXES
  out = {f"{prefix}_{name}": mode for name, mode in CLASS_DIRECTIONS.items()} if classes else {}
  if classes and conditional_generator(config):
    names = ["cond_accuracy", "cond_accuracy_min", *[f"class_accuracy_{k}" for k in range(digits_metrics.NUM_CLASSES)]]
    if config.eval.get("augmentation_score", False):
      names += ["cas", "subset_plus_generated_accuracy", "augmentation_gain"]
    out.update({f"{prefix}_{name}": "max" for name in names})
  if prefix:
    out.update({f"{prefix}_{name}": mode for name, mode in SUITE_DIRECTIONS.items()})
  return out


def primary_metric(config) -> tuple[str, str] | None:
  """(name, "min" | "max") of the metric that picks the best checkpoint, or None when there is none."""
  name = config.eval.get("primary_metric", "") or DEFAULT_PRIMARY.get(
      "points" if config.data.name in TOY_DATASETS else suite_prefix(config))
  return (name, metric_directions(config)[name]) if name else None


@dataclasses.dataclass(frozen=True)
class FeatureSuite:
  """Where the feature metrics run: metric prefix, feature net, reference images and their story."""
  prefix: str
  net: suite.FeatureNet
  reference_images: Callable[[], np.ndarray]
  reference: str
  extra_protocol: dict
  classifier: digits_metrics.DigitsClassifier | None = None  # the digit classifier behind `net`


def _training_images(config, dataset) -> str:
  d, shape = config.data, "x".join(map(str, dataset.example_shape))
  source = f"TFDS {d.tfds_name!r} split {d.split!r}" if d.name == "tfds" else f"{d.name} data at {d.path}"
  if d.name == "idx":
    source += f" split {d.split!r}"
  return f"{source}, all images at the training resolution {shape} (data.* crop/resize)"


def feature_suite(config, dataset) -> FeatureSuite | None:
  prefix = suite_prefix(config)
  if prefix == "digits":
    classifier = digits_metrics.get_classifier()
    return FeatureSuite(prefix, classifier.net, lambda: builtin.load_digits()[0],
                        "all 1,797 8x8 digits bundled with scikit-learn (the training set)",
                        {"classifier_held_out_accuracy": classifier.held_out_accuracy}, classifier)
  if prefix == "mnist":
    shape = tuple(dataset.example_shape)
    if shape not in ((28, 28, 1), (32, 32, 1)):
      raise UserError(f"eval.feature_net='mnist_cnn' reads grey 28x28 or 32x32 digits, but the data's images "
                      f"are {'x'.join(map(str, shape))}: set data.image_size=32 and data.channels=1")
    classifier = digits_metrics.get_mnist_classifier(mnist_path(config))
    return FeatureSuite(prefix, classifier.net, lambda: dataset.x, _training_images(config, dataset),
                        {"classifier_test_accuracy": classifier.held_out_accuracy,
                         "classifier_trained_on": classifier.trained_on}, classifier)
  if prefix == "inception":
    from gan.metrics import inception  # pylint: disable=g-import-not-at-top  (a large module)
    return FeatureSuite(prefix, inception.feature_net(inception_weights(config)), lambda: dataset.x,
                        _training_images(config, dataset), {})
  if config.data.name in IMAGE_DATASETS:
    logging.warning(NO_WEIGHTS_WARNING)
  return None


class Evaluator:
  def __init__(self, config, game, dataset, workdir: str, *, num_samples: int | None = None):
    self.config, self.game, self.dataset = config, game, dataset
    self.samples_dir = os.path.join(workdir, "samples")
    self.num_samples = num_samples or config.eval.num_samples
    self.suite = feature_suite(config, dataset)
    self.primary = primary_metric(config)
    self._reference = None

  def evaluate_state(self, step: int, state, *, write_files: bool = True, raw: bool = False) -> EvalResult:
    """`__call__` on the generator of a run's (logical, one-device) state that sampling uses: the EMA
    generator when the config has EMA, unless `raw`."""
    if raw:
      return self(step, state.g_params, state.g_collections, generator="raw", write_files=write_files)
    return self(step, sampling.sampling_params(self.config, state), state.g_collections,
                generator=sampling.generator_name(self.config), write_files=write_files)

  @property
  def reference(self) -> suite.Reference:
    """The suite's reference statistics, computed (or read from the disk cache) on first use."""
    if self._reference is None:
      images = suite.quantize_8bit(self.suite.reference_images())
      self._reference = suite.get_reference(self.suite.net, images)
    return self._reference

  def class_accuracy(self, g_params, g_collections, per_class: int) -> np.ndarray:
    """For each class k: the fraction of `per_class` samples drawn for k that the digit classifier calls k."""
    classifier = self.suite.classifier
    return np.array([np.mean(classifier.predict(sampling.generate(
        self.game, g_params, g_collections, per_class, seed=self.config.seed, label=k)) == k)
                     for k in range(self.game.num_classes)])

  def __call__(self, step: int, g_params, g_collections, *, generator: str,
               write_files: bool = True) -> EvalResult:
    """Metrics and protocol of G(`g_params`) at `step`; `generator` ("ema"/"raw") is recorded."""
    cfg = self.config.eval
    has_metrics = self.dataset.kind == "points" or self.suite is not None
    num = self.num_samples if has_metrics else 0
    samples = sampling.generate(self.game, g_params, g_collections, max(num, cfg.grid_size),
                                seed=self.config.seed)
    evaluated = samples[:num]
    metrics = {}
    protocol = {"step": int(step), "generator": generator, "num_generated": num,
                "noise_seed": self.config.seed, "data": self.config.data.name,
                "primary_metric": list(self.primary) if self.primary else None}
    path = os.path.join(self.samples_dir, f"step_{step:07d}.png")
    if self.dataset.kind == "points":
      metrics.update(toy.mode_metrics(evaluated, self.dataset.centers, self.dataset.std))
      protocol["reference"] = (f"the analytic mixture: {len(self.dataset.centers)} centres, std "
                               f"{self.dataset.std} (HQ and coverage as in gan/metrics/toy.py)")
      if write_files:
        lim = float(np.abs(self.dataset.centers).max()) + 1.0
        title = (f"step {step}: {metrics['modes_covered']:.0f}/{metrics['num_modes']:.0f} modes, "
                 f"HQ {metrics['high_quality_fraction']:.3f}, rKL {metrics['reverse_kl']:.3f}")
        plotting.save_scatter(samples[:2500], path, centers=self.dataset.centers, title=title, lim=lim)
    else:
      if self.suite is not None:
        prefix = self.suite.prefix
        feats, probs = self.suite.net(suite.quantize_8bit(evaluated))
        if self.suite.classifier is not None:
          metrics.update(digits_metrics.class_histogram_metrics(probs.argmax(axis=1), prefix))
        suite_metrics, suite_protocol = suite.feature_metrics(prefix, self.reference, feats, probs)
        metrics.update(suite_metrics)
        if self.suite.classifier is not None and sampling.is_conditional(self.game):
          accuracy = self.class_accuracy(g_params, g_collections, max(1, num // self.game.num_classes))
          metrics.update({f"{prefix}_cond_accuracy": float(np.mean(accuracy)),
                          f"{prefix}_cond_accuracy_min": float(np.min(accuracy)),
                          **{f"{prefix}_class_accuracy_{k}": float(a) for k, a in enumerate(accuracy)}})
          protocol["class_accuracy"] = {"samples_per_class": max(1, num // self.game.num_classes)}
          if cfg.get("augmentation_score", False):  # classifier trainings: ~30 s (digits), minutes (MNIST)
            scores, protocol["augmentation_score"] = augmentation_score.augmentation_scores(
                lambda k, n: sampling.generate(self.game, g_params, g_collections, n,
                                               seed=self.config.seed, label=k),
                augmentation_score.mnist_protocol(mnist_path(self.config)) if prefix == "mnist"
                else augmentation_score.Protocol())
            metrics.update(scores)
        protocol["reference"] = self.suite.reference
        protocol["feature_net"] = {"name": self.suite.net.name,
                                   "weights_hash": self.suite.net.weights_hash,
                                   "input": suite.INPUT_PROTOCOL,
                                   "resize": self.suite.net.resize, **suite_protocol,
                                   **self.suite.extra_protocol}
      if write_files:
        plotting.save_image_grid(samples[:cfg.grid_size], path, upscale=None)
    return EvalResult(metrics, protocol)


def record_protocol(workdir: str, protocol: dict) -> None:
  """Appends `protocol` (as `from_step`, without `step`) to WORKDIR/eval/protocol.json, a JSON list,
  unless the last entry already says the same (so it is written once per run and on changes)."""
  path = os.path.join(workdir, "eval", "protocol.json")
  entries = []
  if os.path.exists(path):
    with open(path) as f:
      entries = json.load(f)
  entry = {k: v for k, v in protocol.items() if k != "step"}
  if entries and {k: v for k, v in entries[-1].items() if k != "from_step"} == entry:
    return
  entries.append({"from_step": protocol["step"], **entry})
  write_json(path, entries)


