"""pix2pix: paired image-to-image translation with a conditional GAN (Isola et al. 2017, "Image-to-Image
Translation with Conditional Adversarial Networks"), as its reference code trains it
(junyanz/pytorch-CycleGAN-and-pix2pix, models/pix2pix_model.py).

G is a U-Net from the source image x to the target y whose only noise is dropout, on at training and
at sampling time (Sec. 2.2; gan/models/unet.py); D is a PatchGAN on the pair (x, y) concatenated on
channels (Sec. 2.1, 3.2.2; gan/models/patchgan.py; `discriminator.conditional=False`: D sees y alone,
the paper's unconditional "GAN" row of Table 1). The objective (Eq. 4):
    G* = arg min_G max_D  L_cGAN(G, D) + λ L_L1(G),
    L_cGAN = E[log D(x, y)] + E[log(1 - D(x, G(x, z)))]  (Eq. 1),   L_L1 = E ||y - G(x, z)||_1  (Eq. 3),
with λ = `l1_weight` (100) and `gan_weight` (1; 0 = L1 only, Table 1's "L1" row; `l1_weight` 0 = its
"cGAN" row). One step, as the reference's optimize_parameters: G translates the batch once (dropout
noise drawn per example); D takes one Adam step on half the sum of its real and fake losses
(`adversarial_losses`), then G one step against the updated D on the same translation (same noise) with
the non-saturating loss plus λ L1. Optimizer Adam(2e-4, β1 0.5, β2 0.999) for both; learning rate
constant for the first half of the run, then linearly decayed to 0 (`optim.*.schedule`
"constant_then_linear", the reference's 100 + 100 epochs).
"""
from __future__ import annotations

import dataclasses
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from jax import lax

from gan import config_validation as cv
from gan import factory, players
from gan.families import translation
from gan.models import patchgan, unet
from gan.state import TrainState

NORMS = ("batch", "instance", "none")


@dataclasses.dataclass(frozen=True)
class Pix2PixGame:
  generator: nn.Module  # UNetGenerator: G(x, example_ids, train=...)
  discriminator: nn.Module  # PatchGANDiscriminator: D(pair, train=...)
  g_optimizer: optax.GradientTransformation
  d_optimizer: optax.GradientTransformation
  loss: str  # gan/families/translation.py GAN_LOSS_SCALES
  batch_size: int  # global
  l1_weight: float = 100.0  # λ of Eq. 4
  gan_weight: float = 1.0  # 0: L1 only
  conditional: bool = True  # D sees (x, y); False: y alone
  direction: str = "AtoB"  # which way of the task G translates
  compute_dtype: Any = jnp.float32

  @property
  def directions(self) -> tuple[str, ...]:
    return (self.direction,)

  def _pair(self, batch):
    """(source, target) images of one update's batch."""
    return (batch["a"], batch["b"]) if self.direction == "AtoB" else (batch["b"], batch["a"])

  def _d_input(self, source, output):
    return jnp.concatenate([source, output], axis=-1) if self.conditional else output

  def init(self, key, batch) -> TrainState:
    """Initial state for one update's `batch` (only its shapes are used); compiled as one program."""
    return jax.jit(self._init)(key, {k: jnp.zeros(v.shape, v.dtype) for k, v in batch.items()})

  def _init(self, key, batch) -> TrainState:
    g_key, dropout_key, d_key, rng = jax.random.split(key, 4)
    source, target = self._pair(batch)
    ids = jnp.arange(source.shape[0])
    g_vars = self.generator.init({"params": g_key, "dropout": dropout_key}, source, ids, train=False)
    d_vars = self.discriminator.init(d_key, self._d_input(source, target), train=False)
    return TrainState(step=jnp.zeros((), jnp.int32),
                      players={"G": players.init_player(self.g_optimizer, g_vars),
                               "D": players.init_player(self.d_optimizer, d_vars)},
                      rng=rng, extras={})

  def _generate(self, g, params, source, ids, key, *, train: bool):
    return players.apply_module(self.generator, params, g.collections, source, ids, train=train,
                                compute_dtype=self.compute_dtype, rngs={"dropout": key})

  def _discriminate(self, params, collections, source, output):
    return players.apply_module(self.discriminator, params, collections, self._d_input(source, output),
                                train=True, compute_dtype=self.compute_dtype)

  def train_step(self, state: TrainState, batch, *, axis_name: str | None = None):
    """One D update and one G update on `batch` (`(1, local_batch, ...)` per key); scalar metrics
    averaged over devices."""
    rng, noise_key = jax.random.split(state.rng)
    source, target = self._pair(jax.tree.map(lambda v: v[0], batch))
    ids = players.example_ids(self.batch_size, source.shape[0], axis_name)
    g, d = state.players["G"], state.players["D"]
    d_loss_fn, g_loss_fn = translation.adversarial_losses(self.loss)
    fake = lax.stop_gradient(self._generate(g, g.params, source, ids, noise_key, train=True)[0])

    def d_objective(params):
      real_logits, collections = self._discriminate(params, d.collections, source, target)
      fake_logits, collections = self._discriminate(params, collections, source, fake)
      return d_loss_fn(real_logits, fake_logits), (collections, real_logits, fake_logits)

    (d_loss, (d_collections, real_logits, fake_logits)), grads = jax.value_and_grad(
        d_objective, has_aux=True)(d.params)
    d, d_grad_norm = players.update_player(d, self.d_optimizer, grads, d_collections, axis_name)

    def g_objective(params):
      output, collections = self._generate(g, params, source, ids, noise_key, train=True)  # same noise
      adversarial = g_loss_fn(self._discriminate(d.params, d.collections, source, output)[0])
      l1 = jnp.mean(jnp.abs(target - output))
      return self.gan_weight * adversarial + self.l1_weight * l1, (adversarial, l1, collections)

    (_, (g_adversarial, g_l1, g_collections)), grads = jax.value_and_grad(g_objective, has_aux=True)(g.params)
    g, g_grad_norm = players.update_player(g, self.g_optimizer, grads, g_collections, axis_name)
    metrics = {"d_loss": d_loss, "g_loss": g_adversarial, "g_l1": g_l1,
               "d_real_logit": jnp.mean(real_logits), "d_fake_logit": jnp.mean(fake_logits),
               "d_grad_norm": d_grad_norm, "g_grad_norm": g_grad_norm}
    state = TrainState(step=state.step + 1, players={"G": g, "D": d}, rng=rng, extras=state.extras)
    return state, players.average_over_devices(metrics, axis_name)

  def translate(self, state: TrainState, images, example_ids, key, *, direction: str):
    """G's translations of `images`, dropout on (the paper's noise at test time) with per-image noise
    from `key` and `example_ids`; normalization in evaluation mode (running averages for batch norm)."""
    if direction != self.direction:
      raise ValueError(f"this pix2pix game translates {self.direction} only, not {direction}")
    g = state.players["G"]
    return self._generate(g, g.params, images, example_ids, key, train=False)[0]


