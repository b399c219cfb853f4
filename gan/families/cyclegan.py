"""CycleGAN: unpaired image-to-image translation with cycle consistency (Zhu et al. 2017, "Unpaired
Image-to-Image Translation using Cycle-Consistent Adversarial Networks"), as its reference code trains
it (junyanz/pytorch-CycleGAN-and-pix2pix, models/cycle_gan_model.py).

Two generators G: A -> B and F: B -> A (ResNet generators, gan/models/resnet_translator.py; the player
"G" holds both, `{"AtoB", "BtoA"}`, under one optimizer as the reference's chained parameters) and two
PatchGAN discriminators D_B (judges domain B: real b against G(a)) and D_A (player "D", `{"A", "B"}`).
The full objective (Eq. 3, with the identity term of Sec. 5.2 / 7.1):
    L = L_GAN(G, D_B) + L_GAN(F, D_A) + λ (E||F(G(a)) - a||_1 + E||G(F(b)) - b||_1)       (Eq. 2, 3)
        + λ_idt λ (E||G(b) - b||_1 + E||F(a) - a||_1)
with the least-squares GAN loss (Sec. 4: "we replace the negative log likelihood objective by a
least-squares loss"), λ = `cycle_weight` (10) and λ_idt = `identity_weight` (0.5). One step, as the
reference's optimize_parameters: both generators take one Adam step on L (D fixed); then both
discriminators one step on half the sum of their real and fake terms, the fakes being this step's
translations (made before G's update) passed through a history pool of `pool_size` (50) earlier
translations per discriminator (Sec. 4; gan/image_pool.py). Adam(2e-4, β1 0.5), the learning rate
constant for the first half of the run and then linearly decayed to 0 (Sec. 7.1).
Ablations (Table 4 and Sec. 5.1.4): `cycle_weight` 0 (GAN alone), `identity_weight` 0, `pool_size` 0.
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
from gan import factory, image_pool, players
from gan.families import translation
from gan.models import patchgan, resnet_translator
from gan.state import PlayerState, TrainState

NORMS = ("instance", "none")  # batch statistics are not kept across the six generator passes of a step
TARGET_DOMAIN = {"AtoB": "B", "BtoA": "A"}


@dataclasses.dataclass(frozen=True)
class CycleGANGame:
  generator: nn.Module  # ResNetTranslator, one set of parameters per direction
  discriminator: nn.Module  # PatchGANDiscriminator, one set per domain
  g_optimizer: optax.GradientTransformation
  d_optimizer: optax.GradientTransformation
  loss: str  # gan/families/translation.py GAN_LOSS_SCALES
  batch_size: int  # global
  cycle_weight: float = 10.0  # λ of Eq. 3
  identity_weight: float = 0.5  # λ_idt, in units of λ
  pool_size: int = 50
  compute_dtype: Any = jnp.float32

  directions = translation.DIRECTIONS

  def init(self, key, batch) -> TrainState:
    """Initial state for one update's `batch` (only its shapes are used); compiled as one program."""
    return jax.jit(self._init)(key, {k: jnp.zeros(v.shape, v.dtype) for k, v in batch.items()})

  def _init(self, key, batch) -> TrainState:
    keys = dict(zip(("AtoB", "BtoA", "A", "B", "rng"), jax.random.split(key, 5)))
    g_vars = {d: self.generator.init(keys[d], batch["a" if d == "AtoB" else "b"], train=False)
              for d in self.directions}
    d_vars = {n: self.discriminator.init(keys[n], batch[n.lower()], train=False) for n in ("A", "B")}
    shape = batch["a"].shape[1:]
    return TrainState(step=jnp.zeros((), jnp.int32),
                      players={"G": _joint_player(self.g_optimizer, g_vars),
                               "D": _joint_player(self.d_optimizer, d_vars)},
                      rng=keys["rng"],
                      extras={"pool_A": image_pool.init(self.pool_size, shape),
                              "pool_B": image_pool.init(self.pool_size, shape)})

  def _generate(self, params, direction: str, images):
    return players.apply_module(self.generator, params[direction], {}, images, train=True,
                                compute_dtype=self.compute_dtype)[0]

  def _discriminate(self, params, domain: str, images):
    return players.apply_module(self.discriminator, params[domain], {}, images, train=True,
                                compute_dtype=self.compute_dtype)[0]

  def train_step(self, state: TrainState, batch, *, axis_name: str | None = None):
    """One update of both generators, then of both discriminators, on `batch` (`(1, local_batch, ...)`
    per key); scalar metrics averaged over devices."""
    rng, step_key = jax.random.split(state.rng)
    a, b = batch["a"][0], batch["b"][0]
    g, d = state.players["G"], state.players["D"]
    d_loss_fn, g_loss_fn = translation.adversarial_losses(self.loss)

    def g_objective(params):
      fake_b, fake_a = self._generate(params, "AtoB", a), self._generate(params, "BtoA", b)
      terms = {"g_loss_AtoB": g_loss_fn(self._discriminate(d.params, "B", fake_b)),
               "g_loss_BtoA": g_loss_fn(self._discriminate(d.params, "A", fake_a)),
               "g_cycle_A": jnp.mean(jnp.abs(self._generate(params, "BtoA", fake_b) - a)),
               "g_cycle_B": jnp.mean(jnp.abs(self._generate(params, "AtoB", fake_a) - b))}
      total = terms["g_loss_AtoB"] + terms["g_loss_BtoA"] + self.cycle_weight * (
          terms["g_cycle_A"] + terms["g_cycle_B"])
      if self.identity_weight:  # G(b) ~ b and F(a) ~ a: keeps colour composition (Sec. 5.2)
        terms["g_identity_B"] = jnp.mean(jnp.abs(self._generate(params, "AtoB", b) - b))
        terms["g_identity_A"] = jnp.mean(jnp.abs(self._generate(params, "BtoA", a) - a))
        total += self.identity_weight * self.cycle_weight * (terms["g_identity_A"] + terms["g_identity_B"])
      return total, (terms, fake_a, fake_b)

    (_, (g_terms, fake_a, fake_b)), grads = jax.value_and_grad(g_objective, has_aux=True)(g.params)
    new_g, g_grad_norm = players.update_player(g, self.g_optimizer, grads, g.collections, axis_name)

    pools, seen = dict(state.extras), {}
    for i, (domain, fake) in enumerate((("A", fake_a), ("B", fake_b))):
      seen[domain], pools[f"pool_{domain}"] = image_pool.query(
          pools[f"pool_{domain}"], lax.stop_gradient(fake), jax.random.fold_in(step_key, i), self.batch_size,
          axis_name)
    real = {"A": a, "B": b}

    def d_objective(params):
      logits = {n: (self._discriminate(params, n, real[n]), self._discriminate(params, n, seen[n]))
                for n in ("A", "B")}
      losses = {f"d_loss_{n}": d_loss_fn(*logits[n]) for n in ("A", "B")}
      return sum(losses.values()), (losses, logits)

    (_, (d_terms, logits)), grads = jax.value_and_grad(d_objective, has_aux=True)(d.params)
    new_d, d_grad_norm = players.update_player(d, self.d_optimizer, grads, d.collections, axis_name)
    metrics = {**g_terms, **d_terms, "g_grad_norm": g_grad_norm, "d_grad_norm": d_grad_norm,
               **{f"d_{kind}_logit_{n}": jnp.mean(logits[n][i]) for n in ("A", "B")
                  for i, kind in enumerate(("real", "fake"))}}
    state = TrainState(step=state.step + 1, players={"G": new_g, "D": new_d}, rng=rng, extras=pools)
    return state, players.average_over_devices(metrics, axis_name)

  def translate(self, state: TrainState, images, example_ids, key, *, direction: str):
    """The `direction` generator's translations of `images` (deterministic: no noise)."""
    del example_ids, key
    return players.apply_module(self.generator, state.players["G"].params[direction], {}, images,
                                train=False, compute_dtype=self.compute_dtype)[0]


