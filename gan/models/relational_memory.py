"""The relational memory core (RMC) of Santoro et al. 2018, "Relational recurrent neural networks" (Sec. 3.1-3.3,
Eq. 1-2 and the gating of Sec. 3.3), as RelGAN's generator uses it (Nie et al. 2019, "RelGAN: Relational
Generative Adversarial Networks for Text Generation", Sec. 2.1, Eq. 1-3), step for step the reference
implementation's RelationalMemory (weilinie/RelGAN, utils/models/relational_memory.py, itself adapted from
Sonnet's, google-deepmind/sonnet, sonnet/python/modules/relational_memory.py).

One step, for a memory M (B, N, D) with N = mem_slots rows of D = mem_size = head_size * num_heads and an
input x (B, d):
  x' = x W_in + b_in                                   the input projected to a memory row (B, D)
  R = [M; x']                                          (B, N + 1, D): the input appended as a row
  per block (num_blocks):
    [Q K V] = LN(R W_qkv)                              per head: key_size, key_size, head_size columns
    A = concat_h softmax(Q_h K_h^T / sqrt(2 key_size + head_size)) V_h          (Eq. 1; every row attends
                                                       to every row, so the memory rows to [M; x'])
    R = LN(R + A);  R = LN(R + MLP(R))                 MLP: attention_mlp_layers linear layers of width D,
                                                       ReLU between them, none after the last
  M~ = R[:, :N]                                        the input row is dropped
  gate_style "unit" (one gate per memory element; the reference's default and what RelGAN runs) or
  "memory" (one per row), from the projected input and the OLD memory (Sec. 3.3):
    [i f] = x' U_x + tanh(M) U_m,   I = sigmoid(i + input_bias),   F = sigmoid(f + forget_bias)
    M_next = I * tanh(M~) + F * M
  gate_style None: M_next = M~.
  output = M_next flattened to (B, N * D).

As in the reference (and unlike Sonnet's version or the Transformer):
  - LN is `tf.contrib.layers.layer_norm` with its defaults (begin_norm_axis=1, begin_params_axis=-1,
    epsilon 1e-12): each example's whole (N + 1, D) or (N + 1, F) block is normalised at once, with a scale
    and offset per column. `norm_over_slots=False` normalises each row on its own, as Sonnet's
    BatchApply(LayerNorm()).
  - the queries are scaled by (2 key_size + head_size) ** -0.5, not key_size ** -0.5;
  - the qkv and gate projections have no bias; the input projection and the MLP layers do.
Initialisation as the reference's `linear` (weilinie/RelGAN, utils/ops.py, create_linear_initializer):
weights truncated normal (at 2 sd) with sd 1 / sqrt(fan_in), biases 0; layer norm scales 1, offsets 0.

Deviation: with num_blocks > 1 each block has its own parameters. (The reference creates its variables under
fixed scope names, so a second block in one step would try to create them again; RelGAN only runs one
block. Sonnet's version gives each block its own qkv projection and layer norms but shares the MLP.)

The module keeps no state between calls: the memory is passed in and returned, so `__call__` can be applied
once per time step from a `lax.scan` outside the module.
"""
from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

GATE_STYLES = ("unit", "memory", None)
LAYER_NORM_EPSILON = 1e-12  # tf.contrib.layers.layer_norm


def linear_init(key, shape, dtype=jnp.float32):
  """Truncated normal (at +-2 sd) with sd 1 / sqrt(shape[0]): the reference's `create_linear_initializer`
  (weilinie/RelGAN, utils/ops.py) for a (fan_in, fan_out) weight."""
  return nn.initializers.truncated_normal(1.0 / math.sqrt(shape[0]))(key, shape, dtype)


