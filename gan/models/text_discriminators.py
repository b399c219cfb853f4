"""CNN text discriminators on (soft) one-hot token sequences: SeqGAN's (Yu et al. 2017, "SeqGAN: Sequence
Generative Adversarial Nets with Policy Gradient", Sec. 4 and Appendix; Kim 2014, "Convolutional Neural
Networks for Sentence Classification") and RelGAN's with multiple embedded representations (Nie et al. 2019,
"RelGAN: Relational Generative Adversarial Networks for Text Generation", Sec. 2.3).

Both read x (B, L, V): real sequences as one-hot rows, RelGAN's Gumbel-softmax samples as soft one-hots (rows
on the simplex), and embed them as x @ E with E a (V, embed_dim) matrix: E[token] for a one-hot row, the
convex combination of E's rows for a soft one; or x (B, L) integer token ids, looked up as E[x]. Then, per
filter width k, a "VALID" convolution over time spanning the whole embedding (L - k + 1 outputs), ReLU and
max-over-time pooling; the pooled features of all widths concatenated; one highway layer (Srivastava et
al. 2015, "Highway Networks"):
  z = t * relu(y W_H + b_H) + (1 - t) * y,   t = sigmoid(y W_T + b_T + 0)      (gate bias 0, as both references)
dropout; a linear output. A filter wider than L raises a ValueError: the references' VALID convolutions and
pooling windows of L - k + 1 need k <= L (SeqGAN's widths go up to 20 for its length-20 oracle data).

Dropout is on when `train` (both references also run their discriminators with dropout when computing the
generator's reward or loss), its masks drawn per example from the "dropout" rng stream and `example_ids`,
the examples' indices in the global batch (default arange(B)), by `ExampleDropout`
(gan/models/layers.py): the same numbers however the batch is split over devices.

The embedded sequence is sown as intermediates["embedded"] (returned when "intermediates" is mutable).
The convolutions are computed as matrix products of each window's concatenated embeddings (im2col); kernels
are stored as (k, embedding columns, filters), the reference's (k, columns, 1, filters) without its unit
input-channel axis.
"""
from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan.models.layers import ExampleDropout
from gan.models.relational_memory import linear_init


def truncated_normal(stddev: float) -> nn.initializers.Initializer:
  """TF's `truncated_normal(stddev)`: N(0, stddev^2) redrawn outside +-2 sd, no variance correction."""
  return nn.initializers.truncated_normal(stddev)


def tf_glorot_uniform(key, shape, dtype=jnp.float32):
  """TF 1.x's default `tf.get_variable` initializer, glorot_uniform, as it treats any shape: U(-a, a) with
  a = sqrt(6 / (fan_in + fan_out)), where a 1-D shape (n,) has fan_in = fan_out = n (so a = sqrt(3 / n)
  for a bias) and a 2-D one (in, out) its two sizes."""
  fan_in, fan_out = (shape[0], shape[0]) if len(shape) == 1 else (shape[0], shape[1])
  limit = math.sqrt(6.0 / (fan_in + fan_out))
  return jax.random.uniform(key, shape, dtype, -limit, limit)


def uniform(low: float, high: float) -> nn.initializers.Initializer:
  def init(key, shape, dtype=jnp.float32):
    return jax.random.uniform(key, shape, dtype, low, high)
  return init


def embed(x, embedding):
  """(B, L, V) (soft) one-hot rows times the (V, E) embedding matrix, or (B, L) integer token ids looked up
  in it: (B, L, E). For hard tokens the two are the same numbers (a one-hot row's product adds exact
  zeros to E[token]); the lookup skips the B L V E multiply-adds, a quarter of SeqGAN's D on COCO."""
  if jnp.issubdtype(x.dtype, jnp.integer) and x.ndim == 2:
    return jnp.take(embedding, x, axis=0)
  if x.ndim != 3 or x.shape[-1] != embedding.shape[0]:
    raise ValueError(f"expected (soft) one-hot sequences of shape (B, L, {embedding.shape[0]}) or token ids "
                     f"(B, L), got {x.shape}")
  return jnp.einsum("blv,ve->ble", x, embedding.astype(x.dtype))


