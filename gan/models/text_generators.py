"""Autoregressive text generators: embedding -> recurrent core -> logits over the vocabulary.

One module serves SeqGAN's generator, its synthetic oracle and RelGAN's generator; only the core differs:

- `core="lstm"`: the LSTM of SeqGAN's generator and oracle (Yu et al. 2017, "SeqGAN: Sequence
  Generative Adversarial Nets with Policy Gradient", Sec. 4; LantaoYu/SeqGAN, generator.py and
  target_lstm.py `create_recurrent_unit`): gates i, f, o and candidate c~ from the input x_t and
  h_{t-1} (no peepholes), c_t = f * c_{t-1} + i * c~, h_t = o * tanh(c_t), zero initial state. Every
  weight and bias of the reference is drawn N(0, `init_stddev`²): 0.1 for the generator, 1.0 for the
  oracle (`init_matrix`). The four gates' (W, U, b) are stored as one Dense on [x_t; h_{t-1}], the same
  function and initial distribution.
- `core="relational_memory"`: RelGAN's relational memory (Nie et al. 2019, "RelGAN: Relational
  Generative Adversarial Networks for Text Generation", Sec. 2.1; gan/models/relational_memory.py).

The output layer maps the core's output to logits over the vocabulary; `input_only` tokens (the start
symbol `<bos>` of text files, which only ever starts a sequence) get logit -inf, so G never emits them. The module is applied one time
step at a time (`step`) from a `lax.scan` in the caller (gan/text_sampling.py): teacher forcing, sampling,
Gumbel-softmax sampling and SeqGAN's roll-outs all scan the same step.
"""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan.models import relational_memory
from gan.models.layers import normal_init

CORES = ("lstm", "relational_memory")


class LSTMCore(nn.Module):
  """SeqGAN's LSTM cell (module docstring); state (h, c), each (batch, hidden_dim)."""
  hidden_dim: int
  init_stddev: float = 0.1

  def initial_state(self, batch_size: int):
    zeros = jnp.zeros((batch_size, self.hidden_dim), jnp.float32)
    return zeros, zeros

  @nn.compact
  def __call__(self, state, x):
    h, c = state
    init = normal_init(0.0, self.init_stddev)
    gates = nn.Dense(4 * self.hidden_dim, kernel_init=init, bias_init=init, name="gates")(
        jnp.concatenate([x, h], axis=-1))
    i, f, o, candidate = jnp.split(gates, 4, axis=-1)
    c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(candidate)
    h = jax.nn.sigmoid(o) * jnp.tanh(c)
    return (h, c), h


class TextGenerator(nn.Module):
  """Token -> next-token logits, one step at a time. `step(state, tokens)`: tokens int32 (batch,) ->
  (state, logits (batch, vocab_size)); `initial_state(batch_size)` needs no parameters."""
  vocab_size: int
  embed_dim: int = 32
  core: str = "lstm"
  hidden_dim: int = 32  # LSTM
  init_stddev: float = 0.1  # LSTM core, embedding and output layer (SeqGAN's init_matrix; oracle 1.0)
  mem_slots: int = 1  # relational memory (RelGAN: 1 slot, 2 heads of 256)
  head_size: int = 256
  num_heads: int = 2
  input_only: tuple[int, ...] = ()  # tokens never generated (text files' <bos>): logit -inf

  def setup(self):
    if self.core == "lstm":
      init = normal_init(0.0, self.init_stddev)
      self.cell = LSTMCore(self.hidden_dim, self.init_stddev)
      self.embed = nn.Embed(self.vocab_size, self.embed_dim, embedding_init=init)
      self.out = nn.Dense(self.vocab_size, kernel_init=init, bias_init=init)
    elif self.core == "relational_memory":
      # RelGAN's generator (models/rmc_vanilla.py, utils/ops.py): embeddings and output weights truncated
      # normal with stddev 1/sqrt(fan-in) (create_linear_initializer: vocab size, memory output size),
      # output bias zero
      out_size = self.mem_slots * self.head_size * self.num_heads
      self.cell = relational_memory.RelationalMemory(mem_slots=self.mem_slots, head_size=self.head_size,
                                                     num_heads=self.num_heads)
      self.embed = nn.Embed(self.vocab_size, self.embed_dim,
                            embedding_init=nn.initializers.truncated_normal(self.vocab_size ** -0.5))
      self.out = nn.Dense(self.vocab_size, kernel_init=nn.initializers.truncated_normal(out_size ** -0.5))
    else:
      raise ValueError(f"unknown generator core {self.core!r}: expected one of {', '.join(CORES)}")

  def initial_state(self, batch_size: int):
    if self.core == "lstm":
      return self.cell.initial_state(batch_size)
    return self.cell.initial_memory(batch_size)

  def step(self, state, tokens):
    state, h = self.cell(state, self.embed(tokens))
    logits = self.out(h)
    if self.input_only:
      logits = logits.at[:, jnp.asarray(self.input_only)].set(-jnp.inf)
    return state, logits

  def __call__(self, tokens):
    """One step from the initial state (used to create the parameters)."""
    return self.step(self.initial_state(tokens.shape[0]), tokens)[1]
