"""relgan: RelGAN (Nie et al. 2019, "RelGAN: Relational Generative Adversarial Networks for Text
Generation") as weilinie/RelGAN's oracle_relgan.py / coco_relgan.py train it (gan/families/text.py).

G: relational memory (1 slot, 2 heads of 256), embedding 32, pre-trained by MLE for 150 epochs (23,400
steps of 64) with Adam 1e-2; then adversarial training with Gumbel-softmax samples into D, the RSGAN
loss, Adam(1e-4, b1 0.9) for both players, gradients clipped to norm 5, 5 D updates per G update, the
inverse temperature grown exponentially from 1 to `temperature_max` (100; its COCO runs also use 1000)
over RelGAN's fixed horizon of 5,000 adversarial steps. D: 64 one-dimensional embedded representations,
filter widths 2-5 x 300, highway, dropout keep 0.75, two linear layers.
`:oracle` (default, built in; 3,000 adversarial steps) or `:coco` (`--config.data.path=DIR`; 2,000).
`:oracle,cpu` / `:coco,cpu`: smaller for a 2-core CPU: memory heads of 64 instead of 256, 5,000 MLE steps,
1,500 adversarial steps with the temperature horizon at the run's own end (so beta still reaches
`temperature_max`), and D with 16 representations of 4 dimensions and 4 x 150 filters (its highway layer,
~90% of the full D's FLOPs, 16x smaller): an adversarial step takes ~1.9 s on an idle 2-core CPU instead of
~14 s with the full D. On COCO (38 tokens) a step takes 0.53 s (MLE) and 8.1 s (adversarial) on that CPU
alone, so `:coco,cpu` trains 1,000 MLE steps and 300 adversarial ones (~50 min): held-out NLL is lowest
after 1,000 MLE steps (4.62; 5.15 at 2,000, 5.59 at 3,000; BLEU-4 .338, .296, .310), Adam(1e-2) overfitting
the 10,000 captions after that.
Results (seed 0): `:oracle,cpu`, 8,294 s sharing the CPU: NLL_oracle 8.590 (8.780 after its MLE stage;
published SeqGAN 8.736, RelGAN 6.680), NLL_test 11.046 (10.852); a temperature-tuned MLE is better at that
NLL_test. `:coco,cpu`, 3,272 s (other jobs on the CPU for ~10 min): BLEU-2..5 .750/.526/.341/.213
(.760/.538/.338/.210 after its MLE stage; published RelGAN(100) .849/.687/.502/.331), Self-BLEU-2 .637,
NLL_test 4.675 (4.615); docs/text.md.
"""
from experiments import common


def get_config(arg="oracle"):
  dataset, cpu = common.text_arg(arg)
  config = common.text_config("relgan", dataset)
  config.model.generator.update(core="relational_memory", mem_slots=1, head_size=64 if cpu else 256, num_heads=2)
  oracle = config.data.name == "oracle"
  config.mle_steps = (5000 if oracle else 1000) if cpu else 23400
  config.d_pretrain_steps = 0
  adversarial_steps = (1500 if oracle else 300) if cpu else 3000 if oracle else 2000
  config.num_train_steps = config.mle_steps + adversarial_steps
  config.n_critic = 5
  config.loss = "rsgan"
  config.temperature_max = 100.0
  config.temperature_schedule = "exp"
  config.temperature_horizon = adversarial_steps if cpu else 5000
  common.text_discriminator(config, "relgan")
  if cpu:  # the highway over num_rep x sum(num_filters) features is ~90% of an adversarial step's FLOPs
    config.model.discriminator.update(num_rep=16, num_filters=(150, 150, 150, 150))
  config.optim.g = dict(config.optim.g_mle, lr=1e-4)
  config.optim.d = dict(config.optim.g_mle, lr=1e-4)
  config.eval.every_steps = config.checkpoint.every_steps = 1000
  return config
