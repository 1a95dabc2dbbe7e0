"""Comparator networks and the classic program of a network (the "human" baseline)."""

from __future__ import annotations

import re

import numpy as np

from .isa import CMOVG, CMP, CMPN, JE, JL, JMP, LOAD, MOV, STORE, Program
from .tasks import Task

# Size-optimal networks (fewest comparators, proven for N <= 8; Knuth TAOCP vol. 3):
# 1, 3, 5, 9, 12, 16, 19 comparators for N = 2..8.
OPTIMAL_NETWORKS: dict[int, tuple[tuple[int, int], ...]] = {
    2: ((0, 1),),
    3: ((0, 1), (1, 2), (0, 1)),
    4: ((0, 1), (2, 3), (0, 2), (1, 3), (1, 2)),
    5: ((0, 1), (3, 4), (2, 4), (2, 3), (1, 4), (0, 3), (0, 2), (1, 3), (1, 2)),
    6: ((1, 2), (4, 5), (0, 2), (3, 5), (0, 1), (3, 4), (2, 5), (0, 3), (1, 4), (2, 4),
        (1, 3), (2, 3)),
    7: ((1, 2), (3, 4), (5, 6), (0, 2), (3, 5), (4, 6), (0, 1), (4, 5), (2, 6), (0, 4),
        (1, 5), (0, 3), (2, 5), (1, 3), (2, 4), (2, 3)),
    8: ((0, 2), (1, 3), (4, 6), (5, 7), (0, 4), (1, 5), (2, 6), (3, 7), (0, 1), (2, 3),
        (4, 5), (6, 7), (2, 4), (3, 5), (1, 4), (3, 6), (1, 2), (3, 4), (5, 6)),
}

# Networks of merges, also of the fewest comparators: the shipped networks of two parts
# (p + q = N) followed by a fewest-comparator merge of the two sorted parts, found by a
# breadth-first search over the merge's 0/1 inputs (6 = 2 + 4 and 3 + 3, 7 = 3 + 4,
# 8 = 4 + 4; no other split reaches the optimal size). Comparators that commute are
# written in one order; the network beam search (discover/search/beam.py) starts from
# these too, since which compare-exchanges can be shortened depends on the network.
MERGE_NETWORKS: dict[int, tuple[tuple[tuple[int, int], ...], ...]] = {
    6: (
        ((0, 1), (2, 3), (4, 5), (2, 4), (0, 2), (3, 5), (3, 4), (1, 3), (1, 2), (2, 4),
         (3, 5), (3, 4)),
        ((0, 1), (2, 3), (4, 5), (2, 4), (0, 2), (3, 5), (3, 4), (1, 3), (2, 4), (1, 2),
         (3, 5), (3, 4)),
        ((0, 1), (1, 2), (0, 1), (3, 4), (4, 5), (2, 5), (3, 4), (0, 3), (1, 4), (1, 3),
         (2, 3), (3, 4)),
        ((0, 1), (1, 2), (0, 1), (3, 4), (4, 5), (2, 5), (3, 4), (0, 3), (1, 4), (1, 3),
         (2, 4), (2, 3)),
    ),
    7: (
        ((0, 1), (1, 2), (0, 1), (3, 4), (5, 6), (3, 5), (0, 3), (1, 3), (4, 6), (2, 6),
         (4, 5), (1, 4), (2, 4), (3, 5), (2, 3), (4, 5)),
        ((0, 1), (1, 2), (0, 1), (3, 4), (5, 6), (3, 5), (1, 3), (0, 1), (4, 6), (2, 6),
         (4, 5), (1, 4), (2, 4), (3, 5), (2, 3), (4, 5)),
    ),
    8: (
        ((0, 1), (2, 3), (0, 2), (1, 3), (1, 2), (4, 5), (6, 7), (4, 6), (0, 4), (5, 7),
         (3, 7), (5, 6), (1, 5), (1, 4), (2, 6), (2, 4), (3, 5), (3, 4), (5, 6)),
    ),
}


