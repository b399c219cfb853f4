"""diffaug: DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN
Training") on the BigGAN of experiments/biggan.py.

Reproduces their CIFAR-10 BigGAN + DiffAugment setting: every image D sees, real or generated, in D's
and G's losses, goes through color, translation (up to 1/8) and cutout (half the size) with
independent randomness per example. `augment.diffaugment_policy` picks the ops.
`--config=experiments/diffaug.py:digits` (default; CPU-sized, translation and cutout) or `:cifar10`.
Measured result (digits, 2-core CPU, seed 0, 6,000 steps (biggan's digits length), 631 s while other
runs shared the CPU: 10/10 classes, digits FD 7.6, IS 9.81, precision 0.834, recall 0.610, worst
requested class recognised 96.8% of the time; by
  python scripts/benchmarks/zoo.py --experiments=diffaug --seeds=0
No CIFAR-10 result.
"""
from experiments import biggan


def get_config(dataset="digits"):
  config = biggan.get_config(dataset)
  config.augment.kind = "diffaugment"
  config.augment.diffaugment_policy = ("color,translation,cutout" if dataset == "cifar10"
                                       else "translation,cutout")
  return config
