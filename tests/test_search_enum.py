"""Enumerative search: shortest programs, proofs, --all, tie-break, stops.

The proofs are checked against an independent oracle (breadth-first search over machine
states with no pruning and no bound) where that oracle is small enough to run.
"""

from __future__ import annotations

import numpy as np
import pytest

from discover.kernels import (CMOVS, CMP, FLAG_UNSET, LOAD, MOV, STORE, UNSET, Program, Task,
                              initial_state, latency_estimate, step, verify)
from discover.kernels import enum as kenum
from discover.search.base import Monitor
from discover.search.enum import EnumConfig, search_enum
from discover.search.tables import EnumTables


def _well_formed_moves(state, r: int, n: int) -> list[tuple[int, int, int]]:
    """Every well-formed instruction from ``state`` (no read of an unset register, no cmov
    before a cmp), no-ops included."""
    regs_set = [q for q in range(r) if state[q, 0] != UNSET]
    moves = [(LOAD, q, j) for q in range(r) for j in range(n)]
    moves += [(STORE, j, q) for j in range(n) for q in regs_set]
    moves += [(MOV, q, s) for q in range(r) for s in regs_set if q != s]
    moves += [(CMP, a, b) for a in regs_set for b in regs_set]
    if state[r + n, 0] != FLAG_UNSET:
        moves += [(op, a, b) for op in CMOVS for a in regs_set for b in regs_set]
    return moves


def bfs_shortest(task: Task, max_len: int) -> int | None:
    """Oracle: shortest correct length by breadth-first search over whole machine states
    (every well-formed instruction, duplicates dropped, nothing else pruned)."""
    r, n = task.registers, task.n
    root = initial_state(task.inputs, r)
    goal = task.expected.tobytes()
    seen = {root.tobytes()}
    frontier = [root]
    for length in range(1, max_len + 1):
        nxt = []
        for st in frontier:
            for op, d, s in _well_formed_moves(st, r, n):
                child = st.copy()
                step(child, op, d, s, r)
                key = child.tobytes()
                if key in seen:
                    continue
                if child[r:r + n].tobytes() == goal:
                    return length
                seen.add(key)
                nxt.append(child)
        frontier = nxt
    return None


def run(task, **options):
    monitor = Monitor(time_limit=options.pop("time_limit", None))
    return search_enum(task, EnumConfig(**options), monitor), monitor


@pytest.mark.parametrize("registers", [2, 3])
def test_sort2_optimum_matches_oracle(registers):
    """R = 3 descends from the network baseline; R = 2 (no baseline) ascends."""
    task = Task(2, registers)
    result, monitor = run(task)
    assert result.program is not None and verify(result.program, task).correct
    assert len(result.program) == bfs_shortest(task, 10)
    assert result.optimal and result.stopped == "completed"
    assert result.notes["lower_bound"] == len(result.program)
    assert monitor.best == result.program
    assert result.compile_time > 0 and result.search_time >= 0


def test_sort3_finds_17_and_proves_16_impossible():
    task = Task(3)
    result, _ = run(task)
    assert verify(result.program, task).correct
    assert len(result.program) == 17
    assert result.optimal  # every program of 16 or fewer instructions was ruled out
    assert result.notes["lower_bound"] == 17
    assert result.stopped == "completed"
    assert result.time_to_first is not None and result.time_to_best >= result.time_to_first


def test_max_length_below_optimum_finds_nothing_and_proves_it():
    result, _ = run(Task(2), max_length=7)
    assert result.program is None
    assert not result.optimal
    assert result.notes["lower_bound"] == 8  # 7 was searched exhaustively
    assert result.stopped == "completed"


def test_all_returns_distinct_correct_optimal_programs():
    task = Task(2)
    result, _ = run(task, all=True)
    assert result.optimal and result.notes["enumeration_complete"]
    programs = result.programs
    assert len(programs) > 1
    assert len({p.code.tobytes() for p in programs}) == len(programs)
    for program in programs:
        assert len(program) == 8
        assert verify(program, task).correct
    assert result.program in programs


def test_latency_tie_break_returns_the_fastest_optimal_program():
    task = Task(2)
    every, _ = run(task, all=True)
    fastest, _ = run(task, tie_break="latency")
    latency = lambda p: latency_estimate(p.code, task.n, task.registers)  # noqa: E731
    assert fastest.optimal and len(fastest.program) == 8
    assert verify(fastest.program, task).correct
    assert latency(fastest.program) == min(latency(p) for p in every.programs)


def test_memory_limit_stops_cleanly_with_best_so_far():
    task = Task(4)
    result, _ = run(task, memory_limit_gb=0.008)
    assert result.stopped == "memory limit"
    assert not result.optimal
    assert result.program is not None and verify(result.program, task).correct
    assert "memory limit" in result.notes["message"]


