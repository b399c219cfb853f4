"""seqgan: SeqGAN (Yu et al. 2017, "SeqGAN: Sequence Generative Adversarial Nets with Policy Gradient")
as LantaoYu/SeqGAN's sequence_gan.py trains it (gan/families/text.py).

G: LSTM, embedding and hidden 32, pre-trained by MLE for 120 epochs (18,720 steps of 64), Adam 1e-2,
gradients clipped to norm 5 (also in the adversarial stage). D: the CNN of Kim 2014 with widths 1-10, 15,
20 (100-200 filters each), highway, dropout keep 0.75, L2 0.2 on its output layer, Adam 1e-4. Adversarial
stage: 200 G updates by REINFORCE with 16 Monte-Carlo roll-outs of a delayed copy of G (update rate 0.8).
CPU-sized D schedule: the reference pre-trains D on 50 x 3 epochs of 10,000 real + 10,000 generated
sequences (~47k batches) and gives D 5 x 3 such epochs after each G update; here D pre-trains for
`d_pretrain_steps` x `n_critic` batches (1,000 x 15) and takes `n_critic` (15) batches per G update.
`:oracle` (default, built in) or `:coco` (`--config.data.path=DIR` with train.txt and test.txt).
`:oracle,cpu` / `:coco,cpu`: sized for a 2-core CPU, where the full schedule takes hours (at the full size
a D pre-training step took ~12 s there and an adversarial step, whose 16 roll-outs of every prefix D
scores, ~75 s, with two other runs sharing the CPU): 5,000 MLE steps (NLL_oracle is within 0.02 of its
120-epoch value after 3,120), D pre-trained for 100 x 15 batches, 50 adversarial steps (a quarter of the
reference's 200). On COCO (36 tokens, 35 prefixes to roll out) an idle 2-core CPU takes ~0.27 s per MLE
step, ~12 s per D pre-training step and ~82 s per adversarial step, so `:coco,cpu` trains 2,000 MLE steps
(held-out NLL is lowest early: 4.38, 4.53, 4.74, 4.95 at 1,000 ... 4,000), 50 D pre-training steps and 15
adversarial steps (~42 min).
Results (seed 0): `:oracle,cpu`, 3,431 s: NLL_oracle 8.814 (8.980 after its MLE stage; published 8.736),
NLL_test 8.936 (8.744); about on a temperature-tuned MLE's curve (docs/text.md). `:coco,cpu`, 3,218 s (another job
sharing the CPU for ~28 min): BLEU-2..5 .747/.517/.320/.203 (.702/.461/.273/.164 after its MLE stage),
Self-BLEU-2 .651, NLL_test 4.753 (4.529); docs/text.md.
"""
from experiments import common


def get_config(arg="oracle"):
  dataset, cpu = common.text_arg(arg)
  config = common.text_config("seqgan", dataset)
  oracle = config.data.name == "oracle"
  config.mle_steps = (5000 if oracle else 2000) if cpu else 18720
  config.d_pretrain_steps = (100 if oracle else 50) if cpu else 1000
  config.num_train_steps = config.mle_steps + config.d_pretrain_steps + ((50 if oracle else 15) if cpu else 200)
  config.n_critic = 15
  config.loss = "non_saturating"
  config.num_rollouts = 16
  config.rollout_update_rate = 0.8
  config.d_l2_weight = 0.2
  common.text_discriminator(config, "seqgan")
  config.optim.g = dict(config.optim.g_mle)  # the adversarial stage's own Adam(1e-2), as generator.py
  config.optim.d = dict(config.optim.g_mle, lr=1e-4, clip_norm=0.0)  # discriminator.py: Adam(1e-4), no clip
  config.eval.every_steps = config.checkpoint.every_steps = 1000
  return config
