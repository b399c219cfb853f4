"""mnist_dcgan: DCGAN (Radford et al. 2016) on MNIST via TFDS, resized 28 -> 32 so the network is the
standard power-of-two DCGAN (G: 4x4x512 -> 3 transposed convs -> 32x32x1; D mirrored).

Hyper-parameters are the paper's (Adam 2e-4, beta1 0.5, batch 64, non-saturating loss) with an EMA
generator. Needs the prepared TFDS `mnist` (`tfds build mnist --data_dir=DIR`, then
`--config.data.data_dir=DIR`); no result is measured here yet.
"""
from experiments import common


def get_config(arg=None):
  del arg
  config = common.base_config()
  config.data.update(name="tfds", tfds_name="mnist", split="train", image_size=32, channels=1)
  config.batch_size = 64
  config.num_train_steps = 20000
  config.loss = "non_saturating"
  config.model.z_dim = 100
  config.ema.decay = 0.999
  config.eval.every_steps = 2000
  config.checkpoint.every_steps = 2000
  return config
