"""Metrics of text GANs (SeqGAN, RelGAN ...) on tokenised sentences: BLEU-n, Self-BLEU, novelty.

A sentence is a sequence of hashable tokens: a list of words, a tuple of token ids, a 1-D integer array
(padding and end-of-sentence ids are the caller's to strip). A bare `str` is refused, since it would be
read as a sequence of characters.

BLEU-n of one hypothesis sentence h (length L) against a set of reference sentences (Papineni et al.
2002, "BLEU: a Method for Automatic Evaluation of Machine Translation", Eq. 1-2, one segment):

- modified k-gram precision p_k = sum_g min(count_h(g), max_r count_r(g)) / max(1, L - k + 1), the
  sum over the distinct k-grams g of h, each clipped by its largest count in any *single* reference
  (not the sum over references);
- brevity penalty BP = 1 if L > r else exp(1 - r / L), r the reference length closest to L (ties to the
  shorter one);
- BLEU-n = BP * exp(sum_{k=1..n} (1/n) log p_k), the geometric mean with uniform weights.

This is nltk's `sentence_bleu(references, hypothesis, weights=(1/n,)*n,
smoothing_function=SmoothingFunction().method1)` (nltk/translate/bleu_score.py, unchanged in this
respect from nltk 3.2.3, Texygen's minimum, to 3.8), and these are the corner cases as nltk has them,
all matched here:

- no unigram of h occurs in any reference (this includes the empty hypothesis): BLEU = 0, returned
  before smoothing, so smoothing never applies to k = 1;
- smoothing method1 (Chen & Cherry 2014, "A Systematic Comparison of Smoothing Techniques for
  Sentence-Level BLEU", method 1): an order k >= 2 with no clipped match gets p_k = epsilon /
  max(1, L - k + 1), epsilon = 0.1. That includes an order with no k-grams at all (L < k): nltk counts
  it as 0 / 1 and smooths it to 0.1, so a one-word hypothesis that matches has BLEU-2 = BP * sqrt(0.1);
- L = r gives BP = exp(0) = 1; L = 0 gives BP = 0 (unreachable: the empty hypothesis is already 0);
- the score is computed with the same floating-point operations as nltk (p_k = num / den,
  w = 1. / n, math.fsum of w * log(p_k), exp, times BP), so the values agree with nltk's to the last
  bit (checked against the bleu_score.py of nltk 3.2.5 and of 2024's master on 9,400 random cases).

`smoothing="method0"` is nltk's no-smoothing method0: a zero p_k (k >= 2) becomes sys.float_info.min,
which makes the score tiny (about 1e-308 ** (1/n)) rather than exactly 0, as in nltk (without its warning).

Texygen (Zhu et al. 2018, "Texygen: A Benchmarking Platform for Text Generation Models"; geek-ai/Texygen,
utils/metrics/Bleu.py, SelfBleu.py, with nltk.word_tokenize'd lines of text files):

- BLEU-n: every generated sentence is a hypothesis against the whole reference corpus (*all* reference
  sentences of the test set, as one multi-reference set), and the score is the mean over hypotheses
  (not nltk's corpus_bleu). `bleu` computes exactly that with the references it is given. Texygen's
  default `get_score()` (is_fast=True) keeps only the first `sample_size` = 500 lines of the reference
  file (no shuffle): pass `references[:500]` to reproduce it. RelGAN's fork (weilinie/RelGAN,
  utils/metrics/Bleu.py) uses the whole shuffled test set as references and the first 100 generated
  sentences as hypotheses.
- Self-BLEU-n (Texygen Sec. 3.2): every generated sentence is a hypothesis against all the *other*
  generated sentences; mean over hypotheses. Texygen removes the hypothesis by position
  (`reference[:index] + reference[index+1:]`), so another copy of the same sentence stays a reference
  and matches it: a sentence generated twice scores 1. With is_fast=True (the default) Texygen only
  uses the first 500 generated sentences, both as hypotheses and as references (each against the
  other 499); `self_bleu(sentences, n, num_hypotheses=500, seed=None)` is exactly that, and with an
  integer seed the 500 are a uniform random subset instead of the first ones. (Texygen also caches
  that sample at its first call, so later evaluations score new sentences against the first epoch's
  ones; RelGAN's fork drops the cache, but scores its first 200 sentences against all of them, each
  hypothesis included among its own references, so its Self-BLEU is always 1. Neither quirk is reproduced here.)

Cost: `BleuReference` counts the references' k-grams once, k = 1..max_n: for every k-gram its largest
count in a single reference, and the sorted distinct reference lengths; a hypothesis then costs
O(max_n * L) dictionary look-ups plus a bisection, whatever the number of references. Self-BLEU keeps,
for every k-gram, its largest count over the sentences, which sentence holds it, and the second
largest count, so "largest count over the others" is O(1); lengths are a multiset minus the
hypothesis's own.

Novelty and diversity of the sentences themselves: `unique_fraction` = distinct sentences / sentences;
`copied_fraction` = fraction of generated sentences (with repetitions) that occur verbatim in the
training set.
"""
from __future__ import annotations

