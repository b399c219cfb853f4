"""sngan: spectrally normalized GAN (Miyato et al. 2018, "Spectral Normalization for GANs").

Reproduces the CIFAR-10 ResNet setting of their Table 2 / Appendix B: ResNet G (BN) and D (spectral
norm on every layer, no BN), hinge loss, n_critic = 5, Adam(2e-4, b1 0, b2 0.9), batch 64, 50k G
updates with the learning rate decayed linearly (their ResNet runs).
`--config=experiments/sngan.py:digits` (default; CPU-sized) or `:cifar10` (TFDS).
Measured result (digits, the shared 2-core CPU, 2,000 steps, seed 0, 242 s:
  10/10 classes, digits FD 77.5, IS 7.30, precision 0.310, recall 0.687; by
  python scripts/benchmarks/zoo.py --experiments=sngan --seeds=0
and scripts/benchmarks/results/zoo_digits.md). No CIFAR-10 result: no data or accelerator here.
"""
from experiments import common


def get_config(dataset="digits"):
  config = common.set_dataset(common.base_config(), dataset or "digits")
  config.loss = "hinge"
  config.n_critic = 5
  config.batch_size = 64
  common.adam_players(config, 2e-4, 2e-4, b1=0.0, b2=0.9)
  for player in (config.optim.g, config.optim.d):
    player.update(schedule="linear_decay", final_lr_fraction=0.0)
  config.model.generator.update(name="resnet", width=64)
  config.model.discriminator.update(name="resnet", width=64, norm="none", spectral_norm=True)
  config.ema.decay = 0.9999 if dataset == "cifar10" else 0.999
  common.set_size(config, dataset, cifar10_steps=50000, digits_steps=2000, digits_width=32,
                  mnist_steps=2000, mnist_width=8)
  return config
