"""Searches on kernel tasks (median3, min2max4, merge2+2, Task.from_function ...): every
method reports only verified programs, the enumeration's proofs agree with an oracle
that prunes nothing, its lower bound stays admissible along correct programs, and the
same seed gives the same result.
"""

from __future__ import annotations

import numpy as np
import pytest

from discover.kernels import (CMOVS, CMP, FLAG_UNSET, LOAD, MOV, STORE, UNSET, Program, Task,
                              baseline_program, initial_state, step, verify)
from discover.search import (RandomConfig, StateBound, StochasticConfig, default_method,
                             search)
from discover.search.base import Monitor
from discover.search.enum import EnumConfig, search_enum
from discover.search.tables import EnumTables


def _moves(state, r: int, n: int) -> list[tuple[int, int, int]]:
    """Every well-formed instruction from ``state`` (no-ops included)."""
    regs = [q for q in range(r) if state[q, 0] != UNSET]
    moves = [(LOAD, q, j) for q in range(r) for j in range(n)]
    moves += [(STORE, j, q) for j in range(n) for q in regs]
    moves += [(MOV, q, s) for q in range(r) for s in regs if q != s]
    moves += [(CMP, a, b) for a in regs for b in regs]
    if state[r + n, 0] != FLAG_UNSET:
        moves += [(op, a, b) for op in CMOVS for a in regs for b in regs]
    return moves


def bfs_shortest(task: Task, max_len: int) -> int | None:
    """Oracle: shortest correct length by breadth-first search over whole machine states
    (every well-formed instruction, duplicates dropped, nothing else pruned); a kernel's
    goal is its K output cells."""
    r, n, k = task.registers, task.n, task.n_outputs
    root = initial_state(task.inputs, r)
    goal = np.ascontiguousarray(task.expected).tobytes()
    seen = {root.tobytes()}
    frontier = [root]
    for length in range(1, max_len + 1):
        nxt = []
        for st in frontier:
            for op, d, s in _moves(st, r, n):
                child = st.copy()
                step(child, op, d, s, r)
                key = child.tobytes()
                if key in seen:
                    continue
                if np.ascontiguousarray(child[r:r + k]).tobytes() == goal:
                    return length
                seen.add(key)
                nxt.append(child)
        frontier = nxt
    return None


def enum(task, **options):
    monitor = Monitor(time_limit=options.pop("time_limit", None))
    return search_enum(task, EnumConfig(**options), monitor)


# Task.from_function tasks, built once (a name is taken once per process)
SECOND4 = Task.from_function("second4", 4, lambda a: sorted(a)[1:2])
SWAP2 = Task.from_function("swap2", 2, lambda a: [a[1], a[0]])  # not symmetric
MAX2 = Task.from_function("max2", 2, lambda a: [max(a)])


def test_enum_proves_median3():
    task = Task.from_name("median3")
    result = enum(task, exact=True)
    assert result.optimal and result.stopped == "completed"
    assert len(result.program) == 12  # README figure (baseline 12 as well)
    assert result.notes["lower_bound"] == 12
    assert verify(result.program, task).correct


@pytest.mark.parametrize("task", [Task.from_name("min2max2"), SWAP2, MAX2],
                         ids=["min2max2", "swap2", "max2"])
def test_enum_proof_agrees_with_oracle(task):
    result = enum(task, exact=True)
    assert result.optimal
    assert verify(result.program, task).correct
    # no shorter program exists (the oracle prunes nothing), and this one is shortest
    assert bfs_shortest(task, len(result.program)) == len(result.program)


def test_symmetry_only_for_symmetric_tasks():
    assert Task.from_name("median5").symmetric
    assert not Task.from_name("merge2+2").symmetric
    assert EnumTables(Task.from_name("merge2+2"), 4).colmap.shape[0] == 1  # the identity
    assert EnumTables(SWAP2, 4).colmap.shape[0] == 1
    assert EnumTables(Task.from_name("median3"), 4).colmap.shape[0] == 6  # S_3


