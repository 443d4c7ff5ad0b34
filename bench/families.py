"""Environment families: the one place that says what a family name means.

An env config names its family (``family: mujoco``); everything that depends on the family
(frame skip, input scaling, the novelty descriptor, which budget entry applies) asks
:func:`family` instead of comparing names. The budget files have one entry per family here
(tests/test_configs.py checks it), and records carry the family's facts (``env_observation``,
``frame_skip``) so analysis, which never imports ``bench``, needs no list of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.interface import ConfigError

ATARI_FRAME_SKIP = 4


@dataclass(frozen=True)
class Family:
    """What a family of environments is.

    Attributes:
        name: the name env configs use.
        atari: built by the Atari protocol of :mod:`bench.envs` (ALE, frame skip, no-ops).
        observation: ``vector`` | ``ram`` (uint8 bytes, scaled to [-1, 1] by the nets) |
            ``pixels`` (uint8 frames, scaled to [0, 1]).
        behaviour: the novelty-search descriptor used when none is configured.
        mujoco: MuJoCo envs (their C-level warnings are routed to logging).
        fire_reset: Atari: press FIRE (then action 2) at every reset when the game's action
            set has FIRE at index 1, as the Deep GA's emulator does (uber-research/
            deep-neuroevolution gpu_implementation/neuroevolution/tf_atari.cpp:96-109) and SB3's
            AtariWrapper. Off for RAM envs: Wong et al.'s ALE v5 RAM runs press nothing.
        noop_max: Atari training episodes start with 1..noop_max random no-ops (Mnih et al.
            2015; the Deep GA, tf_atari.py:66); RAM envs none, as Wong et al.'s ALE v5 RAM
            runs (es/src/rl_es/setting.py:57-66: no wrappers).
    """

    name: str
    atari: bool = False
    observation: str = "vector"
    behaviour: str = "final_obs"
    mujoco: bool = False
    fire_reset: bool = False
    noop_max: int = 0

    @property
    def frame_skip(self) -> int:
        return ATARI_FRAME_SKIP if self.atari else 1


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("classic"),
        Family("mujoco", behaviour="xy", mujoco=True),  # final torso x-y (Such et al. 2017)
        Family("maze", behaviour="xy"),  # final robot x-y (Lehman & Stanley 2011)
        Family(
            "atari", atari=True, observation="pixels", behaviour="ram", fire_reset=True, noop_max=30
        ),
        Family("atari_ram", atari=True, observation="ram", behaviour="ram"),
    )
}


def family(name: str) -> Family:
    if name not in FAMILIES:
        raise ConfigError(f"unknown env family '{name}'; valid choices: {', '.join(FAMILIES)}")
    return FAMILIES[name]
