"""Checks of gan.metrics.text: hand-computed BLEU / Self-BLEU, nltk's documented values, a slow cross-check."""
from __future__ import annotations

import collections
import math
import random
import sys

import numpy as np
import pytest

from gan.metrics.text import (TEXYGEN_SAMPLE_SIZE, BleuReference, bleu, copied_fraction, self_bleu,
                              unique_fraction)


def _w(text: str) -> list[str]:
  return text.split()


# --- a slow, obviously-correct BLEU: nltk's sentence_bleu written out, looping over every reference ---------


def _slow_sentence_bleu(references, hyp, n):
  """nltk sentence_bleu(references, hyp, (1/n,)*n, SmoothingFunction().method1), loop by loop."""
  hyp = list(hyp)
  precisions = []
  for k in range(1, n + 1):
    counts = collections.Counter(tuple(hyp[i:i + k]) for i in range(len(hyp) - k + 1))
    max_counts = {}
    for ref in references:
      ref = list(ref)
      ref_counts = collections.Counter(tuple(ref[i:i + k]) for i in range(len(ref) - k + 1))
      for g in counts:
        max_counts[g] = max(max_counts.get(g, 0), ref_counts[g])
    numerator = sum(min(c, max_counts[g]) for g, c in counts.items())
    precisions.append((numerator, max(1, sum(counts.values()))))
  closest = min((len(ref) for ref in references), key=lambda r: (abs(r - len(hyp)), r))
  if precisions[0][0] == 0:
    return 0.0
  if len(hyp) > closest:
    bp = 1.0
  elif not hyp:
    bp = 0.0
  else:
    bp = math.exp(1 - closest / len(hyp))
  logs = [(1. / n) * math.log(num / den if num else 0.1 / den) for num, den in precisions]
  return bp * math.exp(math.fsum(logs))


def _slow_self_bleu(sentences, n):
  """Texygen's SelfBleu: sentence i against sentences[:i] + sentences[i+1:] (removed by position)."""
  return sum(_slow_sentence_bleu(sentences[:i] + sentences[i + 1:], s, n) for i, s in enumerate(sentences)) / len(
      sentences)


# --- BLEU ----------------------------------------------------------------------------------------------------

# The hand-computed example: references R1 (length 3) and R2 (length 5); "the" occurs once in each.
R1 = _w("the cat sat")
R2 = _w("a cat sat on the")
H = _w("the the cat sat")  # length 4


def test_hypothesis_identical_to_a_reference_is_one():
  refs = [R1, R2, _w("something else entirely here")]
  for n in range(1, 5):
    # every k-gram of R2 occurs in R2 as often as in the hypothesis; closest length 5 = L -> BP 1
    assert bleu([R2], refs, n) == pytest.approx(1.0, abs=1e-15)
  assert bleu([R1, R2], refs, 3) == pytest.approx(1.0, abs=1e-15)


def test_hand_computed_example():
  table = BleuReference([R1, R2], 4)
  # unigrams of H: the x2, cat, sat. Largest count in one reference: the 1 (R1 and R2 each have one; the
  # sum over references, 2, would be wrong), cat 1, sat 1 -> clipped 1 + 1 + 1 = 3 of 4: p1 = 3/4.
  # bigrams of H: (the the), (the cat), (cat sat); R1 has (the cat), (cat sat) -> p2 = 2/3.
  # trigrams of H: (the the cat), (the cat sat); R1 has (the cat sat) -> p3 = 1/2.
  # 4-grams of H: (the the cat sat): in no reference -> 0 matches of 1, method1: p4 = 0.1 / 1.
  assert table.matches(H, 4) == [3, 2, 1, 0]
  # reference lengths 3 and 5 are both at distance 1 from L = 4: ties go to the shorter, r = 3 < L -> BP = 1
  # (r = 5 would give BP = exp(1 - 5/4)).
  assert table.sentence_bleu(H, 1) == pytest.approx(3 / 4)
  assert table.sentence_bleu(H, 2) == pytest.approx(math.sqrt(3 / 4 * 2 / 3))  # sqrt(1/2) = 0.70711
  assert table.sentence_bleu(H, 3) == pytest.approx((3 / 4 * 2 / 3 * 1 / 2) ** (1 / 3))  # (1/4)^(1/3) = 0.62996
  assert table.sentence_bleu(H, 4) == pytest.approx((3 / 4 * 2 / 3 * 1 / 2 * 0.1) ** (1 / 4))  # 0.025^(1/4)
  assert bleu([H], [R1, R2], 4) == pytest.approx(0.025 ** 0.25)


