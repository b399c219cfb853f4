"""The text family: token sequences from an autoregressive generator (`gan`: mle | seqgan | relgan).

One run trains in stages chosen by the step count, so pre-training is checkpointed and resumable
mid-stage like everything else:
  1. `mle_steps` of maximum likelihood (teacher forcing) on real sequences, Adam `optim.g_mle`
     (SeqGAN's and RelGAN's pre-training: lr 1e-2, gradients clipped to norm 5);
  2. `d_pretrain_steps` of D alone on real against generated sequences (SeqGAN pre-trains its D);
  3. adversarial steps: one G update, then `n_critic` D updates, each on its own real batch.
The `mle` experiment is stage 1 alone (no D).

- SeqGAN (Yu et al. 2017, "SeqGAN: Sequence Generative Adversarial Nets with Policy Gradient",
  Sec. 3, Eq. 1-8; LantaoYu/SeqGAN): G's update is REINFORCE, grad = E[sum_t grad log G(y_t | Y_{1:t-1})
  Q(Y_{1:t-1}, y_t)] (Eq. 6-7), with Q from `num_rollouts` Monte-Carlo completions by a delayed copy of
  G (gan/text_sequences.py `rollout_rewards`; D's real-class probability, dropout off, as the
  reference's rollout.py feeds keep-prob 1). The copy follows G as rollout.py `update_params` does:
  w_rollout <- r w_rollout + (1 - r) w_G with r = `rollout_update_rate` (0.8), the embedding copied.
  The reference's loss is the sum over the batch and time of -log G(y_t) Q_t (generator.py `g_loss`),
  so G's Adam sees summed gradients, clipped to norm 5; here too (the sum over the global batch). D:
  SeqGAN's CNN (gan/models/text_discriminators.py) on one-hot sequences, the softmax cross-entropy of
  real against generated (= the mean of the non-saturating D loss's two terms) plus `d_l2_weight`
  (0.2) times the L2 loss (sum w² / 2) of its output layer.
- RelGAN (Nie et al. 2019, "RelGAN: Relational Generative Adversarial Networks for Text Generation",
  Sec. 2; weilinie/RelGAN, oracle_train.py / real_train.py): D sees G's Gumbel-softmax relaxations
  softmax(beta (o_t + g_t)) (Sec. 2.2), real data as one-hot, through RelGAN's multi-representation
  CNN; loss RSGAN (`loss` "rsgan", Eq. 3) on pairs of real and fake examples (each representation's
  logit paired); beta grows from 1 to `temperature_max` over `temperature_horizon` adversarial steps
  (`temperature_schedule`, `get_fixed_temperature` of its code: exp beta_max^(n/N), ...). The reference
  draws a real batch for G's update too; both players' gradients clipped to norm 5.

Each example's noise (samples, Gumbel noise, roll-outs, D's dropout) comes from its index in the global
batch (gan/players.py), so jit = pmap on any number of devices. Deviation from both references: after a
sequence's first `<eos>` every position is `<eos>` (gan/text_sequences.py), and MLE and NLL average over
the positions up to the first `<eos>` (the references average over all positions of the padded sequence,
whose padding G must also learn); the oracle has no `<eos>`, so there nothing differs.

Evaluation (gan/families/text_evaluation.py): NLL_oracle, NLL_test, BLEU-2..5 and Self-BLEU-2..5, the
fractions of unique samples and of samples copied from the training set.
"""
from __future__ import annotations

import dataclasses
import os
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from gan import config_validation as cv
from gan import factory, losses, players
from gan import text_sequences as seq
from gan.data import text as text_data
from gan.data import tokenize
from gan.errors import UserError
from gan.families.base import Family
from gan.models import text_discriminators, text_generators
from gan.state import PlayerState, TrainState

GANS = ("mle", "seqgan", "relgan")
DISCRIMINATORS = {"seqgan": text_discriminators.SeqGANDiscriminator,
                  "relgan": text_discriminators.RelGANDiscriminator}
LOSSES = {"seqgan": ("non_saturating",), "relgan": ("rsgan", "non_saturating")}
DATASETS = ("oracle", "text_file")


