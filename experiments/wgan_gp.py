"""wgan_gp: WGAN with gradient penalty (Gulrajani et al. 2017, "Improved Training of Wasserstein GANs").

Reproduces Algorithm 1 with the CIFAR-10 ResNet of their Appendix F: critic loss E[D(fake)] - E[D(real)]
+ 10 E[(||grad D(x_hat)|| - 1)^2] at random interpolates, n_critic = 5, Adam(1e-4, b1 0, b2 0.9) with
the learning rate decayed linearly to 0, batch 64; ResNet G with BN and 128 channels, critic with 128
channels and no normalization (no batch norm: the penalty is per example).
`--config=experiments/wgan_gp.py:digits` (default; CPU-sized) or `:cifar10` (TFDS).
Measured result (digits, the shared 2-core CPU, 2,000 steps, seed 0, 296 s:
  10/10 classes, digits FD 32.7, IS 7.63, precision 0.341, recall 0.870; by
  python scripts/benchmarks/zoo.py --experiments=wgan_gp --seeds=0
and scripts/benchmarks/results/zoo_digits.md). No CIFAR-10 result: no data or accelerator here.
"""
from experiments import common


def get_config(dataset="digits"):
  config = common.set_dataset(common.base_config(), dataset or "digits")
  config.loss = "wasserstein"
  config.n_critic = 5
  config.batch_size = 64
  config.regularizers.wgan_gp.weight = 10.0
  common.adam_players(config, 1e-4, 1e-4, b1=0.0, b2=0.9)
  for player in (config.optim.g, config.optim.d):
    player.update(schedule="linear_decay", final_lr_fraction=0.0)
  config.model.generator.update(name="resnet", width=32)  # 32x32 table: G 4ch = 128
  config.model.discriminator.update(name="resnet", width=64, norm="none")  # D 2ch = 128
  common.set_size(config, dataset, cifar10_steps=100000, digits_steps=2000, digits_width=32,
                  mnist_steps=1500, mnist_width=8)
  return config
