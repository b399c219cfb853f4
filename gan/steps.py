"""The GAN game: one pure train step (n_critic D updates, one G update, EMA), written once.

`GANGame.train_step(state, batch, axis_name=None)` is a plain function of arrays. With
`axis_name=None` it computes on the global batch and `jax.jit` may shard it over devices; with an
axis name (under `jax.pmap`) it sees its device's slice and averages gradients, metrics, batch
statistics and the losses' batch means (gan/losses.py `batch_mean`; gan/regularizers.py `dragan`'s std)
over the axis. Noise is drawn for the whole global batch from one key and sliced per device,
so the numbers do not depend on the number of devices.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from jax import lax

from gan import augment, losses, players, regularizers
from gan.models import conditioning
from gan.state import GANState


@dataclasses.dataclass(frozen=True)
class GANGame:
  generator: nn.Module
  discriminator: nn.Module
  g_optimizer: optax.GradientTransformation
  d_optimizer: optax.GradientTransformation
  d_loss_fn: losses.LossFn  # (real_logits, fake_logits, axis_name) -> the global batch's loss
  g_loss_fn: losses.LossFn
  z_dim: int
  batch_size: int  # global
  n_critic: int = 1
  num_classes: int | None = None
  ema_decay: float = 0.0  # 0 disables EMA (ema_params then follow the raw G)
  ema_start_step: int = 0
  d_penalties: tuple[regularizers.GradientPenalty, ...] = ()  # added to D's loss (gan/regularizers.py)
  d_weight_clip: float = 0.0  # WGAN weight clipping of D's parameters; 0 disables it
  g_orthogonal_weight: float = 0.0  # BigGAN orthogonal regularization of G's kernels; 0 disables it
  acgan_weight: float = 0.0  # AC-GAN auxiliary classification loss (D conditioning "acgan"); 0 = off
  g_loss_uses_real: bool = False  # relativistic losses: G's loss also needs D's logits on real data
  # What D sees (gan/augment.py): "none", "diffaugment" (ops `augment_ops`, always on) or "ada" (ops
  # `augment_ops` each with the adaptive probability p, adjusted every `ada_interval` D updates).
  augment: str = "none"
  augment_ops: tuple[str, ...] = ()
  ada_target: float = 0.6
  ada_interval: int = 4
  ada_kimg: float = 500.0
  # Consistency regularization: CR (real) and bCR (real and fake) weights, and T: the ADA ops of
  # `cr_transforms` each applied with probability 1 (default: random x-flip and integer translation by
  # up to 1/8 of the image, Zhang et al. 2020, Sec. 3).
  cr_real_weight: float = 0.0
  cr_fake_weight: float = 0.0
  cr_transforms: tuple[str, ...] = ("xflip", "int_translation")
  compute_dtype: Any = jnp.float32  # jnp.bfloat16: mixed precision (see _compute)

  # ---------------------------------------------------------------- latents
  def sample_latents(self, key, num: int):
    """Normal noise (num, z_dim) and, for labelled data, uniform class labels (num,)."""
    return players.sample_latents(key, num, self.z_dim, self.num_classes)

  def _local_latents(self, key, local_batch: int, axis_name):
    """This device's rows of the global batch's latents."""
    return tuple(players.local_rows(a, local_batch, axis_name)
                 for a in self.sample_latents(key, self.batch_size))

  def _local_uniform(self, local_batch: int, axis_name) -> regularizers.Noise:
    """U[0, 1) noise per example, drawn for the global batch and sliced, for the D penalties."""
    def noise(key, example_shape):
      values = jax.random.uniform(key, (self.batch_size, *example_shape))
      return players.local_rows(values, local_batch, axis_name)
    return noise

  # ---------------------------------------------------------------- init
  def init(self, key, example_x) -> GANState:
    """Initial state; `example_x` is one batch of real data (only its shape is used).

    Compiled as one program: run op by op, every parameter shape's initializer would be compiled on
    its own (a ResNet's ~20 truncated-normal initializers alone took ~9 s on CPU).
    """
    return jax.jit(self._init)(key, jnp.zeros(example_x.shape, jnp.float32))

  def _init(self, key, example_x) -> GANState:
    g_key, d_key, rng = jax.random.split(key, 3)
    z, y = self.sample_latents(g_key, example_x.shape[0])
    g_vars = self.generator.init(g_key, z, y, train=False)
    d_vars = self.discriminator.init(d_key, example_x, y, train=False)
    g_params, g_collections = g_vars["params"], {k: v for k, v in g_vars.items() if k != "params"}
    d_params, d_collections = d_vars["params"], {k: v for k, v in d_vars.items() if k != "params"}
    return GANState(
        step=jnp.zeros((), jnp.int32),
        g_params=g_params, d_params=d_params,
        g_opt_state=self.g_optimizer.init(g_params),
        d_opt_state=self.d_optimizer.init(d_params),
        ema_params=jax.tree.map(jnp.copy, g_params),  # a distinct buffer: the state is donated
        g_collections=g_collections, d_collections=d_collections,
        rng=rng, augment_state={"p": jnp.zeros((), jnp.float32), "sign_sum": jnp.zeros((), jnp.float32),
                                "count": jnp.zeros((), jnp.int32)})

  # ---------------------------------------------------------------- augmentation
  def _example_keys(self, key, local_batch: int, axis_name):
    """One key per example of the global batch (fold_in of its index), this device's rows."""
    return players.example_keys(key, self.batch_size, local_batch, axis_name)

  def _augment(self, x, key, p, axis_name):
    """What D sees of `x`: DiffAugment, ADA with probability p, or x itself."""
    if self.augment == "none":
      return x
    keys = self._example_keys(key, x.shape[0], axis_name)
    if self.augment == "diffaugment":
      return augment.diff_augment(x, keys, self.augment_ops)
    return augment.ada_augment(x, keys, p, self.augment_ops)

  def _consistency_transform(self, x, key, axis_name):
    return augment.ada_augment(x, self._example_keys(key, x.shape[0], axis_name), 1.0, self.cr_transforms)

  def _ada_adjust(self, augment_state, real_logits, axis_name):
    """Accumulates r_t = E[sign D(real)] and, every `ada_interval` D updates, moves p (Karras et al. 2020)."""
    if self.augment != "ada":
      return augment_state
    return augment.ada_adjust(augment_state, real_logits, axis_name=axis_name, target=self.ada_target,
                              batch_size=self.batch_size, interval=self.ada_interval, kimg=self.ada_kimg)

  # ---------------------------------------------------------------- players
  def _compute(self, tree):
    """Mixed precision: parameters, optimizer states and losses stay float32 (gan/players.py)."""
    return players.to_compute(tree, self.compute_dtype)

  def _apply_generator(self, g_params, g_collections, z, y, *, train: bool):
    """G's float32 samples and, in train mode, its updated collections (BN uses batch statistics)."""
    variables = {"params": self._compute(g_params), **g_collections}
    if train:
      x, new = self.generator.apply(variables, self._compute(z), y, train=True, mutable=list(g_collections))
      return x.astype(jnp.float32), players.same_dtypes(new, g_collections)
    return self.generator.apply(variables, self._compute(z), y, train=False).astype(jnp.float32), None

  def generate(self, g_params, g_collections, z, y, *, train: bool = False):
    """Samples in data space. In eval mode BN uses G's running statistics."""
    return self._apply_generator(g_params, g_collections, z, y, train=train)[0]

  def _discriminate(self, d_params, d_collections, x, y):
    """D's float32 logits in train mode, its updated collections (batch statistics), and the AC-GAN
    auxiliary loss: cross-entropy of D's class logits against `y` (0 when AC-GAN is off)."""
    mutable = [*d_collections, *(["intermediates"] if self.acgan_weight else [])]
    logits, new = self.discriminator.apply({"params": self._compute(d_params), **d_collections},
                                           self._compute(x), y, train=True, mutable=mutable)
    class_loss = jnp.zeros(())
    if self.acgan_weight:
      (class_logits,) = new.pop("intermediates")[conditioning.CLASS_LOGITS]
      class_loss = jnp.mean(optax.softmax_cross_entropy_with_integer_labels(
          class_logits.astype(jnp.float32), y))
    return logits.astype(jnp.float32), {**d_collections, **players.same_dtypes(new, d_collections)}, class_loss

  def _d_update(self, state: GANState, real, real_y, key, d_step, axis_name):
    """One D update; `d_step` counts D updates over the run (for lazy regularization)."""
    z, y = self._local_latents(key, real.shape[0], axis_name)
    fake = lax.stop_gradient(self.generate(state.g_params, state.g_collections, z, y, train=True))
    penalty_key, real_aug_key, fake_aug_key, cr_key = (jax.random.fold_in(key, i) for i in range(1, 5))
    aug_p = state.augment_state["p"]
    real_seen = self._augment(real, real_aug_key, aug_p, axis_name)
    fake_seen = self._augment(fake, fake_aug_key, aug_p, axis_name)

    def loss_fn(d_params):
      terms = {}  # added to the adversarial loss, reported one by one
      real_logits, collections, real_class_loss = self._discriminate(
          d_params, state.d_collections, real_seen, real_y)
      fake_logits, collections, fake_class_loss = self._discriminate(d_params, collections, fake_seen, y)
      consistency = (("real", self.cr_real_weight, real_seen, real_y, real_logits),
                     ("fake", self.cr_fake_weight, fake_seen, y, fake_logits))
      for k, (name, weight, x, labels, logits) in enumerate(consistency):
        if weight:  # CR / bCR: D's output should not change under T
          transformed = self._consistency_transform(x, jax.random.fold_in(cr_key, k), axis_name)
          transformed_logits = self._discriminate(d_params, state.d_collections, transformed, labels)[0]
          terms[f"d_penalty_cr_{name}"] = weight * augment.consistency_penalty(logits, transformed_logits)
      if self.acgan_weight:  # Odena et al. 2017, Eq. 3: D maximises log P(class | real) + log P(class | fake)
        terms["d_acgan_loss"] = self.acgan_weight * (real_class_loss + fake_class_loss)
      inputs = regularizers.PenaltyInputs(  # on what D sees: augmented (as StyleGAN2-ADA's R1)
          d_fn=lambda x, labels: self._discriminate(d_params, state.d_collections, x, labels)[0],
          real=real_seen, real_y=real_y, fake=fake_seen, fake_y=y,
          noise=self._local_uniform(real.shape[0], axis_name), axis_name=axis_name)
      terms.update({f"d_penalty_{p.name}": p(inputs, jax.random.fold_in(penalty_key, i), d_step)
                    for i, p in enumerate(self.d_penalties)})
      loss = self.d_loss_fn(real_logits, fake_logits, axis_name=axis_name)
      return loss + sum(terms.values()), (loss, terms, real_logits, fake_logits, collections)

    (_, (loss, terms, real_logits, fake_logits, collections)), grads = jax.value_and_grad(
        loss_fn, has_aux=True)(state.d_params)
    d_params, opt_state, grads = players.apply_gradients(self.d_optimizer, state.d_params, state.d_opt_state,
                                                         grads, axis_name)
    metrics = {"d_loss": loss, **terms, "d_real_logit": jnp.mean(real_logits),
               "d_fake_logit": jnp.mean(fake_logits), "d_grad_norm": optax.tree.norm(grads)}
    d_params = regularizers.clip_weights(d_params, self.d_weight_clip)
    state = state.replace(d_params=d_params, d_opt_state=opt_state, d_collections=collections,
                          augment_state=self._ada_adjust(state.augment_state, real_logits, axis_name))
    return state, metrics

  def _g_update(self, state: GANState, real, real_y, key, axis_name):
    """One G update; `real` (the last D update's real batch) is used only by relativistic losses."""
    z, y = self._local_latents(key, real.shape[0], axis_name)
    real_logits = None
    if self.g_loss_uses_real:
      real_seen = self._augment(real, jax.random.fold_in(key, 2), state.augment_state["p"], axis_name)
      real_logits = self._discriminate(state.d_params, state.d_collections, real_seen, real_y)[0]

    aug_key = jax.random.fold_in(key, 1)

    def loss_fn(g_params):
      fake, new = self._apply_generator(g_params, state.g_collections, z, y, train=True)
      fake = self._augment(fake, aug_key, state.augment_state["p"], axis_name)
      fake_logits, _, class_loss = self._discriminate(state.d_params, state.d_collections, fake, y)
      loss = self.g_loss_fn(real_logits, fake_logits, axis_name=axis_name)
      terms = {}  # added to the adversarial loss, reported one by one
      if self.acgan_weight:  # Odena et al. 2017, Eq. 3: G maximises log P(class | fake) too
        terms["g_acgan_loss"] = self.acgan_weight * class_loss
      if self.g_orthogonal_weight:
        terms["g_penalty_orthogonal"] = self.g_orthogonal_weight * regularizers.orthogonal_penalty(g_params)
      return loss + sum(terms.values()), (loss, terms, {**state.g_collections, **new})

    (_, (loss, terms, collections)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.g_params)
    g_params, opt_state, grads = players.apply_gradients(self.g_optimizer, state.g_params, state.g_opt_state,
                                                         grads, axis_name)
    state = state.replace(g_params=g_params, g_opt_state=opt_state, g_collections=collections)
    return state, {"g_loss": loss, **terms, "g_grad_norm": optax.tree.norm(grads)}

  def _ema_update(self, state: GANState) -> GANState:
    """Exponential moving average of G's weights (Karras et al. 2018; Yazıcı et al. 2019)."""
    if self.ema_decay == 0.0:
      return state.replace(ema_params=jax.tree.map(jnp.copy, state.g_params))
    averaged = optax.incremental_update(state.g_params, state.ema_params, 1.0 - self.ema_decay)
    started = state.step >= self.ema_start_step
    ema = jax.tree.map(lambda a, p: jnp.where(started, a, p), averaged, state.g_params)
    return state.replace(ema_params=ema)

  # ---------------------------------------------------------------- the step
  def train_step(self, state: GANState, batch: dict[str, Any], *, axis_name: str | None = None):
    """One GAN iteration. `batch["x"]`: (n_critic, local_batch, ...) real data, one slice per D update.

    Returns the new state and scalar metrics (averaged over the D updates and over devices).
    """
    rng, step_key = jax.random.split(state.rng)
    d_metrics = []
    for i in range(self.n_critic):
      state, m = self._d_update(state, batch["x"][i], batch["label"][i],
                                jax.random.fold_in(step_key, i), state.step * self.n_critic + i, axis_name)
      d_metrics.append(m)
    state, g_metrics = self._g_update(state, batch["x"][-1], batch["label"][-1],
                                      jax.random.fold_in(step_key, self.n_critic), axis_name)
    state = self._ema_update(state.replace(step=state.step + 1, rng=rng))
    metrics = {**jax.tree.map(lambda *v: jnp.mean(jnp.stack(v)), *d_metrics), **g_metrics}
    if self.augment == "ada":
      metrics["augment_p"] = state.augment_state["p"]
    return state, players.average_over_devices(metrics, axis_name)
