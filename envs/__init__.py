"""Gymnasium environments over the compiled interpreter (installed as ``discover.envs``).

Importing this package registers ``discover/Sort2-v0`` .. ``discover/Sort8-v0`` (the
AssemblyGame), ``discover/VarSort2-v0`` .. ``discover/VarSort8-v0`` (the VarSort game,
ISA v2 branches), the comparison kernels (``KERNEL_ENV_IDS``: ``discover/Median3-v0``,
``discover/Min2Max4-v0``, ``discover/Top2of5-v0``, ``discover/Merge2x2-v0``,
``discover/StableSort3-v0``, ...) and ``discover/Assembly-v0``, which takes any fixed-length
task, by name or as a ``Task`` (``Task.from_function``):

>>> import gymnasium, discover.envs
>>> env = gymnasium.make("discover/Sort3-v0", max_length=20, cost="latency")
>>> env = gymnasium.make("discover/VarSort3-v0", max_length=24)
>>> env = gymnasium.make("discover/Median5-v0")
>>> from discover.kernels import Task
>>> second = Task.from_function("second4", 4, lambda a: sorted(a)[1:2])
>>> env = gymnasium.make("discover/Assembly-v0", task=second)
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

KERNEL_ENV_TASKS = {
    **{f"discover/Median{n}-v0": f"median{n}" for n in (3, 5, 7)},
    **{f"discover/Min2Max{n}-v0": f"min2max{n}" for n in range(2, 9)},
    **{f"discover/Top{k}of{n}-v0": f"top{k}-of-{n}" for k, n in ((2, 4), (2, 5), (3, 6), (4, 8))},
    **{f"discover/Merge{a}x{a}-v0": f"merge{a}+{a}" for a in (2, 3, 4)},
    **{f"discover/StableSort{n}-v0": f"stablesort{n}" for n in (2, 3, 4)},
}
"""The comparison-kernel games: env id -> task name (each an AssemblyGame on that task)."""
KERNEL_ENV_IDS = tuple(KERNEL_ENV_TASKS)

for _id, _task in KERNEL_ENV_TASKS.items():
    if _id not in gymnasium.registry:
        gymnasium.register(id=_id, entry_point="discover.envs.game:AssemblyGame",
                           kwargs={"task": _task})

if "discover/Assembly-v0" not in gymnasium.registry:
    # Any fixed-length task: gymnasium.make("discover/Assembly-v0", task=Task or name).
    gymnasium.register(id="discover/Assembly-v0", entry_point="discover.envs.game:AssemblyGame",
                       kwargs={"task": "sort3"})

for _n, _id in zip(range(2, 9), VARSORT_ENV_IDS):
    if _id not in gymnasium.registry:
        gymnasium.register(id=_id, entry_point="discover.envs.vargame:VarSortGame",
                           kwargs={"task": f"varsort{_n}"})


def make_game(task, **kwargs):
    """The game of a task (a name or a ``Task``): AssemblyGame for sortN and the kernels,
    VarSortGame for varsortN (keyword arguments as theirs); TaskError for an unknown
    name."""
    from discover.kernels.tasks import Task

    spec = task if isinstance(task, Task) else Task.from_name(task)
    if spec.variable:
        return VarSortGame(task=spec.name, **kwargs)
    return AssemblyGame(task=task, **kwargs)


__all__ = ["KERNEL_ENV_IDS", "KERNEL_ENV_TASKS", "VARSORT_ENV_IDS", "VarSortConfig", "VarSortGame", "make_game", "ENV_IDS", "MAX_OBSERVED_INPUTS", "NETWORK_LATENCY", "NETWORK_LENGTH", "RULES",
           "AssemblyGame", "CanonicalError", "GameConfig", "action_table", "canonicalize",
           "reference_mask"]
