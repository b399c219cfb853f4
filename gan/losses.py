"""Adversarial losses, chosen by name: `d_loss_fn, g_loss_fn = gan.losses.get(name)`.

Each function takes `(real_logits, fake_logits, axis_name=None)` (D's raw outputs, any shape) and
returns a scalar: the mean over the global batch. Under `jax.pmap` the step passes its `axis_name`
and every E[.] is this device's mean averaged over the devices (`batch_mean`), so each device computes
the global batch's loss; under `jax.jit` the arrays are the global batch already. G losses ignore
`real_logits`, except the relativistic ones (listed in `G_USES_REAL_LOGITS`), for which the train step
also passes D's logits on a real batch. With σ the sigmoid, the identities -log σ(x) = softplus(-x)
and -log(1 - σ(x)) = softplus(x) keep every loss finite for any logit.
"""
from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
from jax import lax

LossFn = Callable[..., jax.Array]  # (real_logits, fake_logits, axis_name=None) -> scalar


def batch_mean(x, axis_name: str | None = None):
  """E[x] over the global batch: the mean of this device's rows averaged over `axis_name`'s devices
  (which hold equally many rows), or the plain mean when `axis_name` is None."""
  mean = jnp.mean(x)
  return mean if axis_name is None else lax.pmean(mean, axis_name)


def minimax_d(real_logits, fake_logits, axis_name=None):
  """Goodfellow et al. 2014, Eq. 1 (D maximises log D(x) + log(1 - D(G(z)))): E[-log σ(r)] + E[-log(1-σ(f))]."""
  return (batch_mean(jax.nn.softplus(-real_logits), axis_name)
          + batch_mean(jax.nn.softplus(fake_logits), axis_name))


def minimax_g(real_logits, fake_logits, axis_name=None):
  """Goodfellow et al. 2014, Eq. 1 (G minimises log(1 - D(G(z)))): E[log(1-σ(f))]."""
  del real_logits
  return -batch_mean(jax.nn.softplus(fake_logits), axis_name)


def non_saturating_g(real_logits, fake_logits, axis_name=None):
  """Goodfellow et al. 2014, Sec. 3 (G maximises log D(G(z)) instead): E[-log σ(f)]."""
  del real_logits
  return batch_mean(jax.nn.softplus(-fake_logits), axis_name)


def wasserstein_d(real_logits, fake_logits, axis_name=None):
  """Arjovsky et al. 2017, "Wasserstein GAN", Eq. 3 (critic): E[f] - E[r]."""
  return batch_mean(fake_logits, axis_name) - batch_mean(real_logits, axis_name)


def wasserstein_g(real_logits, fake_logits, axis_name=None):
  """Arjovsky et al. 2017, Eq. 3 (generator): -E[f]."""
  del real_logits
  return -batch_mean(fake_logits, axis_name)


def hinge_d(real_logits, fake_logits, axis_name=None):
  """Lim & Ye 2017 "Geometric GAN"; Miyato et al. 2018 (SNGAN), Eq. 16: E[relu(1-r)] + E[relu(1+f)]."""
  return (batch_mean(jax.nn.relu(1.0 - real_logits), axis_name)
          + batch_mean(jax.nn.relu(1.0 + fake_logits), axis_name))


def least_squares_d(real_logits, fake_logits, axis_name=None):
  """Mao et al. 2017, "Least Squares GAN", Eq. 2 with a=0, b=1: ½E[(r-1)²] + ½E[f²]."""
  return 0.5 * (batch_mean((real_logits - 1.0) ** 2, axis_name) + batch_mean(fake_logits ** 2, axis_name))


def least_squares_g(real_logits, fake_logits, axis_name=None):
  """Mao et al. 2017, Eq. 2 with c=1: ½E[(f-1)²]."""
  del real_logits
  return 0.5 * batch_mean((fake_logits - 1.0) ** 2, axis_name)


def least_squares_pm1(real_logits, fake_logits, axis_name=None):
  """The least-squares form with targets +1 for real and -1 for fake: E[(r-1)²] + E[(f+1)²]."""
  return batch_mean((real_logits - 1.0) ** 2, axis_name) + batch_mean((fake_logits + 1.0) ** 2, axis_name)


def relativistic_average(base: LossFn) -> tuple[LossFn, LossFn]:
  """Relativistic average GAN (Jolicoeur-Martineau 2019, "The relativistic discriminator", Eqs. 11-14).

  With r~ = r - E[f] and f~ = f - E[r] (how much more real than the average of the other batch),
  D minimises base(r~, f~) and G minimises base(f~, r~): the same loss with the roles swapped.
  `base` = `minimax_d` gives RaSGAN, `hinge_d` RaHinge and `least_squares_pm1` RaLSGAN.
  E[f] and E[r] are over the whole batch, as `torch.mean(y_pred_fake)` in the paper's code
  (AlexiaJM/RelativisticGAN, code/GAN_losses_iter.py, `loss_D` 6-8): under pmap the global batch's
  (`batch_mean`), since the loss is nonlinear in them and per-device means would change it.
  """
  def relative(real_logits, fake_logits, axis_name):
    return (real_logits - batch_mean(fake_logits, axis_name),
            fake_logits - batch_mean(real_logits, axis_name))

  def d_loss(real_logits, fake_logits, axis_name=None):
    return base(*relative(real_logits, fake_logits, axis_name), axis_name)

  def g_loss(real_logits, fake_logits, axis_name=None):
    real_rel, fake_rel = relative(real_logits, fake_logits, axis_name)
    return base(fake_rel, real_rel, axis_name)
  return d_loss, g_loss


def relativistic_standard_d(real_logits, fake_logits, axis_name=None):
  """RSGAN (Jolicoeur-Martineau 2019, Eq. 8; RelGAN's loss, Nie et al. 2019, Eq. 3): D's E[-log σ(r - f)]
  over pairs of a real and a fake example (the i-th of each batch, as RelGAN's code pairs them)."""
  return batch_mean(jax.nn.softplus(fake_logits - real_logits), axis_name)


def relativistic_standard_g(real_logits, fake_logits, axis_name=None):
  """RSGAN's G loss: E[-log σ(f - r)] over the same pairs."""
  return batch_mean(jax.nn.softplus(real_logits - fake_logits), axis_name)


LOSSES: dict[str, tuple[LossFn, LossFn]] = {
    "minimax": (minimax_d, minimax_g),
    "non_saturating": (minimax_d, non_saturating_g),
    "wasserstein": (wasserstein_d, wasserstein_g),
    "hinge": (hinge_d, wasserstein_g),
    "least_squares": (least_squares_d, least_squares_g),
    "ra_sgan": relativistic_average(minimax_d),
    "ra_hinge": relativistic_average(hinge_d),
    "ra_lsgan": relativistic_average(least_squares_pm1),
    "rsgan": (relativistic_standard_d, relativistic_standard_g),
}
G_USES_REAL_LOGITS = frozenset({"ra_sgan", "ra_hinge", "ra_lsgan", "rsgan"})


def get(name: str) -> tuple[LossFn, LossFn]:
  """Returns `(d_loss_fn, g_loss_fn)` for a loss name in `LOSSES`."""
  if name not in LOSSES:
    raise ValueError(f"unknown loss {name!r}; valid: {', '.join(LOSSES)}")
  return LOSSES[name]
