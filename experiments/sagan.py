"""sagan: self-attention GAN (Zhang et al. 2019, "Self-Attention Generative Adversarial Networks").

Reproduces their recipe at CIFAR-10 size: ResNet G and D with a self-attention block (at 16x16 for
32x32 images; their ImageNet model puts it at 32x32 of 128), spectral norm in BOTH players, hinge
loss, one D step per G step with TTUR learning rates (G 1e-4, D 4e-4, Adam b1 0, b2 0.9), batch 64.
`--config=experiments/sagan.py:digits` (default; CPU-sized, attention at 8x8) or `:cifar10` (TFDS).
`:mnist` puts the recipe on mnist_dcgan's width-32 nets (attention on the 16x16 features of both, no BN in
D), as DCGAN-style SAGAN re-implementations do: the width-8 ResNets that fit a CPU half hour ended at FD
85-102 on MNIST with R1, WGAN-GP and BigGAN (docs/zoo.md).
Measured result (digits, the shared 2-core CPU, 4,000 steps, seed 0, 222 s:
  10/10 classes, digits FD 12.8, IS 8.50, precision 0.439, recall 0.918; by
  python scripts/benchmarks/zoo.py --experiments=sagan --seeds=0
and scripts/benchmarks/results/zoo_digits.md). MNIST (seed 0, 5,000 steps, 1,049 s on the 2-core CPU):
  10/10 classes, mnist FD 10.5, IS 7.46, precision 0.534, recall 0.818; by
  python scripts/benchmarks/zoo.py --dataset=mnist --mnist_path=MNIST_DIR --experiments=sagan
(docs/zoo.md). No CIFAR-10 result: no data or accelerator here.
"""
from experiments import common


def get_config(dataset="digits"):
  config = common.set_dataset(common.base_config(), dataset or "digits")
  config.loss = "hinge"
  config.batch_size = 64
  common.adam_players(config, 1e-4, 4e-4, b1=0.0, b2=0.9)
  # 16x16 in both players at 32x32 (CIFAR-10, MNIST); 8x8 in G and 4x4 in D on the 8x8 digits
  attention = (8, 4) if (dataset or "digits") == "digits" else (16, 16)
  config.model.generator.update(name="resnet", width=64, spectral_norm=True)
  config.model.discriminator.update(name="resnet", width=64, norm="none", spectral_norm=True)
  config.model.generator.attention_resolution, config.model.discriminator.attention_resolution = attention
  config.ema.decay = 0.9999 if dataset == "cifar10" else 0.999
  common.set_size(config, dataset, cifar10_steps=100000, digits_steps=4000, digits_width=32,
                  mnist_steps=5000, mnist_width=32, mnist_nets="dcgan")
  return config
