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
Measured result (digits, 2-core CPU, seed 0, 6,000 steps (biggan's digits length), 713 s while other
runs shared the CPU: 10/10 classes, digits FD 18.6, IS 9.80, precision 0.825, recall 0.521, worst
requested class recognised 97.0% of the time; by
  python scripts/benchmarks/zoo.py --experiments=bcr --seeds=0
No CIFAR-10 result.
"""
from experiments import biggan


def get_config(dataset="digits"):
  config = biggan.get_config(dataset)
  config.regularizers.consistency.update(real_weight=10.0, fake_weight=10.0)
  if dataset != "cifar10":  # a mirrored digit is another glyph (or none): D must not be flip-invariant
    config.regularizers.consistency.transforms = "int_translation"
  return config
