"""What the image-to-image translation families (gan/families/pix2pix.py, gan/families/cyclegan.py)
share: their tasks and data (gan/data/translation.py), adversarial losses as the reference code
computes them, translating held-out images, evaluation and sample grids.

A translation game has `directions` (the directions it translates: "AtoB" is the task name's, e.g.
edges -> digits) and `translate(state, direction, images, example_ids, key)`, a pure function of
its arguments (pix2pix draws its dropout noise from `key` and each image's index in `example_ids`).

Evaluation (every `eval.every_steps` and in scripts/evaluate.py) translates the first
`eval.num_samples` held-out source images of every direction the game translates (never seen in
training) and scores them with gan/metrics/translation.py, in the feature space of a classifier
trained on the real target domain's training split (gan/metrics/domain_classifier.py), against the
target domain's held-out images: `<direction>_label_preservation`, `<direction>_fd`, for paired tasks
`<direction>_l1`, `_psnr`, `_ssim` against the true targets, and for games that translate both ways
`<direction>_cycle_l1`. A picture `samples/step_N.png` shows source | translation | target (paired
tasks) or source | translation | reconstruction (unpaired) for `eval.grid_size` held-out images.
"""
from __future__ import annotations

import abc
import functools
import os

import jax
import jax.numpy as jnp
import numpy as np

from gan import config_validation as cv
from gan import factory, losses, plotting
from gan.data import translation as tasks
from gan.errors import UserError
from gan.families.base import EvalResult, Family
from gan.metrics import suite
from gan.metrics import translation as metrics_lib
from gan.models import patchgan

DIRECTIONS = metrics_lib.TRANSLATION_DIRECTIONS  # ("AtoB", "BtoA")
# The translation families' `loss` -> its scale in gan/losses.py that makes it the reference code's
# GANLoss: "vanilla" (pix2pix) is BCE-with-logits = non_saturating; "lsgan" (CycleGAN) is MSE against 1
# and 0, twice least_squares (whose terms carry a 1/2).
GAN_LOSS_SCALES = {"non_saturating": 1.0, "least_squares": 2.0}
TRANSLATE_CHUNK = 500  # images per compiled translation call (the last chunk is zero-padded)
PAIRED_METRICS = ("l1", "psnr", "ssim")  # against the true target


def adversarial_losses(name: str):
  """`(d_loss(real_logits, fake_logits), g_loss(fake_logits))` as the pix2pix/CycleGAN reference code
  computes them: D's loss is half the sum of its real and fake terms (`loss_D = (loss_D_real +
  loss_D_fake) * 0.5`, which "slows down the rate at which D learns relative to G", Isola et al. 2017,
  Sec. 3.3); G's is its term with the real target. Means over every patch logit."""
  d_fn, g_fn = losses.get(name)
  scale = GAN_LOSS_SCALES[name]
  return (lambda real, fake: 0.5 * scale * d_fn(real, fake)), (lambda fake: scale * g_fn(None, fake))


def source_and_target(data: tasks.TranslationData, direction: str):
  """(source domain, target domain) of `direction`."""
  return (data.a, data.b) if direction == "AtoB" else (data.b, data.a)


@functools.lru_cache(maxsize=8)
def _jitted_translate(game, direction: str):
  return jax.jit(functools.partial(game.translate, direction=direction))


def translate(game, state, direction: str, images: np.ndarray, *, seed: int) -> np.ndarray:
  """float32 translations of `images` (N, H, W, C) in [-1, 1] by the trained game, in chunks of
  TRANSLATE_CHUNK. Image i's randomness (pix2pix's dropout) comes from `seed` and its index i alone, so
  the same checkpoint, images and seed give the same translations however they are chunked."""
  fn = _jitted_translate(game, direction)
  key = jax.random.PRNGKey(seed)
  chunk = min(TRANSLATE_CHUNK, max(len(images), 1))
  parts = []
  for start in range(0, len(images), chunk):
    part = np.asarray(images[start:start + chunk], np.float32)
    n = len(part)
    if n < chunk:
      part = np.concatenate([part, np.zeros((chunk - n, *part.shape[1:]), np.float32)])
    ids = jnp.arange(start, start + chunk, dtype=jnp.int32)
    parts.append(np.asarray(fn(state, images=part, example_ids=ids, key=key))[:n])
  return np.concatenate(parts).astype(np.float32)


