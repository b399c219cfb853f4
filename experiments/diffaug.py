"""diffaug: DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN
Training") on the BigGAN of experiments/biggan.py.

Reproduces their CIFAR-10 BigGAN + DiffAugment setting: every image D sees, real or generated, in D's
and G's losses, goes through color, translation (up to 1/8) and cutout (half the size) with
independent randomness per example. `augment.diffaugment_policy` picks the ops.
`--config=experiments/diffaug.py:digits` (default; CPU-sized, translation and cutout) or `:cifar10`.
Measured result (digits, the shared 2-core CPU, seed 0): at 6,000 steps (the digits default), 560 s
(partly while a test suite ran): 10/10 classes, digits FD 11.0, IS 9.78, precision 0.826, recall
0.556, worst requested class recognised 97.4% of the time; by
  python scripts/benchmarks/zoo_digits.py --experiments=diffaug --seeds=0
At 3,000 steps (biggan's length) it was 10/10 classes, FD 51.8, worst class 44.4%: augmenting every
image D sees slows the fit, so the digits runs are twice biggan's. No CIFAR-10 result.
"""
from experiments import biggan


def get_config(dataset="digits"):
  config = biggan.get_config(dataset)
  config.augment.kind = "diffaugment"
  config.augment.diffaugment_policy = ("color,translation,cutout" if dataset == "cifar10"
                                       else "translation,cutout")
  return config