def _joint_player(optimizer, variables_by_name: dict) -> PlayerState:
  """One player holding several networks (`{name: variables}`) under one optimizer."""
  params = {name: v["params"] for name, v in variables_by_name.items()}
  return PlayerState(params=params, opt_state=optimizer.init(params), collections={})


class CycleGANFamily(translation.TranslationFamily):
  name = "cyclegan"
  experiment = "experiments/cyclegan.py"
  smoke = {"batch_size": 8, "data.image_size": 16, "model.generator.width": 4, "model.generator.num_blocks": 1,
           "model.discriminator.width": 4, "model.discriminator.receptive_field": 16, "pool_size": 3,
           "eval.num_samples": 40, "eval.grid_size": 4}

  def directions(self, config) -> tuple[str, ...]:
    return translation.DIRECTIONS

  def validate_model(self, config, image_size: int) -> None:
    cv.number_in(config, "cycle_weight", 0.0, float("inf"))
    cv.number_in(config, "identity_weight", 0.0, float("inf"))
    cv.int_at_least(config, "pool_size", 0)
    if image_size % 4:
      cv.fail("data.image_size", image_size, "a multiple of 4 (the ResNet generator halves it twice)")
    g = "model.generator"
    cv.int_at_least(config, f"{g}.width", 1)
    cv.int_at_least(config, f"{g}.num_blocks", 0)
    cv.choice(config, f"{g}.norm", NORMS)
    translation.validate_patchgan(config, image_size, NORMS)

  def game(self, config, meta: dict, *, axis_name: str | None = None):
    del axis_name  # instance norm only: nothing is averaged across examples
    g, d = config.model.generator, config.model.discriminator
    return CycleGANGame(
        generator=resnet_translator.ResNetTranslator(channels=meta["example_shape"][-1], width=g.width,
                                                     num_blocks=g.num_blocks, norm=g.norm),
        discriminator=patchgan.PatchGANDiscriminator(receptive_field=d.receptive_field, width=d.width,
                                                     norm=d.norm),
        g_optimizer=factory.optimizer(config.optim.g, config.num_train_steps),
        d_optimizer=factory.optimizer(config.optim.d, config.num_train_steps),
        loss=config.loss, batch_size=config.batch_size, cycle_weight=float(config.cycle_weight),
        identity_weight=float(config.identity_weight), pool_size=config.pool_size,
        compute_dtype=factory.COMPUTE_DTYPES[config.model.compute_dtype])


FAMILY = CycleGANFamily()
