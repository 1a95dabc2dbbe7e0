"""Tasks: ``sortN`` and ``varsortN`` for N = 2..8 and their test inputs.

``sortN`` (ISA v1): one input per weak ordering of N items. ``varsortN`` (ISA v2): the
length n (0..N) is known only at run time; one input per weak ordering of n items, for
every n, with the cells past the length absent (PAD in the arrays)."""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import numpy as np

from .isa import MAX_ITEMS, MAX_REGISTERS

MIN_ITEMS = 2
TASK_NAMES = tuple(f"sort{n}" for n in range(MIN_ITEMS, MAX_ITEMS + 1))
VARSORT_NAMES = tuple(f"varsort{n}" for n in range(MIN_ITEMS, MAX_ITEMS + 1))
ALL_TASK_NAMES = TASK_NAMES + VARSORT_NAMES
"""Every task name: the fixed sorts (``TASK_NAMES``), then the variable-length ones."""
PAD = -1
"""The value of a cell past an input's length in ``Task.inputs`` (never loaded: a fault)."""


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
    """Sort N items held in memory m0..m{N-1}, with R registers (default N + 1).

    ``variable``: the varsortN task (ISA v2): 0..N items, the length in the operand ``n``.
    """

    n: int
    """Number of items to sort (2..8); for varsortN, the most items."""
    registers: int | None = None
    """Register count R (None: N + 1, one spare as a compare-exchange needs; at most 16)."""
    variable: bool = False
    """The length is known only at run time (varsortN, ISA v2: branches allowed)."""

    def __post_init__(self):
        if not MIN_ITEMS <= self.n <= MAX_ITEMS:
            kind = "varsort" if self.variable else "sort"
            raise TaskError(f"unknown task '{kind}{self.n}' "
                            f"(known: {', '.join(ALL_TASK_NAMES)})")
        if self.registers is None:
            object.__setattr__(self, "registers", self.n + 1)
        if not 1 <= self.registers <= MAX_REGISTERS:
            raise TaskError(f"--registers must be 1..{MAX_REGISTERS}, got {self.registers}")

    @classmethod
    def from_name(cls, name: str, registers: int | None = None) -> "Task":
        """``Task.from_name("sort3")``; TaskError for an unknown name."""
        key = name.strip().lower()
        if key not in ALL_TASK_NAMES:
            raise TaskError(f"unknown task {name!r} (known: {', '.join(ALL_TASK_NAMES)})")
        variable = key.startswith("var")
        return cls(int(key[len("varsort" if variable else "sort"):]), registers, variable)

    @property
    def name(self) -> str:
        return f"{'var' * self.variable}sort{self.n}"

    @property
    def slots(self) -> int:
        """Rows of a machine state: R registers, N memory cells, one flags row."""
        return self.registers + self.n + 1

    @property
    def inputs(self) -> np.ndarray:
        """``int8[N, B]``: one column per weak ordering of N items (shared, read-only);
        varsortN: of n items for n = 0..N in turn, PAD in the cells past the length."""
        return _variable(self.n)[0] if self.variable else weak_orderings(self.n)

    @property
    def lengths(self) -> np.ndarray:
        """``int8[B]``: each input's length (N for every input of a fixed sort)."""
        return _variable(self.n)[1] if self.variable else _full_lengths(self.n)

    @property
    def expected(self) -> np.ndarray:
        """``int8[N, B]``: each input column sorted ascending (PAD past the length)."""
        return _variable(self.n)[2] if self.variable else _expected(self.n)

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


@functools.lru_cache(maxsize=None)
def _full_lengths(n: int) -> np.ndarray:
    out = np.full(weak_orderings(n).shape[1], n, dtype=np.int8)
    out.setflags(write=False)
    return out


@functools.lru_cache(maxsize=None)
def _variable(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """varsortN's (inputs, lengths, expected): every length 0..N, shortest first."""
    columns, lengths, expected = [], [], []
    for m in range(n + 1):
        ranks = weak_orderings(m) if m else np.zeros((0, 1), dtype=np.int8)
        b = ranks.shape[1]
        pad = np.full((n - m, b), PAD, dtype=np.int8)
        columns.append(np.concatenate([ranks, pad]))
        expected.append(np.concatenate([np.sort(ranks, axis=0), pad]))
        lengths.append(np.full(b, m, dtype=np.int8))
    out = tuple(np.ascontiguousarray(np.concatenate(a, axis=-1))
                for a in (columns, lengths, expected))
    for a in out:
        a.setflags(write=False)
    return out
