"""Tasks: ``sortN`` for N = 2..8 and their test inputs, one per weak ordering of N items."""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import numpy as np

from .isa import MAX_ITEMS, MAX_REGISTERS

MIN_ITEMS = 2
TASK_NAMES = tuple(f"sort{n}" for n in range(MIN_ITEMS, MAX_ITEMS + 1))


class TaskError(ValueError):
    """An unknown task name or a bad task option."""


def _set_partitions(n: int) -> list[tuple[int, ...]]:
    """Restricted growth strings of length n: every partition of n items into blocks."""
    out = []

    def grow(prefix, blocks):
        if len(prefix) == n:
            out.append(tuple(prefix))
            return
        for b in range(blocks + 1):
            grow(prefix + [b], max(blocks, b + 1))

    grow([], 0)
    return out


@functools.lru_cache(maxsize=None)
def weak_orderings(n: int) -> np.ndarray:
    """Every weak ordering of n items as ranks: ``int8[N, B]``, item-major, B = Fubini(n).

    Column b is one input: item i has rank ``out[i, b]`` in 0..k-1, ties share a rank,
    every rank in 0..k-1 is used. Columns are in lexicographic order. Built as (set
    partition) x (order of its blocks), vectorised per block count: sort8's 545,835
    inputs take a few tens of milliseconds and 4.4 MB.
    """
    by_blocks: dict[int, list] = {}
    for rgs in _set_partitions(n):
        by_blocks.setdefault(max(rgs) + 1, []).append(rgs)
    chunks = []
    for k, rows in by_blocks.items():
        labels = np.array(rows, dtype=np.int8)  # int8[M_k, N], block of each item
        orders = np.array(list(itertools.permutations(range(k))), dtype=np.int8)  # [k!, k]
        chunks.append(orders[:, labels].reshape(-1, n))  # rank = order[block]
    ranks = np.concatenate(chunks)  # int8[B, N]
    ranks = ranks[np.lexsort(ranks.T[::-1])]
    out = np.ascontiguousarray(ranks.T)
    out.setflags(write=False)
    return out


@dataclass(frozen=True)
class Task:
    """Sort N items held in memory m0..m{N-1}, with R registers (default N + 1)."""

    n: int
    """Number of items to sort (2..8)."""
    registers: int | None = None
    """Register count R (None: N + 1, one spare as a compare-exchange needs; at most 16)."""

    def __post_init__(self):
        if not MIN_ITEMS <= self.n <= MAX_ITEMS:
            raise TaskError(f"unknown task 'sort{self.n}' (known: {', '.join(TASK_NAMES)})")
        if self.registers is None:
            object.__setattr__(self, "registers", self.n + 1)
        if not 1 <= self.registers <= MAX_REGISTERS:
            raise TaskError(f"--registers must be 1..{MAX_REGISTERS}, got {self.registers}")

    @classmethod
    def from_name(cls, name: str, registers: int | None = None) -> "Task":
        """``Task.from_name("sort3")``; TaskError for an unknown name."""
        key = name.strip().lower()
        if key not in TASK_NAMES:
            raise TaskError(f"unknown task {name!r} (known: {', '.join(TASK_NAMES)})")
        return cls(int(key[len("sort"):]), registers)

    @property
    def name(self) -> str:
        return f"sort{self.n}"

    @property
    def slots(self) -> int:
        """Rows of a machine state: R registers, N memory cells, one flags row."""
        return self.registers + self.n + 1

    @property
    def inputs(self) -> np.ndarray:
        """``int8[N, B]``: one column per weak ordering of N items (shared, read-only)."""
        return weak_orderings(self.n)

    @property
    def expected(self) -> np.ndarray:
        """``int8[N, B]``: each input column sorted ascending."""
        return _expected(self.n)

    @property
    def n_inputs(self) -> int:
        return self.inputs.shape[1]

    def __str__(self) -> str:
        return self.name


@functools.lru_cache(maxsize=None)
def _expected(n: int) -> np.ndarray:
    out = np.sort(weak_orderings(n), axis=0)
    out.setflags(write=False)
    return out