class Pix2PixFamily(translation.TranslationFamily):
  name = "pix2pix"
  experiment = "experiments/pix2pix.py"
  smoke = {"batch_size": 8, "data.image_size": 16, "model.generator.width": 4, "model.generator.norm": "batch",
           "model.discriminator.width": 4, "model.discriminator.receptive_field": 16,
           "model.discriminator.norm": "batch", "eval.num_samples": 40, "eval.grid_size": 4}
  paired_only = True

  def directions(self, config) -> tuple[str, ...]:
    return (config.direction,)

  def validate_model(self, config, image_size: int) -> None:
    cv.choice(config, "direction", translation.DIRECTIONS)
    cv.number_in(config, "l1_weight", 0.0, float("inf"))
    cv.number_in(config, "gan_weight", 0.0, float("inf"))
    if config.l1_weight == 0 and config.gan_weight == 0:
      cv.fail("gan_weight", config.gan_weight, "> 0 when l1_weight is 0 (G would have no loss)")
    try:
      unet.num_downsamplings(image_size)
    except ValueError:
      cv.fail("data.image_size", image_size, "a power of two >= 8 (the U-Net halves it down to 1x1)")
    g = "model.generator"
    cv.int_at_least(config, f"{g}.width", 1)
    cv.choice(config, f"{g}.norm", NORMS)
    cv.number_in(config, f"{g}.dropout", 0.0, 1.0)
    cv.int_at_least(config, f"{g}.dropout_blocks", 0)
    translation.validate_patchgan(config, image_size, NORMS)
    cv.boolean(config, "model.discriminator.conditional")

  def game(self, config, meta: dict, *, axis_name: str | None = None):
    channels = meta["example_shape"][-1]
    g, d = config.model.generator, config.model.discriminator
    return Pix2PixGame(
        generator=unet.UNetGenerator(channels=channels, width=g.width, norm=g.norm, dropout=g.dropout,
                                     dropout_blocks=g.dropout_blocks, axis_name=axis_name),
        discriminator=patchgan.PatchGANDiscriminator(receptive_field=d.receptive_field, width=d.width,
                                                     norm=d.norm, axis_name=axis_name),
        g_optimizer=factory.optimizer(config.optim.g, config.num_train_steps),
        d_optimizer=factory.optimizer(config.optim.d, config.num_train_steps),
        loss=config.loss, batch_size=config.batch_size, l1_weight=float(config.l1_weight),
        gan_weight=float(config.gan_weight), conditional=d.conditional, direction=config.direction,
        compute_dtype=factory.COMPUTE_DTYPES[config.model.compute_dtype])


FAMILY = Pix2PixFamily()
