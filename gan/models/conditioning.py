"""Class conditioning pieces shared by every model family, chosen by `conditioning` on G and D.

Generator (`model.generator.conditioning`):
- `none`: labels ignored.
- `concat`: one-hot label concatenated to z (Mirza & Osindero 2014, "Conditional GANs", Sec. 4.1).
- `cbn`: conditional batch norm, every BN's gain and bias predicted from the class (de Vries et al.
  2017, "Modulating early visual processing by language", Eq. 2; the cGAN form of Miyato & Koyama
  2018, Sec. 4.1); implemented in gan/models/normalization.py.
- `biggan` (ResNet and DCGAN G): BigGAN's shared class embedding and hierarchical z feeding every
  conditional BN through linear layers (Brock et al. 2019, Sec. 3; gan/models/resnet.py).
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

from gan.models.normalization import weight_layer

GENERATOR_CONDITIONING = ("none", "concat", "cbn")  # + "biggan" for the ResNet and DCGAN generators
DISCRIMINATOR_CONDITIONING = ("none", "projection", "acgan")
CLASS_LOGITS = "class_logits"


def require_labels(num_classes, conditioning):
  """Raises if a conditional layer is built for unlabelled data."""
  if conditioning != "none" and not num_classes:
    raise ValueError(f"conditioning={conditioning!r} needs labelled data (num_classes > 0)")


def concat_label(z, labels, num_classes: int | None, conditioning: str):
  """G's input: z, or [z, one_hot(y)] for `concat`."""
  if conditioning != "concat":
    return z
  require_labels(num_classes, conditioning)
  return jnp.concatenate([z, jax.nn.one_hot(labels, num_classes, dtype=z.dtype)], axis=-1)


def discriminator_head(module: nn.Module, features, labels, *, conditioning: str,
                       num_classes: int | None, spectral_norm: bool = False, train: bool = True):
  """phi(x) (B, F) -> logits (B,), with the projection or AC-GAN conditioning.

  Called inside `module`'s `nn.compact` method (layers auto-named in it, so parameter names do not
  depend on this helper). With `spectral_norm` every head layer is spectrally normalized, the class
  embedding included (as in Miyato & Koyama 2018's code).
  """
  def layer(m):
    return weight_layer(m, spectral_norm=spectral_norm, train=train)
  logits = layer(nn.Dense(1))(features)[:, 0]
  if conditioning == "none":
    return logits
  require_labels(num_classes, conditioning)
  if conditioning == "projection":
    embedding = layer(nn.Embed(num_classes, features.shape[-1]))(labels)
    return logits + jnp.sum(embedding * features, axis=-1)
  module.sow("intermediates", CLASS_LOGITS, layer(nn.Dense(num_classes))(features))
  return logits


def shared_class_embedding(labels, num_classes: int, embedding_dim: int):
  """BigGAN's shared class embedding (Brock et al. 2019, Sec. 3), as BigGAN-PyTorch builds it: a plain
  nn.Embedding, orthogonally initialised (init_weights, G_init='ortho') and not spectrally normalised
  (only G's convs and linears are SN'd), so the class signal can grow during training.
  Call inside a compact module."""
  return nn.Embed(num_classes, embedding_dim, embedding_init=nn.initializers.orthogonal(),
                  name="shared_embedding")(labels)


def biggan_conditions(z, labels, num_blocks: int, num_classes: int, embedding_dim: int):
  """BigGAN's hierarchical latent and shared embedding (Brock et al. 2019, Sec. 3 and Appendix B).

  z is split into num_blocks + 1 chunks (the first takes any remainder); the first feeds the initial
  Dense layer, and block i's conditional BNs see [shared_embedding(y), chunk i + 1].
  Returns (first chunk, one condition vector per block).
  """
  size = z.shape[-1] // (num_blocks + 1)
  if size == 0:
    raise ValueError(f"BigGAN's hierarchical z needs z_dim >= {num_blocks + 1}, got {z.shape[-1]}")
  first = z.shape[-1] - num_blocks * size
  shared = shared_class_embedding(labels, num_classes, embedding_dim)
  chunks = [z[:, first + i * size:first + (i + 1) * size] for i in range(num_blocks)]
  return z[:, :first], [jnp.concatenate([shared, chunk], axis=-1) for chunk in chunks]
