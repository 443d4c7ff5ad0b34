"""Write bench/conf/algo/<sb3 algo>.yaml from rl-zoo3's tuned hyperparameter files.

Run once when rl-zoo3 is updated (it is not a runtime dependency)::

    pip download --no-deps -d /tmp/zoo rl-zoo3 && unzip -o /tmp/zoo/*.whl -d /tmp/zoo
    python tools/zoo_to_configs.py /tmp/zoo/rl_zoo3/hyperparams

The figures are carried over as they are. What changes is their form: rl-zoo3's Python-literal
strings (``dict(net_arch=[64, 64])``, ``nn.ReLU``) become YAML, MuJoCo ``-v4`` entries are
applied to the ``-v5`` envs this project uses, and keys this harness owns (``n_timesteps``:
the budget decides; ``env_wrapper`` / ``frame_stack``: the env factory decides) are dropped.
"""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from bench import CONFIG_DIR
from bench.registry import ALGOS, names
from bench.sb3.adapter import SB3Algorithm

ENVS = [
    "CartPole-v1", "Acrobot-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Pendulum-v1",
    "LunarLander-v3", "Hopper-v4", "HalfCheetah-v4", "Walker2d-v4", "Ant-v4", "Humanoid-v4",
    "Swimmer-v4", "InvertedPendulum-v4",
]  # fmt: skip
DROP = {"n_timesteps", "env_wrapper", "frame_stack", "callback", "normalize_kwargs"}


class _Name(str):
    """``nn.ReLU`` -> "relu" inside rl-zoo3's literal strings."""


_NAMESPACE = {
    "dict": dict,
    "nn": type("nn", (), {"ReLU": "relu", "Tanh": "tanh", "ELU": "elu", "LeakyReLU": "leaky_relu"}),
    "RMSpropTFLike": "rmsprop_tf_like",
}


def _convert(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("dict("):
        return eval(value, {"__builtins__": {}}, _NAMESPACE)  # trusted rl-zoo3 literals only
    if isinstance(value, float) and value.is_integer() and abs(value) >= 1000:
        return int(value)
    return value


def _entry(raw: dict[str, Any]) -> dict[str, Any]:
    return {k: _convert(v) for k, v in raw.items() if k not in DROP}


def main(hyperparams: Path, out: Path = CONFIG_DIR / "algo") -> None:
    version = metadata.version("stable-baselines3")
    for name in names(SB3Algorithm):  # every registered SB3 algorithm
        algo = ALGOS[name]
        title = (algo.__doc__ or name).rstrip(".")
        zoo = yaml.safe_load((hyperparams / f"{name}.yml").read_text())
        tuned: dict[str, Any] = {}
        if "atari" in zoo:
            tuned["atari"] = _entry(zoo["atari"])
        for env_id in ENVS:
            if env_id in zoo:
                tuned[env_id.replace("-v4", "-v5")] = _entry(zoo[env_id])
        doc = {"name": name, "params": dict.fromkeys(algo.hyperparameter_names()), "tuned": tuned}
        header = (
            f"# {title}.\n"
            "# params: every knob, null = tuned value below, else the stable-baselines3\n"
            f"# {version} default. Override from the command line: algo.params.learning_rate=3e-4\n"
            "# tuned: rl-zoo3 hyperparams/" + name + ".yml (figures carried over unchanged;\n"
            "# MuJoCo -v4 entries applied to -v5). Merge order: tuned[env family], tuned[env id],\n"
            "# then non-null params.\n"
        )
        text = yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=100)
        (out / f"{name}.yaml").write_text(header + text)
        print(f"wrote {out / name}.yaml ({len(tuned)} tuned entries)")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
