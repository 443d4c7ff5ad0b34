"""Algorithm implementations; importing this package registers every one of them."""

from bench.algos import sb3  # noqa: F401
