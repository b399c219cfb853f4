"""Regularizers of the GAN game, each switched on by a non-zero weight in `config.regularizers`.

Discriminator gradient penalties (added to D's loss; `every` = k > 1 applies one every k D updates,
multiplied by k, the lazy regularization of Karras et al. 2020, "StyleGAN2", Sec. 3.1):
- `r1`: gamma/2 * E_real[||grad_x D(x)||^2]      (Mescheder et al. 2018, "Which training methods for
  GANs do actually converge?", Eq. 9); `weight` is gamma.
- `r2`: gamma/2 * E_fake[||grad_x D(x)||^2]      (same paper, Eq. 10).
- `wgan_gp`: lambda * E_xhat[(||grad D(xhat)|| - 1)^2], xhat = eps x_real + (1 - eps) x_fake,
  eps ~ U[0, 1] per example (Gulrajani et al. 2017, "Improved Training of Wasserstein GANs", Eq. 3);
  `one_sided` uses max(0, ||grad|| - 1)^2 (their Appendix / Petzka et al. 2018).
- `dragan`: lambda * E[(||grad D(x_hat)|| - 1)^2] at x_hat = x + alpha (x_p - x) between a real x and
  its perturbation x_p = x + c * std(x_real) * u, alpha ~ U[0, 1] per example, u ~ U[0, 1] elementwise
  (Kodali et al. 2017, "On Convergence and Stability of GANs", Eq. 2, as their code computes it:
  kodalinaveen3/DRAGAN, DRAGAN.ipynb, `get_perturbed_batch` and the `interpolates` of the gradient
  penalty; c = `perturbation` = 0.5).
R1/R2 use the squared norm as it is (Mescheder et al.'s code: LMescheder/GAN_stability,
gan_training/train.py, `compute_grad2`); the unit-norm penalties take its square root with a gradient of
0 where the norm is 0 (`safe_sqrt`), so an example whose input gradient vanishes (a ReLU D with every
unit off) adds nothing to D's parameter gradient instead of making it NaN.
Discriminator weight clipping (`weight_clip.value` = c > 0): every D parameter clipped to [-c, c]
after each D update (Arjovsky et al. 2017, "Wasserstein GAN", Algorithm 1, c = 0.01).
Generator orthogonal regularization (`orthogonal.weight` = beta, added to G's loss):
beta/2 * sum_W ||W W^T * (1 - I)||_F^2 over G's kernels with each output filter as a row of W
(Brock et al. 2019, "BigGAN", Eq. 3; the 1/2 makes `weight` equal to the strength in their code, 1e-4).

Each penalty's weight may follow a schedule over the run (`schedule`, `final_weight_fraction`;
gan/schedules.py), e.g. R1's gamma cosine-decayed as in Huang et al. 2024 ("R3GAN", Sec. 4).

The penalties act on what D sees: with DiffAugment or ADA on, the augmented real and fake batches
(as StyleGAN2-ADA computes R1 on augmented reals, Karras et al. 2020, Sec. 2).
Random numbers (eps, alpha, u) are drawn for the global batch and sliced per device by the caller's `noise`
function, and DRAGAN's std is over the global batch, so results do not depend on the device count.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import jax
import jax.numpy as jnp
from jax import lax

from gan import schedules

# (key, per-example shape) -> this device's rows of U[0, 1) noise drawn for the whole global batch.
Noise = Callable[[jax.Array, tuple], jax.Array]


@dataclasses.dataclass(frozen=True)
class PenaltyInputs:
  """What a D penalty sees in one D update: D as a function of (inputs, labels) and this device's batch."""
  d_fn: Callable[[jax.Array, jax.Array], jax.Array]
  real: jax.Array
  real_y: jax.Array
  fake: jax.Array
  fake_y: jax.Array
  noise: Noise
  axis_name: str | None = None


def squared_input_gradient_norms(d_fn, x: jax.Array, y: jax.Array) -> jax.Array:
  """||grad_x D(x, y)||_2^2 per example (D's logits summed over the batch, as in the papers' code;
  GAN_stability's `compute_grad2`)."""
  grads = jax.grad(lambda inputs: jnp.sum(d_fn(inputs, y)))(x)
  return jnp.sum(jnp.square(grads).reshape(x.shape[0], -1), axis=1)


def safe_sqrt(x: jax.Array) -> jax.Array:
  """sqrt(x) for x >= 0 with gradient 0 at x = 0, where sqrt's is infinite (and inf * 0 = NaN in the
  chain rule). The double `where` of the JAX FAQ ("Gradients contain NaN where using where") keeps the
  unselected branch's gradient finite too. Gradient 0 at a zero norm is PyTorch's choice for the 2-norm
  that the penalties' PyTorch code takes (torch/csrc/autograd/FunctionsManual.cpp, `norm_backward`:
  `masked_fill_(norm == 0, 0)`)."""
  positive = x > 0
  return jnp.where(positive, jnp.sqrt(jnp.where(positive, x, 1.0)), 0.0)


def input_gradient_norms(d_fn, x: jax.Array, y: jax.Array) -> jax.Array:
  """||grad_x D(x, y)||_2 per example, with a finite gradient where it is 0 (`safe_sqrt`)."""
  return safe_sqrt(squared_input_gradient_norms(d_fn, x, y))


def r1(inputs: PenaltyInputs, key):
  """1/2 E_real ||grad D||^2 (weight = gamma), from the squared norm directly (no square root)."""
  del key
  return 0.5 * jnp.mean(squared_input_gradient_norms(inputs.d_fn, inputs.real, inputs.real_y))