def test_time_limit_stops_with_best_so_far():
    task = Task(4)
    result, _ = run(task, time_limit=0.5)
    assert result.stopped == "time limit"
    assert not result.optimal
    assert result.program is not None and len(result.program) <= 28
    assert verify(result.program, task).correct


def test_bad_config_is_rejected():
    with pytest.raises(ValueError, match="tie_break"):
        run(Task(2), tie_break="speed")
    with pytest.raises(ValueError, match="max_length"):
        run(Task(2), max_length=0)


def _states_along(program: Program, task: Task):
    """Machine state after each prefix, as the row ids the kernel uses."""
    tables = EnumTables(task, len(program))
    state = initial_state(task.inputs, task.registers)
    yield tables, state.copy()
    for op, dst, src in program:
        step(state, op, dst, src, task.registers)
        yield tables, state.copy()


def _assert_bound_admissible_along(program: Program, task: Task) -> None:
    """At every prefix of a correct program the bound is at most what the program has left."""
    for k, (tables, state) in enumerate(_states_along(program, task)):
        ids = np.array([tables.intern(row) for row in state], dtype=np.int32)
        bound = tables.bound(ids)
        assert bound <= len(program) - k, f"bound {bound} after {k} instructions"


@pytest.mark.parametrize("path", ["sort3", "search"])
def test_lower_bound_is_admissible_along_a_program(path):
    """At every prefix of a correct program, the bound never exceeds what is left."""
    task = Task(3)
    if path == "sort3":
        from importlib import resources
        program = Program.parse(resources.files("discover").joinpath("known/sort3.asm").read_text())
    else:
        program = run(task, time_limit=0.5)[0].program  # found by the fast phase
    _assert_bound_admissible_along(program, task)


def test_symmetric_states_share_a_key():
    """Register phase: renaming registers or permuting the items gives the same key."""
    task = Task(3)
    tables = EnumTables(task, 4, reg_only=True)
    keys = []
    for text in (["cmp r0, r1"], ["cmp r1, r2"], ["cmp r0, r2"], ["mov r3, r0"]):
        state = initial_state(task.inputs, task.registers)
        for op, dst, src in Program.from_instructions(["mov r0, m0", "mov r1, m1",
                                                       "mov r2, m2"] + text):
            step(state, op, dst, src, task.registers)
        ids = np.array([tables.intern(row) for row in state], dtype=np.int32)
        keys.append(tables.keys(ids, tables.canon[0]))
    assert keys[0] == keys[1] == keys[2]
    assert keys[3] != keys[0]


@pytest.mark.parametrize("registers", [2, 3])
def test_lower_bound_is_admissible_on_every_shortest_sort2_program(registers):
    """Every state on any shortest sort2 program (found by an unpruned breadth-first search
    with exact distances to the goal) gets a bound no larger than its true distance.
    This covers each term of the bound, the sorted-row cover ones included."""
    task = Task(2, registers)
    r, n = task.registers, task.n
    length = bfs_shortest(task, 10)
    root = initial_state(task.inputs, r)
    goal = task.expected.tobytes()
    levels = [{root.tobytes(): root}]
    children = {}
    for _ in range(length):
        nxt = {}
        for key, st in levels[-1].items():
            kids = set()
            for op, d, s in _well_formed_moves(st, r, n):
                child = st.copy()
                step(child, op, d, s, r)
                ck = child.tobytes()
                kids.add(ck)
                nxt.setdefault(ck, child)
            children[key] = kids
        levels.append(nxt)
    # exact distance to the goal within the remaining length, from the last level back
    dist = {}
    for level in range(length, -1, -1):
        for key, st in levels[level].items():
            if st[r:r + n].tobytes() == goal:
                dist[key] = min(dist.get(key, 0), 0)
            elif level < length:
                best = min((dist[c] for c in children[key] if c in dist), default=None)
                if best is not None and best + 1 <= length - level:
                    dist[key] = min(dist.get(key, 1 << 30), best + 1)
    tables = EnumTables(task, length)
    checked = 0
    for level in range(length + 1):
        for key, st in levels[level].items():
            if dist.get(key) != length - level:
                continue  # not on a shortest program from the root at this depth
            ids = np.array([tables.intern(row) for row in st], dtype=np.int32)
            bound = tables.bound(ids)
            assert bound <= length - level, f"bound {bound} > {length - level} at depth {level}"
            checked += 1
    assert checked > length  # several shortest programs were walked


@pytest.mark.parametrize("n", [3, 4])
def test_lower_bound_is_admissible_along_network_programs(n):
    """Any correct program bounds the distance from each of its prefixes: the bound (its
    helper-row cmov terms included) must never exceed what that program still uses."""
    from discover.kernels import baseline_program
    task = Task(n)
    program = baseline_program(task)
    _assert_bound_admissible_along(program, task)