def network_program(network, n: int, spare: int | None = None) -> Program:
    """The program of a comparator network: N loads, 4 instructions a comparator, N stores.

    Item i lives in register ri; comparator (i, j), i < j, leaves min in ri, max in rj,
    using the spare register (default rN) for the copy a compare-exchange needs.
    """
    spare = n if spare is None else spare
    rows = [(LOAD, i, i) for i in range(n)]
    for i, j in network:
        rows += [(MOV, spare, i), (CMP, i, j), (CMOVG, i, j), (CMOVG, j, spare)]
    rows += [(STORE, i, i) for i in range(n)]
    return Program.from_instructions(rows)


def varsort_program(n: int, networks=None) -> Program:
    """The human routine of varsortN (ISA v2): branch on the length to the network program
    of that length (``networks[m]``, default the size-optimal one), nothing for n < 2.

    ``cmp n, 2; jl end; je sort2; cmp n, 3; je sort3 ...``, then the network of N, the
    others longest first, each ending with ``jmp end`` (the last falls through to it).
    """
    networks = OPTIMAL_NETWORKS if networks is None else networks
    blocks = {m: network_program(networks[m], m, spare=n).code.tolist()
              for m in range(2, n + 1)}
    order = list(range(n, 1, -1))  # the blocks, laid out in this order
    dispatch = [[CMPN, 0, 2], [JL, -1, 0]]  # -1: the end, -m: block m, patched below
    for m in range(2, n):
        if m > 2:
            dispatch.append([CMPN, 0, m])
        dispatch.append([JE, -m, 0])
    rows, start = list(dispatch), {}
    for m in order:
        start[m] = len(rows)
        rows += blocks[m]
        if m != order[-1]:
            rows.append([JMP, -1, 0])
    for row in rows:
        if row[0] in (JMP, JL, JE) and row[1] < 0:
            row[1] = len(rows) if row[1] == -1 else start[-row[1]]
    return Program.from_instructions(rows)


# Median selection networks (Devillard, "Fast median search", 1998, after Paeth): 3, 7 and 13
# comparators; the median ends on the middle wire.
MEDIAN_NETWORKS: dict[int, tuple[tuple[int, int], ...]] = {
    3: ((0, 1), (1, 2), (0, 1)),
    5: ((0, 1), (3, 4), (0, 3), (1, 4), (1, 2), (2, 3), (1, 2)),
    7: ((0, 5), (0, 3), (1, 6), (2, 4), (0, 1), (3, 5), (2, 6), (2, 3), (3, 6), (4, 5), (1, 4),
        (1, 3), (3, 4)),
}


def selection_program(network, n: int, outputs, payload: int = 0) -> Program:
    """The program of a comparator network that computes only some of its wires: wire i in
    ri, output cell c stored from wire ``outputs[c]``, the spare r{N} (N = n + payload).

    Comparators are pruned backwards from the outputs: one whose two wires are both read
    later is a compare-exchange (4 instructions), one of whose wires only the min (or the
    max) is read later keeps just that half (``cmp ri, rj; cmovg ri, rj``: 2), the others
    go. Only the items some kept comparator or output reads are loaded.

    ``payload`` > 0: wires 0..n-1 are keys and cell n + i holds key i's payload, which
    every comparator moves with its key (3 more instructions, never pruned): a stable sort
    when the network's comparators are adjacent.
    """
    if payload:
        needed = set(range(n))
        kept = [(i, j, True, True) for i, j in network]
    else:
        needed, kept = set(outputs), []
        for i, j in reversed(network):
            lo, hi = i in needed, j in needed
            if lo or hi:
                kept.append((i, j, lo, hi))
                needed |= {i, j}
        kept.reverse()
    spare = n + payload
    cells = sorted(needed) + [n + i for i in range(payload)]
    rows = [(LOAD, c, c) for c in cells]
    for i, j, lo, hi in kept:
        if lo and hi:
            rows += [(MOV, spare, i), (CMP, i, j), (CMOVG, i, j), (CMOVG, j, spare)]
            if payload:
                rows += [(MOV, spare, n + i), (CMOVG, n + i, n + j), (CMOVG, n + j, spare)]
        elif lo:
            rows += [(CMP, i, j), (CMOVG, i, j)]
        else:
            rows += [(CMP, i, j), (CMOVG, j, i)]
    if payload:
        rows += [(STORE, c, c) for c in range(n + payload)]
    else:
        rows += [(STORE, c, wire) for c, wire in enumerate(outputs)]
    return Program.from_instructions(rows)