import bisect
import collections
import math
import sys
from collections.abc import Iterable, Sequence

import numpy as np

METHOD1_EPSILON = 0.1  # nltk SmoothingFunction(epsilon=0.1), Chen & Cherry 2014's value
SMOOTHINGS = ("method1", "method0")
TEXYGEN_SAMPLE_SIZE = 500  # Texygen's Bleu / SelfBleu `sample_size` (is_fast=True)

Sentence = Sequence  # of hashable tokens


def _tokens(sentence) -> tuple:
  """One sentence as a tuple of tokens (NumPy scalars as Python ones, so that ids compare and hash alike)."""
  if isinstance(sentence, (str, bytes)):
    raise TypeError(f"a sentence must be a sequence of tokens, not a string ({sentence[:40]!r}); split it first")
  if isinstance(sentence, np.ndarray):
    if sentence.ndim != 1:
      raise ValueError(f"a sentence must be 1-D, got shape {sentence.shape}")
    return tuple(sentence.tolist())
  return tuple(sentence)


def _sentences(sentences, what: str) -> list[tuple]:
  out = [_tokens(s) for s in sentences]
  if not out:
    raise ValueError(f"{what}: no sentences")
  return out


def _ngram_counts(tokens: tuple, k: int) -> collections.Counter:
  """Counts of the k-grams of `tokens` (tuples of k tokens); empty when len(tokens) < k."""
  return collections.Counter(zip(*[tokens[i:] for i in range(k)]))


def _check_order(n: int, max_n: int) -> None:
  if not 1 <= n <= max_n:
    raise ValueError(f"BLEU order n={n} must be in [1, {max_n}] (max_n of the reference tables)")


def _check_smoothing(smoothing: str) -> None:
  if smoothing not in SMOOTHINGS:
    raise ValueError(f"smoothing={smoothing!r} is not one of {SMOOTHINGS}")


def _closest_length(lengths: list[int], hyp_len: int, skip_own: bool = False) -> int:
  """nltk's closest_ref_length: the length in `lengths` (sorted, distinct) closest to hyp_len, ties to the
  shorter. skip_own: hyp_len is in `lengths` only because of the hypothesis itself, so it is ignored."""
  i = bisect.bisect_left(lengths, hyp_len)
  above = i + 1 if skip_own else i  # lengths[i] == hyp_len when skip_own
  candidates = ([lengths[i - 1]] if i > 0 else []) + ([lengths[above]] if above < len(lengths) else [])
  if not candidates:
    raise ValueError("no reference sentences")
  return min(candidates, key=lambda r: (abs(r - hyp_len), r))