class _AttentionBlock(nn.Module):
  """One block of `RelationalMemory`: multi-head attention, residual + LN, MLP, residual + LN."""
  head_size: int
  num_heads: int
  key_size: int
  mlp_layers: int
  norm_over_slots: bool

  def _norm(self, name):
    axes = (-2, -1) if self.norm_over_slots else (-1,)
    return nn.LayerNorm(epsilon=LAYER_NORM_EPSILON, reduction_axes=axes, feature_axes=-1, use_fast_variance=False,
                        name=name)

  @nn.compact
  def __call__(self, rows):
    b, n, size = rows.shape
    qkv_size = 2 * self.key_size + self.head_size
    qkv = nn.Dense(self.num_heads * qkv_size, use_bias=False, kernel_init=linear_init, name="qkv")(rows)
    qkv = self._norm("qkv_norm")(qkv).reshape(b, n, self.num_heads, qkv_size)
    q, k, v = jnp.split(qkv, [self.key_size, 2 * self.key_size], axis=-1)
    logits = jnp.einsum("bnhd,bmhd->bhnm", q * qkv_size ** -0.5, k)
    attended = jnp.einsum("bhnm,bmhd->bnhd", jax.nn.softmax(logits, axis=-1), v).reshape(b, n, -1)
    rows = self._norm("attention_norm")(rows + attended)
    h = rows
    for i in range(self.mlp_layers):
      h = nn.Dense(size, kernel_init=linear_init, name=f"mlp_{i}")(h)
      if i < self.mlp_layers - 1:
        h = nn.relu(h)
    return self._norm("mlp_norm")(rows + h)


class RelationalMemory(nn.Module):
  """The relational memory core (module docstring). `initial_memory(B)` is the reference's initial state;
  `__call__(memory, inputs)` one step: (B, N, D), (B, ...) -> (next memory (B, N, D), output (B, N * D))."""
  mem_slots: int = 1
  head_size: int = 256
  num_heads: int = 2
  num_blocks: int = 1
  attention_mlp_layers: int = 2
  gate_style: str | None = "unit"  # "unit" | "memory" | None (no gating)
  forget_bias: float = 1.0
  input_bias: float = 0.0
  key_size: int | None = None  # None: head_size
  norm_over_slots: bool = True  # the reference's layer norm over (rows, columns); False: per row (Sonnet)

  @property
  def mem_size(self) -> int:
    return self.head_size * self.num_heads

  def _check(self):
    if self.gate_style not in GATE_STYLES:
      raise ValueError(f"gate_style must be one of {GATE_STYLES}, got {self.gate_style!r}")
    for name in ("mem_slots", "head_size", "num_heads", "num_blocks", "attention_mlp_layers"):
      if getattr(self, name) < 1:
        raise ValueError(f"RelationalMemory: {name} must be >= 1, got {getattr(self, name)}")

  def initial_memory(self, batch_size: int) -> jax.Array:
    """(batch_size, mem_slots, mem_size): each example's memory is the mem_slots x mem_slots identity,
    padded with zero columns or truncated to mem_size columns (the reference's `initial_state`), so the
    rows start distinct. Uses no parameters."""
    eye = jnp.eye(self.mem_slots, self.mem_size, dtype=jnp.float32)
    return jnp.broadcast_to(eye, (batch_size, self.mem_slots, self.mem_size))

  @nn.compact
  def __call__(self, memory, inputs) -> tuple[jax.Array, jax.Array]:
    self._check()
    b = memory.shape[0]
    if memory.shape[1:] != (self.mem_slots, self.mem_size):
      raise ValueError(f"memory of shape {memory.shape}, expected (B, {self.mem_slots}, {self.mem_size})")
    x = nn.Dense(self.mem_size, kernel_init=linear_init, name="input_projection")(inputs.reshape(b, -1))
    rows = jnp.concatenate([memory, x[:, None, :].astype(memory.dtype)], axis=1)  # (B, N + 1, D)
    for i in range(self.num_blocks):
      rows = _AttentionBlock(self.head_size, self.num_heads, self.key_size or self.head_size,
                             self.attention_mlp_layers, self.norm_over_slots, name=f"block_{i}")(rows)
    next_memory = rows[:, :-1]
    if self.gate_style is not None:
      gate_size = self.mem_size if self.gate_style == "unit" else 1
      gates_x = nn.Dense(2 * gate_size, use_bias=False, kernel_init=linear_init, name="gate_input")(x)
      gates_m = nn.Dense(2 * gate_size, use_bias=False, kernel_init=linear_init, name="gate_memory")(
          jnp.tanh(memory))
      input_gate, forget_gate = jnp.split(gates_m + gates_x[:, None, :], 2, axis=-1)
      input_gate = jax.nn.sigmoid(input_gate + self.input_bias)
      forget_gate = jax.nn.sigmoid(forget_gate + self.forget_bias)
      next_memory = input_gate * jnp.tanh(next_memory) + forget_gate * memory
    return next_memory, next_memory.reshape(b, -1)