def temperature(schedule: str, beta_max, n, horizon: int):
  """RelGAN's inverse temperature at adversarial step n of horizon N (its `get_fixed_temperature`):
  no: beta_max; lin: 1 + n/(N-1) (beta_max-1); exp: beta_max^(n/N); log: 1 + (beta_max-1) log(n+1)/log N;
  sigmoid: (beta_max-1) / (1 + exp((N/2 - n) 20/N)) + 1; quad: 1 + (beta_max-1) n²/(N-1)²;
  sqrt: 1 + (beta_max-1) sqrt(n/(N-1)). n is clipped to N."""
  n = jnp.minimum(jnp.asarray(n, jnp.float32), horizon)
  span = beta_max - 1.0
  return {"no": lambda: jnp.asarray(beta_max, jnp.float32),
          "lin": lambda: 1.0 + n / (horizon - 1) * span,
          "exp": lambda: jnp.asarray(beta_max, jnp.float32) ** (n / horizon),
          "log": lambda: 1.0 + span / jnp.log(horizon) * jnp.log(n + 1.0),
          "sigmoid": lambda: span / (1.0 + jnp.exp((horizon / 2 - n) * 20.0 / horizon)) + 1.0,
          "quad": lambda: span / (horizon - 1) ** 2 * n ** 2 + 1.0,
          "sqrt": lambda: span / jnp.sqrt(horizon - 1.0) * jnp.sqrt(n) + 1.0}[schedule]()


TEMPERATURE_SCHEDULES = ("no", "lin", "exp", "log", "sigmoid", "quad", "sqrt")


def output_l2_loss(d_params):
  """SeqGAN's `l2_loss` of its D's output layer: tf.nn.l2_loss (sum of squares / 2) of weights and bias."""
  return sum(0.5 * jnp.sum(jnp.square(w)) for w in jax.tree.leaves(d_params["output"]))


def device_count(axis_name: str | None):
  return 1 if axis_name is None else lax.psum(1, axis_name)