def _bleu_from_matches(matches: Sequence[int], hyp_len: int, ref_len: int, n: int, smoothing: str) -> float:
  """BLEU-n from the clipped match counts of orders 1..n (matches[k - 1]), as nltk's corpus_bleu computes
  it for one segment with weights (1. / n,) * n and SmoothingFunction().method1 (or method0)."""
  if matches[0] == 0:  # nltk: "no matching n-grams" -> 0, before any smoothing
    return 0.0
  w = 1. / n
  terms = []
  for k in range(1, n + 1):
    num, den = matches[k - 1], max(1, hyp_len - k + 1)
    if num:
      p = num / den
    elif smoothing == "method1":
      p = (num + METHOD1_EPSILON) / den
    else:
      p = sys.float_info.min
    terms.append(w * math.log(p))
  if hyp_len > ref_len:
    bp = 1.0
  elif hyp_len == 0:
    bp = 0.0
  else:
    bp = math.exp(1 - ref_len / hyp_len)
  return bp * math.exp(math.fsum(terms))


class BleuReference:
  """A reference corpus, counted once for BLEU-1..max_n of any number of hypotheses (see the module doc).

  `max_counts[k - 1][g]` is the largest count of the k-gram g in any single reference; `lengths` the
  sorted distinct reference lengths.
  """

  def __init__(self, references: Iterable[Sentence], max_n: int):
    if max_n < 1:
      raise ValueError(f"max_n must be >= 1, got {max_n}")
    self.max_n = int(max_n)
    self.max_counts: list[dict[tuple, int]] = [{} for _ in range(self.max_n)]
    lengths = set()
    num = 0
    for ref in references:
      ref = _tokens(ref)
      num += 1
      lengths.add(len(ref))
      for k, table in enumerate(self.max_counts, start=1):
        for g, c in _ngram_counts(ref, k).items():
          if c > table.get(g, 0):
            table[g] = c
    if not num:
      raise ValueError("BleuReference: no reference sentences")
    self.num_references = num
    self.lengths = sorted(lengths)

  def matches(self, hypothesis: Sentence, n: int) -> list[int]:
    """Clipped match counts (the numerators of p_1..p_n) of one hypothesis."""
    _check_order(n, self.max_n)
    hyp = _tokens(hypothesis)
    return [sum(min(c, table.get(g, 0)) for g, c in _ngram_counts(hyp, k).items())
            for k, table in enumerate(self.max_counts[:n], start=1)]

  def sentence_bleu(self, hypothesis: Sentence, n: int, *, smoothing: str = "method1") -> float:
    """nltk's sentence_bleu(all references, hypothesis, (1/n,)*n, method1) of one hypothesis."""
    _check_smoothing(smoothing)
    hyp = _tokens(hypothesis)
    return _bleu_from_matches(self.matches(hyp, n), len(hyp), _closest_length(self.lengths, len(hyp)), n,
                              smoothing)

  def corpus_means(self, hypotheses: Iterable[Sentence], orders: Iterable[int], *,
                   smoothing: str = "method1") -> dict[int, float]:
    """{n: mean over hypotheses of sentence_bleu(h, n)} for several orders, counting each hypothesis once."""
    _check_smoothing(smoothing)
    orders = sorted({int(n) for n in orders})
    if not orders:
      raise ValueError("no BLEU orders")
    for n in orders:
      _check_order(n, self.max_n)
    totals = {n: 0.0 for n in orders}
    count = 0
    for hyp in hypotheses:
      hyp = _tokens(hyp)
      matches = self.matches(hyp, orders[-1])
      ref_len = _closest_length(self.lengths, len(hyp))
      for n in orders:
        totals[n] += _bleu_from_matches(matches, len(hyp), ref_len, n, smoothing)
      count += 1
    if not count:
      raise ValueError("BLEU: no hypotheses")
    return {n: t / count for n, t in totals.items()}

  def corpus_mean(self, hypotheses: Iterable[Sentence], n: int, *, smoothing: str = "method1") -> float:
    """Texygen's BLEU-n: the mean over hypotheses of sentence_bleu(h, n)."""
    return self.corpus_means(hypotheses, [n], smoothing=smoothing)[n]


