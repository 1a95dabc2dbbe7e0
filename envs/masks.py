"""The AssemblyGame's action-mask rules, and a plain-Python reference for them.

The game (``kernels/game.py``) builds masks incrementally in compiled code; ``reference_mask``
recomputes the same mask from the program alone with plain numpy, and the tests check the two
agree move by move on random games (differential testing).

Every mask excludes ill-formed moves (``Program.check``): a read of a register never
written (a cmov reads its destination too), a cmov before any cmp. The rules below are
per role of an opcode (``kernels/isa.py``: ROLE, derived from the opcode table); an
opcode of no known role is allowed whenever it is well-formed, unless it writes nothing
(then NO_NOOP masks it).

With pruning, the rules and why a best program survives them (its canonical form, see
``canonical.py``, obeys every rule; the tests play the best known programs):

``LOADS_IN_ORDER``
    loads read m0, m1, ..., m{N-1} in this order, each once (AlphaDev: memory read in
    increasing order, each location once). A correct program reads every cell (an input
    value never read cannot reach the output), so "in increasing order, once" means exactly
    this sequence. Reading each cell once and in order is AlphaDev's assumption: it holds in
    canonical form when the loads are independent (``canonicalize`` reorders them and says
    so when register reuse forbids it). A program that re-loads a cell instead of keeping a
    copy in a register is outside the game unless ``read_once=False``, which allows loading
    again a cell not yet stored (first loads still in order; a re-load into a register that
    holds the value already is a no-op). Of 33,844 shortest sort3 programs (17
    instructions) enumerated by ``discover search --method enum --all``, 30,100 are played
    by the default game after ``canonicalize``; the other 3,744 re-load m2.
``STORE_ONCE_AFTER_LOAD``
    a cell is stored at most once and only after its load. A store before the cell's load
    destroys an input value for good (no correct program does it), and of two stores to one
    cell with no load between, the first is dead.
``STRICT_STORES`` (option ``strict_stores``)
    a store must put the cell's sorted value in place for every input: the cell is never
    written again, so any other store leaves the program incorrect.
``FIRST_WRITE_ORDER``
    the first write to a register goes to the lowest register not yet written. Registers
    are interchangeable, so renaming them in order of first write gives an equivalent
    program of the same length that obeys the rule.
``CMP_ORDERED``
    ``cmp rA, rB`` only with A < B: ``cmp rB, rA`` is the same move with the conditions of
    its cmovs swapped (l <-> g, le <-> ge).
``NO_CMP_AFTER_CMP``
    no two compares in a row (AlphaDev): the first one's flags are never read.
``NO_NOOP``
    no mov or cmov that changes no register on any input, no cmp whose flags equal the
    current flags on every input or whose operands are equal on every input (its cmovs are
    then movs or nothing); deleting such a move keeps the program equivalent and shorter.
``CMOV_NOT_MOV``
    no cmov that fires on every input where its registers differ: it is a mov, same length.
``NO_DEAD_END`` (option ``dead_ends``)
    no write to a register that is, on some input where the write changes it, the only
    holder of a value that an unstored cell still needs (holders: registers and cells a
    later load may read). Values are only ever copied, so a lost value never comes back
    and no correct program passes through such a move.

Kernel tasks (``Task.kernel``: K output cells m0..m{K-1}, the rest scratch) follow the
same rules with "sorted value" read as "expected output": stores go to output cells only
(a stored cell is never loaded again, so a value put in scratch could never be read
back), only unstored output cells not yet right on every input need values, and an input
cell the outputs do not depend on (``optional_cells``; none in the built-in kernels) may
be skipped by the loads and stored without being loaded.

Together: every optimal program of the unpruned game whose loads can be ordered and that
reads each cell once has an equivalent program of the same length that the pruned game
accepts move by move.
"""

from __future__ import annotations

import functools

import numpy as np

from discover.kernels import COND_MASK, OPCODES, Program, Task, initial_state, step
from discover.kernels.isa import (REG, ROLE, ROLE_CMOV, ROLE_CMP, ROLE_LOAD, ROLE_MOV,
                                  ROLE_STORE)

def optional_cells(task: Task) -> int:
    """Bitmask of the input cells a correct program of ``task`` need not read: cell i
    such that every output not already in place at the start (m_j holding its expected
    value on every input) is, on every input, a value of the other items that depends on
    their values alone. 0 for a sort and the built-in kernels (every item matters); e.g.
    ``Task.from_function("second-of-rest", 3, lambda a: sorted(a[1:])[:1])`` has cell 0
    optional."""
    return _optional_cells(task.kernel) if task.kernel is not None else 0


@functools.lru_cache(maxsize=None)
def _optional_cells(kernel) -> int:
    inputs = kernel.inputs.astype(np.int64)  # int64[N, B]
    expected = kernel.expected.astype(np.int64)  # int64[K, B]
    live = [j for j in range(kernel.n_outputs) if not np.array_equal(expected[j], inputs[j])]
    mask = 0
    weights = 8 ** np.arange(kernel.n - 1, dtype=np.int64)  # ranks are 0..7: base-8 keys
    for i in range(kernel.n):
        x = inputs[i]
        others = np.delete(inputs, i, axis=0)  # int64[N-1, B]
        alone = ~(others == x).any(axis=0)  # x_i's value held by no other item
        if any(np.any((expected[j] == x) & alone) for j in live):
            continue  # some output is x_i itself, which no other item holds
        dense = others - ((x < others) & alone)  # the others' ranks among themselves
        groups = np.unique(weights @ dense, return_inverse=True)[1].reshape(-1)
        ok = True
        for j in live:
            value = expected[j]
            rank = value - ((x < value) & alone)  # the output as a rank among the others
            if np.unique(groups * 8 + rank).shape[0] != groups.max() + 1:
                ok = False  # two inputs with the same other items want different outputs
                break
        if ok:
            mask |= 1 << i
    return mask


