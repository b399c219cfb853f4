"""r1: non-saturating GAN with the R1 penalty (Mescheder et al. 2018, "Which Training Methods for GANs
do actually converge?", Eq. 9).

Reproduces their ResNet recipe: non-saturating loss, gamma/2 E_real[||grad D||^2] with gamma = 10, no
normalization in D, RMSProp lr 1e-4 (alpha 0.99) for both players, z_dim 256, batch 64, an EMA of G
(decay 0.999). `regularizers.r1.every` > 1 makes it lazy (StyleGAN2).
`--config=experiments/r1.py:digits` (default; CPU-sized) or `:cifar10` (TFDS). `:mnist` keeps the loss,
penalty, optimizers and EMA on mnist_dcgan's width-32 nets (D without BN): the width-8 ResNet a CPU half
hour allows ended at FD 101.7 (4,000 steps).
Measured result (digits, 2-core CPU, 3,000 steps, seed 0, 258 s while other runs shared the CPU:
  10/10 classes, digits FD 52.2, IS 7.54, precision 0.312, recall 0.777; by
  python scripts/benchmarks/zoo.py --experiments=r1 --seeds=0
and scripts/benchmarks/results/zoo_digits.md). MNIST (seed 0, 5,000 steps, 1,224 s on the 2-core CPU):
  10/10 classes, mnist FD 11.6, IS 7.08, precision 0.519, recall 0.818; by
  python scripts/benchmarks/zoo.py --dataset=mnist --mnist_path=MNIST_DIR --experiments=r1
(docs/zoo.md). No CIFAR-10 result: no data or accelerator here.
"""
from experiments import common


def get_config(dataset="digits"):
  config = common.set_dataset(common.base_config(), dataset or "digits")
  config.loss = "non_saturating"
  config.batch_size = 64
  config.regularizers.r1.weight = 10.0
  for player in (config.optim.g, config.optim.d):
    player.update(name="rmsprop", lr=1e-4, b2=0.99)
  config.model.generator.update(name="resnet", width=64)
  config.model.discriminator.update(name="resnet", width=64, norm="none")
  config.ema.decay = 0.999
  common.set_size(config, dataset, cifar10_steps=100000, digits_steps=3000, digits_width=32,
                  mnist_steps=5000, mnist_width=32, cifar10_z_dim=256, mnist_nets="dcgan")
  return config
