"""Comparator networks and the classic program of a network (the "human" baseline)."""

from __future__ import annotations

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


def baseline_program(task: Task) -> Program:
    """The human program of a task (needs R >= N + 1): the size-optimal network's for a
    fixed sort, ``varsort_program`` for a varsort."""
    if task.variable:
        return varsort_program(task.n)
    return network_program(OPTIMAL_NETWORKS[task.n], task.n)