RULES = ("LOADS_IN_ORDER", "STORE_ONCE_AFTER_LOAD", "STRICT_STORES", "FIRST_WRITE_ORDER",
         "CMP_ORDERED", "NO_CMP_AFTER_CMP", "NO_NOOP", "CMOV_NOT_MOV", "NO_DEAD_END")


def _flags_of(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.where(a < b, 1, np.where(a == b, 2, 4)).astype(np.int8)


def reference_mask(program: Program, task: Task, actions: np.ndarray, *, pruning=True,
                   strict_stores=True, dead_ends=True, read_once=True,
                   max_length=None) -> np.ndarray:
    """``bool[A]``: the mask after ``program``, recomputed from scratch (slow, plain numpy).

    All False when the program sorts every input or has reached ``max_length``.
    """
    r, n, k = task.registers, task.n, task.n_outputs
    optional = optional_cells(task)
    state = initial_state(task.inputs, r)
    for op, d, s in program:
        step(state, op, d, s, r)
    mask = np.zeros(len(actions), dtype=bool)
    memory = state[r:r + k]
    if np.array_equal(memory, task.expected) or (max_length and len(program) >= max_length):
        return mask
    ops = [op for op, _, _ in program]
    written = {d for op, d, _ in program if OPCODES[op].writes_dst and OPCODES[op].dst == REG}
    loaded = {s for op, _, s in program if ROLE[op] == ROLE_LOAD}
    stored = {d for op, d, _ in program if ROLE[op] == ROLE_STORE}
    next_load = max(loaded) + 1 if loaded else 0
    reach = next_load  # first loads may read next_load .. reach (skipping optional cells)
    while reach < n - 1 and (optional >> reach) & 1:
        reach += 1
    seen_cmp = any(OPCODES[op].writes_flags for op in ops)
    after_cmp = bool(ops) and OPCODES[ops[-1]].writes_flags
    fresh = min(set(range(r)) - written, default=r)
    flags = state[-1]

    # sole[k, b]: register k is the only holder of a value still needed on input b
    sole = np.zeros((r, task.n_inputs), dtype=bool)
    if pruning and dead_ends:
        readable = [j for j in range(n) if j not in stored and (j >= next_load or not read_once)]
        holders = [state[q] for q in range(r)] + [state[r + j] for j in readable]
        holders = np.array(holders)  # int8[H, B]
        wanted = [i for i in range(k) if i not in stored
                  and not np.array_equal(state[r + i], task.expected[i])]
        for b in range(task.n_inputs):
            needed = {int(task.expected[i, b]) for i in wanted}
            for q in range(r):
                v = int(state[q, b])
                if v >= 0 and v in needed and np.count_nonzero(holders[:, b] == v) == 1:
                    sole[q, b] = True

    def loses(d, new_row, where=True):
        """Writing new_row into register d (on inputs ``where``) loses a needed value."""
        return bool(np.any(sole[d] & (new_row != state[d]) & where))

    for a, (op, d, s) in enumerate(actions):
        role = ROLE[op]
        if role == ROLE_MOV:
            ok = s in written
            if ok and pruning:
                ok = (d != s and (d in written or d == fresh)
                      and not np.array_equal(state[d], state[s]) and not loses(d, state[s]))
        elif role == ROLE_LOAD:
            ok = True
            if pruning:
                first = next_load <= s <= reach and s not in stored
                reload = (not read_once and s < next_load and s not in stored
                          and not np.array_equal(state[d], state[r + s]))
                ok = ((first or reload) and (d in written or d == fresh)
                      and not loses(d, state[r + s]))
        elif role == ROLE_STORE:
            ok = s in written
            if ok and pruning:
                ok = d < k and (d in loaded or (optional >> d) & 1) and d not in stored
                if ok and strict_stores:
                    ok = np.array_equal(state[s], task.expected[d])
        elif role == ROLE_CMP:
            ok = d in written and s in written
            if ok and pruning:
                ok = (d < s and not after_cmp and not np.array_equal(state[d], state[s])
                      and not np.array_equal(_flags_of(state[d], state[s]), flags))
        elif role == ROLE_CMOV:
            ok = seen_cmp and d in written and s in written
            if ok and pruning:
                fires = (flags & COND_MASK[op]) != 0
                differ = state[d] != state[s]
                ok = (d != s and bool(np.any(fires & differ))
                      and not bool(np.all(fires | ~differ))
                      and not loses(d, state[s], fires))
        else:  # no other rule knows this opcode's role: well-formed is enough
            spec = OPCODES[op]
            ok = ((not spec.reads_flags or seen_cmp)
                  and all(v in written for v, kind, read in
                          ((d, spec.dst, spec.reads_dst), (s, spec.src, spec.reads_src))
                          if read and kind == REG))
            if pruning and not (spec.writes_dst or spec.writes_flags):
                ok = False  # NO_NOOP: writes nothing
        mask[a] = ok
    return mask


__all__ = ["RULES", "optional_cells", "reference_mask"]
