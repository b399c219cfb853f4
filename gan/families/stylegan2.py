"""StyleGAN2 with ADA (Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN", and
"Training Generative Adversarial Networks with Limited Data"), trained as NVlabs/stylegan2-ada-pytorch's
training/training_loop.py and training/loss.py `StyleGAN2Loss` train it; networks in
gan/models/stylegan2.py.

One train step is one of the reference's iterations, its four phases in order, each with fresh latents:
- Gmain: G minimises the non-saturating logistic loss softplus(-D(G(z))) (Goodfellow et al. 2014).
- Greg, every `path_length.every` (k_G = 4) steps: path-length regularization (StyleGAN2 Sec. 3.2, Eq. 4)
  on a batch `path_length.batch_shrink` (2) times smaller: a = ||J_w^T y||_2 with y ~ N(0, I) / sqrt(HW)
  (the gradient of sum(G(w) * y) with respect to the w of every layer, squared, summed over w's features,
  averaged over layers, square-rooted), `pl_mean` <- pl_mean + decay (E[a] - pl_mean) (decay 0.01), loss
  weight * E[(a - pl_mean)^2] * k_G (weight 2).
- Dmain: D minimises softplus(D(G(z))) + softplus(-D(x)).
- Dreg, every `r1.every` (k_D = 16) steps: lazy R1 (Mescheder et al. 2018, Eq. 9): gamma/2 E ||grad_x D(x)||^2
  * k_D, the gradient taken with respect to the real image before augmentation (ADA's augmentation sits
  inside D's function, as in the reference's `run_D`).
The lazy phases are optimizer steps of their own with the players' Adam; with k > 1 (the reference's
lazy regularization, StyleGAN2 Appendix B) that Adam's learning rate is multiplied by c = k / (k + 1) and
its betas raised to the power c, so that the main and regularization steps together move as one step
would; as in the reference, that follows `every` even when the regularizer's weight is 0 (its `cifar`
setting: no path length, G's Adam still corrected for an interval of 4). `every` = 1 adds the regularizer
to the main loss instead, without the correction (the reference's "Gboth"/"Dboth" phases).

G's forward in training (mapping network, Sec. 2 of StyleGAN): w = mapping(z, class), broadcast to every
layer; with probability `style_mixing_prob` (0.9) the whole batch switches at one layer drawn uniformly in
[1, num_ws) to the w of a second z (style mixing regularization, StyleGAN Sec. 3.1). Each forward also
moves `w_avg` <- mean(w) + beta (w_avg - mean(w)) (beta 0.995), the centre of truncation at sampling:
w' = w_avg + psi (w - w_avg) on the layers below `truncation_cutoff` (StyleGAN Sec. 3.2; psi 1: none).

G_ema (Karras et al. 2018): after each step, with N images shown so far, the half-life
min(ema.kimg * 1000, N * ema.rampup) images (rampup 0: none) gives beta = 0.5^(batch / half-life) and
G_ema <- G + beta (G_ema - G). ADA (Karras et al. 2020, Sec. 3): D sees both real and generated images
through gan/augment.py's pipeline with probability p, adjusted every `augment.ada_interval` steps from
r_t = E[sign D(x_real)] of the Dmain phases.

Across devices: every statistic (w_avg's and pl_mean's means, ADA's r_t) is taken over the global batch,
where the reference keeps one per GPU; noise inputs are drawn per example from its index in the global
batch, latents (style mixing's too) and the path-length noise for the whole global batch and sliced, so
jit and pmap on any number of devices agree.
"""
from __future__ import annotations

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import optax
from jax import lax

from gan import augment, evaluation, factory, players, sampling
from gan import config_validation as cv
from gan.errors import UserError
from gan.families.image import ImageFamily
from gan.models import stylegan2 as networks
from gan.state import TrainState

D_ARCHITECTURES = ("resnet", "orig")


def lazy_adam_correction(opt_config, every: int):
  """The optimizer config of a player regularized every `every` (k) steps in its own optimizer step
  (StyleGAN2 Appendix B; reference training_loop.py): learning rate x c and Adam betas ^ c with
  c = k / (k + 1); unchanged for k = 1 (regularizer in the main step)."""
  corrected = ml_collections.ConfigDict(opt_config.to_dict())
  if every > 1:
    c = every / (every + 1)
    corrected.lr = opt_config.lr * c
    if opt_config.name == "adam":
      corrected.b1, corrected.b2 = opt_config.b1 ** c, opt_config.b2 ** c
  return corrected