@pytest.mark.parametrize("name", ["median3", "median5", "min2max4", "top2-of-4", "merge2+2",
                                  "stablesort2", "stablesort3", "top2-of-5", "second4"])
def test_bound_admissible_along_correct_programs(name):
    """The bound of every prefix state of a correct program is at most the instructions
    that program still has (for the baseline and, where shipped, the shortest known)."""
    task = SECOND4 if name == "second4" else Task.from_name(name)
    bound = StateBound(task)
    programs = [baseline_program(task)]
    from discover.known import known_program

    known = known_program(task)
    if known is not None:
        programs.append(known)
    for program in programs:
        assert verify(program, task).correct
        state = initial_state(task.inputs, task.registers)
        code = program.code
        for i in range(len(code) + 1):
            assert bound(state) <= len(code) - i, (name, i)
            if i < len(code):
                step(state, int(code[i, 0]), int(code[i, 1]), int(code[i, 2]),
                     task.registers)


@pytest.mark.parametrize("name", ["median3", "min2max4", "merge2+2"])
def test_stochastic_finds_verified_programs(name):
    task = Task.from_name(name)
    config = StochasticConfig(seed=3, steps=20_000, chains=2)
    first = search(task, "stochastic", config)
    second = search(task, "stochastic", config)
    assert first.program is not None and verify(first.program, task).correct
    assert len(first.program) <= len(baseline_program(task))  # warm start: the baseline
    assert first.program == second.program  # same seed, same result
    assert first.explored == second.explored


def test_random_only_verified():
    task = Task.from_name("min2max2")
    result = search(task, "random", RandomConfig(seed=1, programs=200_000))
    again = search(task, "random", RandomConfig(seed=1, programs=200_000))
    assert result.program == again.program
    if result.program is not None:
        assert verify(result.program, task).correct


def test_from_function_task_through_search():
    result = search(SECOND4, "enum", EnumConfig(exact=True), time_limit=3)
    assert result.program is not None and verify(result.program, SECOND4).correct
    stochastic = search(SECOND4, "stochastic", StochasticConfig(seed=0, steps=5_000))
    assert verify(stochastic.program, SECOND4).correct
    assert default_method(SECOND4) == "stochastic"


def test_beam_refuses_kernels():
    with pytest.raises(ValueError, match="kernel tasks"):
        search(Task.from_name("median5"), "beam")
    assert default_method(Task.from_name("median5")) == "stochastic"
    assert default_method(Task.from_name("sort6")) == "beam"  # sorts unchanged


def test_enum_register_phase_program_has_k_stores():
    """The register phase's solution stores the K outputs only, and drops loads the
    outputs never need."""
    task = Task.from_name("min2max3")
    result = enum(task, exact=True)
    assert result.optimal and verify(result.program, task).correct
    stores = [row for row in result.program.code if row[0] == STORE]
    assert len(stores) == task.n_outputs
    assert Program.parse(result.program.text()) == result.program


def test_enum_identity_kernel_is_the_empty_program():
    """A task whose outputs are its inputs as they stand needs no instruction (the
    search checks the goal only after an instruction, so this is handled apart)."""
    task = Task.from_function("first3", 3, lambda a: [a[0]])
    result = enum(task)
    assert result.optimal and len(result.program) == 0
    assert verify(result.program, task).correct


def test_task_without_baseline():
    """swap2's outputs are not order statistics: no baseline. The warm start says so in
    one line; a cold start, the enumeration and the random search still run."""
    with pytest.raises(ValueError, match="cold-start"):
        search(SWAP2, "stochastic", StochasticConfig(steps=10))
    cold = search(SWAP2, "stochastic", StochasticConfig(seed=0, steps=20_000, cold_start=True))
    assert cold.program is None or verify(cold.program, SWAP2).correct
    result = search(SWAP2, "random", RandomConfig(seed=0, programs=50_000))
    assert result.program is None or verify(result.program, SWAP2).correct
    assert enum(SWAP2, exact=True).optimal