@dataclasses.dataclass(frozen=True)
class TextGame:
  generator: nn.Module  # gan/models/text_generators.py TextGenerator
  discriminator: nn.Module | None
  gan: str
  g_mle_optimizer: optax.GradientTransformation
  g_optimizer: optax.GradientTransformation | None
  d_optimizer: optax.GradientTransformation | None
  batch_size: int  # global
  vocab_size: int
  max_length: int
  bos_id: int
  eos_id: int
  mle_steps: int
  d_pretrain_steps: int = 0
  n_critic: int = 1
  loss: str = "non_saturating"
  num_rollouts: int = 16
  rollout_update_rate: float = 0.8
  d_l2_weight: float = 0.0
  temperature_max: float = 1.0
  temperature_schedule: str = "exp"
  temperature_horizon: int = 5000
  compute_dtype: Any = jnp.float32

  # ---- state
  def init(self, key, batch) -> TrainState:
    return jax.jit(self._init)(key, jnp.zeros(batch["tokens"].shape, jnp.int32))

  def _init(self, key, tokens) -> TrainState:
    g_key, d_key, rng = jax.random.split(key, 3)
    g_vars = self.generator.init(g_key, tokens[:, 0])
    g = (players.init_player(self.g_optimizer, g_vars) if self.g_optimizer is not None
         else PlayerState(params=g_vars["params"], opt_state={}, collections={}))  # mle: its optimizer in extras
    extras = {"mle_opt_state": self.g_mle_optimizer.init(g.params)}
    state_players = {"G": g}
    if self.discriminator is not None:
      one_hot = jax.nn.one_hot(tokens, self.vocab_size)
      d_vars = self.discriminator.init({"params": d_key, "dropout": d_key}, one_hot, jnp.arange(tokens.shape[0]),
                                       train=False)
      state_players["D"] = players.init_player(self.d_optimizer, d_vars)
    if self.gan == "seqgan":
      extras["rollout_params"] = g.params
    return TrainState(step=jnp.zeros((), jnp.int32), players=state_players, rng=rng, extras=extras)

  # ---- pieces
  def _keys(self, key, local_batch, axis_name):
    return players.example_keys(key, self.batch_size, local_batch, axis_name)

  def _sample(self, params, keys, *, beta=None, temperature_=1.0):
    return seq.sample(self.generator, self._compute(params), keys, length=self.max_length, bos_id=self.bos_id,
                      eos_id=self.eos_id, temperature=temperature_, beta=beta)

  def _d_logits(self, params, x, ids, key, *, train: bool):
    return self.discriminator.apply({"params": players.to_compute(params, self.compute_dtype)},
                                    players.to_compute(x, self.compute_dtype), ids, train=train,
                                    rngs={"dropout": key}).astype(jnp.float32)

  def _compute(self, params):
    """G's parameters in the compute dtype (mixed precision; logits and losses stay float32)."""
    return players.to_compute(params, self.compute_dtype)

  def _one_hot(self, tokens):
    return jax.nn.one_hot(tokens, self.vocab_size, dtype=jnp.float32)

  def _beta(self, step):
    n = step - self.mle_steps - self.d_pretrain_steps
    return temperature(self.temperature_schedule, self.temperature_max, n, self.temperature_horizon)

  def _fake_for_d(self, g_params, keys, step):
    """What D sees of G: one-hot samples (SeqGAN) or their Gumbel-softmax relaxations (RelGAN)."""
    if self.gan == "relgan":
      return self._sample(g_params, keys, beta=self._beta(step))[1]
    return self._one_hot(self._sample(g_params, keys))

  def _d_loss(self, params, real, fake, ids, key):
    real_key, fake_key = jax.random.split(key)
    real_logits = self._d_logits(params, real, ids, real_key, train=True)
    fake_logits = self._d_logits(params, fake, ids + self.batch_size, fake_key, train=True)
    d_fn, _ = losses.get(self.loss)
    loss = d_fn(real_logits, fake_logits)
    if self.gan == "seqgan":  # softmax CE over the real and fake halves: the mean of the two terms
      loss = 0.5 * loss + self.d_l2_weight * output_l2_loss(params)
    return loss, (real_logits, fake_logits)

  # ---- stages
  def _mle_update(self, state, batch, key, axis_name):
    del key
    tokens = batch["tokens"][0]
    g = state.players["G"]
    n_dev = device_count(axis_name)

    def objective(params):
      total, count = seq.nll(self.generator, self._compute(params), tokens, bos_id=self.bos_id, eos_id=self.eos_id)
      global_count = count if axis_name is None else lax.psum(count, axis_name)
      return total / global_count * n_dev  # averaged over devices: the global per-token mean

    loss, grads = jax.value_and_grad(objective)(g.params)
    params, opt_state, grads = players.apply_gradients(self.g_mle_optimizer, g.params, state.extras["mle_opt_state"],
                                                       grads, axis_name)
    extras = {**state.extras, "mle_opt_state": opt_state}
    if self.gan == "seqgan":
      extras["rollout_params"] = params  # the roll-out policy starts as the pre-trained G
    new_players = {**state.players, "G": dataclasses.replace(g, params=params)}
    metrics = {"mle_loss": loss, "g_grad_norm": optax.tree.norm(grads)}
    return state.replace(players=new_players, extras=extras), metrics

  def _d_updates(self, state, batch, key, axis_name, first: int):
    """`n_critic` D updates, update i on real batch `first + i` against fresh samples of G."""
    d, g_params = state.players["D"], state.players["G"].params
    local = batch["tokens"].shape[1]
    ids = players.example_ids(self.batch_size, local, axis_name)

    def one(d, inputs):
      tokens, k = inputs
      sample_key, dropout_key = jax.random.split(k)
      fake = lax.stop_gradient(self._fake_for_d(g_params, self._keys(sample_key, local, axis_name), state.step))
      (loss, (real_logits, fake_logits)), grads = jax.value_and_grad(self._d_loss, has_aux=True)(
          d.params, self._one_hot(tokens), fake, ids, dropout_key)
      d, norm = players.update_player(d, self.d_optimizer, grads, d.collections, axis_name)
      return d, {"d_loss": loss, "d_real_logit": jnp.mean(real_logits), "d_fake_logit": jnp.mean(fake_logits),
                 "d_grad_norm": norm}

    d, metrics = lax.scan(one, d, (batch["tokens"][first:first + self.n_critic],
                                   jax.random.split(key, self.n_critic)))
    metrics = jax.tree.map(lambda m: m[-1], metrics)
    return state.replace(players={**state.players, "D": d}), metrics

  def _seqgan_g_update(self, state, batch, key, axis_name):
    g, d = state.players["G"], state.players["D"]
    sample_key, rollout_key = jax.random.split(key)
    local = batch["tokens"].shape[1]  # G samples as many sequences as this device's real batch
    tokens = self._sample(g.params, self._keys(sample_key, local, axis_name))
    ids = players.example_ids(self.batch_size, local, axis_name)

    def real_probability(candidates):
      logits = self._d_logits(d.params, candidates, ids, rollout_key, train=False)  # ids: D looks them up
      return jax.nn.sigmoid(logits[:, 0])

    rewards = lax.stop_gradient(seq.rollout_rewards(
        self.generator, self._compute(state.extras["rollout_params"]), real_probability, tokens,
        self._keys(rollout_key, local, axis_name), num_rollouts=self.num_rollouts, bos_id=self.bos_id,
        eos_id=self.eos_id))
    m = seq.mask(tokens, self.eos_id)

    def objective(params):
      logits = seq.teacher_forcing(self.generator, self._compute(params), tokens, self.bos_id)
      log_p = seq.token_log_probs(logits, tokens)
      return -jnp.sum(log_p * rewards * m) * device_count(axis_name)  # the sum over the global batch

    loss, grads = jax.value_and_grad(objective)(g.params)
    g, norm = players.update_player(g, self.g_optimizer, grads, g.collections, axis_name)
    rate = self.rollout_update_rate
    rollout = jax.tree.map(lambda r, w: rate * r + (1.0 - rate) * w, state.extras["rollout_params"], g.params)
    rollout = {**rollout, "embed": g.params["embed"]}  # rollout.py copies the embedding
    extras = {**state.extras, "rollout_params": rollout}
    metrics = {"g_loss": players.average_over_devices(loss, axis_name) / (self.batch_size * self.max_length),
               "reward": jnp.sum(rewards * m) / jnp.sum(m), "g_grad_norm": norm}
    return state.replace(players={**state.players, "G": g}, extras=extras), metrics

  def _relgan_g_update(self, state, batch, key, axis_name):
    g, d = state.players["G"], state.players["D"]
    local = batch["tokens"].shape[1]
    sample_key, dropout_key = jax.random.split(key)
    real_key, fake_key = jax.random.split(dropout_key)
    ids = players.example_ids(self.batch_size, local, axis_name)
    real_logits = self._d_logits(d.params, self._one_hot(batch["tokens"][0]), ids, real_key, train=True)
    keys = self._keys(sample_key, local, axis_name)
    beta = self._beta(state.step)

    def objective(params):
      _, soft = self._sample(params, keys, beta=beta)
      fake_logits = self._d_logits(d.params, soft, ids + self.batch_size, fake_key, train=True)
      return losses.get(self.loss)[1](real_logits, fake_logits)

    loss, grads = jax.value_and_grad(objective)(g.params)
    g, norm = players.update_player(g, self.g_optimizer, grads, g.collections, axis_name)
    metrics = {"g_loss": loss, "temperature": beta, "g_grad_norm": norm}
    return state.replace(players={**state.players, "G": g}), metrics

  # ---- the step
  def metric_names(self) -> tuple[str, ...]:
    names = ["stage", "mle_loss", "g_grad_norm"]
    if self.discriminator is not None:
      names += ["g_loss", "d_loss", "d_real_logit", "d_fake_logit", "d_grad_norm"]
    names += {"seqgan": ["reward"], "relgan": ["temperature"]}.get(self.gan, [])
    return tuple(names)

  def _complete(self, metrics, stage: int):
    return {name: jnp.asarray(metrics.get(name, stage if name == "stage" else 0.0), jnp.float32)
            for name in self.metric_names()}

  def train_step(self, state: TrainState, batch, *, axis_name: str | None = None):
    """One step of the stage `state.step` is in (module docstring); scalar metrics (zero for what the
    stage does not compute; `stage` 0 mle, 1 D pre-training, 2 adversarial) averaged over devices."""
    rng, key = jax.random.split(state.rng)

    def mle(state):
      state, metrics = self._mle_update(state, batch, key, axis_name)
      return state, self._complete(metrics, 0)

    def d_pretrain(state):
      state, metrics = self._d_updates(state, batch, key, axis_name, first=0)
      return state, self._complete(metrics, 1)

    def adversarial(state):
      g_key, d_key = jax.random.split(key)
      update = self._seqgan_g_update if self.gan == "seqgan" else self._relgan_g_update
      state, g_metrics = update(state, batch, g_key, axis_name)
      state, d_metrics = self._d_updates(state, batch, d_key, axis_name, first=1 if self.gan == "relgan" else 0)
      return state, self._complete({**g_metrics, **d_metrics}, 2)

    if self.gan == "mle":
      state, metrics = mle(state)
    else:
      stage = ((state.step >= self.mle_steps).astype(jnp.int32)
               + (state.step >= self.mle_steps + self.d_pretrain_steps).astype(jnp.int32))
      # One two-way lax.cond per stage, not a lax.switch over the three: XLA copies every buffer that
      # more than one branch of a switch updates, here the whole state on every step (SeqGAN's D and its
      # Adam moments, 22M floats: G's pre-training steps took 1.5x the `mle` experiment's).
      metrics = self._complete({}, 0)
      for index, run_stage in enumerate((mle, d_pretrain, adversarial)):
        state, metrics = lax.cond(stage == index, lambda s, m, run_stage=run_stage: run_stage(s),
                                  lambda s, m: (s, m), state, metrics)
    state = state.replace(step=state.step + 1, rng=rng)
    return state, players.average_over_devices(metrics, axis_name)

  # ---- use of a trained state
  def sample_tokens(self, state, num: int, *, seed: int, temperature_: float = 1.0) -> np.ndarray:
    """`num` int32 sequences from G at `temperature_`, sample i a function of (seed, i) alone."""
    return seq.sample_in_chunks(self.generator, state.players["G"].params, num, jax.random.PRNGKey(seed),
                                length=self.max_length, bos_id=self.bos_id, eos_id=self.eos_id,
                                temperature=temperature_)

  def mean_nll(self, state, tokens: np.ndarray, *, temperature_: float = 1.0) -> float:
    """G's per-token NLL of `tokens` at a sampling temperature (NLL_gen / NLL_test)."""
    return seq.mean_nll_in_chunks(self.generator, state.players["G"].params, tokens, bos_id=self.bos_id,
                                  eos_id=self.eos_id, temperature=temperature_)


