"""The enumerative search's admissible lower bound, on a raw machine state.

``kernels/enum/bound.py:lower_bound`` works on interned rows; ``StateBound`` interns the
rows of an ``int8[S, B]`` state (registers, memory, flags over every test input, as the
interpreter and the AssemblyGame keep it) in tables of its own and returns the bound: no
correct program continues the state with fewer instructions. The discovery agent's tree
search uses it to close positions from which no correct program fits in the episode's
length budget.
"""

from __future__ import annotations

import numpy as np

from discover.kernels import Task
from discover.kernels import enum as kenum

__all__ = ["StateBound"]


class StateBound:
    """``bound(state) -> int``: instructions any correct continuation of ``state`` needs."""

    def __init__(self, task: Task, max_rows: int = 1 << 17):
        self.task = task
        self.max_rows = max_rows
        """Interned rows kept at most (a cache: past it the tables start afresh)."""
        self._fresh()

    def _fresh(self) -> None:
        from .tables import EnumTables

        self.tables = EnumTables(self.task, 1)
        self._ids = np.zeros(self.tables.k, dtype=np.int32)  # int32[S]

    def __call__(self, state: np.ndarray) -> int:
        t = self.tables
        if t.ctr[kenum.C_ROWS] + 2 * t.m + t.k >= t.rows.shape[0]:
            if t.rows.shape[0] >= self.max_rows:
                self._fresh()
                t = self.tables
            else:
                t.grow(float("inf"))
        # Unset registers (all -1) and unset flags (all 0) intern as the rows the kernel
        # expects for them (ids 0 and 1, interned first by EnumTables).
        ids = self._ids
        t.intern_rows(state, ids)
        return t.bound(ids)
