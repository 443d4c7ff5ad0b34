"""Algorithm implementations; importing this package registers every one of them."""

from bench.algos import (
    cmaes,  # noqa: F401
    csa_es,  # noqa: F401
    es,  # noqa: F401
    ga,  # noqa: F401
    novelty,  # noqa: F401
    sb3,  # noqa: F401
)