def test_brevity_penalty_and_orders_longer_than_the_hypothesis():
  table = BleuReference([R1, R2], 3)
  hyp = _w("cat sat")  # L = 2; closest reference length 3 -> BP = exp(1 - 3/2) = exp(-0.5)
  # p1 = 2/2, p2 = (cat sat) 1/1
  assert table.sentence_bleu(hyp, 2) == pytest.approx(math.exp(-0.5))
  # no trigram at all: nltk counts p3 = 0 / max(1, 0) = 0/1, which method1 smooths to 0.1
  assert table.sentence_bleu(hyp, 3) == pytest.approx(math.exp(-0.5) * 0.1 ** (1 / 3))
  # one word: BLEU-2 = BP * sqrt(1 * 0.1), BP = exp(1 - 3/1)
  assert table.sentence_bleu(["cat"], 2) == pytest.approx(math.exp(-2) * math.sqrt(0.1))


def test_clipping_uses_the_largest_count_in_one_reference():
  hyp = _w("the the the")
  # "the" occurs once in each of two references: clipped to 1, not 2 -> p1 = 1/3 (lengths 2, 2 < 3: BP = 1)
  assert bleu([hyp], [_w("the cat"), _w("the dog")], 1) == pytest.approx(1 / 3)
  # a single reference with two "the" clips at 2 -> p1 = 2/3 (closest length 3 = L: BP = 1)
  assert bleu([hyp], [_w("the cat"), _w("the the dog")], 1) == pytest.approx(2 / 3)


def test_no_unigram_match_is_zero_without_smoothing():
  # nltk returns 0 before smoothing when no unigram matches (smoothing never applies to p1), and for the
  # empty hypothesis
  assert bleu([_w("x y z")], [R1, R2], 2) == 0.0
  assert bleu([[]], [R1, R2], 2) == 0.0
  # mean over hypotheses: 1 and 0
  assert bleu([R1, _w("x y z")], [R1, R2], 3) == pytest.approx(0.5)


def test_method0_as_nltk():
  # no smoothing: a zero p4 becomes sys.float_info.min, as nltk's method0 does
  expected = math.exp(0.25 * (math.log(3 / 4) + math.log(2 / 3) + math.log(1 / 2) + math.log(sys.float_info.min)))
  assert bleu([H], [R1, R2], 4, smoothing="method0") == pytest.approx(expected)
  assert 0 < expected < 1e-70
  with pytest.raises(ValueError):
    bleu([H], [R1, R2], 4, smoothing="method7")


def test_nltk_documented_values():
  # the examples of nltk.translate.bleu_score.sentence_bleu's docstring
  hyp1 = _w("It is a guide to action which ensures that the military always obeys the commands of the party")
  hyp2 = _w("It is to insure the troops forever hearing the activity guidebook that party direct")
  refs = [_w("It is a guide to action that ensures that the military will forever heed Party commands"),
          _w("It is the guiding principle which guarantees the military forces always being under the command "
             "of the Party"),
          _w("It is the practical guide for the army always to heed the directions of the party")]
  table = BleuReference(refs, 5)
  assert table.sentence_bleu(hyp1, 4) == pytest.approx(0.5045, abs=1e-4)
  assert table.sentence_bleu(hyp2, 4) == pytest.approx(0.0370, abs=1e-4)  # with method1
  assert table.sentence_bleu(hyp1, 5) == pytest.approx(0.3920, abs=1e-4)
  assert table.corpus_means([hyp1], [2, 3, 4]) == pytest.approx({2: 0.7453, 3: 0.6240, 4: 0.5045}, abs=1e-4)


def test_token_ids_and_words_agree():
  vocab = {w: i for i, w in enumerate(sorted(set(R1 + R2 + H)))}
  ids = lambda s: tuple(vocab[w] for w in s)  # noqa: E731
  words = bleu([H, R1], [R1, R2], 3)
  assert bleu([ids(H), ids(R1)], [ids(R1), ids(R2)], 3) == words
  assert bleu([np.array(ids(H)), list(ids(R1))], [np.array(ids(R1)), np.array(ids(R2))], 3) == words
  with pytest.raises(TypeError):
    bleu(["the cat sat"], [R1], 2)  # a bare string would be read as characters
  with pytest.raises(ValueError):
    bleu([], [R1], 2)
  with pytest.raises(ValueError):
    bleu([H], [], 2)
  with pytest.raises(ValueError):
    BleuReference([R1], 2).sentence_bleu(H, 3)


# --- Self-BLEU ---------------------------------------------------------------------------------------------


def test_self_bleu_of_identical_sentences_is_one():
  assert self_bleu([_w("a b c d")] * 4, 4) == pytest.approx(1.0, abs=1e-15)


