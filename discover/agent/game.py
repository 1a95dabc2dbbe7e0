"""The agent's view of the AssemblyGame: construction, sizes, positions and their progress.

A thin adapter over ``discover.envs.make_game`` (the AssemblyGame for sortN, the VarSort
game for varsortN): it builds the environment from a TrainConfig, reads the action table,
the observed state's rows and the inputs the network observes, the most moves an episode
has (``max_moves``: the length budget, or twice it for the VarSort game, whose ``land``
moves write no instruction), and reads a position's machine state and its progress (the
shaping potential). The network's inputs are ``model.Agent``'s (its Featurizer); the
search's lower bound and the games it shares are ``selfplay.SelfPlay``'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba
import numpy as np

from discover.kernels import baseline_program
from discover.kernels import Task
from discover.kernels.jit import JIT


def _default_factory(task: Task, max_length: int, cost: str, **options):
    from discover.envs import make_game

    # The Task itself (a Task.from_function task needs no name lookup), a sort by name.
    return make_game(task.name if task.is_sort else task, registers=task.registers,
                     max_length=max_length, cost=cost, **options)


@dataclass
class GameSpec:
    """Everything the agent needs to know about one game configuration."""

    task: Task
    max_length: int
    cost: str
    factory: object = field(default=_default_factory, repr=False)
    """``factory(task, max_length, cost, **options) -> env`` (tests may pass a stand-in)."""
    observed_inputs: int | None = None
    """Test inputs the game shows (None: all); rewards always use every input."""
    network_inputs: int | None = None
    """Of the shown inputs, how many the network reads (None: all): ``network_columns``."""

    def __post_init__(self):
        env = self.make()
        self.actions = np.asarray(env.actions, dtype=np.int32)  # int32[A, 3] (op, dst, src)
        self.n_actions = len(self.actions)
        # rows of an observed state: R + N + 1 (the VarSort game adds one: active/suspended)
        self.slots = int(env.observation_space["state"].shape[0])
        self.max_moves = int(getattr(env, "max_moves", self.max_length))
        """Moves in an episode at most: the length of the network's token input."""
        # sort7 and sort8 observe a fixed subset of their inputs (the env's choice).
        columns = np.asarray(getattr(env, "observed_columns", np.arange(self.task.n_inputs)))
        self.n_inputs = len(columns)
        self.inputs = self.task.inputs[:, columns]  # int8[N, B] input ranks the network sees
        self._index = {tuple(int(v) for v in row): i for i, row in enumerate(self.actions)}
        self._expected = self.task.expected[:, columns]  # int8[K, B']: output cells only
        from discover.envs.base import evenly_spaced

        self.network_columns = evenly_spaced(self.n_inputs, self.network_inputs)
        """``int64[B'']``: the columns of a position's state the network reads."""

    @classmethod
    def from_config(cls, config, factory=None, task: Task | None = None) -> "GameSpec":
        """The spec of a TrainConfig; ``task`` (the config's task, resolved already: an
        actor process gets it pickled) saves the name lookup."""
        if task is None:
            task = Task.from_name(config.task, config.registers)
        max_length = config.max_length or default_max_length(task)
        return cls(task, max_length, config.game_cost, factory or _default_factory,
                   config.observed_inputs, config.network_inputs)

    def make(self, budget: int | None = None):
        """A new game; ``budget`` (at most max_length) shortens its episodes."""
        budget = self.max_length if budget is None else min(budget, self.max_length)
        if self.observed_inputs is None:
            return self.factory(self.task, budget, self.cost)
        return self.factory(self.task, budget, self.cost, observed_inputs=self.observed_inputs)

    def action_index(self, row) -> int:
        return self._index[tuple(int(v) for v in row)]

    def state_of(self, game, obs) -> np.ndarray:
        """``int8[S, B]``: registers, memory and flags over every test input."""
        return np.asarray(obs["state"], dtype=np.int8)

    def potential(self, state: np.ndarray) -> float:
        """Progress of a position, in [0, 1]: for each output cell j (the K of a kernel, the
        N sorted positions of a sort), the largest share of inputs on which one register or
        memory cell holds its expected value, averaged over j. 1 when solved. Used for reward shaping: the game's own reward only moves
        when a store puts a value in place, at the very end of a program."""
        return float(_potential(state[:self.task.registers + self.task.n], self._expected))

    @property
    def sees_all_inputs(self) -> bool:
        return self.n_inputs == self.task.n_inputs

    @property
    def has_bound(self) -> bool:
        """The enumerative search's lower bound applies (``prune``, ``bound_shaping``): the
        positions show every test input (a varsort task's bound is ``LengthBound``)."""
        return self.sees_all_inputs

    def warm_up(self) -> None:
        """Compile the game's kernels before any clock starts (one short game)."""
        env = self.make()
        obs, _ = env.reset(seed=0)
        snapshot = env.clone()
        mask = env.action_masks()
        if mask.any():
            env.step(int(np.flatnonzero(mask)[0]))
        env.restore(snapshot)
        self.potential(self.state_of(env, obs))


@numba.njit(**JIT)
def _potential(state, expected):
    """``state: int8[R + N, B]`` (registers and memory), ``expected: int8[K, B]`` -> [0, 1].

    Cells past an input's length (expected -1, varsortN) count for nothing."""
    rows, b = state.shape
    n = expected.shape[0]
    total = 0
    cells = 0
    for j in range(n):
        best = 0
        for r in range(rows):
            count = 0
            for i in range(b):
                count += (state[r, i] == expected[j, i]) & (expected[j, i] >= 0)
            if count > best:
                best = count
        total += best
        for i in range(b):
            cells += expected[j, i] >= 0
    return total / max(cells, 1)


def default_max_length(task: Task) -> int:
    """Instructions per episode: the sorting-network program's length (18 for sort3).

    A budget at the known baseline keeps the tree small: sort3 reached 17 in about 2
    minutes with 18 and did not within 5 with 19 (rough runs on a loaded 2-core machine).
    varsortN: the human routine's length (``kernels.networks.varsort_program``: 10, 30, 61
    ... for N = 2, 3, 4): varsort3 went from 29 to 21 in 88 s with it (one run, seed 0).
    A kernel: the env's default, its baseline program's length + N (15 for median3, 22
    for min2max4; a fallback when it has none): with the baseline's length alone (12)
    median3 found no program in 120 s (seed 0), with 15 a 13 in 3 s and a 12 in 16 s
    (``shrink_budget`` then tightens it like a sort's).
    """
    if not task.is_sort:
        from discover.envs import GameConfig

        return GameConfig(task=task).length_budget
    if task.variable:
        return len(baseline_program(Task(task.n, variable=True)))
    if task.registers < task.n + 1:  # no network program fits: the env's default budget
        return len(baseline_program(Task(task.n))) + task.n
    return len(baseline_program(task))

