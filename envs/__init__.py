"""Gymnasium environments over the compiled interpreter (installed as ``discover.envs``).

Importing this package registers ``discover/Sort2-v0`` .. ``discover/Sort8-v0``:

>>> import gymnasium, discover.envs
>>> env = gymnasium.make("discover/Sort3-v0", max_length=20, cost="latency")
"""

import gymnasium

from .canonical import CanonicalError, canonicalize
from .game import (MAX_OBSERVED_INPUTS, NETWORK_LATENCY, NETWORK_LENGTH, AssemblyGame,
                   GameConfig, action_table)
from .masks import RULES, reference_mask

ENV_IDS = tuple(f"discover/Sort{n}-v0" for n in range(2, 9))

for _n, _id in zip(range(2, 9), ENV_IDS):
    if _id not in gymnasium.registry:
        # gymnasium.make(id, **kwargs) forwards kwargs to AssemblyGame.
        gymnasium.register(id=_id, entry_point="discover.envs.game:AssemblyGame",
                           kwargs={"task": f"sort{_n}"})

__all__ = ["ENV_IDS", "MAX_OBSERVED_INPUTS", "NETWORK_LATENCY", "NETWORK_LENGTH", "RULES",
           "AssemblyGame", "CanonicalError", "GameConfig", "action_table", "canonicalize",
           "reference_mask"]
