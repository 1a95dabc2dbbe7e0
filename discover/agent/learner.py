"""What the training loop asks of a learner, and what a learner sees of the run.

A learner (``alphazero.AlphaZeroLearner``, ``ppo.PPOLearner``) runs one iteration at a
time: ``learn(run, rng)`` plays, learns and returns a ``LearnStats`` saying what it did.
It never changes the run: it reads a ``RunView`` (the iteration, the best program so far,
whether to stop) and hands every solved program to ``RunView.offer`` the moment it finds
one (the run verifies and saves it at once); the loop counts the episodes and writes
the metrics.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Protocol

import numpy as np

from discover.kernels import Program

from .config import TrainConfig

if TYPE_CHECKING:
    from .model import Agent

__all__ = ["LearnStats", "Learner", "RunView", "episode_budget"]


@dataclass(frozen=True)
class RunView:
    """The run as a learner sees it during one iteration."""

    iteration: int
    """Iterations completed before this one."""
    best: Program | None
    """Best correct program at the start of the iteration (None: none yet)."""
    offer: Callable[..., bool]
    """``offer(program, played=0) -> bool``: hand a solved program to the hall of fame
    (True if a new best); ``played``: episodes this iteration finished before the find,
    which the run has not counted yet (it records them with the program)."""
    should_stop: Callable[[], bool]
    """True once the run must stop (time budget or Ctrl-C): cut the iteration short."""


@dataclass(frozen=True)
class LearnStats:
    """What one learner iteration did: the episodes it finished and its metrics.csv
    columns (None: not measured this iteration, an empty cell)."""

    episodes: int
    """Episodes (games) finished this iteration."""
    positions: int
    """Positions in the replay buffer (AlphaZero) or in the rollout (PPO)."""
    mean_return: float | None = None
    solved_rate: float | None = None
    mean_length: float | None = None
    policy_loss: float | None = None
    value_loss: float | None = None
    eval_return: float | None = None
    eval_length: int | None = None
    expansions: int | None = None
    """Search expansions this iteration (AlphaZero only)."""

    def metrics(self) -> dict:
        """The measured metrics.csv columns of this iteration (the loop adds the rest)."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name != "episodes" and getattr(self, f.name) is not None}


class Learner(Protocol):
    """One learner behind the training loop."""

    agent: Agent
    """The network and optimizer (checkpointed by the loop)."""

    def warm_up(self) -> None:
        """Compile its kernels before the clock starts."""

    def learn(self, run: RunView, rng: np.random.Generator) -> LearnStats:
        """One iteration: play, learn, report (never touching the run but through ``offer``)."""

    def state_dict(self) -> dict:
        """Its checkpoint entries besides the network: ``{"replay": ..., "extra": {...}}``."""

    def load_state_dict(self, payload: dict) -> None:
        """Restore from a checkpoint payload (the entries ``state_dict`` wrote)."""

    def close(self) -> None:
        """Release helper processes."""


def episode_budget(config: TrainConfig, best: Program | None) -> int | None:
    """Length budget of the next games: one below the best so far (``shrink_budget``)."""
    if config.shrink_budget and config.cost == "length" and best is not None:
        return max(len(best) - 1, 1)
    return None
