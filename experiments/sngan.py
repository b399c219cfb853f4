"""sngan: spectrally normalized GAN (Miyato et al. 2018, "Spectral Normalization for GANs").

Reproduces the CIFAR-10 ResNet setting of their Table 2 / Appendix B: ResNet G (BN) and D (spectral
norm on every layer, no BN), hinge loss, n_critic = 5, Adam(2e-4, b1 0, b2 0.9), batch 64, 50k G
updates with the learning rate decayed linearly (their ResNet runs).
`--config=experiments/sngan.py:digits` (default; CPU-sized) or `:cifar10` (TFDS).
`:mnist` is the paper's other architecture, the standard CNN (Table 3: DCGAN G with BN, D of 3x3
stride-1 and 4x4 stride-2 convs with spectral norm and LeakyReLU 0.1), trained as the reference
chainer-gan-lib's sndcgan run (example.sh: non-saturating loss, n_dis 1, Adam(2e-4, b1 0.5, b2 0.999),
setting C of Table 1) at CPU-sized widths: the width-8 ResNet missed a class in the CPU budget.
Measured result (digits, the shared 2-core CPU, 2,000 steps, seed 0, 242 s:
  10/10 classes, digits FD 77.5, IS 7.30, precision 0.310, recall 0.687; by
  python scripts/benchmarks/zoo.py --experiments=sngan --seeds=0
and scripts/benchmarks/results/zoo_digits.md). MNIST (seed 0, 3,000 steps, 624 s on the 2-core CPU;
  2,412 s and FD 16.2 on a 2.5x slower AMD EPYC): 10/10 classes, mnist FD 17.2, IS 7.08, precision 0.517,
  recall 0.683; by
  python scripts/benchmarks/zoo.py --dataset=mnist --mnist_path=MNIST_DIR --experiments=sngan
(docs/zoo.md). No CIFAR-10 result: no data or accelerator here.
"""
from experiments import common


def get_config(dataset="digits"):
  config = common.set_dataset(common.base_config(), dataset or "digits")
  config.batch_size = 64
  config.ema.decay = 0.9999 if dataset == "cifar10" else 0.999
  common.set_size(config, dataset, cifar10_steps=50000, digits_steps=2000, digits_width=32,
                  mnist_steps=3000, mnist_width=32)
  if dataset == "mnist":  # the standard CNN, chainer-gan-lib's sndcgan settings
    config.loss = "non_saturating"
    common.adam_players(config, 2e-4, 2e-4, b1=0.5, b2=0.999)
    config.model.generator.update(name="dcgan", norm="batch")
    # D at a quarter of Table 3's width (16, 16, 32, 32, 64, 64, 128), G at half (4x4x256 -> 128 -> 64 -> 32):
    # G at width 16 was too small (FD 578, 5 classes at 4,000 steps), D at 32 costs 2.5x per step (docs/zoo.md)
    config.model.discriminator.update(name="standard_cnn", width=16, norm="none", spectral_norm=True)
    return config
  config.loss = "hinge"
  config.n_critic = 5
  common.adam_players(config, 2e-4, 2e-4, b1=0.0, b2=0.9)
  for player in (config.optim.g, config.optim.d):
    player.update(schedule="linear_decay", final_lr_fraction=0.0)
  config.model.generator.update(name="resnet")
  config.model.discriminator.update(name="resnet", norm="none", spectral_norm=True)
  return config
