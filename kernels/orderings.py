"""Test inputs of every task: the weak orderings of N items, and the task names.

A weak ordering gives each of N items a rank, ties sharing one: every input a
comparison-only routine can tell apart (ISA.md). ``sortN`` has one input per weak ordering,
``varsortN`` one per weak ordering of each length 0..N, a kernel task a subset of them.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np

from .isa import MAX_ITEMS

MIN_ITEMS = 2
TASK_NAMES = tuple(f"sort{n}" for n in range(MIN_ITEMS, MAX_ITEMS + 1))
VARSORT_NAMES = tuple(f"varsort{n}" for n in range(MIN_ITEMS, MAX_ITEMS + 1))
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
