"""biggan_deep: class-conditional BigGAN-deep (Brock et al. 2019, "Large Scale GAN Training for High
Fidelity Natural Image Synthesis", Appendix B, Fig. 16; gan/models/biggan_deep.py).

Reproduces the deep variant's architecture on the BigGAN recipe of experiments/biggan.py (hinge,
TTUR G 1e-4 / D 4e-4 with Adam b1 0, two D steps per G step, spectral norm and self-attention in both
players, orthogonal regularization 1e-4, EMA of G): bottleneck residual blocks, two per resolution,
identity-preserving skips (G drops channels, D concatenates them), and z concatenated whole with the
shared class embedding instead of split hierarchically. At 128x128 with ch 128 the models have the
paper's sizes (D 34.6M parameters; G 50.2M against the paper's 50.4M; tests/test_biggan_deep.py).
The paper trains it on ImageNet only; `:cifar10` applies it at 32x32 (widths of
gan/models/resnet.py's architecture table), `:digits` (default) is CPU-sized.
Measured result (digits, 2-core CPU, 6,000 steps, seed 0, 783 s: 10/10 classes, digits FD 5.9,
  IS 9.79, precision 0.841, recall 0.746; the worst requested class is recognised 97.4% of the time
  (biggan: 98.2%); by
  python scripts/benchmarks/zoo.py --experiments=biggan_deep --seeds=0
No CIFAR-10 result (no data or accelerator here).
"""
from experiments import biggan


def get_config(dataset="digits"):
  config = biggan.get_config(dataset)
  config.model.generator.name = config.model.discriminator.name = "biggan_deep"
  return config
