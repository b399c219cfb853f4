"""What an autoregressive generator does with whole sequences, written once for every text model.

`generator` is a gan/models/text_generators.py `TextGenerator` and `params` its parameters; each
function scans the module's one-step `step(state, tokens) -> (state, logits)` over time.

- `teacher_forcing`: logits for every position given the true prefix (MLE, NLL).
- `sample`: categorical samples of softmax(o_t / T) (T = `temperature`) by inverse-CDF sampling, one
  uniform per token; with `beta`, RelGAN's draw instead: y_t = argmax(o_t + g_t) with Gumbel(0, 1) noise
  g_t (the Gumbel-max trick, an exact sample at T = 1) and its Gumbel-softmax relaxation
  softmax(beta (o_t + g_t)) (Jang et al. 2017, Eq. 2; Maddison et al. 2017; RelGAN's generator,
  models/rmc_vanilla.py, where beta is its "temperature"), the hard token fed to the next step as RelGAN
  does. Each example's noise comes from its own key (`example_keys`) and the position, so a sample
  does not depend on how the batch is split over devices.
- `rollout_rewards`: SeqGAN's Monte-Carlo search (Yu et al. 2017, Eq. 4): for every prefix Y_{1:t},
  t < L, `num_rollouts` completions by the roll-out policy, the reward Q(Y_{1:t}) the mean of D's
  probability that they are real; Q(Y_{1:L}) = D(Y_{1:L}).

A sequence with an end token (`eos_id` >= 0) ends at its first `<eos>`: sampling writes `<eos>` at every
later position, and NLLs and policy gradients count the positions up to and including it (`mask`).
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax


def _step(generator, params, state, tokens):
  return generator.apply({"params": params}, state, tokens, method="step")


def initial_state(generator, params, batch_size: int):
  return generator.apply({"params": params}, batch_size, method="initial_state")


def inputs_of(tokens, bos_id: int):
  """The inputs that predict `tokens`: `<bos>` then the tokens but the last, (B, L)."""
  return jnp.concatenate([jnp.full((tokens.shape[0], 1), bos_id, tokens.dtype), tokens[:, :-1]], axis=1)


def teacher_forcing(generator, params, tokens, bos_id: int):
  """float32 logits (B, L, V): position t's distribution given `<bos>` and tokens[:, :t]."""
  def body(state, x):
    state, logits = _step(generator, params, state, x)
    return state, logits.astype(jnp.float32)
  _, logits = lax.scan(body, initial_state(generator, params, tokens.shape[0]), inputs_of(tokens, bos_id).T)
  return jnp.swapaxes(logits, 0, 1)


def mask(tokens, eos_id: int):
  """float32 (B, L): 1 at the positions up to and including the first `<eos>` (all without `eos_id`)."""
  if eos_id < 0:
    return jnp.ones(tokens.shape, jnp.float32)
  ended_before = jnp.cumsum(tokens == eos_id, axis=1) - (tokens == eos_id)
  return (ended_before == 0).astype(jnp.float32)


def token_log_probs(logits, tokens):
  """log p(token_t | prefix) (B, L) from the logits (B, L, V)."""
  return jnp.take_along_axis(jax.nn.log_softmax(logits), tokens[..., None], axis=-1)[..., 0]


def nll(generator, params, tokens, *, bos_id: int, eos_id: int, temperature: float = 1.0):
  """(summed NLL, counted positions) of `tokens` under the generator at `temperature` (softmax(o_t / T)),
  over the `mask`ed positions."""
  log_p = token_log_probs(teacher_forcing(generator, params, tokens, bos_id) / temperature, tokens)
  m = mask(tokens, eos_id)
  return -jnp.sum(log_p * m), jnp.sum(m)