def r2(inputs: PenaltyInputs, key):
  """1/2 E_fake ||grad D||^2 (weight = gamma), from the squared norm directly (no square root)."""
  del key
  return 0.5 * jnp.mean(squared_input_gradient_norms(inputs.d_fn, inputs.fake, inputs.fake_y))


def _unit_gradient_penalty(norms, one_sided: bool):
  excess = norms - 1.0
  return jnp.mean(jnp.square(jax.nn.relu(excess) if one_sided else excess))


def wgan_gp(inputs: PenaltyInputs, key, *, one_sided=False):
  """E (||grad D(eps real + (1 - eps) fake)|| - 1)^2, eps ~ U[0, 1] per example; D sees the real labels."""
  real = inputs.real
  eps = inputs.noise(key, (1,) * (real.ndim - 1))
  interpolates = eps * real + (1.0 - eps) * inputs.fake
  return _unit_gradient_penalty(input_gradient_norms(inputs.d_fn, interpolates, inputs.real_y), one_sided)


def _global_std(x: jax.Array, axis_name: str | None) -> jax.Array:
  """The standard deviation of all elements of the global batch (numpy's `std()`, ddof 0)."""
  mean, mean_sq = jnp.mean(x), jnp.mean(jnp.square(x))
  if axis_name is not None:
    mean, mean_sq = lax.pmean((mean, mean_sq), axis_name)
  return jnp.sqrt(jnp.maximum(mean_sq - jnp.square(mean), 0.0))


def dragan(inputs: PenaltyInputs, key, *, perturbation=0.5):
  """E (||grad D(x + alpha (x_p - x))|| - 1)^2, x_p = x + c std(x) u, x real, alpha ~ U[0, 1] per
  example, u ~ U[0, 1] elementwise, std over the global batch: DRAGAN.ipynb's `get_perturbed_batch`,
  `differences = X_p - X` and `interpolates = X + (alpha*differences)` (kodalinaveen3/DRAGAN)."""
  real = inputs.real
  alpha_key, u_key = jax.random.split(key)
  perturbed = real + perturbation * _global_std(real, inputs.axis_name) * inputs.noise(u_key, real.shape[1:])
  alpha = inputs.noise(alpha_key, (1,) * (real.ndim - 1))
  x_hat = real + alpha * (perturbed - real)
  return _unit_gradient_penalty(input_gradient_norms(inputs.d_fn, x_hat, inputs.real_y), False)


PENALTY_FUNCTIONS = {"r1": r1, "r2": r2, "wgan_gp": wgan_gp, "dragan": dragan}


@dataclasses.dataclass(frozen=True)
class GradientPenalty:
  """`w(d_step) * every * fn(inputs)` on the D updates whose index is a multiple of `every`, else 0;
  w = `weight` constant, or decayed to `final_weight_fraction * weight` over `decay_steps` D updates
  (gan/schedules.py)."""
  name: str
  weight: float
  every: int = 1
  options: tuple = ()  # (keyword, value) pairs passed to the penalty function
  schedule: str = "constant"
  final_weight_fraction: float = 1.0
  decay_steps: int = 1

  def weight_at(self, d_step):
    weight = schedules.decayed(self.weight, self.schedule, self.final_weight_fraction, self.decay_steps)
    return weight(d_step) if callable(weight) else weight

  def __call__(self, inputs: PenaltyInputs, key, d_step):
    def weighted():
      return (self.weight_at(d_step) * self.every
              * PENALTY_FUNCTIONS[self.name](inputs, key, **dict(self.options)))
    if self.every == 1:
      return weighted()
    return lax.cond(d_step % self.every == 0, weighted, lambda: jnp.zeros((), inputs.real.dtype))


def gradient_penalties(config) -> tuple[GradientPenalty, ...]:
  """The D penalties with a non-zero weight in `config.regularizers`; schedules run over all the run's
  D updates (num_train_steps * n_critic)."""
  options = {"wgan_gp": ("one_sided",), "dragan": ("perturbation",)}
  penalties = []
  for name in PENALTY_FUNCTIONS:
    cfg = config.regularizers.get(name)
    if cfg is not None and cfg.weight:
      penalties.append(GradientPenalty(
          name, float(cfg.weight), int(cfg.get("every", 1)),
          tuple((k, cfg[k]) for k in options.get(name, ()) if k in cfg),
          schedule=cfg.get("schedule", "constant"),
          final_weight_fraction=float(cfg.get("final_weight_fraction", 1.0)),
          decay_steps=int(config.num_train_steps) * int(config.n_critic)))
  return tuple(penalties)


def clip_weights(params, value: float):
  """WGAN's weight clipping: every parameter into [-value, value]; value 0 leaves them unchanged."""
  if not value:
    return params
  return jax.tree.map(lambda p: jnp.clip(p, -value, value), params)


def orthogonal_penalty(params) -> jax.Array:
  """1/2 sum over kernels of ||W W^T * (1 - I)||_F^2, W = kernel as (output filters, fan-in)."""
  total = jnp.zeros(())
  for path, leaf in jax.tree_util.tree_leaves_with_path(params):
    if leaf.ndim < 2 or getattr(path[-1], "key", None) != "kernel":
      continue
    w = leaf.reshape(-1, leaf.shape[-1]).T
    gram = w @ w.T
    total = total + 0.5 * jnp.sum(jnp.square(gram * (1.0 - jnp.eye(gram.shape[0], dtype=gram.dtype))))
  return total