def conv_relu_max_over_time(h, kernel, bias):
  """h (..., L, C), kernel (k, C, F), bias (F,) -> (..., F): max over the L - k + 1 positions t of
  relu(sum_a h[..., t + a, :] @ kernel[a] + bias), the 'VALID' convolution over the whole column width."""
  k, c, f = kernel.shape
  length = h.shape[-2]
  if k > length:
    raise ValueError(f"filter width {k} > sequence length {length}: the references' VALID convolutions need every "
                     f"filter width <= L (SeqGAN's oracle setting: L = 20, widths up to 20); pass filter_sizes "
                     f"that fit the sequences")
  windows = length - k + 1
  patches = jnp.concatenate([h[..., a:a + windows, :] for a in range(k)], axis=-1)  # (..., T, k * C)
  y = patches @ kernel.reshape(k * c, f).astype(h.dtype) + bias.astype(h.dtype)
  return jnp.max(nn.relu(y), axis=-2)


class Highway(nn.Module):
  """One highway layer (Srivastava et al. 2015, Eq. 2-3 with carry gate 1 - t), as the references' `highway`
  with num_layers=1, bias=0: z = t * relu(y W_H + b_H) + (1 - t) * y, t = sigmoid(y W_T + b_T + gate_bias).
  `lin` is the transform, `gate` the gate layer."""
  use_bias: bool = True
  gate_bias: float = 0.0
  kernel_init: nn.initializers.Initializer = tf_glorot_uniform
  bias_init: nn.initializers.Initializer = tf_glorot_uniform

  @nn.compact
  def __call__(self, y):
    n = y.shape[-1]
    dense = lambda name: nn.Dense(n, use_bias=self.use_bias, kernel_init=self.kernel_init,  # noqa: E731
                                  bias_init=self.bias_init, name=name)
    g = nn.relu(dense("lin")(y))
    t = jax.nn.sigmoid(dense("gate")(y) + self.gate_bias)
    return t * g + (1.0 - t) * y


def _check_filters(filter_sizes, num_filters):
  if len(filter_sizes) != len(num_filters) or not filter_sizes:
    raise ValueError(f"filter_sizes {filter_sizes} and num_filters {num_filters} must be non-empty and as long")
  if min(filter_sizes) < 1 or min(num_filters) < 1:
    raise ValueError(f"filter sizes and counts must be >= 1, got {filter_sizes}, {num_filters}")


class SeqGANDiscriminator(nn.Module):
  """SeqGAN's CNN discriminator, layer for layer the reference's Discriminator (LantaoYu/SeqGAN,
  discriminator.py; hyperparameters from sequence_gan.py: embedding 64, widths 1-10, 15, 20 with
  100, 200 x 4, 100 x 5, 160, 160 filters, dropout keep probability 0.75).

  __call__(x (B, L, V) or token ids (B, L), example_ids (B,) = arange(B), *, train) -> (B, 1) logits of
  "real".

  The reference scores 2 classes, label [1, 0] for generated and [0, 1] for real sequences (dataloader.py),
  with a softmax; its reward is the softmax's real-class probability. This module keeps the same 2-class
  output layer (the same parameters) and returns the score difference s_real - s_fake: since
  softmax(s)[real] = sigmoid(s_real - s_fake), it is the equivalent binary logit, and sigmoid cross-entropy
  on it equals the reference's 2-class softmax cross-entropy.

  Initialisation as the reference: embedding U(-1, 1); conv kernels truncated normal sd 0.1, conv biases 0.1;
  highway weights and biases TF 1.x's default glorot_uniform (`tf_glorot_uniform`); output weights truncated
  normal sd 0.1, biases 0.1 (so the binary logit's bias starts at 0). The reference's L2 penalty
  (l2_reg_lambda 0.2 times tf.nn.l2_loss, i.e. half the sum of squares, of the output layer's weights and
  bias) is a loss term, not part of the module: its parameters are `params["output"]`.
  """
  vocab_size: int
  embed_dim: int = 64
  filter_sizes: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20)
  num_filters: tuple[int, ...] = (100, 200, 200, 200, 200, 100, 100, 100, 100, 100, 160, 160)
  dropout: float = 0.25

  @nn.compact
  def __call__(self, x, example_ids=None, *, train: bool):
    _check_filters(self.filter_sizes, self.num_filters)
    if example_ids is None:
      example_ids = jnp.arange(x.shape[0])
    embedding = self.param("embedding", uniform(-1.0, 1.0), (self.vocab_size, self.embed_dim))
    h = embed(x, embedding)  # (B, L, E)
    self.sow("intermediates", "embedded", h)
    pooled = []
    for i, (k, f) in enumerate(zip(self.filter_sizes, self.num_filters)):
      kernel = self.param(f"conv_{i}_kernel", truncated_normal(0.1), (k, self.embed_dim, f))
      bias = self.param(f"conv_{i}_bias", nn.initializers.constant(0.1), (f,))
      pooled.append(conv_relu_max_over_time(h, kernel, bias))
    h = Highway(use_bias=True, name="highway")(jnp.concatenate(pooled, axis=-1))  # (B, sum(num_filters))
    h = ExampleDropout(self.dropout, name="dropout")(h, example_ids, deterministic=not train)
    scores = nn.Dense(2, kernel_init=truncated_normal(0.1), bias_init=nn.initializers.constant(0.1),
                      name="output")(h)  # (B, 2): [generated, real]
    return scores[:, 1:] - scores[:, :1]


