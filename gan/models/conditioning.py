"""Class conditioning pieces shared by every model family, chosen by `conditioning` on G and D.

Generator (`model.generator.conditioning`):
- `none`: labels ignored.
- `concat`: one-hot label concatenated to z (Mirza & Osindero 2014, "Conditional GANs", Sec. 4.1).
- `cbn`: conditional batch norm, every BN's gain and bias predicted from the class (de Vries et al.
  2017, "Modulating early visual processing by language", Eq. 2; the cGAN form of Miyato & Koyama
  2018, Sec. 4.1): BN without affine parameters, then (1 + gamma_y) * h + beta_y, with gamma_y and
  beta_y rows of per-layer class embeddings initialised to 0 (so training starts as plain BN).
Discriminator (`model.discriminator.conditioning`), on D's penultimate features phi(x):
- `none`: logit = psi(phi(x)).
- `projection`: logit = psi(phi(x)) + <V y, phi(x)>, V a class embedding (Miyato & Koyama 2018,
  "cGANs with Projection Discriminator", Eq. 3).
- `acgan`: logit = psi(phi(x)) and class logits W phi(x), sown as `intermediates/class_logits` for
  the auxiliary classification loss (Odena et al. 2017, "Conditional Image Synthesis with Auxiliary
  Classifier GANs", Eqs. 2-3; the train step adds it to both players' losses, gan/steps.py).
"""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

GENERATOR_CONDITIONING = ("none", "concat", "cbn")
DISCRIMINATOR_CONDITIONING = ("none", "projection", "acgan")
CLASS_LOGITS = "class_logits"


def _check(num_classes, conditioning):
  if conditioning != "none" and not num_classes:
    raise ValueError(f"conditioning={conditioning!r} needs labelled data (num_classes > 0)")


def concat_label(z, labels, num_classes: int | None, conditioning: str):
  """G's input: z, or [z, one_hot(y)] for `concat`."""
  if conditioning != "concat":
    return z
  _check(num_classes, conditioning)
  return jnp.concatenate([z, jax.nn.one_hot(labels, num_classes, dtype=z.dtype)], axis=-1)


def batch_norm(h, labels=None, *, train: bool, axis_name: str | None, conditioning: str = "none",
               num_classes: int | None = None):
  """Batch norm, plain or class-conditional (`cbn`); statistics cross-replica under pmap.

  Called inside a parent's `nn.compact` method, so the layers are the parent's (auto-named
  BatchNorm_i / Embed_j): an unconditional model keeps the parameter names it always had.
  """
  conditional = conditioning == "cbn"
  h = nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5,
                   axis_name=axis_name if train else None, use_scale=not conditional,
                   use_bias=not conditional)(h)
  if not conditional:
    return h
  _check(num_classes, conditioning)
  shape = (h.shape[0],) + (1,) * (h.ndim - 2) + (h.shape[-1],)
  gain, bias = (nn.Embed(num_classes, h.shape[-1], embedding_init=nn.initializers.zeros)(labels)
                for _ in range(2))
  return (1.0 + gain.reshape(shape)) * h + bias.reshape(shape)


def discriminator_head(module: nn.Module, features, labels, *, conditioning: str,
                       num_classes: int | None):
  """phi(x) (B, F) -> logits (B,), with the projection or AC-GAN conditioning.

  Called inside `module`'s `nn.compact` method (layers auto-named in it, as `generator_norm`).
  """
  logits = nn.Dense(1)(features)[:, 0]
  if conditioning == "none":
    return logits
  _check(num_classes, conditioning)
  if conditioning == "projection":
    embedding = nn.Embed(num_classes, features.shape[-1])(labels)
    return logits + jnp.sum(embedding * features, axis=-1)
  module.sow("intermediates", CLASS_LOGITS, nn.Dense(num_classes)(features))
  return logits
