"""Four fake CPU devices for the device-count tests; must run before JAX is first used."""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Trained helper models (the digits CNN) are cached here across test processes and runs.
os.environ.setdefault("GAN_CACHE_DIR", os.path.join("/tmp", "jax_gan_test_cache"))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # noqa: E402

jax.config.update("jax_num_cpu_devices", 4)
