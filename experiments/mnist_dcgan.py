"""mnist_dcgan: DCGAN (Radford et al. 2016) on MNIST read from its IDX files, resized 28 -> 32 so the
network is the standard power-of-two DCGAN (G: 4x4x128 -> 3 transposed convs -> 32x32x1 at width 32,
CPU-sized; D mirrored).

Hyper-parameters are the paper's (Adam 2e-4, beta1 0.5, batch 64, non-saturating loss) with an EMA
generator. The data is the user's copy of the four MNIST IDX files (docs/data.md):
  python -m gan.main --config=experiments/mnist_dcgan.py --workdir=DIR --config.data.path=MNIST_DIR
Fashion-MNIST and KMNIST use the same file names. Evaluation runs in the feature space of the MnistCNN
(`eval.feature_net="mnist_cnn"`), trained once on the training files at data.path and cached
(gan/metrics/digits.py; its MNIST test accuracy is in docs/data.md). The TFDS route stays available:
`--config.data.name=tfds --config.data.data_dir=TFDS_DIR` with a prepared TFDS `mnist`, plus
`--config.eval.mnist_path=MNIST_DIR` for the MnistCNN or `--config.eval.feature_net=''` for no metrics.
Measured result (seed 0, 5,000 steps, 2-core CPU): 10/10 classes, mnist FD 18.4, IS 7.02, precision
0.526, recall 0.790 (real test digits: FD 1.0, precision 0.870; docs/zoo.md), by
  python scripts/benchmarks/zoo.py --dataset=mnist --mnist_path=MNIST_DIR --experiments=mnist_dcgan
"""
from experiments import common


def get_config(arg=None):
  del arg
  config = common.base_config()
  # data.path "" fails with one line when the data is opened: pass --config.data.path=MNIST_DIR.
  config.data.update(name="idx", path="", split="train", tfds_name="mnist", image_size=32, channels=1)
  config.batch_size = 64
  config.num_train_steps = 5000  # <= 30 min on 2 CPU cores (docs/zoo.md)
  config.loss = "non_saturating"
  config.model.z_dim = 100
  config.model.generator.width = config.model.discriminator.width = 32
  config.ema.decay = 0.999
  config.eval.every_steps = 1000
  # Metrics in the MnistCNN's feature space (mnist_fd, mnist_is, ...), trained on the IDX files at data.path.
  config.eval.feature_net = "mnist_cnn"
  config.checkpoint.every_steps = 1000
  return config
