"""Evaluation of the text family (at every `eval.every_steps` and in scripts/evaluate.py).

G draws `eval.num_samples` sequences at `eval.temperature` (1: its own distribution) from the run's seed,
and the metrics of the text-GAN literature score them:
- `nll_oracle` (oracle data): the oracle's per-token NLL of G's samples (Yu et al. 2017, Eq. 12): quality;
- `nll_test`: G's per-token NLL of the held-out test set (RelGAN's NLL_gen, Nie et al. 2019 Sec. 3.1): how
  much of the data G covers (diversity); at `eval.temperature` G is softmax(o_t / T) for both, as in the
  temperature sweeps of Caccia et al. 2020; in nats, over the positions up to the first `<eos>`;
- text files: `bleu_2` ... `bleu_5` (Papineni et al. 2002 as Texygen computes them, gan/metrics/text.py:
  the first `eval.bleu_samples` (Texygen: 500) samples each against the whole test set, method1 smoothing)
  and `self_bleu_2` ... `self_bleu_5` (Zhu et al. 2018: each of those samples against the others);
- `unique_fraction` (distinct samples / samples) and `copied_fraction` (samples that are a training
  sentence verbatim).
`samples/step_N.txt` holds the first `eval.grid_size` samples as text. The protocol records the counts,
temperature, seed, the data (and the oracle's own entropy: its NLL of its test set, the floor of
`nll_oracle`) and the BLEU definitions.
"""
from __future__ import annotations

import os

from gan.data import text as text_data
from gan.errors import UserError
from gan.families.base import EvalResult
from gan.metrics import text as text_metrics

BLEU_ORDERS = (2, 3, 4, 5)


def metric_directions(config) -> dict[str, str]:
  """Every metric of a text run -> "min" or "max"."""
  out = {"nll_test": "min", "unique_fraction": "max", "copied_fraction": "min"}
  if config.data.name == "oracle":
    out["nll_oracle"] = "min"
  else:
    out.update({f"bleu_{n}": "max" for n in BLEU_ORDERS})
    out.update({f"self_bleu_{n}": "min" for n in BLEU_ORDERS})
  return out


def default_primary(config) -> str:
  """What ranks checkpoints by default: nll_oracle on the oracle, else bleu_4 (eval.primary_metric)."""
  return "nll_oracle" if config.data.name == "oracle" else "bleu_4"


class TextEvaluator:
  """Scores a text game's samples (module docstring); `primary` ranks the best checkpoint."""

  def __init__(self, config, game, data: text_data.TextData, workdir: str, *, num_samples: int | None = None):
    self.config, self.game, self.data = config, game, data
    self.samples_dir = os.path.join(workdir, "samples")
    self.num_samples = num_samples or config.eval.num_samples
    name = config.eval.get("primary_metric", "") or default_primary(config)
    self.primary = (name, metric_directions(config)[name])
    self._references = None
    self._training = None
    self._oracle = None

  def _bleu_references(self):
    if self._references is None:
      self._references = text_metrics.BleuReference(text_data.sentences(self.data.test, self.data.eos_id),
                                                    max(BLEU_ORDERS))
    return self._references

  def _oracle_nll(self, tokens) -> float:
    from gan import text_sequences  # pylint: disable=g-import-not-at-top
    if self._oracle is None:
      oracle = self.config.data.oracle
      self._oracle = (text_data.oracle_generator(oracle), text_data.oracle_params(oracle))
    generator, params = self._oracle
    return text_sequences.mean_nll_in_chunks(generator, params, tokens, bos_id=self.data.bos_id, eos_id=-1)

  def evaluate_state(self, step: int, state, *, write_files: bool = True, raw: bool = False) -> EvalResult:
    if raw:
      raise UserError("--raw does not apply to a text run: its generator has no EMA")
    cfg = self.config.eval
    tokens = self.game.sample_tokens(state, self.num_samples, seed=self.config.seed, temperature_=cfg.temperature)
    sentences = text_data.sentences(tokens, self.data.eos_id)
    if self._training is None:
      self._training = set(text_data.sentences(self.data.train, self.data.eos_id))
    metrics = {"nll_test": self.game.mean_nll(state, self.data.test, temperature_=cfg.temperature),
               "unique_fraction": text_metrics.unique_fraction(sentences),
               "copied_fraction": text_metrics.copied_fraction(sentences, self._training)}
    protocol = {"step": int(step), "num_samples": len(tokens), "temperature": float(cfg.temperature),
                "noise_seed": self.config.seed, "data": self.data.info,
                "nll": "nats per token, positions up to and including the first <eos> (all without one)",
                "nll_test_sequences": len(self.data.test)}
    if self.config.data.name == "oracle":
      metrics["nll_oracle"] = self._oracle_nll(tokens)
    else:
      hypotheses = sentences[:cfg.bleu_samples]
      bleu = self._bleu_references().corpus_means(hypotheses, BLEU_ORDERS)
      metrics.update({f"bleu_{n}": bleu[n] for n in BLEU_ORDERS})
      metrics.update({f"self_bleu_{n}": text_metrics.self_bleu(hypotheses, n) for n in BLEU_ORDERS})
      protocol["bleu"] = {"hypotheses": len(hypotheses), "references": "the whole test set",
                          "self_bleu": "each hypothesis against the other hypotheses",
                          "weights": "uniform 1/n", "smoothing": "nltk method1 (epsilon 0.1)",
                          "tokens": "words up to the first <eos>"}
    protocol["primary_metric"] = list(self.primary)
    if write_files:
      os.makedirs(self.samples_dir, exist_ok=True)
      lines = text_data.decode(tokens[:self.config.eval.grid_size], self.data.words, self.data.eos_id)
      with open(os.path.join(self.samples_dir, f"step_{step:07d}.txt"), "w", encoding="utf-8") as f:
        f.writelines(line + "\n" for line in lines)
    return EvalResult(metrics, protocol)
