"""GAN families on one shared core, chosen by `config.family` (absent: "image").

A family is one module that says what its game is: its config keys and their validation, its data
and batch layout, its networks and state (one pytree), its pure train step (written once for `jit`
and `pmap`), its sampler or translator and its evaluation (gan/families/base.py lists the interface).
Everything else is shared and knows no family: the training loop and SIGTERM handling
(gan/train.py), the device wrappers (gan/parallel.py), checkpoints and bit-exact resume
(gan/checkpointing.py), the best checkpoint, metric logging, profiling, the shared config keys
(gan/config_validation.py), `scripts/sample.py`, `scripts/evaluate.py` and sweeps. A family is added
by writing its module and naming it here; the family test suite (tests/test_families.py) then checks
jit = pmap on 1, 2 and 4 devices, bit-exact resume and SIGTERM through the CLI, and config lowering.
"""
from __future__ import annotations

import importlib

from gan.errors import UserError

DEFAULT = "image"
# family name -> module defining `FAMILY`, imported on first use
MODULES = {
    "image": "gan.families.image",  # noise -> data: DCGAN ... BigGAN, ADA (gan/steps.py)
    "pix2pix": "gan.families.pix2pix",  # paired image-to-image translation (Isola et al. 2017)
    "cyclegan": "gan.families.cyclegan",  # unpaired translation (Zhu et al. 2017)
    "text": "gan.families.text",  # token sequences: MLE, SeqGAN, RelGAN
    "stylegan2": "gan.families.stylegan2",  # StyleGAN2 and StyleGAN2-ADA (Karras et al. 2020)
}
NAMES = tuple(MODULES)


def name_of(config) -> str:
  """The family a config trains: `config.family`, or "image" for configs without the key."""
  return config.get("family", DEFAULT)


def get(config_or_name):
  """The family object (gan/families/base.py `Family`) of a config or a family name."""
  name = config_or_name if isinstance(config_or_name, str) else name_of(config_or_name)
  if name not in MODULES:
    raise UserError(f"config.family={name!r} is not valid: expected one of {', '.join(NAMES)}")
  return importlib.import_module(MODULES[name]).FAMILY
