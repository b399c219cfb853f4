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
Normalization for GANs", Algorithm 1; `SpectralNorm`, whose stored vector cannot collapse to zero).
The power-iteration vector `u` lives in its own collection, `spectral`, which the train step keeps
only from the player's own update (gan/steps.py).
"""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
from flax.linen import dtypes

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

  - `cbn` (de Vries et al. 2017, Eq. 2): gamma, beta are rows y of per-layer class embeddings,
    initialised to 0, so training starts as plain BN.
  - `biggan` (Brock et al. 2019, Sec. 3): gamma, beta are linear maps without bias (spectrally
    normalized with the model) of a condition vector, [shared class embedding, chunk of z]
    (gan/models/resnet.py). As in BigGAN-PyTorch (layers.py `ccbn`: gain = 1 + which_linear(y), an
    `SNLinear(bias=False)`; BigGAN.py `Generator.init_weights` with its default G_init='ortho') their
    kernels are initialised orthogonally, so gains and biases depend on the condition from the start.
  """
  conditional = conditioning in ("cbn", "biggan")
  h = nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5,
                   axis_name=axis_name if train else None, use_scale=affine and not conditional,
                   use_bias=affine and not conditional, scale_init=scale_init,
                   use_fast_variance=fast_variance)(h)
  if not conditional:
    return h
  features = h.shape[-1]
  if conditioning == "cbn":
    gain, bias = (nn.Embed(num_classes, features, embedding_init=nn.initializers.zeros)(labels)
                  for _ in range(2))
  else:
    def linear():
      return nn.Dense(features, use_bias=False, kernel_init=nn.initializers.orthogonal())
    gain, bias = (weight_layer(linear(), spectral_norm=spectral_norm, train=train)(condition)
                  for _ in range(2))
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
    return SpectralNorm(layer, collection_name=SPECTRAL_COLLECTION, dtype=dtype)(x, update_stats=train)
  return apply


def _normalize(x, eps: float):
  """x / max(||x||, eps): torch's `F.normalize`, as BigGAN-PyTorch's `power_iteration` (layers.py) uses."""
  return x * jax.lax.rsqrt(jnp.maximum(jnp.sum(x * x), eps * eps))


def power_iteration(matrix, u, eps: float = 1e-12):
  """One power-method step for the largest singular value of `matrix` (in, out): (u (1, out), v (1, in)).

  Miyato et al. 2018, Algorithm 1, in flax's layout: v = normalize(u W^T), u' = normalize(v W); then
  sigma = v W u'^T. Where W maps u to zero (a zero kernel) u' would be 0, a fixed point: sigma would
  stay 0 and the layer unnormalized for good, even after training moves W away from zero (flax's
  `nn.SpectralNorm` and BigGAN-PyTorch's `power_iteration` both store it). Then u is kept instead; a
  zero u stored before this guard (checkpoints of zero-initialised kernels) restarts from all ones.
  """
  u = jnp.where(jnp.any(u != 0), u, jnp.ones_like(u))
  v = _normalize(u @ matrix.T, eps)
  new_u = _normalize(v @ matrix, eps)
  return jnp.where(jnp.any(new_u != 0), new_u, u), v


class SpectralNorm(nn.SpectralNorm):
  """flax's `nn.SpectralNorm` (same fields, same variables `<layer>/<param>/u` and `/sigma` in
  `collection_name`, same initial u) with `power_iteration`: its stored u never becomes zero. It
  overrides flax 0.12's private `_spectral_normalize`; tests/test_normalization.py checks that both
  give the same numbers on ordinary kernels."""

  def _spectral_normalize(self, path, vs, update_stats):
    value = jnp.asarray(vs)
    if value.ndim <= 1 or self.n_steps < 1:  # biases and scalars are left as they are, as in flax
      return value
    if value.ndim > 2 and self.error_on_non_matrix:
      raise ValueError(f"Input is {value.ndim}D but error_on_non_matrix is True")
    matrix = value.reshape(-1, value.shape[-1])
    name = "/".join([self.layer_instance.name, *(key.key for key in path[1:])])
    rng = None if self.has_variable(self.collection_name, f"{name}/u") else self.make_rng("params")
    u_var = self.variable(self.collection_name, f"{name}/u", jax.random.normal, rng, (1, matrix.shape[-1]),
                          self.param_dtype)
    sigma_var = self.variable(self.collection_name, f"{name}/sigma", jnp.ones, (), self.param_dtype)
    u, v = u_var.value, None
    for _ in range(self.n_steps):
      u, v = power_iteration(matrix, u, self.epsilon)
    u, v = jax.lax.stop_gradient(u), jax.lax.stop_gradient(v)
    sigma = (v @ matrix @ u.T)[0, 0]
    if update_stats:
      u_var.value, sigma_var.value = u, sigma
    normalized = (matrix / jnp.where(sigma != 0, sigma, 1)).reshape(value.shape)
    return jnp.asarray(normalized, dtypes.canonicalize_dtype(vs, u, v, sigma, dtype=self.dtype))
