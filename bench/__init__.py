"""neuroevo-bench: gradient-free and gradient-based RL under the same envs, budgets and records.

The Hydra configs ship inside the package (``bench/conf/``, package data), so an installed
``bench`` finds them from any working directory.
"""

from pathlib import Path

#: The packaged Hydra config folder: ``bench.yaml`` and the groups (``algo/``, ``env/``, ...).
CONFIG_DIR = Path(__file__).resolve().parent / "conf"
