"""lsgan: least-squares GAN (Mao et al. 2017, "Least Squares Generative Adversarial Networks", Eq. 2).

Reproduces the a = 0, b = c = 1 objective on the DCGAN architecture: D minimises
1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2], G minimises 1/2 E[(D(G(z)) - 1)^2]; Adam(2e-4, b1 0.5), batch 64.
`--config=experiments/lsgan.py:digits` (default; CPU-sized) or `:cifar10` (TFDS).
Measured result (digits, the shared 2-core CPU, 3,000 steps,
  seed 0, 290 s: 10/10 classes, digits FD 48.1, IS 7.68, precision 0.370, recall 0.699; by
  python scripts/benchmarks/zoo.py --experiments=lsgan --seeds=0
and scripts/benchmarks/results/zoo_digits.md). No CIFAR-10 result: no data or accelerator here.
"""
from experiments import common


def get_config(dataset="digits"):
  config = common.set_dataset(common.base_config(), dataset or "digits")
  config.loss = "least_squares"
  config.batch_size = 64
  common.adam_players(config, 2e-4, 2e-4, b1=0.5, b2=0.999)
  config.ema.decay = 0.999
  common.set_size(config, dataset, cifar10_steps=100000, digits_steps=3000, digits_width=128,
                  mnist_steps=5000, mnist_width=32)
  return config