def test_self_bleu_disjoint_vocabularies_and_disjoint_bigrams():
  # disjoint vocabularies: no unigram matches anywhere -> 0 (nltk does not smooth p1)
  assert self_bleu([_w("a b c"), _w("d e f"), _w("g h i")], 2) == 0.0
  # same words, no shared bigram: S1 = a b c, S2 = c b a, S3 = b b
  # S1 vs {S2, S3}: p1 = 3/3; bigrams (a b), (b c) nowhere -> p2 = 0.1/2; r = 3 = L -> BP 1: sqrt(0.05)
  # S2 vs {S1, S3}: the same, sqrt(0.05)
  # S3 vs {S1, S2}: b x2 clipped to 1 (one b per sentence) -> p1 = 1/2; (b b) nowhere -> p2 = 0.1/1;
  #   r = 3 > L = 2 -> BP = exp(1 - 3/2): exp(-0.5) sqrt(0.05)
  expected = math.sqrt(0.05) * (2 + math.exp(-0.5)) / 3
  assert self_bleu([_w("a b c"), _w("c b a"), _w("b b")], 2) == pytest.approx(expected)


def test_self_bleu_excludes_the_hypothesis_itself():
  # once: x y z has only p q r as reference -> 0 (it would be 1 against itself), and vice versa
  assert self_bleu([_w("x y z"), _w("p q r")], 3) == 0.0
  # twice: each copy matches the other copy (1, 1), p q r still 0 -> 2/3
  assert self_bleu([_w("x y z"), _w("x y z"), _w("p q r")], 3) == pytest.approx(2 / 3)
  # lengths too: S1 = a b (L 2), S2 = a b c d (L 4)
  # S1 vs S2: p1 = 1, p2 = 1, r = 4 (not its own 2) -> BP = exp(1 - 4/2) = exp(-1)
  # S2 vs S1: p1 = 2/4, p2 = (a b) 1/3, r = 2 < 4 -> BP 1: sqrt(1/6)
  assert self_bleu([_w("a b"), _w("a b c d")], 2) == pytest.approx((math.exp(-1) + math.sqrt(1 / 6)) / 2)


def test_self_bleu_sampling():
  rng = random.Random(3)
  sents = [[rng.randrange(6) for _ in range(rng.randrange(1, 9))] for _ in range(40)]
  # seed=None: the first k, each against the other k - 1 (Texygen's sample_size)
  assert self_bleu(sents, 3, num_hypotheses=10, seed=None) == self_bleu(sents[:10], 3)
  assert self_bleu(sents, 3, num_hypotheses=10, seed=1) == self_bleu(sents, 3, num_hypotheses=10, seed=1)
  assert self_bleu(sents, 3, num_hypotheses=TEXYGEN_SAMPLE_SIZE) == self_bleu(sents, 3)
  with pytest.raises(ValueError):
    self_bleu([_w("a b")], 2)


# --- the fast tables against the slow loops --------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_fast_matches_slow_on_random_sentences(n):
  rng = random.Random(n)
  vocab = ["a", "b", "c", "d", "e"]
  sentence = lambda: [rng.choice(vocab) for _ in range(rng.randrange(0, 9))]  # noqa: E731
  refs = [sentence() for _ in range(30)]
  hyps = [sentence() for _ in range(30)] + refs[:3]
  table = BleuReference(refs, 5)
  for h in hyps:
    assert table.sentence_bleu(h, n) == pytest.approx(_slow_sentence_bleu(refs, h, n), rel=1e-12, abs=1e-15)
  assert bleu(hyps, refs, n) == pytest.approx(np.mean([_slow_sentence_bleu(refs, h, n) for h in hyps]), rel=1e-12)
  # Self-BLEU, with repeated sentences (ties of the largest count) and repeated lengths
  sents = [sentence() for _ in range(30)] + refs[:4]
  assert self_bleu(sents, n) == pytest.approx(_slow_self_bleu(sents, n), rel=1e-12, abs=1e-15)


# --- novelty ----------------------------------------------------------------------------------------------


def test_unique_and_copied_fractions():
  gen = [_w("a b"), _w("a b"), _w("c d"), _w("e")]
  # distinct: (a b), (c d), (e) -> 3/4
  assert unique_fraction(gen) == pytest.approx(3 / 4)
  # (a b) twice and (c d) are in the training set, (e) is not -> 3/4; (a b c) does not contain-match (a b)
  assert copied_fraction(gen, [_w("a b"), _w("c d"), _w("a b c")]) == pytest.approx(3 / 4)
  assert copied_fraction(gen, [_w("a b c")]) == 0.0
  # token ids: tuples, lists and arrays of the same ids are the same sentence
  assert unique_fraction([(1, 2), [1, 2], np.array([1, 2]), (2, 1)]) == pytest.approx(2 / 4)
  assert copied_fraction([np.array([1, 2]), [3]], [(1, 2)]) == pytest.approx(1 / 2)
  with pytest.raises(ValueError):
    unique_fraction([])
