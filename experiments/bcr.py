"""bcr: balanced consistency regularization (Zhao et al. 2021, "Improved Consistency Regularization
for GANs", Eqs. 3-4) on the BigGAN of experiments/biggan.py.

Reproduces their CIFAR-10 BigGAN setting: D pays lambda_real ||D(x) - D(T(x))||^2 on reals and
lambda_fake ||D(G(z)) - D(T(G(z)))||^2 on generated images, lambda_real = lambda_fake = 10, T = random
horizontal flip and integer translation by up to 1/8 of the image. Plain CR (Zhang et al. 2020,
Eq. 1) is `--config.regularizers.consistency.fake_weight=0`.
`--config=experiments/bcr.py:digits` (default; CPU-sized) or `:cifar10` (TFDS).
Measured result (digits, this CPU): not measured yet; scripts/benchmarks/zoo_digits.py produces it.
"""
from experiments import biggan


def get_config(dataset="digits"):
  config = biggan.get_config(dataset)
  config.regularizers.consistency.update(real_weight=10.0, fake_weight=10.0)
  return config