def ema_beta(images_seen, batch_size: int, ema_kimg: float, ema_rampup: float):
  """G_ema's decay after a step that began with `images_seen` images shown (reference training_loop.py):
  half-life h = ema_kimg * 1000 images, or min(h, images_seen * ema_rampup) with a ramp-up; beta =
  0.5^(batch / h), so the average halves its weight every h images (beta 0 at the first step)."""
  half_life = ema_kimg * 1000.0
  if ema_rampup:
    half_life = jnp.minimum(half_life, images_seen * ema_rampup)
  return 0.5 ** (batch_size / jnp.maximum(half_life, 1e-8))


def truncate(ws, w_avg, psi, cutoff: int | None = None):
  """The truncation trick (StyleGAN Sec. 3.2): w_avg + psi (w - w_avg) on layers [0, cutoff) (all: None)."""
  truncated = w_avg + psi * (ws - w_avg)
  if cutoff is None:
    return truncated
  layer = jnp.arange(ws.shape[1])[None, :, None]
  return jnp.where(layer < cutoff, truncated, ws)


def mix_styles(ws, ws_other, cutoff):
  """Style mixing: layers [cutoff, num_ws) take `ws_other`'s styles (cutoff = num_ws: no mixing)."""
  layer = jnp.arange(ws.shape[1])[None, :, None]
  return jnp.where(layer < cutoff, ws, ws_other)


def path_lengths(synthesize, ws, noise):
  """a = ||J_w^T y||_2 per example (StyleGAN2 Eq. 4 / reference loss.py): the gradient of sum(G(w) y)
  with respect to `ws` (B, num_ws, w_dim), squared, summed over w's features, averaged over layers,
  square-rooted. Differentiable (the penalty's gradient flows through it)."""
  _, vjp = jax.vjp(synthesize, ws)
  (grads,) = vjp(noise)
  return jnp.sqrt(jnp.mean(jnp.sum(jnp.square(grads), axis=2), axis=1))


def path_length_penalty(lengths, pl_mean, decay: float, axis_name=None):
  """(E[(a - pl_mean')^2], pl_mean') for path lengths `lengths` (B,): pl_mean' = pl_mean + decay (E[a] -
  pl_mean), E[a] over the global batch (StyleGAN2 Eq. 4; the reference's loss.py lerp). As in the reference,
  the penalty's gradient also flows through E[a] inside pl_mean' (it is not detached there; only the
  stored pl_mean is)."""
  new_pl_mean = pl_mean + decay * (players.average_over_devices(jnp.mean(lengths), axis_name) - pl_mean)
  return jnp.mean(jnp.square(lengths - new_pl_mean)), new_pl_mean