def _validate_stage_lengths(config) -> None:
  cv.int_at_least(config, "mle_steps", 0 if config.gan != "mle" else 1)
  if config.gan == "mle":
    if config.mle_steps != config.num_train_steps:
      cv.fail("mle_steps", config.mle_steps, f"num_train_steps ({config.num_train_steps}) for gan='mle'")
    return
  cv.int_at_least(config, "d_pretrain_steps", 0)
  if config.mle_steps + config.d_pretrain_steps >= config.num_train_steps:
    cv.fail("num_train_steps", config.num_train_steps,
            f"more than mle_steps + d_pretrain_steps ({config.mle_steps + config.d_pretrain_steps}): "
            "the adversarial stage needs steps")
  cv.int_at_least(config, "n_critic", 1)


class TextFamily(Family):
  name = "text"
  experiment = "experiments/seqgan.py"
  smoke = {"batch_size": 8, "mle_steps": 1, "d_pretrain_steps": 0, "num_rollouts": 2, "data.max_length": 6,
           "data.oracle.vocab_size": 12, "data.oracle.num_train": 64, "data.oracle.num_test": 64,
           "model.generator.embed_dim": 4, "model.generator.hidden_dim": 4,
           "model.discriminator.embed_dim": 4, "model.discriminator.filter_sizes": (1, 2),
           "model.discriminator.num_filters": (3, 3), "eval.num_samples": 32, "eval.bleu_samples": 8}

  def validate(self, config, *, num_devices: int, process_count: int) -> None:
    del num_devices, process_count
    cv.choice(config, "gan", GANS)
    cv.choice(config, "data.name", DATASETS)
    cv.int_at_least(config, "data.max_length", 0 if config.data.name == "text_file" else 2)
    if config.data.name == "oracle":
      for key in ("vocab_size", "embed_dim", "hidden_dim", "num_train", "num_test"):
        cv.int_at_least(config, f"data.oracle.{key}", 2 if key == "vocab_size" else 1)
      cv.int_at_least(config, "data.oracle.seed", 0)
    else:
      path = config.data.get("path", "")
      if not (isinstance(path, str) and path and os.path.isdir(path)):
        cv.fail("data.path", path, "a directory holding train.txt and test.txt (one sentence per line)")
      cv.choice(config, "data.vocabulary", text_data.VOCABULARIES)
      cv.choice(config, "data.tokenizer", tokenize.TOKENIZERS)
      cv.int_at_least(config, "data.max_vocab", 0)
    _validate_stage_lengths(config)
    g = "model.generator"
    cv.choice(config, f"{g}.core", text_generators.CORES)
    for key in ("embed_dim", "hidden_dim", "mem_slots", "head_size", "num_heads"):
      cv.int_at_least(config, f"{g}.{key}", 1)
    cv.number_in(config, f"{g}.init_stddev", 1e-12, float("inf"))
    cv.choice(config, "model.compute_dtype", tuple(factory.COMPUTE_DTYPES))
    cv.optimizer(config, "g_mle")
    if config.gan != "mle":
      self._validate_gan(config)
    cv.int_at_least(config, "eval.num_samples", 2)
    cv.int_at_least(config, "eval.bleu_samples", 2)
    cv.number_in(config, "eval.temperature", 1e-6, float("inf"))

  @staticmethod
  def _validate_gan(config) -> None:
    cv.choice(config, "loss", LOSSES[config.gan])
    d = "model.discriminator"
    for key in ("embed_dim",) + (("num_rep",) if config.gan == "relgan" else ()):
      cv.int_at_least(config, f"{d}.{key}", 1)
    cv.number_in(config, f"{d}.dropout", 0.0, 1.0)
    sizes, counts = config.model.discriminator.filter_sizes, config.model.discriminator.num_filters
    if not (isinstance(sizes, (tuple, list)) and sizes and all(cv.is_int(s) and 1 <= s for s in sizes)):
      cv.fail(f"{d}.filter_sizes", sizes, "a non-empty tuple of filter widths >= 1")
    if not (isinstance(counts, (tuple, list)) and len(counts) == len(sizes) and all(cv.is_int(c) and c >= 1
                                                                                   for c in counts)):
      cv.fail(f"{d}.num_filters", counts, f"a tuple of {len(sizes)} filter counts >= 1 (one per filter width)")
    length = config.data.max_length
    if length and max(sizes) > length:
      cv.fail(f"{d}.filter_sizes", sizes, f"widths <= data.max_length ({length})")
    if config.gan == "relgan" and config.model.discriminator.embed_dim % config.model.discriminator.num_rep:
      cv.fail(f"{d}.embed_dim", config.model.discriminator.embed_dim,
              f"a multiple of model.discriminator.num_rep ({config.model.discriminator.num_rep})")
    for player in ("g", "d"):
      cv.optimizer(config, player)
    if config.gan == "seqgan":
      cv.int_at_least(config, "num_rollouts", 1)
      cv.number_in(config, "rollout_update_rate", 0.0, 1.0, closed_high=True)
      cv.number_in(config, "d_l2_weight", 0.0, float("inf"))
    else:
      cv.number_in(config, "temperature_max", 1.0, float("inf"))
      cv.choice(config, "temperature_schedule", TEMPERATURE_SCHEDULES)
      cv.int_at_least(config, "temperature_horizon", 2)

  def dataset(self, config, *, process_index: int = 0, process_count: int = 1):
    data = text_data.load(config.data)
    dataset = text_data.TokenDataset(x=data.train, labels=None, seed=config.seed, batch_size=config.batch_size,
                                     kind="tokens", process_index=process_index, process_count=process_count)
    dataset.text = data
    return dataset

  def meta(self, dataset) -> dict:
    data = dataset.text
    return {"vocab_size": data.vocab_size, "max_length": data.max_length, "bos_id": data.bos_id,
            "eos_id": data.eos_id, "words": data.words}

  def updates_per_step(self, config) -> int:
    return {"mle": 1, "seqgan": config.get("n_critic", 1), "relgan": 1 + config.get("n_critic", 1)}[config.gan]

  def example_batch(self, config, meta: dict):
    return {"tokens": np.zeros((config.batch_size, meta["max_length"]), np.int32)}

  def game(self, config, meta: dict, *, axis_name: str | None = None):
    del axis_name  # no cross-replica statistics
    g, gan = config.model.generator, config.gan
    generator = text_generators.TextGenerator(
        vocab_size=meta["vocab_size"], embed_dim=g.embed_dim, core=g.core, hidden_dim=g.hidden_dim,
        init_stddev=g.init_stddev, mem_slots=g.mem_slots, head_size=g.head_size, num_heads=g.num_heads,
        input_only=(meta["bos_id"],) if meta["words"] else ())  # the oracle's start token is a word
    common = dict(generator=generator, gan=gan, batch_size=config.batch_size, vocab_size=meta["vocab_size"],
                  max_length=meta["max_length"], bos_id=meta["bos_id"], eos_id=meta["eos_id"],
                  mle_steps=config.mle_steps,
                  g_mle_optimizer=factory.optimizer(config.optim.g_mle, max(config.mle_steps, 1)),
                  compute_dtype=factory.COMPUTE_DTYPES[config.model.compute_dtype])
    if gan == "mle":
      return TextGame(discriminator=None, g_optimizer=None, d_optimizer=None, **common)
    d = config.model.discriminator
    d_kwargs = dict(vocab_size=meta["vocab_size"], embed_dim=d.embed_dim, filter_sizes=tuple(d.filter_sizes),
                    num_filters=tuple(d.num_filters), dropout=d.dropout)
    if gan == "relgan":
      d_kwargs["num_rep"] = d.num_rep
    adversarial_steps = config.num_train_steps - config.mle_steps - config.d_pretrain_steps
    extra = (dict(num_rollouts=config.num_rollouts, rollout_update_rate=float(config.rollout_update_rate),
                  d_l2_weight=float(config.d_l2_weight)) if gan == "seqgan" else
             dict(temperature_max=float(config.temperature_max), temperature_schedule=config.temperature_schedule,
                  temperature_horizon=config.temperature_horizon))
    return TextGame(discriminator=DISCRIMINATORS[gan](**d_kwargs),
                    g_optimizer=factory.optimizer(config.optim.g, adversarial_steps),
                    d_optimizer=factory.optimizer(config.optim.d, (adversarial_steps + config.d_pretrain_steps)
                                                  * config.n_critic),
                    d_pretrain_steps=config.d_pretrain_steps, n_critic=config.n_critic, loss=config.loss,
                    **extra, **common)

  def evaluator(self, config, game, dataset, workdir: str, *, num_samples: int | None = None):
    from gan.families import text_evaluation  # pylint: disable=g-import-not-at-top
    return text_evaluation.TextEvaluator(config, game, dataset.text, workdir, num_samples=num_samples)

  def metric_directions(self, config) -> dict[str, str]:
    from gan.families import text_evaluation  # pylint: disable=g-import-not-at-top
    return text_evaluation.metric_directions(config)

  def sample(self, config, meta, game, state, num, *, seed, label=None, temperature=None, truncation=None):
    """`num` int32 token sequences (num, max_length) at `temperature` (default 1)."""
    if label is not None:
      raise UserError("--label does not apply to a text run (its generator is unconditional)")
    if truncation is not None:
      raise UserError("--truncation applies to StyleGAN2 runs only (a text generator has no w space)")
    return game.sample_tokens(state, num, seed=seed, temperature_=1.0 if temperature is None else temperature)

  def save_samples(self, meta, samples: np.ndarray, path: str) -> str:
    """.txt: one sentence per line, words separated by single spaces (no <bos>/<eos>); .npy: int32 ids."""
    if path.endswith(".txt"):
      with open(path, "w", encoding="utf-8") as f:
        f.writelines(line + "\n" for line in text_data.decode(samples, meta["words"], meta["eos_id"]))
      return f"{len(samples)} sentences"
    return super().save_samples(meta, samples, path)


FAMILY = TextFamily()
