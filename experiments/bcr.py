"""bcr: balanced consistency regularization (Zhao et al. 2021, "Improved Consistency Regularization
for GANs", Eqs. 3-4) on the BigGAN of experiments/biggan.py.

Reproduces their CIFAR-10 BigGAN setting: D pays lambda_real ||D(x) - D(T(x))||^2 on reals and
lambda_fake ||D(G(z)) - D(T(G(z)))||^2 on generated images, lambda_real = lambda_fake = 10, T = random
horizontal flip and integer translation by up to 1/8 of the image. Plain CR (Zhang et al. 2020,
Eq. 1) is `--config.regularizers.consistency.fake_weight=0`.
`--config=experiments/bcr.py:digits` (default; CPU-sized) or `:cifar10` (TFDS).
On the digits T is translation only (`regularizers.consistency.transforms`): a mirrored digit is
another glyph or none, and with the x-flip the run lost a class (9/10 classes, digits FD 208.1,
one requested class recognised 1% of the time).
Measured result (digits, the shared 2-core CPU, seed 0): at 6,000 steps (the digits default), 463 s:
10/10 classes, digits FD 16.5, IS 9.80, precision 0.841, recall 0.576, worst requested class
recognised 97.6% of the time; by
  python scripts/benchmarks/zoo_digits.py --experiments=bcr --seeds=0
At biggan's 3,000 steps: 10/10 classes, FD 58.2, worst class 62.6% (mean 0.32 / 0.57 / 0.92 at
1k / 2k / 3k steps: the consistency terms slow the conditional fit). No CIFAR-10 result.
"""
from experiments import biggan


def get_config(dataset="digits"):
  config = biggan.get_config(dataset)
  config.regularizers.consistency.update(real_weight=10.0, fake_weight=10.0)
  if dataset != "cifar10":  # a mirrored digit is another glyph (or none): D must not be flip-invariant
    config.regularizers.consistency.transforms = "int_translation"
  return config
