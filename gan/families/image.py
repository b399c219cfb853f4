"""The image family: a generator from noise (and a class) to data, a discriminator, n_critic D updates
per G update (gan/steps.py `GANGame`). DCGAN ... BigGAN-deep, WGAN(-GP), R1, CR/bCR, DiffAugment and
ADA on the 2D toys, the digits, TFDS images and local image files (gan/data/files.py)
(experiments/*.py without a `family` key).

Its config keys: `loss`, `n_critic`, `data.*`, `model.*`, `acgan_weight`, `optim.{g,d}.*`,
`regularizers.*`, `augment.*`, `ema.*` and `eval.{num_samples, inception_weights, augmentation_score,
feature_net, mnist_path}`
(README, Config keys).
"""
from __future__ import annotations

import dataclasses
import os

import numpy as np

from gan import augment, evaluation, factory, losses, models, regularizers, sampling, schedules
from gan import config_validation as cv
from gan.data import builtin, files, get_dataset, images
from gan.errors import UserError
from gan.families.base import Family
from gan.metrics import suite
from gan.models import mlp, normalization, resnet

REQUIRED = ("loss", "n_critic", "model", "optim", "regularizers", "ema")
SECTIONS = ("model", "model.generator", "model.discriminator", "optim", "regularizers", "ema")
DATASETS = (*builtin.DATASETS, "tfds", *files.SOURCES)
SHAPED_DATASETS = ("tfds", *files.SOURCES)  # images shaped by data.center_crop/channels/resize_method
AUGMENTATIONS = ("none", "diffaugment", "ada")
# Fields of the model classes that gan/models/__init__.py `build` sets itself: not config keys.
BUILT_FIELDS = ("parent", "name", "resolution", "channels", "out_dim", "num_classes", "axis_name")
# Model config keys that are sizes -> their least value.
MODEL_SIZES = {"width": 1, "pack": 1, "attention_resolution": 0, "shared_embedding_dim": 1}


def _size_or_zero(config, key: str, minimum: int):
  """An optional `data.*` size: absent, 0 (the data's own) or an integer >= `minimum`."""
  value = config.data.get(key.split(".", 1)[1], 0)
  if not (cv.is_int(value) and value == 0):
    cv.int_at_least(config, key, minimum)


def _known_image_size(config) -> int | None:
  """The side of the images the models see, where known before the data is loaded: digits are 8x8,
  TFDS and local images `data.image_size` (0: their own size, known only once loaded)."""
  if config.data.name not in ("digits", *SHAPED_DATASETS):
    return None
  return config.data.get("image_size", 0) or (8 if config.data.name == "digits" else None)