def side_by_side(columns: list[np.ndarray]) -> np.ndarray:
  """Image groups: group i is `columns[0][i] | columns[1][i] | ...` side by side with a grey line
  between them (e.g. source | translation | target), as (N, H, k W + k - 1, C) images."""
  return np.stack([np.concatenate([np.pad(img, ((0, 0), (0, 1), (0, 0)), constant_values=0.0) for img in group],
                                  axis=1)[:, :-1] for group in zip(*columns)])


def validate_patchgan(config, image_size: int, norms) -> None:
  """`model.discriminator.*` of a PatchGAN: a receptive field that fits the image, width, norm."""
  key = "model.discriminator"
  cv.choice(config, f"{key}.receptive_field", patchgan.RECEPTIVE_FIELDS)
  if patchgan.output_size(image_size, config.model.discriminator.receptive_field) < 1:
    fitting = [r for r in patchgan.RECEPTIVE_FIELDS if patchgan.output_size(image_size, r) >= 1]
    cv.fail(f"{key}.receptive_field", config.model.discriminator.receptive_field,
            f"one of {', '.join(map(str, fitting))} for {image_size}x{image_size} images")
  cv.int_at_least(config, f"{key}.width", 1)
  cv.choice(config, f"{key}.norm", norms)


class TranslationFamily(Family):
  """The shared half of a translation family; a subclass adds its networks, game and model keys."""
  paired_only = False  # pix2pix needs paired tasks

  @abc.abstractmethod
  def validate_model(self, config, image_size: int) -> None:
    """The family's own keys (networks, loss weights)."""

  def validate(self, config, *, num_devices: int, process_count: int) -> None:
    del num_devices, process_count
    for key in ("loss", "model", "optim"):
      cv.get(config, key)
    names, task = tasks.PAIRED_TASKS if self.paired_only else tasks.TASKS, cv.get(config, "data.name")
    if not (isinstance(task, str) and task in names):
      cv.fail("data.name", task, f"a {'paired ' if self.paired_only else ''}task for {self.name} (config.family): "
              "one of " + ", ".join(names))
    cv.int_at_least(config, "data.image_size", 8)
    cv.choice(config, "data.channels", (1, 3))
    path = config.data.get("path", "")
    if config.data.name in tasks.NEEDS_PATH and not (isinstance(path, str) and os.path.isdir(path)):
      cv.fail("data.path", path, f"the directory of the MNIST IDX files for {config.data.name} (data.name): "
              + ", ".join(tasks.MNIST_FILES))
    cv.choice(config, "loss", tuple(GAN_LOSS_SCALES))
    cv.choice(config, "model.compute_dtype", tuple(factory.COMPUTE_DTYPES))
    for player in ("g", "d"):
      cv.optimizer(config, player)
    cv.int_at_least(config, "eval.num_samples", suite.MIN_SAMPLES)
    self.validate_model(config, config.data.image_size)

  def dataset(self, config, *, process_index: int = 0, process_count: int = 1):
    data = tasks.load_task(config.data.name, image_size=config.data.image_size,
                           channels=config.data.channels, path=config.data.get("path", ""))
    return tasks.TranslationDataset(data, seed=config.seed, batch_size=config.batch_size,
                                    process_index=process_index, process_count=process_count)

  def meta(self, dataset) -> dict:
    return {"example_shape": list(dataset.example_shape), "num_classes": dataset.num_classes,
            "kind": dataset.kind, "task": dataset.data.task, "paired": dataset.paired}

  def example_batch(self, config, meta: dict):
    images = np.zeros((config.batch_size, *meta["example_shape"]), np.float32)
    labels = np.zeros((config.batch_size,), np.int32)
    return {"a": images, "b": images, "a_label": labels, "b_label": labels}

  @abc.abstractmethod
  def directions(self, config) -> tuple[str, ...]:
    """The directions the family's game translates."""

  def metric_directions(self, config) -> dict[str, str]:
    paired = config.data.name in tasks.PAIRED_TASKS
    both = len(self.directions(config)) == 2
    names = [n for n in metrics_lib.DIRECTIONS if (n not in PAIRED_METRICS or paired) and (n != "cycle_l1" or both)]
    return {f"{d}_{n}": metrics_lib.DIRECTIONS[n] for d in self.directions(config) for n in names}

  def evaluator(self, config, game, dataset, workdir: str, *, num_samples: int | None = None):
    return TranslationEvaluator(config, game, dataset.data, workdir, num_samples=num_samples)

  def sample(self, config, meta, game, state, num, *, seed, label=None, temperature=None, truncation=None):
    """Translations of the first `num` held-out source images in the game's first direction."""
    for flag, value in (("label", label), ("temperature", temperature), ("truncation", truncation)):
      if value is not None:
        raise UserError(f"--{flag} does not apply to a {self.name} run (it translates images)")
    data = self.dataset(config).data
    source, _ = source_and_target(data, game.directions[0])
    if num > len(source.test):
      raise UserError(f"--num_samples={num}: {data.task} has {len(source.test)} held-out "
                      f"{source.name} images")
    return translate(game, state, game.directions[0], source.test[:num], seed=seed)


