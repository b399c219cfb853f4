"""Adversarial losses, chosen by name: `d_loss_fn, g_loss_fn = gan.losses.get(name)`.

Each function takes `(real_logits, fake_logits)` (D's raw outputs, any shape) and returns a scalar:
the mean over the batch. G losses ignore `real_logits`, except the relativistic ones (listed in
`G_USES_REAL_LOGITS`), for which the train step also passes D's logits on a real batch. With σ the sigmoid, the identities
-log σ(x) = softplus(-x) and -log(1 - σ(x)) = softplus(x) keep every loss finite for any logit.
"""
from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

LossFn = Callable[[jax.Array, jax.Array], jax.Array]


def minimax_d(real_logits, fake_logits):
  """Goodfellow et al. 2014, Eq. 1 (D maximises log D(x) + log(1 - D(G(z)))): E[-log σ(r)] + E[-log(1-σ(f))]."""
  return jnp.mean(jax.nn.softplus(-real_logits)) + jnp.mean(jax.nn.softplus(fake_logits))


def minimax_g(real_logits, fake_logits):
  """Goodfellow et al. 2014, Eq. 1 (G minimises log(1 - D(G(z)))): E[log(1-σ(f))]."""
  del real_logits
  return -jnp.mean(jax.nn.softplus(fake_logits))


def non_saturating_g(real_logits, fake_logits):
  """Goodfellow et al. 2014, Sec. 3 (G maximises log D(G(z)) instead): E[-log σ(f)]."""
  del real_logits
  return jnp.mean(jax.nn.softplus(-fake_logits))


def wasserstein_d(real_logits, fake_logits):
  """Arjovsky et al. 2017, "Wasserstein GAN", Eq. 3 (critic): E[f] - E[r]."""
  return jnp.mean(fake_logits) - jnp.mean(real_logits)


def wasserstein_g(real_logits, fake_logits):
  """Arjovsky et al. 2017, Eq. 3 (generator): -E[f]."""
  del real_logits
  return -jnp.mean(fake_logits)


def hinge_d(real_logits, fake_logits):
  """Lim & Ye 2017 "Geometric GAN"; Miyato et al. 2018 (SNGAN), Eq. 16: E[relu(1-r)] + E[relu(1+f)]."""
  return jnp.mean(jax.nn.relu(1.0 - real_logits)) + jnp.mean(jax.nn.relu(1.0 + fake_logits))


def least_squares_d(real_logits, fake_logits):
  """Mao et al. 2017, "Least Squares GAN", Eq. 2 with a=0, b=1: ½E[(r-1)²] + ½E[f²]."""
  return 0.5 * jnp.mean((real_logits - 1.0) ** 2) + 0.5 * jnp.mean(fake_logits ** 2)


def least_squares_g(real_logits, fake_logits):
  """Mao et al. 2017, Eq. 2 with c=1: ½E[(f-1)²]."""
  del real_logits
  return 0.5 * jnp.mean((fake_logits - 1.0) ** 2)


def least_squares_pm1(real_logits, fake_logits):
  """The least-squares form with targets +1 for real and -1 for fake: E[(r-1)²] + E[(f+1)²]."""
  return jnp.mean((real_logits - 1.0) ** 2) + jnp.mean((fake_logits + 1.0) ** 2)


def relativistic_average(base: LossFn) -> tuple[LossFn, LossFn]:
  """Relativistic average GAN (Jolicoeur-Martineau 2019, "The relativistic discriminator", Eqs. 11-14).

  With r~ = r - E[f] and f~ = f - E[r] (how much more real than the average of the other batch),
  D minimises base(r~, f~) and G minimises base(f~, r~): the same loss with the roles swapped.
  `base` = `minimax_d` gives RaSGAN, `hinge_d` RaHinge and `least_squares_pm1` RaLSGAN.
  """
  def relative(real_logits, fake_logits):
    return real_logits - jnp.mean(fake_logits), fake_logits - jnp.mean(real_logits)

  def d_loss(real_logits, fake_logits):
    return base(*relative(real_logits, fake_logits))

  def g_loss(real_logits, fake_logits):
    real_rel, fake_rel = relative(real_logits, fake_logits)
    return base(fake_rel, real_rel)
  return d_loss, g_loss


LOSSES: dict[str, tuple[LossFn, LossFn]] = {
    "minimax": (minimax_d, minimax_g),
    "non_saturating": (minimax_d, non_saturating_g),
    "wasserstein": (wasserstein_d, wasserstein_g),
    "hinge": (hinge_d, wasserstein_g),
    "least_squares": (least_squares_d, least_squares_g),
    "ra_sgan": relativistic_average(minimax_d),
    "ra_hinge": relativistic_average(hinge_d),
    "ra_lsgan": relativistic_average(least_squares_pm1),
}
G_USES_REAL_LOGITS = frozenset({"ra_sgan", "ra_hinge", "ra_lsgan"})


def get(name: str) -> tuple[LossFn, LossFn]:
  """Returns `(d_loss_fn, g_loss_fn)` for a loss name in `LOSSES`."""
  if name not in LOSSES:
    raise ValueError(f"unknown loss {name!r}; valid: {', '.join(LOSSES)}")
  return LOSSES[name]