def _validate_model_keys(config, player: str, cls):
  """`model.<player>.*`: only the fields of its model class (`cls`), sizes, flags and activations of the
  right type (`name`, `conditioning` and `norm` are checked by the caller)."""
  prefix, section = f"model.{player}", config.model[player]
  known = [f.name for f in dataclasses.fields(cls) if f.name not in BUILT_FIELDS]
  for key in section.keys():
    if key != "name" and key not in known:
      raise UserError(f"config.{prefix}.{key} is not a key of the {section.name!r} {player} ({prefix}.name), "
                      f"which takes {', '.join(known)}: start from an experiment written for that model")
  for key, minimum in MODEL_SIZES.items():
    if key in section:
      cv.int_at_least(config, f"{prefix}.{key}", minimum)
  if "hidden" in section:
    cv.int_sequence(config, f"{prefix}.hidden", 1)
  if "activation" in section:
    cv.choice(config, f"{prefix}.activation", tuple(mlp.ACTIVATIONS))
  if "leaky_slope" in section:
    cv.number_in(config, f"{prefix}.leaky_slope", 0.0, 1.0, closed_high=True)
  if "spectral_norm" in section:
    cv.boolean(config, f"{prefix}.spectral_norm")


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
    for key in SECTIONS:
      cv.section(config, key)
    cv.int_at_least(config, "n_critic", 1)
    cv.choice(config, "loss", tuple(losses.LOSSES))
    self._validate_data(config)
    self._validate_model(config, devices=num_devices * process_count)
    for player in ("g", "d"):
      cv.optimizer(config, player)
    self._validate_regularizers(config)
    self._validate_augment(config, AUGMENTATIONS)
    cv.number_in(config, "ema.decay", 0.0, 1.0)
    cv.int_at_least(config, "ema.start_step", 0)
    self._validate_eval(config)

  @staticmethod
  def _validate_augment(config, kinds):
    """`augment.*` (absent: no augmentation), `kind` one of `kinds`."""
    if "augment" not in config:
      return
    cv.choice(config, "augment.kind", kinds)
    if config.augment.kind != "none" and config.data.name in evaluation.TOY_DATASETS:
      cv.fail("augment.kind", config.augment.kind,
              f"'none' for 2D data (data.name={config.data.name!r}; augmentations act on images)")
    for key, known in (("diffaugment_policy", augment.DIFF_AUGMENT_OPS), ("ada_ops", augment.ADA_OPS)):
      if key in config.augment:
        _op_list(config, f"augment.{key}", known)
    cv.number_in(config, "augment.ada_target", 0.0, 1.0)
    cv.int_at_least(config, "augment.ada_interval", 1)
    cv.number_in(config, "augment.ada_kimg", 1e-6, float("inf"))

  @classmethod
  def _validate_eval(cls, config):
    """`eval.*` of the image metrics (gan/evaluation.py)."""
    cv.int_at_least(config, "eval.num_samples", suite.MIN_SAMPLES if evaluation.suite_prefix(config) else 1)
    weights = config.eval.get("inception_weights", "")
    if not isinstance(weights, str) or (weights and not os.path.isfile(weights)):
      cv.fail("eval.inception_weights", weights, "'' or an existing local .npz file made by "
              "scripts/convert_inception_weights.py")
    if not isinstance(config.eval.get("augmentation_score", False), bool):
      cv.fail("eval.augmentation_score", config.eval.augmentation_score, "True or False")
    cls._validate_feature_net(config)

  @staticmethod
  def _validate_feature_net(config):
    """`eval.feature_net` "mnist_cnn": grey 28x28 or 32x32 images and an existing IDX directory to train
    the MnistCNN on (`eval.mnist_path`, or `data.path` of idx data, whose emptiness the loader reports)."""
    if "feature_net" in config.eval:
      cv.choice(config, "eval.feature_net", evaluation.FEATURE_NETS)
    if config.eval.get("feature_net", "") != "mnist_cnn":
      return
    data = config.data
    if data.name in evaluation.TOY_DATASETS or data.name == "digits":
      cv.fail("eval.feature_net", "mnist_cnn", f"'' for data.name={data.name!r} (the MnistCNN reads MNIST-like "
              "28x28 or 32x32 grey digits)")
    if data.get("image_size", 0) not in (0, 28, 32):
      cv.fail("data.image_size", data.image_size, "28 or 32 with eval.feature_net='mnist_cnn'")
    if data.get("channels", 0) != 1 and not (data.name == "idx" and data.get("channels", 0) == 0):
      cv.fail("data.channels", data.get("channels", 0), "1 (grey) with eval.feature_net='mnist_cnn'")
    path = evaluation.mnist_path(config)
    if not isinstance(path, str) or (path and not os.path.isdir(path)):
      cv.fail("eval.mnist_path" if config.eval.get("mnist_path", "") else "data.path", path,
              "an existing directory of MNIST-format IDX files for eval.feature_net='mnist_cnn'")
    if not path and data.name != "idx":
      cv.fail("eval.mnist_path", "", "the directory of MNIST's IDX files the mnist_cnn feature net trains on "
              f"(data.name={data.name!r} gives none)")

  @staticmethod
  def _validate_data(config):
    cv.choice(config, "data.name", DATASETS)
    data = config.data
    if data.name == "tfds" and not (isinstance(data.get("tfds_name"), str) and data.get("tfds_name")):
      cv.fail("data.tfds_name", data.get("tfds_name"), "a TFDS dataset name such as 'mnist'")
    if data.name in files.SOURCES and not isinstance(data.get("path", ""), str):  # "" fails on loading
      cv.fail("data.path", data.get("path"), f"{files.PATH_HELP[data.name]} (data.name={data.name!r})")
    if data.name in SHAPED_DATASETS:
      _size_or_zero(config, "data.center_crop", 1)
      if "channels" in data:
        cv.choice(config, "data.channels", (0, 1, 3))
      if "resize_method" in data:
        cv.choice(config, "data.resize_method", images.RESIZE_METHODS)
    if data.name in ("digits", *SHAPED_DATASETS):
      _size_or_zero(config, "data.image_size", 8)
    if data.name == "digits" and data.get("image_size", 0) not in (0, 8):
      cv.choice(config, "data.resize_method", builtin.DIGITS_RESIZE_METHODS)
    if data.name == "digits":
      cv.choice(config, "data.channels", (0, 1, 3))

  @staticmethod
  def _validate_model(config, devices: int):
    cv.int_at_least(config, "model.z_dim", 1)
    if "compute_dtype" in config.model:
      cv.choice(config, "model.compute_dtype", tuple(factory.COMPUTE_DTYPES))
    cv.choice(config, "model.generator.name", tuple(models.GENERATORS))
    cv.choice(config, "model.discriminator.name", tuple(models.DISCRIMINATORS))
    is_points = config.data.name in evaluation.TOY_DATASETS
    for player, classes in (("generator", models.GENERATORS), ("discriminator", models.DISCRIMINATORS)):
      name = config.model[player].name
      if (name == "mlp") != is_points:
        cv.fail(f"model.{player}.name", name, ("'mlp' for 2D data" if is_points else
                                               "an image model (not 'mlp') for image data")
                + f" (data.name={config.data.name!r})")
      _validate_model_keys(config, player, classes[name])
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
    size = _known_image_size(config)
    if size and size & (size - 1):
      cv.fail("data.image_size", size, "a power of two for the image models (they double 4x4 up to it), "
              "or 0: the data's size")
    if size and config.model.generator.name == "resnet" and g_conditioning == "biggan":
      blocks = len(resnet.architecture(size)[1])
      if config.model.z_dim <= blocks:
        cv.fail("model.z_dim", config.model.z_dim, f"an integer >= {blocks + 1} with model.generator.conditioning="
                f"'biggan' for {size}x{size} images (data.image_size): its hierarchical z gives each of the "
                f"{blocks} generator blocks a chunk")
    pack = config.model.discriminator.get("pack", 1)
    if pack > 1 and config.model.discriminator.get("conditioning", "none") != "none":
      cv.fail("model.discriminator.pack", pack, "1 with a conditional discriminator (model.discriminator."
              f"conditioning={config.model.discriminator.conditioning!r})")
    if config.batch_size % (pack * devices):
      cv.fail("model.discriminator.pack", pack, f"a divisor of each device's batch (batch_size="
              f"{config.batch_size} over {devices} devices)")

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
        if cv.get(config, key) and config.data.name in evaluation.TOY_DATASETS:
          cv.fail(key, cv.get(config, key), f"0 for 2D data (data.name={config.data.name!r}; its transforms act on "
                  "images)")
      if "transforms" in config.regularizers.consistency:
        _op_list(config, "regularizers.consistency.transforms", augment.ADA_OPS)

  def dataset(self, config, *, process_index: int = 0, process_count: int = 1):
    return get_dataset(config.data, seed=config.seed, batch_size=config.batch_size,
                       process_index=process_index, process_count=process_count)

  def meta(self, dataset) -> dict:
    return {"example_shape": list(dataset.example_shape), "num_classes": dataset.num_classes,
            "kind": dataset.kind}

  def game(self, config, meta: dict, *, axis_name: str | None = None):
    shape = meta["example_shape"]
    if meta["kind"] == "images" and not (shape[0] == shape[1] >= 8 and shape[0] & (shape[0] - 1) == 0):
      raise UserError(f"the images of data.name={config.data.name!r} are {shape[0]}x{shape[1]}; the image "
                      "models need a square power-of-two size >= 8: set data.image_size (e.g. 32)")
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
    if options.get("truncation") is not None:
      raise UserError("--truncation applies to StyleGAN2 runs only (this generator has no w space)")
    if options.get("inception_weights") is not None:
      config.eval.inception_weights = options["inception_weights"]
    if options.get("augmentation_score"):
      digit_classifier = evaluation.suite_prefix(config) in evaluation.CLASSIFIER_PREFIXES
      if not (digit_classifier and sampling.is_conditional(game)):
        raise UserError("--augmentation_score needs a class-conditional generator trained on the digits "
                        "or on MNIST with eval.feature_net='mnist_cnn'")
      with config.unlocked():
        config.eval.augmentation_score = True
    if evaluation.suite_prefix(config) and num_samples is not None and num_samples < suite.MIN_SAMPLES:
      raise UserError(f"--num_samples={num_samples} must be >= {suite.MIN_SAMPLES} for this data")

  def sample(self, config, meta, game, state, num, *, seed, label=None, temperature=None, truncation=None):
    """Samples in data space of the generator that evaluation uses (EMA when the config has it)."""
    del meta
    if temperature is not None:
      raise UserError("--temperature does not apply to an image run (it samples text)")
    if truncation is not None:
      raise UserError("--truncation applies to StyleGAN2 runs only (its generator has no w space)")
    return sampling.generate(game, sampling.sampling_params(config, state), state.g_collections, num,
                             seed=seed, label=label)


FAMILY = ImageFamily()
