"""Gymnasium environments over the compiled interpreter (installed as ``discover.envs``).

Importing this package registers ``discover/Sort2-v0`` .. ``discover/Sort8-v0`` (the
AssemblyGame) and ``discover/VarSort2-v0`` .. ``discover/VarSort8-v0`` (the VarSort game,
ISA v2 branches):

>>> import gymnasium, discover.envs
>>> env = gymnasium.make("discover/Sort3-v0", max_length=20, cost="latency")
>>> env = gymnasium.make("discover/VarSort3-v0", max_length=24)
"""

import gymnasium

from .canonical import CanonicalError, canonicalize
from .game import (MAX_OBSERVED_INPUTS, NETWORK_LATENCY, NETWORK_LENGTH, AssemblyGame,
                   GameConfig, action_table)
from .masks import RULES, reference_mask
from .vargame import VarSortConfig, VarSortGame

ENV_IDS = tuple(f"discover/Sort{n}-v0" for n in range(2, 9))

for _n, _id in zip(range(2, 9), ENV_IDS):
    if _id not in gymnasium.registry:
        # gymnasium.make(id, **kwargs) forwards kwargs to AssemblyGame.
        gymnasium.register(id=_id, entry_point="discover.envs.game:AssemblyGame",
                           kwargs={"task": f"sort{_n}"})

VARSORT_ENV_IDS = tuple(f"discover/VarSort{n}-v0" for n in range(2, 9))

for _n, _id in zip(range(2, 9), VARSORT_ENV_IDS):
    if _id not in gymnasium.registry:
        gymnasium.register(id=_id, entry_point="discover.envs.vargame:VarSortGame",
                           kwargs={"task": f"varsort{_n}"})


def make_game(task: str, **kwargs):
    """The game of a task name: AssemblyGame for sortN, VarSortGame for varsortN (keyword
    arguments as theirs); TaskError for an unknown name."""
    from discover.kernels.tasks import Task

    if Task.from_name(task).variable:
        return VarSortGame(task=task, **kwargs)
    return AssemblyGame(task=task, **kwargs)


__all__ = ["VARSORT_ENV_IDS", "VarSortConfig", "VarSortGame", "make_game", "ENV_IDS", "MAX_OBSERVED_INPUTS", "NETWORK_LATENCY", "NETWORK_LENGTH", "RULES",
           "AssemblyGame", "CanonicalError", "GameConfig", "action_table", "canonicalize",
           "reference_mask"]
