"""Four fake CPU devices for the device-count tests, one XLA compilation cache per test run and fast-compile
XLA flags; must run before JAX is first used."""
import fcntl
import os
import shutil
import subprocess
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Trained helper models (the digits CNN) are cached here across test processes and runs.
os.environ.setdefault("GAN_CACHE_DIR", os.path.join("/tmp", "jax_gan_test_cache"))
# Many tests (and the CLI subprocesses they start, which inherit the environment) compile the same
# programs; a persistent compilation cache shared by this run's xdist workers compiles each once. It is
# fresh for every run (keyed by xdist's run id), so a run's duration is what a new machine sees.
_RUN_ID = os.environ.get("PYTEST_XDIST_TESTRUNUID") or f"pid{os.getpid()}"
COMPILATION_CACHE = os.path.join(tempfile.gettempdir(), f"jax_gan_test_xla_{_RUN_ID}")
os.environ["JAX_COMPILATION_CACHE_DIR"] = COMPILATION_CACHE
os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0.2"
# Tests check behaviour, not speed: with LLVM's optimization off XLA compiles about a fifth faster. Set
# here (replacing any of the user's XLA_FLAGS) and inherited by the CLI subprocesses the tests start.
os.environ["XLA_FLAGS"] = "--xla_backend_optimization_level=0"
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_num_cpu_devices", 4)

# The domain classifiers of the translation families' smoke runs (tests/test_families.py `smoke_config`),
# trained as their evaluations train them and cached in GAN_CACHE_DIR.
_WARM_CLASSIFIERS = """
from gan import families
from gan.families.translation import source_and_target
from gan.metrics.domain_classifier import get_domain_classifier
from tests.test_families import smoke_config
for name in ("pix2pix", "cyclegan"):
  config = smoke_config(name)
  family = families.get(config)
  data = family.dataset(config).data
  for direction in family.directions(config):
    target = source_and_target(data, direction)[1]
    get_domain_classifier(target.name, target.train, target.train_labels, target.test, target.test_labels)
"""


# SeqGAN's full-size oracle data (the text experiments' default, experiments/common.py), sampled as a run
# samples it and cached in GAN_CACHE_DIR.
_WARM_ORACLE = """
import importlib
from gan.data import text
config = importlib.import_module("experiments.mle").get_config()
text.load(config.data)
"""


def _warm_cache(name: str, script: str) -> None:
  """Runs `script` once per machine in a subprocess with XLA's default optimization (at the tests' fast-
  compile flags the work it caches runs several times slower); one xdist worker runs it while the other
  waits on the lock; later runs find the results cached."""
  os.makedirs(os.environ["GAN_CACHE_DIR"], exist_ok=True)
  with open(os.path.join(os.environ["GAN_CACHE_DIR"], f"{name}.lock"), "w") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    subprocess.run([sys.executable, "-c", script], env={**os.environ, "XLA_FLAGS": ""}, check=True,
                   cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))), capture_output=True)


@pytest.fixture(scope="session")
def oracle_data():
  """The full-size oracle's 20,000 sequences: ~40 s with XLA's default optimization, ~4 min in a test
  process."""
  _warm_cache("oracle", _WARM_ORACLE)


@pytest.fixture(scope="session")
def translation_classifiers():
  """Trains the classifiers the translation families' CLI runs evaluate with: at the tests' fast-compile
  flags training them takes about 15 minutes, and with those flags a translation CLI run otherwise
  starts about three times faster."""
  _warm_cache("warm", _WARM_CLASSIFIERS)


def pytest_sessionfinish(session):
  if not hasattr(session.config, "workerinput"):  # the controller (or a run without xdist)
    shutil.rmtree(COMPILATION_CACHE, ignore_errors=True)
