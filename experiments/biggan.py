"""biggan: class-conditional BigGAN (Brock et al. 2019, "Large Scale GAN Training for High Fidelity
Natural Image Synthesis", Sec. 3 and Appendix B).

Reproduces the architecture's ingredients at CIFAR-10 size: ResNet G with a shared class embedding
(128) and hierarchical z feeding every conditional BN through linear layers, projection D, spectral
norm and self-attention in both players, orthogonal regularization of G (1e-4), hinge loss, TTUR
(G 1e-4, D 4e-4, Adam b1 0, b2 0.999), two D steps per G step, an EMA of G (0.9999) started at 20k
steps, cross-replica BN. Their 128x128 settings; the batch (2048 in the paper) is 64 here per default
and the deep variant is experiments/biggan_deep.py. `:digits` (default; CPU-sized) or `:cifar10`.
`:mnist` puts every ingredient on mnist_dcgan's width-32 nets (gan/models/dcgan.py: the shared embedding
and hierarchical z feed the BN before each transposed conv): the width-8 ResNet a CPU half hour allows
ended at FD 84.9 with its worst class recognised 16 % of the time (docs/zoo.md).
Measured result (digits, 2-core CPU, 6,000 steps, seed 0, 590 s: 10/10 classes, digits FD 6.0,
  IS 9.83, precision 0.895, recall 0.759; the worst requested class is recognised 98.2% of the time;
  at 3,000 steps FD 52.0 and 78.4%, hence the digits runs' 6,000 steps); by
  python scripts/benchmarks/zoo.py --experiments=biggan --seeds=0
and scripts/benchmarks/results/zoo_digits.md). MNIST (seed 0, 4,000 steps, 1,413 s on the 2-core CPU):
  10/10 classes, mnist FD 2.9, IS 9.49, precision 0.825, recall 0.685, worst class recognised 95.9 %; by
  python scripts/benchmarks/zoo.py --dataset=mnist --mnist_path=MNIST_DIR --experiments=biggan
(docs/zoo.md). No CIFAR-10 result: no data or accelerator here.
"""
from experiments import common


def get_config(dataset="digits"):
  config = common.set_dataset(common.base_config(), dataset or "digits")
  config.loss = "hinge"
  config.n_critic = 2
  config.batch_size = 64
  common.adam_players(config, 1e-4, 4e-4, b1=0.0, b2=0.999)
  config.regularizers.orthogonal.weight = 1e-4
  config.model.generator.update(name="resnet", width=64, conditioning="biggan", spectral_norm=True,
                                shared_embedding_dim=128)
  config.model.discriminator.update(name="resnet", width=64, norm="none", spectral_norm=True,
                                    conditioning="projection")
  cifar10 = common.set_size(config, dataset, cifar10_steps=100000, digits_steps=6000, digits_width=32,
                            mnist_steps=4000, mnist_width=32, mnist_nets="dcgan")
  # Self-attention at 16x16 in both players at 32x32 (CIFAR-10, MNIST); at 8x8 / 4x4 on the 8x8 digits.
  attention = (8, 4) if (dataset or "digits") == "digits" else (16, 16)
  config.model.generator.attention_resolution, config.model.discriminator.attention_resolution = attention
  if cifar10:
    config.ema.update(decay=0.9999, start_step=20000)
  else:
    config.model.generator.shared_embedding_dim = 32
    config.ema.update(decay=0.999, start_step=1000)
  return config