def test_helper_rows_raise_the_sort3_root_bound():
    """At the root no sorted row can be made by one cmov from the inputs or the other
    sorted rows, and no single helper row serves both min and max: 2 helper cmovs."""
    task = Task(3)
    assert EnumTables(task, 17).root_bound() == 14  # 13 without the helper-row terms


def _random_states(task: Task, count: int, seed: int):
    """States after a prefix of the network program then up to four random well-formed
    instructions: near a correct program (where the helper-row terms matter) and off it."""
    from discover.kernels import baseline_program
    rng = np.random.default_rng(seed)
    r, n = task.registers, task.n
    network = baseline_program(task).code
    for _ in range(count):
        state = initial_state(task.inputs, r)
        for op, dst, src in network[: int(rng.integers(0, len(network) + 1))]:
            step(state, op, dst, src, r)
        for _ in range(int(rng.integers(0, 5))):
            moves = _well_formed_moves(state, r, n)
            op, dst, src = moves[int(rng.integers(len(moves)))]
            step(state, op, dst, src, r)
        yield state


def _loads_reference(state, task: Task) -> int:
    """The bound's load term, input by input: the most values one input needs in a wrong
    cell that no register holds; -1 if a needed value is held nowhere."""
    r, n, expected = task.registers, task.n, task.expected
    most = 0
    for b in range(task.n_inputs):
        need = {int(expected[j, b]) for j in range(n) if state[r + j, b] != expected[j, b]}
        have = {int(v) for v in state[:r, b] if v != UNSET}
        if need - have - set(state[r:r + n, b].tolist()):
            return -1
        most = max(most, len(need - have))
    return most


def _helpers_reference(state, task: Task) -> int:
    """The bound's helper-row cmovs (see kernels/enum/bound.py:_helper_cmovs), row by row."""
    from itertools import combinations
    r, n, expected = task.registers, task.n, task.expected
    held = list({state[s].tobytes(): state[s] for s in range(r + n) if state[s, 0] != UNSET}
                .values())
    need = [j for j in range(n) if not any(np.array_equal(y, expected[j]) for y in held)]

    def made(rows, j):  # one cmov can merge two of these rows into sorted row j
        return any(np.all((a == expected[j]) | (b == expected[j]))
                   for a, b in combinations(rows, 2))

    covered = [j for j in need if made(held, j)]
    if len(covered) == len(need):
        return 0
    hard = [j for j in need if j not in covered
            and not made(held + [expected[k] for k in need if k != j], j)]
    if not hard:
        return 0 if covered else 1
    if task.n_inputs > kenum._HELPER_MAX_INPUTS:
        return 1
    rows = held + list(expected)
    for j, k in combinations(hard, 2):
        share = any(not np.any((y != expected[j]) & (y2 != expected[k])
                               & (expected[j] != expected[k]))
                    for y in rows if not np.array_equal(y, expected[j])
                    for y2 in rows if not np.array_equal(y2, expected[k]))
        if not share:
            return 2
    return 1


@pytest.mark.parametrize("n", [3, 4])
def test_mask_terms_of_the_bound_match_a_row_by_row_reference(n):
    """The disagreement masks hold what they claim, and the load and helper-row terms
    worked on them (64 inputs a word; sort4 takes two words and padding) equal the same
    terms computed input by input and row by row on random states."""
    task = Task(n)
    r = task.registers
    tables = EnumTables(task, 4)
    ys = np.zeros(r + 2 * n, dtype=np.int64)
    dw = np.zeros((r + 2 * n) * tables.dis.shape[2], dtype=np.uint64)
    helpers_seen = set()
    for state in _random_states(task, 150, seed=n):
        ids = np.array([tables.intern(row) for row in state], dtype=np.int32)
        assert kenum._loads(ids, tables.dis, tables.sorted_ids, r, n, 0) == _loads_reference(
            state, task)
        helpers = kenum._helper_cmovs(ids, tables.dis, tables.sorted_ids, r + n, 0, 1 << 30,
                                      task.n_inputs <= kenum._HELPER_MAX_INPUTS, ys, dw)
        assert helpers == _helpers_reference(state, task)
        helpers_seen.add(int(helpers))
    rows = tables.rows[: tables.ctr[kenum.C_ROWS]]
    differs = rows[:, None, :] != task.expected[None, :, :]  # [rows, N, B]
    packed = np.packbits(differs, axis=2, bitorder="little")
    width = tables.dis.shape[2] * 8
    packed = np.pad(packed, ((0, 0), (0, 0), (0, width - packed.shape[2])))
    assert np.array_equal(tables.dis[: len(rows)], packed.view(np.uint64))
    assert helpers_seen == {0, 1, 2}  # the random states reach every case
