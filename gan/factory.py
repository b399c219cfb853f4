"""Builds the GAN game (models, losses, optimizers) from a config."""
from __future__ import annotations

import jax.numpy as jnp
import optax

from gan import losses, models, regularizers, schedules
from gan.errors import UserError
from gan.steps import GANGame

OPTIMIZERS = ("adam", "rmsprop", "sgd")
# config.model.compute_dtype: the dtype G and D compute in; parameters and losses stay float32.
COMPUTE_DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}


def learning_rate(opt_config, num_steps: int):
  """Constant, or decayed to `final_lr_fraction * lr` over the run (linearly, by a cosine, or linearly
  after `decay_start_fraction` of the run: gan/schedules.py)."""
  return schedules.decayed(opt_config.lr, opt_config.get("schedule", "constant"),
                           opt_config.get("final_lr_fraction", 0.0), num_steps,
                           opt_config.get("decay_start_fraction", 0.5))


def optimizer(opt_config, num_steps: int) -> optax.GradientTransformation:
  """One player's optimizer with an optional schedule: Adam(lr, b1, b2) (Kingma & Ba 2015), RMSProp
  (Tieleman & Hinton 2012) or SGD.

  RMSProp is PyTorch's (torch/optim/rmsprop.py, `_single_tensor_rmsprop`), which WGAN's code
  (martinarjovsky/WassersteinGAN, main.py) and Mescheder et al.'s (LMescheder/GAN_stability,
  gan_training/config.py `build_optimizers`: alpha 0.99, eps 1e-8) use: decay = b2, v from 0, and eps
  added outside the square root, p -= lr g / (sqrt(v) + eps); optax's default adds it inside.
  `clip_norm` > 0 first clips the gradients to that global norm (`tf.clip_by_global_norm`, as SeqGAN's
  and RelGAN's code do with 5.0)."""
  lr = learning_rate(opt_config, num_steps)
  if opt_config.name == "adam":
    opt = optax.adam(lr, b1=opt_config.b1, b2=opt_config.b2, eps=opt_config.get("eps", 1e-8))
  elif opt_config.name == "rmsprop":
    opt = optax.rmsprop(lr, decay=opt_config.b2, eps=opt_config.get("eps", 1e-8), eps_in_sqrt=False)
  else:
    opt = optax.sgd(lr, momentum=opt_config.get("momentum", 0.0) or None)
  clip = opt_config.get("clip_norm", 0.0)
  return optax.chain(optax.clip_by_global_norm(clip), opt) if clip else opt


def build_game(config, *, example_shape, num_classes, axis_name=None) -> GANGame:
  """The game for data of `example_shape` with `num_classes` labels (None: unlabelled)."""
  for player in ("generator", "discriminator"):
    kind = config.model[player].get("conditioning", "none")
    if kind != "none" and not num_classes:
      raise UserError(f"config.model.{player}.conditioning={kind!r} needs labelled data, but "
                      f"{config.data.get('tfds_name') or config.data.name!r} has no labels")
  generator, discriminator = models.build(config.model, example_shape, num_classes=num_classes,
                                          axis_name=axis_name)
  d_loss_fn, g_loss_fn = losses.get(config.loss)
  return GANGame(
      generator=generator, discriminator=discriminator,
      g_optimizer=optimizer(config.optim.g, config.num_train_steps),
      d_optimizer=optimizer(config.optim.d, config.num_train_steps * config.n_critic),
      d_loss_fn=d_loss_fn, g_loss_fn=g_loss_fn, g_loss_uses_real=config.loss in losses.G_USES_REAL_LOGITS,
      z_dim=config.model.z_dim, batch_size=config.batch_size, n_critic=config.n_critic,
      num_classes=num_classes, ema_decay=config.ema.decay, ema_start_step=config.ema.start_step,
      d_penalties=regularizers.gradient_penalties(config),
      d_weight_clip=float(config.regularizers.weight_clip.value),
      g_orthogonal_weight=float(config.regularizers.orthogonal.weight),
      acgan_weight=(float(config.acgan_weight)
                    if config.model.discriminator.get("conditioning", "none") == "acgan" else 0.0),
      compute_dtype=COMPUTE_DTYPES[config.model.get("compute_dtype", "float32")],
      **augmentation(config))


def split_ops(ops: str) -> tuple[str, ...]:
  """'a, b,c' -> ('a', 'b', 'c'): an augmentation op list as written in a config."""
  return tuple(op.strip() for op in str(ops).split(",") if op.strip())


def augmentation(config) -> dict:
  """GANGame's augmentation and consistency fields from `config.augment` and
  `config.regularizers.consistency` (absent in old configs: no augmentation)."""
  aug = config.get("augment")
  consistency = config.get("regularizers", {}).get("consistency")
  out = {}
  if aug is not None and aug.kind != "none":
    ops = aug.diffaugment_policy if aug.kind == "diffaugment" else aug.ada_ops
    out.update(augment=aug.kind, augment_ops=split_ops(ops),
               ada_target=float(aug.ada_target), ada_interval=int(aug.ada_interval),
               ada_kimg=float(aug.ada_kimg))
  if consistency is not None:
    out.update(cr_real_weight=float(consistency.real_weight), cr_fake_weight=float(consistency.fake_weight))
    if "transforms" in consistency:  # older configs: GANGame's default T
      out["cr_transforms"] = split_ops(consistency.transforms)
  return out
