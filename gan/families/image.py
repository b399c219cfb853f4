"""The image family: a generator from noise (and a class) to data, a discriminator, n_critic D updates
per G update (gan/steps.py `GANGame`). DCGAN ... BigGAN-deep, WGAN(-GP), R1, CR/bCR, DiffAugment and
ADA on the 2D toys, the digits and TFDS images (experiments/*.py without a `family` key).

Its config keys: `loss`, `n_critic`, `data.*`, `model.*`, `acgan_weight`, `optim.{g,d}.*`,
`regularizers.*`, `augment.*`, `ema.*` and `eval.{num_samples, inception_weights, augmentation_score}`
(README, Config keys).
"""
from __future__ import annotations

import os

import numpy as np

from gan import augment, evaluation, factory, losses, models, regularizers, sampling, schedules
from gan import config_validation as cv
from gan.data import builtin, get_dataset
from gan.errors import UserError
from gan.families.base import Family
from gan.metrics import suite
from gan.models import normalization

REQUIRED = ("loss", "n_critic", "model", "optim", "regularizers", "ema")
DATASETS = (*builtin.DATASETS, "tfds")
AUGMENTATIONS = ("none", "diffaugment", "ada")


def _op_list(config, key: str, known):
  value = cv.get(config, key)
  if any(op not in known for op in factory.split_ops(value)):
    cv.fail(key, value, "a comma-separated list of " + ", ".join(known))


