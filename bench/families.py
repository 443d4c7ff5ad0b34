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
    """

    name: str
    atari: bool = False
    observation: str = "vector"
    behaviour: str = "final_obs"
    mujoco: bool = False

    @property
    def frame_skip(self) -> int:
        return ATARI_FRAME_SKIP if self.atari else 1


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("classic"),
        Family("mujoco", behaviour="xy", mujoco=True),  # final torso x-y (Such et al. 2017)
        Family("maze", behaviour="xy"),  # final robot x-y (Lehman & Stanley 2011)
        Family("atari", atari=True, observation="pixels", behaviour="ram"),  # Conti et al.
        Family("atari_ram", atari=True, observation="ram", behaviour="ram"),
    )
}


def family(name: str) -> Family:
    if name not in FAMILIES:
        raise ConfigError(f"unknown env family '{name}'; valid choices: {', '.join(FAMILIES)}")
    return FAMILIES[name]