def odd_even_merge(a: int, b: int) -> tuple[tuple[int, int], ...]:
    """Batcher's odd-even merge of sorted wires 0..a-1 and a..a+b-1: both halves padded to
    a power of two P, the first with -inf in front, the second with +inf behind, and the
    comparators that touch padding dropped (they never swap)."""
    size = 1
    while size < max(a, b):
        size *= 2
    out = []

    def merge(lo, length, step):
        twice = 2 * step
        if twice < length:
            merge(lo, length, twice)
            merge(lo + step, length, twice)
            out.extend((i, i + step) for i in range(lo + step, lo + length - step, twice))
        else:
            out.append((lo, lo + step))

    merge(0, 2 * size, 1)
    shift = size - a  # wire w of the padded layout is wire w - shift of the task
    real = range(shift, shift + a + b)
    return tuple((i - shift, j - shift) for i, j in out if i in real and j in real)


def min2max_network(n: int) -> tuple[tuple[tuple[int, int], ...], tuple[int, int]]:
    """The tournament for the minimum and the maximum (ceil(3N/2) - 2 comparators): pairs
    (0, 1), (2, 3), ...; the minimum of the even wires (and a last odd wire) into wire 0,
    then the maximum of the odd wires (and that last wire) into the last of them. Returns
    (network, (min wire, max wire))."""
    pairs = [(i, i + 1) for i in range(0, n - 1, 2)]
    low = list(range(0, n, 2))
    high = list(range(1, n, 2)) + ([n - 1] if n % 2 else [])
    network = pairs + [(0, w) for w in low[1:]] + list(zip(high, high[1:]))
    return tuple(network), (0, high[-1])


def order_statistics(task: Task) -> list[int] | None:
    """For each output cell, the rank s such that it always holds the (s+1)-th smallest
    input item, or None when some output is not an order statistic."""
    ranks = np.sort(task.inputs, axis=0)
    picks = []
    for row in task.expected:
        match = [s for s in range(task.n) if np.array_equal(ranks[s], row)]
        if not match:
            return None
        picks.append(match[0])
    return picks


def baseline_program(task: Task) -> Program:
    """The human program of a task (needs R >= N + 1): the size-optimal network's for a
    fixed sort, ``varsort_program`` for a varsort; for a kernel, a known construction:
    the tournament for min2maxN, Batcher's merge for mergeA+B, the insertion network
    carrying payloads for stablesortN, the median selection networks for medianN (pruned
    like the others), and otherwise (top-k, any task whose outputs are order statistics)
    the size-optimal sorting network pruned to the outputs.
    ValueError for a task with none."""
    if task.variable:
        return varsort_program(task.n)
    if task.is_sort:
        return network_program(OPTIMAL_NETWORKS[task.n], task.n)
    name, n = task.name, task.n
    if re.fullmatch(r"min2max\d+", name):
        network, wires = min2max_network(n)
        return selection_program(network, n, wires)
    merge = re.fullmatch(r"merge(\d+)\+(\d+)", name)
    if merge:
        return selection_program(odd_even_merge(int(merge[1]), int(merge[2])), n, range(n))
    if re.fullmatch(r"stablesort\d+", name):
        keys = n // 2
        insertion = [(j - 1, j) for i in range(1, keys) for j in range(i, 0, -1)]
        return selection_program(insertion, keys, range(keys), payload=keys)
    median = re.fullmatch(r"median(\d+)", name)
    if median and n in MEDIAN_NETWORKS:
        return selection_program(MEDIAN_NETWORKS[n], n, [n // 2])
    picks = order_statistics(task) if task.n >= 2 else None
    if picks is None:
        raise ValueError(f"task {name!r} has no baseline construction (its outputs are "
                         f"not order statistics of the inputs)")
    return selection_program(OPTIMAL_NETWORKS[n], n, picks)