def inverse_cdf_sample(keys, logits, block: int = 64):
  """One categorical draw per row of `logits` (B, V) from one uniform u per row (its key): the first index
  whose cumulative probability exceeds u (one random number per token instead of V Gumbel draws). Found
  in two levels, the same index up to float rounding: the block of `block` classes whose cumulative mass
  first exceeds u, then the class within it; a cumulative sum over V / block block masses and one over
  `block` classes instead of one over all V (on a CPU, XLA's cumulative sum over COCO's 4,659 words was
  three quarters of a sampling step)."""
  batch, vocab = logits.shape
  num_blocks = -(-vocab // block)
  u = jax.vmap(jax.random.uniform)(keys)
  mass = jnp.exp(logits - jnp.max(logits, axis=-1, keepdims=True))  # unnormalised: u is scaled instead
  mass = jnp.pad(mass, ((0, 0), (0, num_blocks * block - vocab))).reshape(batch, num_blocks, block)
  block_mass = jnp.sum(mass, axis=-1)
  block_cdf = jnp.cumsum(block_mass, axis=-1)
  target = u * block_cdf[:, -1]
  j = jnp.minimum(jnp.sum(block_cdf < target[:, None], axis=-1), num_blocks - 1)
  rest = target - (block_cdf - block_mass)[jnp.arange(batch), j]
  within = jnp.cumsum(mass[jnp.arange(batch), j], axis=-1)
  token = j * block + jnp.minimum(jnp.sum(within < rest[:, None], axis=-1), block - 1)
  return jnp.minimum(token, vocab - 1).astype(jnp.int32)


def sample(generator, params, keys, *, length: int, bos_id: int, eos_id: int, temperature: float = 1.0,
           beta=None, prefix=None, prefix_length=None):
  """Sequences (B, length) int32 from per-example `keys` (B, 2); with `beta`, also the Gumbel-softmax
  relaxations (B, length, V). `prefix` (B, length) with `prefix_length` (B,) forces positions
  < prefix_length to the prefix's tokens (SeqGAN's roll-outs continue from there)."""
  batch = keys.shape[0]

  def body(carry, t):
    state, previous, finished = carry
    state, logits = _step(generator, params, state, previous)
    logits = logits.astype(jnp.float32)
    step_keys = jax.vmap(lambda k: jax.random.fold_in(k, t))(keys)
    soft = None
    if beta is None:
      token = inverse_cdf_sample(step_keys, logits / temperature)
    else:
      gumbel = jax.vmap(lambda k: jax.random.gumbel(k, logits.shape[-1:]))(step_keys)
      token = jnp.argmax(logits + gumbel, axis=-1).astype(jnp.int32)
      soft = jax.nn.softmax(beta * (logits + gumbel), axis=-1)
    if prefix is not None:
      token = jnp.where(t < prefix_length, prefix[:, t], token)
    if eos_id >= 0:  # after the first <eos>: <eos> (and its exact one-hot)
      token = jnp.where(finished, eos_id, token)
      if soft is not None:
        soft = jnp.where(finished[:, None], jax.nn.one_hot(eos_id, logits.shape[-1]), soft)
      finished = finished | (token == eos_id)
    out = token if soft is None else (token, soft)
    return (state, token, finished), out

  carry = (initial_state(generator, params, batch), jnp.full((batch,), bos_id, jnp.int32),
           jnp.zeros((batch,), bool))
  _, out = lax.scan(body, carry, jnp.arange(length))
  if beta is None:
    return out.T
  tokens, soft = out
  return tokens.T, jnp.swapaxes(soft, 0, 1)


def rollout_rewards(generator, rollout_params, discriminate, tokens, keys, *, num_rollouts: int, bos_id: int,
                    eos_id: int):
  """SeqGAN's rewards Q (B, L) of sampled `tokens` (module docstring). `discriminate(tokens) -> (B,)`
  D's probability that each sequence is real; `keys` (B, 2) per-example keys for the completions."""
  batch, length = tokens.shape

  def prefix_rewards(t):
    def one_rollout(n):
      rollout_keys = jax.vmap(lambda k: jax.random.fold_in(jax.random.fold_in(k, t), n))(keys)
      completed = sample(generator, rollout_params, rollout_keys, length=length, bos_id=bos_id, eos_id=eos_id,
                         prefix=tokens, prefix_length=jnp.full((batch,), t))
      return discriminate(completed)
    return jnp.mean(lax.map(one_rollout, jnp.arange(num_rollouts)), axis=0)

  partial = lax.map(prefix_rewards, jnp.arange(1, length))  # (L-1, B)
  return jnp.concatenate([partial.T, discriminate(tokens)[:, None]], axis=1)


@functools.lru_cache(maxsize=8)
def _jitted_sample(generator, length, bos_id, eos_id, temperature):
  return jax.jit(functools.partial(sample, generator, length=length, bos_id=bos_id, eos_id=eos_id,
                                   temperature=temperature))


@functools.lru_cache(maxsize=8)
def _jitted_nll(generator, bos_id, eos_id, temperature):
  return jax.jit(functools.partial(nll, generator, bos_id=bos_id, eos_id=eos_id, temperature=temperature))


CHUNK = 1000  # sequences per compiled call in the *_in_chunks helpers (the last chunk is padded)


def sample_in_chunks(generator, params, num: int, key, *, length: int, bos_id: int, eos_id: int,
                     temperature: float = 1.0) -> np.ndarray:
  """`num` int32 samples (num, length); sample i's noise from fold_in(key, i) alone, so any chunking
  gives the same samples."""
  fn = _jitted_sample(generator, length, bos_id, eos_id, float(temperature))
  chunk = min(CHUNK, max(num, 1))
  parts = []
  for start in range(0, num, chunk):
    keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(start, start + chunk))
    parts.append(np.asarray(fn(params, keys))[:num - start])
  return np.concatenate(parts).astype(np.int32)


def mean_nll_in_chunks(generator, params, tokens: np.ndarray, *, bos_id: int, eos_id: int,
                       temperature: float = 1.0) -> float:
  """The per-token NLL of `tokens` (N, L) under the generator at `temperature` (nats), over the masked
  positions."""
  fn = _jitted_nll(generator, bos_id, eos_id, float(temperature))
  total, count = 0.0, 0.0
  for start in range(0, len(tokens), CHUNK):
    part = np.asarray(tokens[start:start + CHUNK], np.int32)
    s, c = fn(params, part)
    total, count = total + float(s), count + float(c)
  return total / count