def bleu(hypotheses: Iterable[Sentence], references: Iterable[Sentence], max_n: int, *,
         smoothing: str = "method1") -> float:
  """Texygen's BLEU-`max_n` (Zhu et al. 2018): the mean over hypotheses of nltk's method1-smoothed
  sentence BLEU with uniform weights (1/max_n, ...) against *all* the references. For several orders or
  several hypothesis sets against one corpus, build a `BleuReference` once instead."""
  _check_smoothing(smoothing)
  return BleuReference(references, max_n).corpus_mean(hypotheses, max_n, smoothing=smoothing)


def self_bleu(sentences: Iterable[Sentence], max_n: int, *, num_hypotheses: int | None = None,
              seed: int | None = 0, smoothing: str = "method1") -> float:
  """Texygen's Self-BLEU-`max_n` (Zhu et al. 2018, Sec. 3.2): the mean over sentences of the sentence BLEU
  of each one against all the other sentences (another copy of the same sentence counts as a reference).

  num_hypotheses: None uses all the sentences; k < len(sentences) uses a sample of k sentences, both as
  hypotheses and as references, as Texygen does with its sample_size 500: the first k when seed is None
  (Texygen exactly: `num_hypotheses=TEXYGEN_SAMPLE_SIZE, seed=None`), else k drawn uniformly without
  replacement with np.random.default_rng(seed).
  """
  _check_smoothing(smoothing)
  if max_n < 1:
    raise ValueError(f"max_n must be >= 1, got {max_n}")
  sents = _sentences(sentences, "self_bleu")
  if num_hypotheses is not None:
    if num_hypotheses < 2:
      raise ValueError(f"num_hypotheses must be >= 2, got {num_hypotheses}")
    if num_hypotheses < len(sents):
      if seed is None:
        sents = sents[:num_hypotheses]
      else:
        idx = np.sort(np.random.default_rng(seed).choice(len(sents), num_hypotheses, replace=False))
        sents = [sents[i] for i in idx]
  if len(sents) < 2:
    raise ValueError("self_bleu needs at least 2 sentences (each is scored against the others)")

  # tables[k - 1][g] = [largest count of g in one sentence, index of that sentence, second largest count]
  tables: list[dict[tuple, list[int]]] = [{} for _ in range(max_n)]
  counts = [[_ngram_counts(s, k) for k in range(1, max_n + 1)] for s in sents]
  for j, per_order in enumerate(counts):
    for table, cnt in zip(tables, per_order):
      for g, c in cnt.items():
        e = table.get(g)
        if e is None:
          table[g] = [c, j, 0]
        elif c > e[0]:
          e[2], e[0], e[1] = e[0], c, j
        elif c > e[2]:
          e[2] = c
  length_counts = collections.Counter(len(s) for s in sents)
  lengths = sorted(length_counts)

  total = 0.0
  for i, (s, per_order) in enumerate(zip(sents, counts)):
    matches = []
    for table, cnt in zip(tables, per_order):
      m = 0
      for g, c in cnt.items():
        e = table[g]
        m += min(c, e[2] if e[1] == i else e[0])
      matches.append(m)
    ref_len = _closest_length(lengths, len(s), skip_own=length_counts[len(s)] == 1)
    total += _bleu_from_matches(matches, len(s), ref_len, max_n, smoothing)
  return total / len(sents)


def unique_fraction(sentences: Iterable[Sentence]) -> float:
  """Distinct sentences / all sentences (1 when no sentence repeats)."""
  sents = _sentences(sentences, "unique_fraction")
  return len(set(sents)) / len(sents)


def copied_fraction(sentences: Iterable[Sentence], training_sentences: Iterable[Sentence]) -> float:
  """Fraction of the generated sentences (repetitions included) that occur verbatim in the training set."""
  sents = _sentences(sentences, "copied_fraction")
  train = {_tokens(s) for s in training_sentences}
  return sum(s in train for s in sents) / len(sents)
