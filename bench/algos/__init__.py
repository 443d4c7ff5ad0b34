"""Algorithm implementations; importing this package registers every one of them."""

from bench.algos import sb3  # noqa: F401
from bench.algos import ga  # noqa: F401
from bench.algos import novelty  # noqa: F401
from bench.algos import es  # noqa: F401
from bench.algos import csa_es  # noqa: F401
from bench.algos import cmaes  # noqa: F401
