"""CAS and the data-augmentation score on generators with known answers: real digits with their own
labels (a perfect conditional generator) and real digits labelled as the next class."""
import numpy as np

from gan.metrics import digits
from gan.metrics.augmentation_score import Protocol, augmentation_scores, real_subset

PROTOCOL = Protocol(real_per_class=3, generated_per_class=40, recipe=digits.Recipe(num_steps=300))


def real_digits_of_class(shift: int):
  """A 'generator' returning train-split digits of class (k + shift) % 10 when asked for class k."""
  x_train, y_train, _, _ = digits.split_digits(PROTOCOL.recipe.seed)

  def generate(k, n):
    pool = np.flatnonzero(y_train == (k + shift) % 10)
    return x_train[np.random.default_rng(k).choice(pool, n)]
  return generate


def test_real_subset_is_stratified_fixed_and_from_the_train_split():
  x, y = real_subset(PROTOCOL)
  assert np.array_equal(np.bincount(y), [3] * 10)
  again_x, _ = real_subset(PROTOCOL)
  np.testing.assert_array_equal(x, again_x)
  x_train, _, x_test, _ = digits.split_digits(PROTOCOL.recipe.seed)
  flat = lambda a: {r.tobytes() for r in a.reshape(len(a), -1)}  # noqa: E731
  assert flat(x) <= flat(x_train) and not flat(x) & (flat(x_test) - flat(x_train))


def test_scores_of_a_perfect_and_of_a_mislabelling_generator():
  perfect, record = augmentation_scores(real_digits_of_class(0), PROTOCOL)
  wrong, _ = augmentation_scores(real_digits_of_class(1), PROTOCOL)
  assert perfect["digits_cas"] > 0.85 and wrong["digits_cas"] < 0.1  # labels shifted by one class
  for name in ("digits_real_accuracy", "digits_subset_accuracy"):  # baselines do not depend on G
    assert perfect[name] == wrong[name]
  assert perfect["digits_real_accuracy"] > 0.9 > perfect["digits_subset_accuracy"]  # 30 digits: weak
  assert perfect["digits_augmentation_gain"] > 0.05 and wrong["digits_augmentation_gain"] < -0.05
  for scores in (perfect, wrong):
    assert scores["digits_augmentation_gain"] == (scores["digits_subset_plus_generated_accuracy"]
                                                  - scores["digits_subset_accuracy"])
  assert record["generated_per_class"] == 40 and record["real_subset_per_class"] == 3