class ImageFamily(Family):
  name = "image"
  experiment = "experiments/ring8.py"
  smoke = {"batch_size": 16, "model.generator.hidden": (16, 16), "model.discriminator.hidden": (16, 16),
           "model.discriminator.pack": 1, "eval.num_samples": 200, "ema.start_step": 0}

  def validate(self, config, *, num_devices: int, process_count: int) -> None:
    for key in REQUIRED:
      cv.get(config, key)
    cv.int_at_least(config, "n_critic", 1)
    cv.choice(config, "loss", tuple(losses.LOSSES))
    self._validate_data(config)
    self._validate_model(config, devices=num_devices * process_count)
    for player in ("g", "d"):
      cv.optimizer(config, player)
    self._validate_regularizers(config)
    if "augment" in config:
      cv.choice(config, "augment.kind", AUGMENTATIONS)
      if config.augment.kind != "none" and config.data.name in ("ring8", "grid25"):
        cv.fail("augment.kind", config.augment.kind, "'none' for 2D data (augmentations act on images)")
      for key, known in (("diffaugment_policy", augment.DIFF_AUGMENT_OPS), ("ada_ops", augment.ADA_OPS)):
        _op_list(config, f"augment.{key}", known)
      cv.number_in(config, "augment.ada_target", 0.0, 1.0)
      cv.int_at_least(config, "augment.ada_interval", 1)
      cv.number_in(config, "augment.ada_kimg", 1e-6, float("inf"))
    cv.number_in(config, "ema.decay", 0.0, 1.0)
    cv.int_at_least(config, "ema.start_step", 0)
    cv.int_at_least(config, "eval.num_samples", suite.MIN_SAMPLES if evaluation.suite_prefix(config) else 1)
    weights = config.eval.get("inception_weights", "")
    if not isinstance(weights, str) or (weights and not os.path.isfile(weights)):
      cv.fail("eval.inception_weights", weights, "'' or an existing local .npz file made by "
              "scripts/convert_inception_weights.py")
    if not isinstance(config.eval.get("augmentation_score", False), bool):
      cv.fail("eval.augmentation_score", config.eval.augmentation_score, "True or False")

  @staticmethod
  def _validate_data(config):
    cv.choice(config, "data.name", DATASETS)
    if config.data.name == "tfds" and not config.data.get("tfds_name"):
      cv.fail("data.tfds_name", config.data.get("tfds_name"), "a TFDS dataset name such as 'mnist'")
    image_size = config.data.get("image_size", 0)
    if config.data.name in ("tfds", "digits") and image_size != 0:
      cv.int_at_least(config, "data.image_size", 8)
    if config.data.name == "digits" and image_size not in (0, 8):
      cv.choice(config, "data.resize_method", builtin.DIGITS_RESIZE_METHODS)
    if config.data.name == "digits":
      cv.choice(config, "data.channels", (0, 1, 3))

  @staticmethod
  def _validate_model(config, devices: int):
    cv.int_at_least(config, "model.z_dim", 1)
    if "compute_dtype" in config.model:
      cv.choice(config, "model.compute_dtype", tuple(factory.COMPUTE_DTYPES))
    cv.choice(config, "model.generator.name", tuple(models.GENERATORS))
    cv.choice(config, "model.discriminator.name", tuple(models.DISCRIMINATORS))
    is_points = config.data.name in ("ring8", "grid25")
    for player in ("generator", "discriminator"):
      name = config.model[player].name
      if (name == "mlp") != is_points:
        cv.fail(f"model.{player}.name", name,
                "'mlp' for 2D data" if is_points else "an image model (not 'mlp') for image data")
    for player, choices in (("generator", models.GENERATOR_CONDITIONING),
                            ("discriminator", models.DISCRIMINATOR_CONDITIONING)):
      if "conditioning" in config.model[player]:
        cv.choice(config, f"model.{player}.conditioning", choices[config.model[player].name])
      if "norm" in config.model[player]:
        cv.choice(config, f"model.{player}.norm", normalization.NORMS)
    g_conditioning = config.model.generator.get("conditioning")
    if g_conditioning in ("cbn", "biggan") and config.model.generator.get("norm", "batch") != "batch":
      cv.fail("model.generator.norm", config.model.generator.get("norm"),
              f"'batch' with conditioning={g_conditioning!r}")
    pack = config.model.discriminator.get("pack", 1)
    if pack > 1 and config.model.discriminator.get("conditioning", "none") != "none":
      cv.fail("model.discriminator.pack", pack, "1 with a conditional discriminator")
    if pack < 1 or config.batch_size % (pack * devices):
      cv.fail("model.discriminator.pack", pack, "a positive divisor of each device's batch")

  @staticmethod
  def _validate_regularizers(config):
    for name in regularizers.PENALTY_FUNCTIONS:
      cv.number_in(config, f"regularizers.{name}.weight", 0.0, float("inf"))
      cv.int_at_least(config, f"regularizers.{name}.every", 1)
      if "schedule" in config.regularizers[name]:
        cv.choice(config, f"regularizers.{name}.schedule", schedules.KINDS)
        cv.number_in(config, f"regularizers.{name}.final_weight_fraction", 0.0, 1.0, closed_high=True)
    cv.number_in(config, "regularizers.dragan.perturbation", 0.0, float("inf"))
    cv.number_in(config, "regularizers.weight_clip.value", 0.0, float("inf"))
    cv.number_in(config, "regularizers.orthogonal.weight", 0.0, float("inf"))
    if "consistency" in config.regularizers:
      for key in ("regularizers.consistency.real_weight", "regularizers.consistency.fake_weight"):
        cv.number_in(config, key, 0.0, float("inf"))
      if "transforms" in config.regularizers.consistency:
        _op_list(config, "regularizers.consistency.transforms", augment.ADA_OPS)

  def dataset(self, config, *, process_index: int = 0, process_count: int = 1):
    return get_dataset(config.data, seed=config.seed, batch_size=config.batch_size,
                       process_index=process_index, process_count=process_count)

  def meta(self, dataset) -> dict:
    return {"example_shape": list(dataset.example_shape), "num_classes": dataset.num_classes,
            "kind": dataset.kind}

  def game(self, config, meta: dict, *, axis_name: str | None = None):
    return factory.build_game(config, example_shape=tuple(meta["example_shape"]),
                              num_classes=meta["num_classes"], axis_name=axis_name)

  def updates_per_step(self, config) -> int:
    return config.n_critic  # each D update reads its own real batch

  def init_state(self, game, key, batch):
    return game.init(key, batch["x"])

  def example_batch(self, config, meta: dict):
    return {"x": np.zeros((config.batch_size, *meta["example_shape"]), np.float32),
            "label": np.zeros((config.batch_size,), np.int32)}

  def evaluator(self, config, game, dataset, workdir: str, *, num_samples: int | None = None):
    return evaluation.Evaluator(config, game, dataset, workdir, num_samples=num_samples)

  def metric_directions(self, config) -> dict[str, str]:
    return evaluation.metric_directions(config)

  def configure_evaluation(self, config, game, *, num_samples, options) -> None:
    """scripts/evaluate.py's `inception_weights` (a file for TFDS image metrics) and
    `augmentation_score` (class-conditional digits runs)."""
    if options.get("inception_weights") is not None:
      config.eval.inception_weights = options["inception_weights"]
    if options.get("augmentation_score"):
      if not (evaluation.suite_prefix(config) == "digits" and sampling.is_conditional(game)):
        raise UserError("--augmentation_score needs a class-conditional generator trained on the digits")
      with config.unlocked():
        config.eval.augmentation_score = True
    if evaluation.suite_prefix(config) and num_samples is not None and num_samples < suite.MIN_SAMPLES:
      raise UserError(f"--num_samples={num_samples} must be >= {suite.MIN_SAMPLES} for this data")

  def sample(self, config, meta, game, state, num, *, seed, label=None):
    """Samples in data space of the generator that evaluation uses (EMA when the config has it)."""
    del meta
    return sampling.generate(game, sampling.sampling_params(config, state), state.g_collections, num,
                             seed=seed, label=label)


FAMILY = ImageFamily()
