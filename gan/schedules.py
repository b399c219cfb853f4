"""Hyper-parameters that change over a run: learning rates and regularizer weights.

`decayed(value, kind, final_fraction, num_steps)`: `value` kept constant, or decayed to
`final_fraction * value` over `num_steps` linearly or by a half cosine (Loshchilov & Hutter 2017,
"SGDR", Eq. 5 without restarts), then held. A decaying R1 weight is the schedule of Huang et al. 2024
("The GAN is dead; long live the GAN! A modern GAN baseline", Sec. 4: gamma cosine-decayed over training).
"""
from __future__ import annotations

import optax

KINDS = ("constant", "linear_decay", "cosine")


def decayed(value: float, kind: str, final_fraction: float, num_steps: int):
  """A float (constant) or an optax schedule step -> value."""
  if kind == "constant":
    return value
  final = value * final_fraction
  if kind == "linear_decay":
    return optax.linear_schedule(value, final, num_steps)
  if kind == "cosine":
    return optax.cosine_decay_schedule(value, num_steps, alpha=final_fraction)
  raise ValueError(f"unknown schedule {kind!r}; expected one of {', '.join(KINDS)}")
