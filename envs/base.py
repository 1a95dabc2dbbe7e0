"""What the two AssemblyGames share (``game.AssemblyGame``, ``vargame.VarSortGame``): a
game is one ``uint8`` buffer that the compiled core reads and writes, carved into named
views; the env calls ``_game_step``, and snapshots, masks and observations are views of it.

A subclass sets the meta indices it uses (``_M_TERMINATED``, ``_M_TRUNCATED``,
``_M_LENGTH``, ``_M_SOLVED``, ``_M_COST``), carves ``self._buffer`` and defines
``_game_step(action) -> (reward, terminated, truncated, solved, length, illegal)``,
``_observation()`` and ``program()``.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

__all__ = ["BufferGame", "evenly_spaced"]


def evenly_spaced(count: int, limit: int | None) -> np.ndarray:
    """``int64[K]``: ``limit`` evenly spaced indices of ``range(count)``, first and last
    included (all of them when ``limit`` is None or not smaller): the inputs a game shows
    when it cannot show every one, and the ones the agent's network reads."""
    if limit is None or limit >= count:
        return np.arange(count, dtype=np.int64)
    return np.unique(np.linspace(0, count - 1, limit).round().astype(np.int64))


class BufferGame(gym.Env):
    """The part of an AssemblyGame that does not depend on the ISA it writes."""

    _M_TERMINATED: int
    _M_TRUNCATED: int
    _M_LENGTH: int
    _M_SOLVED: int
    _M_COST: int

    def _ended(self) -> bool:
        return bool(self._meta[self._M_TERMINATED] or self._meta[self._M_TRUNCATED])

    def advance(self, action) -> tuple[float, bool, bool]:
        """``step()`` without building the observation and info: ``(reward, terminated,
        truncated)``. For tree search; ``observation()``, ``action_masks()`` and the
        properties (``solved``, ``length``) read the position when needed."""
        if self._ended():
            raise RuntimeError("advance() after the episode ended; call reset()")
        reward, terminated, truncated, _, _, _ = self._game_step(int(action))
        return reward, terminated, truncated

    def observation(self) -> dict:
        """The current observation (fresh copies), as ``reset``/``step`` return it."""
        return self._observation()

    def render(self):
        if self.render_mode == "ansi":
            return self.program_text()
        return None

    def action_masks(self) -> np.ndarray:
        """``bool[A]``: True where the move is allowed (a fresh copy)."""
        return self._mask.copy()

    def legal_actions(self) -> np.ndarray:
        """``int64[k]``: indices of the allowed moves."""
        return np.flatnonzero(self._mask)

    # --- tree search --------------------------------------------------------------------

    def clone(self) -> np.ndarray:
        """A snapshot of the whole game (``uint8`` array, one copy); see ``restore``."""
        return self._buffer.copy()

    def restore(self, snapshot: np.ndarray) -> None:
        """Put the game back to a snapshot from ``clone()`` of this (or an equal) game."""
        if snapshot.shape != self._buffer.shape or snapshot.dtype != np.uint8:
            raise ValueError("snapshot does not belong to a game of this configuration")
        np.copyto(self._buffer, snapshot)

    # --- the position ---------------------------------------------------------------------

    def program_text(self) -> str:
        """The program so far in ``.asm`` form."""
        return self.program().text()

    @property
    def length(self) -> int:
        """Instructions written so far."""
        return int(self._meta[self._M_LENGTH])

    @property
    def cost(self) -> int:
        """Cost charged at the end (length or latency estimate); 0 until solved."""
        return int(self._meta[self._M_COST])

    def _carve_views(self) -> None:
        """Make the state arrays views of ``self._buffer`` (after init and unpickling)."""
        for name, dtype, shape, offset in self._layout:
            size = np.dtype(dtype).itemsize * int(np.prod(shape))
            setattr(self, "_" + name,
                    self._buffer[offset:offset + size].view(dtype).reshape(shape))