class RelGANDiscriminator(nn.Module):
  """RelGAN's CNN discriminator with multiple embedded representations, layer for layer the reference's
  `discriminator` (weilinie/RelGAN, models/rmc_vanilla.py; its layers from utils/ops.py; hyperparameters
  from run.py and the experiment scripts: total embedding 64, num_rep 64, dropout keep probability 0.75).

  __call__(x (B, L, V) or token ids (B, L), example_ids (B,) = arange(B), *, train) -> (B, num_rep) logits.

  Representations (Sec. 2.3): the one embedding x @ E (B, L, embed_dim), E (V, embed_dim), is cut into
  num_rep consecutive column groups of embed_dim / num_rep (1 at the defaults): the reference's conv2d with
  kernel width and stride embed_dim / num_rep over the (L, embed_dim) "image". The same filters run over
  every representation; each representation's pooled features (sum(num_filters)) go through the shared
  highway layer, dropout, a linear layer to 100 units and a linear layer to 1 logit (no nonlinearity between
  the two, as the reference). So there is one logit per example and representation; the reference returns
  them flattened to (B * num_rep,) (example-major) and averages its losses over all of them; this module
  returns them as (B, num_rep).

  Initialisation as the reference: embedding truncated normal sd 1 / sqrt(V); conv kernels truncated normal
  sd sqrt(2 / (k * embed_dim / num_rep)) (its conv2d's default), conv biases 0; highway weights truncated
  normal sd 1 / sqrt(fan_in) and no biases (RelGAN's `linear` defaults to use_bias=False), gate bias 0;
  the two output layers truncated normal sd 1 / sqrt(fan_in), biases 0.

  Deviation: the reference's optional spectral normalisation (`--sn`, off in all its experiment scripts) is
  not implemented. `hidden_dim` (the reference's fixed 100) is a field.
  """
  vocab_size: int
  embed_dim: int = 64
  num_rep: int = 64
  filter_sizes: tuple[int, ...] = (2, 3, 4, 5)
  num_filters: tuple[int, ...] = (300, 300, 300, 300)
  dropout: float = 0.25
  hidden_dim: int = 100

  @nn.compact
  def __call__(self, x, example_ids=None, *, train: bool):
    _check_filters(self.filter_sizes, self.num_filters)
    if self.num_rep < 1 or self.embed_dim % self.num_rep:
      raise ValueError(f"embed_dim {self.embed_dim} must be a positive multiple of num_rep {self.num_rep}")
    if example_ids is None:
      example_ids = jnp.arange(x.shape[0])
    width = self.embed_dim // self.num_rep
    embedding = self.param("embedding", linear_init, (self.vocab_size, self.embed_dim))
    h = embed(x, embedding)  # (B, L, E)
    self.sow("intermediates", "embedded", h)
    b, length, _ = h.shape
    h = h.reshape(b, length, self.num_rep, width).transpose(0, 2, 1, 3)  # (B, R, L, E / R)
    pooled = []
    for i, (k, f) in enumerate(zip(self.filter_sizes, self.num_filters)):
      kernel = self.param(f"conv_{i}_kernel", truncated_normal(math.sqrt(2.0 / (k * width))), (k, width, f))
      bias = self.param(f"conv_{i}_bias", nn.initializers.zeros_init(), (f,))
      pooled.append(conv_relu_max_over_time(h, kernel, bias))  # (B, R, f)
    h = Highway(use_bias=False, kernel_init=linear_init, name="highway")(jnp.concatenate(pooled, axis=-1))
    h = ExampleDropout(self.dropout, name="dropout")(h, example_ids, deterministic=not train)
    h = nn.Dense(self.hidden_dim, kernel_init=linear_init, name="fc")(h)
    return nn.Dense(1, kernel_init=linear_init, name="logits")(h)[..., 0]  # (B, R)
