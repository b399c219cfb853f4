"""mle: the maximum-likelihood baseline of the text GANs — SeqGAN's LSTM generator trained by teacher
forcing alone (the pre-training stage of experiments/seqgan.py), the model Caccia et al. 2020 ("Language
GANs falling short") show is hard to beat once its sampling temperature is tuned
(`scripts/sample.py --temperature=T`, `--config.eval.temperature=T`).

`:oracle` (default): SeqGAN's synthetic benchmark (gan/data/text.py), 120 epochs of its 10,000 sequences
(18,720 steps of 64, SeqGAN's PRE_EPOCH_NUM), Adam 1e-2 with gradients clipped to norm 5.
`:coco`: a directory with train.txt and test.txt (`--config.data.path=DIR`), RelGAN's 150 epochs.
`:coco,cpu`: 64 epochs (10,000 steps), within an hour on a 2-core CPU (a COCO step, 36 tokens, takes
~0.25 s there: 150 epochs would take ~1.6 h); `:oracle,cpu` is `:oracle` (it fits).
Result (`:oracle`, seed 0, 2-core CPU): NLL_oracle 8.902 (SeqGAN's Table 1: 9.038), NLL_test 9.124;
at temperature 0.5 NLL_oracle 6.663 and NLL_test 13.692 (docs/text.md).
"""
from experiments import common


def get_config(arg="oracle"):
  dataset, cpu = common.text_arg(arg)
  config = common.text_config("mle", dataset)
  config.num_train_steps = config.mle_steps = 18720 if config.data.name == "oracle" else 10000 if cpu else 23400
  config.eval.every_steps = config.checkpoint.every_steps = 2000 if cpu and config.data.name != "oracle" else 1560
  return config