@dataclasses.dataclass(frozen=True)
class StyleGAN2Game:
  generator: nn.Module  # gan/models/stylegan2.py Generator: map(z, labels), synthesize(ws, example_ids, noise_mode)
  discriminator: nn.Module  # Discriminator(x, labels) -> logits (B,)
  g_optimizer: optax.GradientTransformation  # with the lazy correction (lazy_adam_correction)
  d_optimizer: optax.GradientTransformation
  batch_size: int  # global
  z_dim: int
  num_classes: int | None = None  # None: unconditional
  r1_gamma: float = 10.0
  r1_every: int = 16
  pl_weight: float = 2.0
  pl_every: int = 4
  pl_decay: float = 0.01
  pl_batch_shrink: int = 2
  style_mixing_prob: float = 0.9
  w_avg_beta: float = 0.995
  ema_kimg: float = 10.0
  ema_rampup: float = 0.0  # 0: no ramp-up
  augment: str = "none"  # "none" | "ada"
  augment_ops: tuple[str, ...] = ()
  ada_target: float = 0.6
  ada_interval: int = 4
  ada_kimg: float = 500.0
  truncation_cutoff: int | None = None  # layers [0, cutoff) truncated at sampling; None: all

  @property
  def conditional(self) -> bool:
    return bool(self.num_classes)

  @property
  def num_ws(self) -> int:
    return self.generator.num_ws

  # ---------------------------------------------------------------- latents
  def sample_latents(self, key, num: int):
    """Normal z (num, z_dim) and uniform class labels (zeros when unconditional)."""
    return players.sample_latents(key, num, self.z_dim, self.num_classes)

  def _local_latents(self, key, global_batch: int, local_batch: int, axis_name):
    return tuple(players.local_rows(a, local_batch, axis_name) for a in self.sample_latents(key, global_batch))

  # ---------------------------------------------------------------- init
  def init(self, key, batch) -> TrainState:
    """Initial state for one update's `batch` (only its shapes are used); compiled as one program."""
    return jax.jit(self._init)(key, {k: jnp.zeros(v.shape, v.dtype) for k, v in batch.items()})

  def _init(self, key, batch) -> TrainState:
    g_key, noise_key, d_key, rng = jax.random.split(key, 4)
    x = batch["x"]
    z, y = self.sample_latents(g_key, x.shape[0])
    ids = jnp.arange(x.shape[0], dtype=jnp.int32)
    g_vars = self.generator.init({"params": g_key, "noise": noise_key}, z, y, ids)
    d_vars = self.discriminator.init(d_key, x, y)
    g = players.init_player(self.g_optimizer, g_vars)
    w_dim = self.generator.w_dim
    extras = {"ema": jax.tree.map(jnp.copy, g.params), "w_avg": jnp.zeros((w_dim,), jnp.float32),
              "pl_mean": jnp.zeros((), jnp.float32),
              "augment": {"p": jnp.zeros((), jnp.float32), "sign_sum": jnp.zeros((), jnp.float32),
                          "count": jnp.zeros((), jnp.int32)}}
    return TrainState(step=jnp.zeros((), jnp.int32),
                      players={"G": g, "D": players.init_player(self.d_optimizer, d_vars)},
                      rng=rng, extras=extras)

  # ---------------------------------------------------------------- networks
  def _map(self, g_params, z, y):
    """w of every layer: (B, num_ws, w_dim)."""
    w = self.generator.apply({"params": g_params}, z, y, method=self.generator.map)
    return jnp.broadcast_to(w[:, None, :], (w.shape[0], self.num_ws, w.shape[1]))

  def _synthesize(self, g_params, collections, ws, ids, noise_key, noise_mode: str = "random"):
    return self.generator.apply({"params": g_params, **collections}, ws, ids, noise_mode,
                                method=self.generator.synthesize, rngs={"noise": noise_key}).astype(jnp.float32)

  def _moved_w_avg(self, w_avg, ws, axis_name):
    """w_avg after one training forward: mean(w) + beta (w_avg - mean(w)), the mean over the global batch."""
    mean = players.average_over_devices(jnp.mean(ws[:, 0], axis=0), axis_name)
    return mean + self.w_avg_beta * (w_avg - mean)

  def _styles(self, g_params, z, y, key, global_batch: int, axis_name):
    """The training forward's styles (B, num_ws, w_dim) with style mixing, and the w that moves w_avg."""
    ws = self._map(g_params, z, y)
    if not self.style_mixing_prob:
      return ws, ws
    cutoff_key, coin_key, z_key = jax.random.split(key, 3)
    cutoff = jax.random.randint(cutoff_key, (), 1, self.num_ws)
    cutoff = jnp.where(jax.random.uniform(coin_key) < self.style_mixing_prob, cutoff, self.num_ws)
    other_z = players.local_rows(jax.random.normal(z_key, (global_batch, self.z_dim)), z.shape[0], axis_name)
    return mix_styles(ws, self._map(g_params, other_z, y), cutoff), ws

  def _run_generator(self, g_params, collections, w_avg, key, global_batch: int, local_batch: int, axis_name):
    """One training forward of G on fresh latents: (images, styles, labels, ids, new w_avg)."""
    latent_key, mix_key, noise_key = jax.random.split(key, 3)
    z, y = self._local_latents(latent_key, global_batch, local_batch, axis_name)
    ids = players.example_ids(global_batch, local_batch, axis_name)
    ws, unmixed = self._styles(g_params, z, y, mix_key, global_batch, axis_name)
    images = self._synthesize(g_params, collections, ws, ids, noise_key)
    return images, ws, y, ids, self._moved_w_avg(w_avg, unmixed, axis_name)

  def _discriminate(self, d_params, x, y):
    return self.discriminator.apply({"params": d_params}, x, y).astype(jnp.float32)

  def _augment(self, x, key, p, axis_name):
    if self.augment == "none":
      return x
    return augment.ada_augment(x, players.example_keys(key, self.batch_size, x.shape[0], axis_name), p,
                               self.augment_ops)

  # ---------------------------------------------------------------- phases
  def _path_length_penalty(self, g_params, collections, w_avg, pl_mean, key, local_batch, axis_name):
    """Greg's loss before the interval gain, its path lengths' new mean and w_avg after its forward."""
    global_pl, local_pl = self.batch_size // self.pl_batch_shrink, local_batch // self.pl_batch_shrink
    images, ws, _, ids, w_avg = self._run_generator(g_params, collections, w_avg, key, global_pl, local_pl,
                                                    axis_name)
    h, w = images.shape[1:3]
    noise = jax.random.normal(jax.random.fold_in(key, 7), (global_pl, *images.shape[1:])) / jnp.sqrt(h * w)
    noise = players.local_rows(noise, local_pl, axis_name)
    noise_key = jax.random.split(key, 3)[2]  # the forward's own noise inputs
    lengths = path_lengths(lambda s: self._synthesize(g_params, collections, s, ids, noise_key), ws, noise)
    penalty, new_pl_mean = path_length_penalty(lengths, pl_mean, self.pl_decay, axis_name)
    return self.pl_weight * penalty, new_pl_mean, w_avg

  def _g_phase(self, state, key, local_batch, axis_name, *, main: bool, reg: bool):
    """One G optimizer step: Gmain (`main`), Greg (`reg`) or both (Gboth)."""
    g, d, extras = state.players["G"], state.players["D"], state.extras

    def objective(params):
      terms, w_avg, pl_mean = {}, extras["w_avg"], extras["pl_mean"]
      loss = jnp.zeros(())
      if main:
        images, _, y, _, w_avg = self._run_generator(params, g.collections, w_avg, jax.random.fold_in(key, 0),
                                                     self.batch_size, local_batch, axis_name)
        seen = self._augment(images, jax.random.fold_in(key, 1), extras["augment"]["p"], axis_name)
        terms["g_loss"] = jnp.mean(jax.nn.softplus(-self._discriminate(d.params, seen, y)))
        loss = loss + terms["g_loss"]
      if reg:
        penalty, pl_mean, w_avg = self._path_length_penalty(params, g.collections, w_avg, pl_mean,
                                                            jax.random.fold_in(key, 2), local_batch, axis_name)
        terms["g_penalty_path_length"] = penalty
        loss = loss + penalty * (self.pl_every if not main else 1)
      return loss, (terms, w_avg, pl_mean)

    (_, (terms, w_avg, pl_mean)), grads = jax.value_and_grad(objective, has_aux=True)(g.params)
    g, norm = players.update_player(g, self.g_optimizer, grads, g.collections, axis_name)
    extras = {**extras, "w_avg": lax.stop_gradient(w_avg), "pl_mean": lax.stop_gradient(pl_mean)}
    return state.replace(players={**state.players, "G": g}, extras=extras), {**terms, "g_grad_norm": norm}

  def _d_phase(self, state, real, real_y, key, axis_name, *, main: bool, reg: bool):
    """One D optimizer step: Dmain (`main`), Dreg (`reg`) or both (Dboth)."""
    g, d, extras = state.players["G"], state.players["D"], state.extras
    p = extras["augment"]["p"]
    real_key = jax.random.fold_in(key, 2)
    w_avg = extras["w_avg"]
    if main:
      fake, _, fake_y, _, w_avg = self._run_generator(g.params, g.collections, w_avg, jax.random.fold_in(key, 0),
                                                      self.batch_size, real.shape[0], axis_name)
      fake = lax.stop_gradient(fake)

    def real_logits_fn(params, x):
      return self._discriminate(params, self._augment(x, real_key, p, axis_name), real_y)

    def objective(params):
      terms, real_logits = {}, jnp.zeros((real.shape[0],))
      loss = jnp.zeros(())
      if main:
        fake_logits = self._discriminate(params, self._augment(fake, jax.random.fold_in(key, 1), p, axis_name),
                                         fake_y)
        real_logits = real_logits_fn(params, real)
        terms["d_loss"] = jnp.mean(jax.nn.softplus(fake_logits)) + jnp.mean(jax.nn.softplus(-real_logits))
        terms["d_real_logit"], terms["d_fake_logit"] = jnp.mean(real_logits), jnp.mean(fake_logits)
        loss = loss + terms["d_loss"]
      if reg:
        grads = jax.grad(lambda x: jnp.sum(real_logits_fn(params, x)))(real)
        penalty = self.r1_gamma / 2 * jnp.mean(jnp.sum(jnp.square(grads), axis=(1, 2, 3)))
        terms["d_penalty_r1"] = penalty
        loss = loss + penalty * (self.r1_every if not main else 1)
      return loss, (terms, real_logits)

    (_, (terms, real_logits)), grads = jax.value_and_grad(objective, has_aux=True)(d.params)
    d, norm = players.update_player(d, self.d_optimizer, grads, d.collections, axis_name)
    augment_state = extras["augment"]
    if main and self.augment == "ada":
      augment_state = augment.ada_adjust(augment_state, real_logits, axis_name=axis_name, target=self.ada_target,
                                         batch_size=self.batch_size, interval=self.ada_interval,
                                         kimg=self.ada_kimg)
    extras = {**extras, "w_avg": w_avg, "augment": augment_state}
    return state.replace(players={**state.players, "D": d}, extras=extras), {**terms, "d_grad_norm": norm}

  @staticmethod
  def _lazily(due, phase, state, names):
    """`phase(state)` on the steps where `due`, else the state unchanged; its scalar metrics `names`
    (0 on the skipped steps)."""
    def run(s):
      s, metrics = phase(s)
      return s, {name: metrics[name] for name in names}

    def skip(s):
      return s, {name: jnp.zeros((), jnp.float32) for name in names}
    return lax.cond(due, run, skip, state)

  def train_step(self, state: TrainState, batch, *, axis_name: str | None = None):
    """One iteration: Gmain, Greg (lazy), Dmain, Dreg (lazy), G_ema. `batch` holds `(1, local_batch, ...)`
    real images and labels; metrics are averaged over devices (the lazy ones are 0 on the steps without)."""
    rng, key = jax.random.split(state.rng)
    real, real_y = batch["x"][0], batch["label"][0]
    local_batch = real.shape[0]
    metrics = {}
    for player, every, weight in (("G", self.pl_every, self.pl_weight), ("D", self.r1_every, self.r1_gamma)):
      phase_key = jax.random.fold_in(key, 0 if player == "G" else 2)
      reg_key = jax.random.fold_in(key, 1 if player == "G" else 3)

      def phase(s, k, main, reg, player=player):
        if player == "G":
          return self._g_phase(s, k, local_batch, axis_name, main=main, reg=reg)
        return self._d_phase(s, real, real_y, k, axis_name, main=main, reg=reg)

      both = bool(weight) and every == 1
      state, m = phase(state, phase_key, True, both)
      metrics.update(m)
      if weight and every > 1:
        penalty, norm = ("g_penalty_path_length", "g_grad_norm") if player == "G" else ("d_penalty_r1", "d_grad_norm")
        reg_phase = lambda s, k=reg_key, phase=phase: phase(s, k, False, True)  # noqa: E731
        state, m = self._lazily(state.step % every == 0, reg_phase, state, (penalty, norm))
        metrics.update({penalty: m[penalty], f"{player.lower()}_reg_grad_norm": m[norm]})
    g = state.players["G"]
    beta = ema_beta(state.step.astype(jnp.float32) * self.batch_size, self.batch_size, self.ema_kimg,
                    self.ema_rampup)
    ema = jax.tree.map(lambda e, p: p + beta * (e - p), state.extras["ema"], g.params)
    state = state.replace(step=state.step + 1, rng=rng, extras={**state.extras, "ema": ema})
    metrics["pl_mean"] = state.extras["pl_mean"]
    if self.augment == "ada":
      metrics["augment_p"] = state.extras["augment"]["p"]
    return state, players.average_over_devices(metrics, axis_name)

  # ---------------------------------------------------------------- sampling
  def generator_inputs(self, state, psi: float = 1.0) -> dict:
    """What `generate` needs besides G's parameters: G's other collections, w_avg and the truncation psi."""
    return {"collections": state.players["G"].collections, "w_avg": state.extras["w_avg"],
            "psi": jnp.float32(psi)}

  def generate(self, g_params, inputs, z, y, *, train: bool = False):
    """Images of G(`g_params`) for latents `z` and labels `y` with truncation psi `inputs["psi"]` around
    `inputs["w_avg"]` (the sampling path of gan/sampling.py; `inputs` from `generator_inputs`). Random
    noise inputs are drawn per example from its own latent, so a sample does not depend on its batch."""
    del train
    ws = truncate(self._map(g_params, z, y), inputs["w_avg"], inputs["psi"], self.truncation_cutoff)
    ids = lax.bitcast_convert_type(z[:, 0].astype(jnp.float32), jnp.int32)
    return self._synthesize(g_params, inputs["collections"], ws, ids, jax.random.PRNGKey(0))


