"""Normalization shared by every model family: of activations (`norm`) and of weights (`spectral_norm`).

Activations, `model.{generator,discriminator}.norm`:
- `batch`: batch norm (Ioffe & Szegedy 2015), statistics over the global batch (cross-replica under
  pmap via `axis_name`; under jit the batch is global anyway). With `conditioning="cbn"` the gain and
  bias are per class (gan/models/conditioning.py).
- `layer`: layer norm over all of an example's features (Ba et al. 2016), the batch-free choice that
  WGAN-GP recommends for its critic (Gulrajani et al. 2017, Sec. 4).
- `instance`: instance norm, per example and channel over space (Ulyanov et al. 2016); images only.
- `none`.
Weights, `spectral_norm=True`: every conv/dense kernel divided by its largest singular value,
estimated by one power iteration per forward pass in training mode (Miyato et al. 2018, "Spectral
Normalization for GANs", Algorithm 1). The power-iteration vector `u` lives in its own collection,
`spectral`, which the train step keeps only from the player's own update (gan/steps.py).
"""
from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

NORMS = ("batch", "layer", "instance", "none")
SPECTRAL_COLLECTION = "spectral"


def normalize(h, labels=None, *, kind: str, train: bool, axis_name: str | None,
              conditioning: str = "none", num_classes: int | None = None, condition=None,
              spectral_norm: bool = False, affine: bool = True,
              scale_init: nn.initializers.Initializer = nn.initializers.ones, fast_variance: bool = True):
  """`h` normalized by `kind`. Called inside a parent's `nn.compact` method, so the layers are the
  parent's (auto-named BatchNorm_i, LayerNorm_i, ...): parameter names do not depend on this helper.

  `affine=False` drops the learned per-channel scale and bias (PyTorch's InstanceNorm2d default, which
  CycleGAN uses); `scale_init` initialises the scale (pix2pix/CycleGAN draw batch-norm scales from
  N(1, 0.02): `gan.models.layers.normal_init`). `fast_variance=False` (batch and instance norm) computes
  the variance as E[(x - E[x])^2], as PyTorch does, rather than Flax's default E[x^2] - E[x]^2, which
  cancels catastrophically when the mean is large against the spread: in a CycleGAN generator on
  digits this made float32 gradients differ by 0.1 % between a batch and its halves (two-pass: 5e-6)."""
  if kind == "batch":
    return batch_norm(h, labels, train=train, axis_name=axis_name, conditioning=conditioning,
                      num_classes=num_classes, condition=condition, spectral_norm=spectral_norm,
                      affine=affine, scale_init=scale_init, fast_variance=fast_variance)
  if kind == "layer":
    return nn.LayerNorm(epsilon=1e-5, reduction_axes=tuple(range(1, h.ndim)), feature_axes=-1,
                        use_scale=affine, use_bias=affine, scale_init=scale_init)(h)
  if kind == "instance":
    if h.ndim != 4:
      raise ValueError(f"instance norm needs NHWC activations, got shape {h.shape}")
    return nn.InstanceNorm(epsilon=1e-5, use_scale=affine, use_bias=affine, scale_init=scale_init,
                           use_fast_variance=fast_variance)(h)
  if kind == "none":
    return h
  raise ValueError(f"unknown norm {kind!r}; valid: {', '.join(NORMS)}")


def batch_norm(h, labels=None, *, train: bool, axis_name: str | None, conditioning: str = "none",
               num_classes: int | None = None, condition=None, spectral_norm: bool = False,
               affine: bool = True, scale_init: nn.initializers.Initializer = nn.initializers.ones,
               fast_variance: bool = True):
  """Batch norm, plain or class-conditional: BN without affine parameters, then (1 + gamma) * h + beta.

  - `cbn` (de Vries et al. 2017, Eq. 2): gamma, beta are rows y of per-layer class embeddings.
  - `biggan` (Brock et al. 2019, Sec. 3): gamma, beta are linear maps (spectrally normalized with the
    model) of a condition vector, [shared class embedding, chunk of z] (gan/models/resnet.py).
  Both are initialised to 0, so training starts as plain BN.
  """
  conditional = conditioning in ("cbn", "biggan")
  h = nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5,
                   axis_name=axis_name if train else None, use_scale=affine and not conditional,
                   use_bias=affine and not conditional, scale_init=scale_init,
                   use_fast_variance=fast_variance)(h)
  if not conditional:
    return h
  features, zeros = h.shape[-1], nn.initializers.zeros
  if conditioning == "cbn":
    gain, bias = (nn.Embed(num_classes, features, embedding_init=zeros)(labels) for _ in range(2))
  else:
    gain, bias = (weight_layer(nn.Dense(features, use_bias=False, kernel_init=zeros),
                               spectral_norm=spectral_norm, train=train)(condition) for _ in range(2))
  shape = (h.shape[0],) + (1,) * (h.ndim - 2) + (features,)
  return (1.0 + gain.reshape(shape)) * h + bias.reshape(shape)


def weight_layer(layer: nn.Module, *, spectral_norm: bool, train: bool):
  """`layer` as a function of its input, spectrally normalized when `spectral_norm`."""
  if not spectral_norm:
    return layer
  # The normalized kernel takes the input's dtype (bfloat16 under mixed precision; gan/steps.py),
  # while the power iteration's vectors stay float32.
  def apply(x):
    dtype = x.dtype if jnp.issubdtype(x.dtype, jnp.floating) else None  # None: an embedding's ids
    return nn.SpectralNorm(layer, collection_name=SPECTRAL_COLLECTION, dtype=dtype)(x, update_stats=train)
  return apply
