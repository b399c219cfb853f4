"""Hyper-parameters that change over a run: learning rates and regularizer weights.

`decayed(value, kind, final_fraction, num_steps)`: `value` kept constant, or decayed to
`final_fraction * value` over `num_steps` linearly or by a half cosine (Loshchilov & Hutter 2017,
"SGDR", Eq. 5 without restarts), then held; or, `constant_then_linear`, kept for the first
`decay_start_fraction` of the steps and then decayed linearly: the schedule of pix2pix and CycleGAN
(Zhu et al. 2017, Sec. 7.1: "the same learning rate for the first 100 epochs and linearly decay the
rate to zero over the next 100 epochs"; their code's `lambda_rule`). A decaying R1 weight is the
schedule of Huang et al. 2024 ("The GAN is dead; long live the GAN! A modern GAN baseline", Sec. 4:
gamma cosine-decayed over training).
"""
from __future__ import annotations

import optax

KINDS = ("constant", "linear_decay", "cosine", "constant_then_linear")


def decayed(value: float, kind: str, final_fraction: float, num_steps: int, decay_start_fraction: float = 0.5):
  """A float (constant) or an optax schedule step -> value."""
  if kind == "constant":
    return value
  final = value * final_fraction
  if kind == "linear_decay":
    return optax.linear_schedule(value, final, num_steps)
  if kind == "constant_then_linear":
    start = int(round(num_steps * decay_start_fraction))
    return optax.linear_schedule(value, final, num_steps - start, transition_begin=start)
  if kind == "cosine":
    return optax.cosine_decay_schedule(value, num_steps, alpha=final_fraction)
  raise ValueError(f"unknown schedule {kind!r}; expected one of {', '.join(KINDS)}")
