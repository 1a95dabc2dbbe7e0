"""The agent's view of the AssemblyGame: construction, sizes and network features.

A thin adapter over ``discover.envs.AssemblyGame``: it builds the environment from a
TrainConfig, reads the action table, and turns a position into the network's inputs (the
program so far as action tokens, the machine state over every test input).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba
import numpy as np

from discover.baselines import baseline_program
from discover.kernels import Task
from discover.kernels.interp import JIT

from .features import Featurizer


def _default_factory(task: Task, max_length: int, cost: str, **options):
    from discover.envs import AssemblyGame

    return AssemblyGame(task=task.name, registers=task.registers, max_length=max_length,
                        cost=cost, **options)


@dataclass
class GameSpec:
    """Everything the agent needs to know about one game configuration."""

    task: Task
    max_length: int
    cost: str
    factory: object = field(default=_default_factory, repr=False)
    """``factory(task, max_length, cost, **options) -> env`` (tests may pass a stand-in)."""
    observed_inputs: int | None = None
    """Test inputs the network sees (None: all); rewards always use every input."""

    def __post_init__(self):
        env = self.make()
        self.actions = np.asarray(env.actions, dtype=np.int32)  # int32[A, 3] (op, dst, src)
        self.n_actions = len(self.actions)
        self.slots = self.task.slots
        # sort7 and sort8 observe a fixed subset of their inputs (the env's choice).
        columns = np.asarray(getattr(env, "observed_columns", np.arange(self.task.n_inputs)))
        self.n_inputs = len(columns)
        self.featurizer = Featurizer(self.actions, self.task.inputs[:, columns], self.slots,
                                     self.max_length)
        self._index = {tuple(int(v) for v in row): i for i, row in enumerate(self.actions)}
        self._expected = self.task.expected[:, columns]  # int8[N, K]

    @classmethod
    def from_config(cls, config, factory=None) -> "GameSpec":
        task = Task.from_name(config.task, config.registers)
        max_length = config.max_length or default_max_length(task)
        return cls(task, max_length, config.cost, factory or _default_factory,
                   config.observed_inputs)

    def make(self, budget: int | None = None):
        """A new game; ``budget`` (at most max_length) shortens its episodes."""
        budget = self.max_length if budget is None else min(budget, self.max_length)
        if self.observed_inputs is None:
            return self.factory(self.task, budget, self.cost)
        return self.factory(self.task, budget, self.cost, observed_inputs=self.observed_inputs)

    def game(self, budget: int | None = None):
        """A cached game per budget (the search restores snapshots, so one serves all trees)."""
        key = self.max_length if budget is None else min(budget, self.max_length)
        cache = self.__dict__.setdefault("_games", {})
        if key not in cache:
            cache[key] = self.make(key)
        return cache[key]

    def action_index(self, row) -> int:
        return self._index[tuple(int(v) for v in row)]

    def state_of(self, game, obs) -> np.ndarray:
        """``int8[S, B]``: registers, memory and flags over every test input."""
        return np.asarray(obs["state"], dtype=np.int8)

    def potential(self, state: np.ndarray) -> float:
        """Progress of a position, in [0, 1]: for each sorted position j, the largest share of
        inputs on which one register or memory cell holds the j-th smallest item, averaged
        over j. 1 when solved. Used for reward shaping: the game's own reward only moves
        when a store puts a value in place, at the very end of a program."""
        return float(_potential(state, self._expected))

    @property
    def sees_all_inputs(self) -> bool:
        return self.n_inputs == self.task.n_inputs

    def bound(self, state: np.ndarray) -> int:
        """Admissible lower bound on the instructions any correct continuation of the
        position ``state: int8[S, B]`` still needs (the enumerative search's, on every test
        input: call it only when the network sees them all)."""
        bound = self.__dict__.get("_bound")
        if bound is None:
            from discover.search.bound import StateBound

            bound = self._bound = StateBound(self.task)
            self._last = (None, 0)
        if self._last[0] is not state:  # the search asks twice per position (prune, shaping)
            self._last = (state, bound(state))
        return self._last[1]

    def shaping_potential(self, bound_weight: float):
        """The potential the search shapes rewards with: ``potential``, minus
        ``bound_weight`` x ``bound`` / ``max_length`` when that weight is not 0 (and the
        positions show every test input, which the bound needs)."""
        if not bound_weight or not self.sees_all_inputs:
            return self.potential
        scale = bound_weight / self.max_length
        return lambda state: self.potential(state) - scale * self.bound(state)

    def features(self, game, obs) -> tuple[np.ndarray, np.ndarray]:
        """``(tokens int16[T], state int8[S, B])`` of the game's position."""
        return self.featurizer.tokens_of(game.program().code), self.state_of(game, obs)

    def warm_up(self) -> None:
        """Compile the game's kernels before any clock starts (one short game)."""
        from .mcts import _select

        env = self.make()
        obs, _ = env.reset(seed=0)
        snapshot = env.clone()
        mask = env.action_masks()
        if mask.any():
            env.step(int(np.flatnonzero(mask)[0]))
        env.restore(snapshot)
        self.potential(self.state_of(env, obs))
        if self.sees_all_inputs:
            self.bound(self.state_of(env, obs))  # the enum kernels behind pruning and shaping
        z = np.zeros(2)
        _select(z, z, z, 0.5, z, np.zeros(2, dtype=np.bool_), 0, 0.0, 0.0, 1.0, 19652.0, 1.25)


@numba.njit(**JIT)
def _potential(state, expected):
    """``state: int8[S, B]`` (last row flags, skipped), ``expected: int8[N, B]`` -> [0, 1]."""
    rows, b = state.shape
    n = expected.shape[0]
    total = 0
    for j in range(n):
        best = 0
        for r in range(rows - 1):
            count = 0
            for i in range(b):
                count += state[r, i] == expected[j, i]
            if count > best:
                best = count
        total += best
    return total / (n * b)


def default_max_length(task: Task) -> int:
    """Instructions per episode: the sorting-network program's length (18 for sort3).

    A budget at the known baseline keeps the tree small: sort3 reached 17 in about 2
    minutes with 18 and did not within 5 with 19 (rough runs on a loaded 2-core machine).
    """
    if task.registers < task.n + 1:  # no network program fits: the env's default budget
        return len(baseline_program(Task(task.n))) + task.n
    return len(baseline_program(task))
