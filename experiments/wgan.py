"""wgan: Wasserstein GAN with weight clipping (Arjovsky et al. 2017, "Wasserstein GAN", Algorithm 1).

Reproduces the paper's recipe on the DCGAN architecture: critic loss E[D(fake)] - E[D(real)], every
critic parameter clipped to [-0.01, 0.01] after its update, n_critic = 5, RMSProp lr 5e-5, batch 64.
`--config=experiments/wgan.py:digits` (default; CPU-sized) or `:cifar10` (TFDS, the paper's settings).
Measured result (digits, 2-core CPU, 3,000 steps, seed 0, 100 s: 10/10 classes, digits FD 23.3,
  IS 7.74, precision 0.285, recall 0.880; by
  python scripts/benchmarks/zoo.py --experiments=wgan --seeds=0
and scripts/benchmarks/results/zoo_digits.md). No CIFAR-10 result: no data or accelerator here.
"""
from experiments import common


def get_config(dataset="digits"):
  config = common.set_dataset(common.base_config(), dataset or "digits")
  config.loss = "wasserstein"
  config.n_critic = 5
  config.batch_size = 64
  config.regularizers.weight_clip.value = 0.01
  for player in (config.optim.g, config.optim.d):
    player.update(name="rmsprop", lr=5e-5, b2=0.99)
  common.set_size(config, dataset, cifar10_steps=100000, digits_steps=3000, digits_width=64,
                  mnist_steps=5000, mnist_width=32)
  return config