class StyleGAN2Evaluator(evaluation.Evaluator):
  """The image family's evaluation of G_ema (or the raw G) at truncation `eval.truncation_psi`."""

  def evaluate_state(self, step, state, *, write_files=True, raw=False):
    params = state.players["G"].params if raw else state.extras["ema"]
    psi = float(self.config.eval.get("truncation_psi", 1.0))
    result = self(step, params, self.game.generator_inputs(state, psi), generator="raw" if raw else "ema",
                  write_files=write_files)
    result.protocol["truncation_psi"] = psi
    return result


class StyleGAN2Family(ImageFamily):
  """The image family's data, metrics and sampling around StyleGAN2's own game (module docstring)."""
  name = "stylegan2"
  experiment = "experiments/stylegan2.py"
  smoke = {"batch_size": 8, "model.z_dim": 8, "model.w_dim": 8, "model.channel_base": 64,
           "model.channel_max": 16, "model.mbstd_group_size": 2, "eval.num_samples": 200,
           "ema.kimg": 0.01, "r1.every": 2, "path_length.every": 2}

  def validate(self, config, *, num_devices: int, process_count: int) -> None:
    for key in ("model", "r1", "path_length", "ema", "optim"):
      cv.section(config, key)
    self._validate_data(config)
    if config.data.name in evaluation.TOY_DATASETS:
      cv.fail("data.name", config.data.name, "image data (StyleGAN2 generates images)")
    m = "model"
    for key in ("z_dim", "w_dim", "mapping_layers", "channel_base", "channel_max", "mbstd_group_size",
                "mbstd_num_channels"):
      cv.int_at_least(config, f"{m}.{key}", 1)
    cv.int_at_least(config, f"{m}.num_bf16_res", 0)
    cv.int_at_least(config, f"{m}.conv_clamp", 0)
    cv.number_in(config, f"{m}.mapping_lr_multiplier", 1e-12, float("inf"))
    cv.choice(config, f"{m}.d_architecture", D_ARCHITECTURES)
    cv.boolean(config, f"{m}.conditional")
    devices = num_devices * process_count
    local = config.batch_size // devices if config.batch_size % devices == 0 else None
    if local is None:
      cv.fail("batch_size", config.batch_size, f"a multiple of the {devices} devices")
    if local % min(config.model.mbstd_group_size, local):
      cv.fail("model.mbstd_group_size", config.model.mbstd_group_size,
              f"a divisor of each device's batch ({local}: batch_size over {devices} devices)")
    for player in ("g", "d"):
      cv.optimizer(config, player)
    cv.number_in(config, "r1.gamma", 0.0, float("inf"))
    cv.int_at_least(config, "r1.every", 1)
    cv.number_in(config, "path_length.weight", 0.0, float("inf"))
    cv.int_at_least(config, "path_length.every", 1)
    cv.number_in(config, "path_length.decay", 0.0, 1.0, closed_high=True)
    cv.int_at_least(config, "path_length.batch_shrink", 1)
    if config.path_length.weight and local % config.path_length.batch_shrink:
      cv.fail("path_length.batch_shrink", config.path_length.batch_shrink,
              f"a divisor of each device's batch ({local})")
    cv.number_in(config, "style_mixing_prob", 0.0, 1.0, closed_high=True)
    cv.number_in(config, "w_avg_beta", 0.0, 1.0, closed_high=True)
    cv.number_in(config, "ema.kimg", 0.0, float("inf"))
    cv.number_in(config, "ema.rampup", 0.0, float("inf"))
    self._validate_augment(config, kinds=("none", "ada"))
    self._validate_eval(config)
    cv.number_in(config, "eval.truncation_psi", 0.0, float("inf"))
    cv.int_at_least(config, "eval.truncation_cutoff", 0)

  def game(self, config, meta: dict, *, axis_name: str | None = None):
    del axis_name  # no cross-replica statistics in the networks
    shape = meta["example_shape"]
    if not (shape[0] == shape[1] >= 8 and shape[0] & (shape[0] - 1) == 0):
      raise UserError(f"the images of data.name={config.data.name!r} are {shape[0]}x{shape[1]}; StyleGAN2 needs "
                      "a square power-of-two size >= 8: set data.image_size (e.g. 32)")
    m = config.model
    if m.conditional and not meta["num_classes"]:
      raise UserError(f"config.model.conditional=True needs labelled data, but {config.data.name!r} has no labels")
    num_classes = meta["num_classes"] if m.conditional else None
    common = dict(resolution=shape[0], channels=shape[-1], num_classes=num_classes, channel_base=m.channel_base,
                  channel_max=m.channel_max, conv_clamp=m.conv_clamp or None, num_bf16_res=m.num_bf16_res)
    generator = networks.Generator(z_dim=m.z_dim, w_dim=m.w_dim, mapping_layers=m.mapping_layers,
                                   mapping_lr_multiplier=m.mapping_lr_multiplier, **common)
    discriminator = networks.Discriminator(architecture=m.d_architecture, mbstd_group_size=m.mbstd_group_size,
                                           mbstd_num_channels=m.mbstd_num_channels, **common)
    # The reference's training_loop.py splits a player's iteration into a main and a lazy regularization
    # phase whenever its interval is set (G 4, D 16 by default), whatever the regularizer's weight (the
    # `cifar` setting turns path length off and keeps G's interval), so the interval alone decides its
    # Adam's correction; `every` = 1 is its "both" phase (interval None): no correction.
    g_every, d_every = config.path_length.every, config.r1.every
    aug = factory.augmentation(config)  # no consistency terms: the config has no `regularizers`
    return StyleGAN2Game(
        generator=generator, discriminator=discriminator,
        g_optimizer=factory.optimizer(lazy_adam_correction(config.optim.g, g_every), config.num_train_steps),
        d_optimizer=factory.optimizer(lazy_adam_correction(config.optim.d, d_every), config.num_train_steps),
        batch_size=config.batch_size, z_dim=m.z_dim, num_classes=num_classes,
        r1_gamma=float(config.r1.gamma), r1_every=d_every, pl_weight=float(config.path_length.weight),
        pl_every=g_every, pl_decay=float(config.path_length.decay),
        pl_batch_shrink=config.path_length.batch_shrink, style_mixing_prob=float(config.style_mixing_prob),
        w_avg_beta=float(config.w_avg_beta), ema_kimg=float(config.ema.kimg), ema_rampup=float(config.ema.rampup),
        truncation_cutoff=config.eval.get("truncation_cutoff", 0) or None, **aug)

  def updates_per_step(self, config) -> int:
    return 1

  def init_state(self, game, key, batch):
    return game.init(key, batch)

  def evaluator(self, config, game, dataset, workdir: str, *, num_samples: int | None = None):
    return StyleGAN2Evaluator(config, game, dataset, workdir, num_samples=num_samples)

  def configure_evaluation(self, config, game, *, num_samples, options) -> None:
    """The image family's options, and `truncation` (psi) for the samples scored."""
    truncation = options.pop("truncation", None)
    super().configure_evaluation(config, game, num_samples=num_samples, options=options)
    if truncation is not None:
      with config.unlocked():
        config.eval.truncation_psi = float(truncation)

  def sample(self, config, meta, game, state, num, *, seed, label=None, temperature=None, truncation=None):
    """Images of G_ema at truncation psi `truncation` (default 1: none)."""
    del meta
    if temperature is not None:
      raise UserError("--temperature does not apply to a stylegan2 run (it samples text)")
    return sampling.generate(game, state.extras["ema"], game.generator_inputs(state, 1.0 if truncation is None
                                                                                else truncation),
                             num, seed=seed, label=label)


FAMILY = StyleGAN2Family()
