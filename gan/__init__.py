"""A JAX/Flax GAN codebase: pure-functional players, one train step, one config per experiment."""
