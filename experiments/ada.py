"""ada: adaptive discriminator augmentation (Karras et al. 2020, "Training Generative Adversarial
Networks with Limited Data", Sec. 2-3) on the BigGAN of experiments/biggan.py.

Reproduces the mechanism, not their StyleGAN2 backbone: the `bgc` pipeline (x-flip, 90-degree
rotations, integer translation, isotropic and anisotropic scaling, rotation, fractional translation,
brightness, contrast, luma flip, hue, saturation), each op applied per example with probability p;
p starts at 0 and moves by sign(r_t - 0.6) * (batch * 4) / 500k every 4 D updates, r_t = E[sign
D(real)] (so 0 -> 1 takes 500k real images). On digits (few thousand images) the adjustment is made
faster (ada_kimg 20) so p can move within a CPU-sized run; MNIST and CIFAR-10 keep the paper's 500k.
`--config=experiments/ada.py:digits` (default), `:mnist` (biggan:mnist's DCGAN-sized BigGAN) or `:cifar10`.
The `make train` default. Measured result (digits, 2-core CPU, 6,000 steps (biggan's digits length),
seeds 0, 1, 2: 357, 290, 329 s; 10/10 classes; digits FD 7.3, 9.6, 8.2; precision 0.879, 0.873,
0.888; recall 0.771, 0.767, 0.760; worst requested class recognised 98.8, 99.0, 98.4 % of the time;
docs/zoo.md), by
  python scripts/benchmarks/zoo.py --experiments=ada --seeds=0,1,2
MNIST (seed 0, 4,000 steps, 1,456 s on the 2-core CPU): p peaked at 0.10 (step 700) and was 0 from
step 1,500; 10/10 classes, mnist FD 2.6, IS 9.27, precision 0.823, recall 0.700, worst class recognised
94.9 % (biggan:mnist 95.9 %); by
  python scripts/benchmarks/zoo.py --dataset=mnist --mnist_path=MNIST_DIR --experiments=ada
(docs/zoo.md). No CIFAR-10 result.
"""
from experiments import biggan


def get_config(dataset="digits"):
  dataset = dataset or "digits"
  config = biggan.get_config(dataset)
  config.augment.update(kind="ada", ada_target=0.6, ada_interval=4,
                        ada_kimg=20.0 if dataset == "digits" else 500.0)
  return config