def grid_third(data: tasks.TranslationData) -> str:
  """What the sample grid shows after source | translation: the true target, or the round trip."""
  return "target" if data.paired else "reconstruction"


class TranslationEvaluator:
  """Scores a translation game's held-out translations (module docstring); `primary` ranks the best
  checkpoint (`eval.primary_metric`, default `<first direction>_fd`)."""

  def __init__(self, config, game, data: tasks.TranslationData, workdir: str, *, num_samples: int | None = None):
    from gan import families  # pylint: disable=g-import-not-at-top  (the family of this config)
    self.config, self.game, self.data = config, game, data
    self.samples_dir = os.path.join(workdir, "samples")
    self.num_samples = num_samples or config.eval.num_samples
    directions = families.get(config).metric_directions(config)
    name = config.eval.get("primary_metric", "") or f"{game.directions[0]}_fd"
    self.primary = (name, directions[name])
    self._classifiers = {}

  def classifier(self, domain: tasks.Domain):
    """The classifier of a target domain, trained on its training split (cached on disk)."""
    from gan.metrics import domain_classifier  # pylint: disable=g-import-not-at-top
    if domain.name not in self._classifiers:
      self._classifiers[domain.name] = domain_classifier.get_domain_classifier(
          domain.name, domain.train, domain.train_labels, domain.test, domain.test_labels)
    return self._classifiers[domain.name]

  def evaluate_state(self, step: int, state, *, write_files: bool = True, raw: bool = False) -> EvalResult:
    if raw:
      raise UserError("--raw does not apply to a translation run: its generators have no EMA")
    seed, metrics, panels = self.config.seed, {}, []
    protocol = {"step": int(step), "task": self.data.task, "noise_seed": seed, "directions": {}}
    for direction in self.game.directions:
      source, target = source_and_target(self.data, direction)
      n = min(self.num_samples, len(source.test))
      sources = source.test[:n]
      translated = translate(self.game, state, direction, sources, seed=seed)
      extra = {}
      if self.data.paired:
        extra["target"] = target.test[:n]
      if len(self.game.directions) == 2:
        back = DIRECTIONS[1 - DIRECTIONS.index(direction)]
        extra.update(source=sources, reconstructed=translate(self.game, state, back, translated, seed=seed))
      values, details = metrics_lib.translation_metrics(
          direction, self.classifier(target), translated, source.test_labels[:n], target.test, **extra)
      metrics.update(values)
      protocol["directions"][direction] = {"source": source.name, "target": target.name, **details}
      shown = min(self.config.eval.grid_size, n)
      third = extra["target"][:shown] if self.data.paired else extra["reconstructed"][:shown]
      panels.append((f"{source.name} → {target.name}: source | translation | {grid_third(self.data)}",
                     side_by_side([sources[:shown], translated[:shown], third])))
    protocol["primary_metric"] = list(self.primary)
    protocol["grid"] = f"source | translation | {grid_third(self.data)}"
    if write_files:
      plotting.save_titled_grids(panels, os.path.join(self.samples_dir, f"step_{step:07d}.png"))
    return EvalResult(metrics, protocol)
