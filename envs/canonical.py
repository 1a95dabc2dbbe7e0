"""Canonical form: the equivalent program that the game's pruned action masks accept.

``canonicalize(program, task)`` rewrites a program without changing what it leaves in
memory on any input (in the output cells m0..m{K-1}, for a kernel task), and never makes
it longer:

1. drops dead instructions: a cmp whose flags no cmov reads, a store overwritten by a
   later store to the same cell before any load of it;
2. moves loads into increasing order of memory cell (a topological order of the data
   dependencies on registers, memory cells and flags that keeps every other instruction's
   relative order where it can); raises CanonicalError when the dependencies forbid it
   (e.g. a register reused between loads) or a cell is loaded twice (allowed, for cells
   not yet stored, with ``read_once=False``: then first loads are put in order);
3. renames registers in order of first write;
4. writes every ``cmp rA, rB`` with A < B, swapping the conditions of the cmovs that read
   its flags (l <-> g, le <-> ge);
5. replays the program in the game, dropping moves that change nothing on any input,
   turning a cmov that fires wherever its registers differ into a mov, and a cmp whose
   operands are equal on every input into movs / nothing for its cmovs; raises
   CanonicalError for any other masked move, naming it and why.
"""

from __future__ import annotations

import numpy as np

from discover.kernels import (COND_MASK, FLAG_EQ, OPCODES, Program, Task, format_instruction,
                              run)
from discover.kernels.isa import (MEM, REG, ROLE, ROLE_CMOV, ROLE_CMP, ROLE_LOAD, ROLE_MOV,
                                  ROLE_STORE, SWAPPED)

from .game import AssemblyGame

_FLAGS = -1  # resource id of the flags in dependency analysis
_MOV = next(op for op in range(len(OPCODES)) if ROLE[op] == ROLE_MOV)  # a cmov made a mov


class CanonicalError(ValueError):
    """The program cannot be brought into canonical form (the message says why)."""


def _resources(row, registers):
    """(reads, writes) of one instruction; memory cell i is resource registers + i."""
    op, d, s = row
    spec = OPCODES[op]
    dst = d + registers * (spec.dst == MEM)
    src = s + registers * (spec.src == MEM)
    reads = {r for r, kind, read in ((dst, spec.dst, spec.reads_dst),
                                     (src, spec.src, spec.reads_src)) if read and kind}
    writes = {dst} if spec.writes_dst and spec.dst else set()
    if spec.reads_flags:
        reads.add(_FLAGS)
    if spec.writes_flags:
        writes.add(_FLAGS)
    return reads, writes


def _drop_dead(rows):
    """Drop cmps whose flags no cmov reads and stores overwritten before any load."""
    keep = [True] * len(rows)
    for k, (op, d, _) in enumerate(rows):
        if ROLE[op] == ROLE_CMP:
            read = False
            for op2, _, _ in rows[k + 1:]:
                if OPCODES[op2].reads_flags:
                    read = True
                    break
                if OPCODES[op2].writes_flags:
                    break
            keep[k] = read
        elif ROLE[op] == ROLE_STORE:
            for op2, d2, s2 in rows[k + 1:]:
                if OPCODES[op2].src == MEM and OPCODES[op2].reads_src and s2 == d:
                    break
                if ROLE[op2] == ROLE_STORE and d2 == d:
                    keep[k] = False
                    break
    return [row for row, kept in zip(rows, keep) if kept]


def _order_loads(rows, registers, read_once=True):
    """A dependency-respecting order with first loads in increasing cell order (or raise)."""
    cells = [s for op, _, s in rows if ROLE[op] == ROLE_LOAD]
    if read_once and len(set(cells)) != len(cells):
        twice = sorted({c for c in cells if cells.count(c) > 1})
        raise CanonicalError(f"m{twice[0]} is loaded more than once (the game reads each "
                             "cell once unless read_once=False)")
    firsts = list(dict.fromkeys(cells))  # each cell at its first load
    if firsts == sorted(firsts):
        return list(rows)
    effects = [_resources(row, registers) for row in rows]
    preds = [set() for _ in rows]
    for j, (reads_j, writes_j) in enumerate(effects):
        for i in range(j):
            reads_i, writes_i = effects[i]
            if writes_i & reads_j or reads_i & writes_j or writes_i & writes_j:
                preds[j].add(i)
    first_at = {}
    for k, (op, _, s) in enumerate(rows):
        if ROLE[op] == ROLE_LOAD:
            first_at.setdefault(s, k)
    load_order = sorted(first_at.items())
    for (_, a), (_, b) in zip(load_order, load_order[1:]):
        preds[b].add(a)  # the chain of loads in increasing cell order
    done, order = set(), []
    while len(order) < len(rows):
        ready = [k for k in range(len(rows)) if k not in done and preds[k] <= done]
        if not ready:
            raise CanonicalError("the loads cannot be put in increasing order: registers "
                                 "are reused between them (data dependencies forbid it)")
        k = ready[0]
        done.add(k)
        order.append(rows[k])
    return order


def _rename(rows):
    """Rename registers in order of first write (a bijection, so the program is equivalent)."""
    names = {}
    for op, d, _ in rows:
        if OPCODES[op].writes_dst and OPCODES[op].dst == REG and d not in names:
            names[d] = len(names)
    return [(op, names[d] if OPCODES[op].dst == REG else d,
             names[s] if OPCODES[op].src == REG else s) for op, d, s in rows]


def _orient_compares(rows):
    """Write every cmp as ``cmp rA, rB`` with A < B, swapping its cmovs' conditions."""
    out, swap = [], False
    for op, d, s in rows:
        if ROLE[op] == ROLE_CMP:
            swap = d > s
            out.append((op, min(d, s), max(d, s)))
        elif op in SWAPPED and swap:
            out.append((SWAPPED[op], d, s))
        else:
            out.append((op, d, s))
    return out


def _replay(rows, task, config):
    """Play the rows in a pruned game, fixing the moves that a semantic rule masks.

    After each fix the dead-code pass runs again and the replay starts over (a dropped
    cmov can leave its cmp dead), so this is quadratic in the length: fine for the
    lengths a game allows.
    """
    game = AssemblyGame(task=task, registers=task.registers,
                        **{**config, "max_length": max(len(rows), 1)})
    rows = list(rows)
    while True:
        fixed = _replay_once(game, rows)
        if fixed is None:
            return rows[:game.length]  # anything after the program is solved is dropped
        rows = _drop_dead(fixed)


def _replay_once(game, rows):
    """Play rows; None when all are accepted, else the rows with the first masked move fixed."""
    game.reset()
    for k, (op, d, s) in enumerate(rows):
        if game.solved:
            return None
        if not game.legal_actions().size:
            raise CanonicalError(f"no move is allowed after instruction {k} (a dead end)")
        action = game.action_of((op, d, s))
        if game._mask[action]:
            game._play(action)
            continue
        state = game._state
        rest = list(rows)
        role = ROLE[op]
        same_rows = (OPCODES[op].dst == OPCODES[op].src == REG
                     and np.array_equal(state[d], state[s]))
        if (role == ROLE_MOV and same_rows) or (
                role == ROLE_LOAD and np.array_equal(state[d], state[game.task.registers + s])):
            del rest[k]  # changes nothing
            return rest
        if role == ROLE_CMOV:
            fires = (state[-1] & COND_MASK[op]) != 0
            differ = state[d] != state[s]
            if not np.any(fires & differ):
                del rest[k]  # never changes anything
                return rest
            if np.all(fires | ~differ):
                rest[k] = (_MOV, d, s)  # fires wherever it matters: a mov
                return rest
        if role == ROLE_CMP and same_rows:
            # flags are "equal" on every input: its cmovs become movs or nothing
            del rest[k]
            j = k
            while j < len(rest) and not OPCODES[rest[j][0]].writes_flags:
                c, cd, cs = rest[j]
                if ROLE[c] == ROLE_CMOV and COND_MASK[c] & FLAG_EQ:
                    rest[j] = (_MOV, cd, cs)
                elif ROLE[c] == ROLE_CMOV:
                    del rest[j]
                    continue
                j += 1
            return rest
        if role == ROLE_CMP:
            a, b = state[d], state[s]
            new = np.where(a < b, 1, np.where(a == b, 2, 4))
            if np.array_equal(new, state[-1]):
                del rest[k]  # same flags as now: changes nothing
                return rest
        raise CanonicalError(f"instruction {k + 1} ({format_instruction(op, d, s)}) stays "
                             f"masked in the game: {_why(op, d)}")
    return None


def _why(op, d):
    """A short reason a move is masked (for error messages)."""
    if ROLE[op] == ROLE_STORE:
        return (f"m{d} is stored twice, stored before it is loaded, or stored with a "
                "value that is not its sorted value for every input")
    if ROLE[op] == ROLE_LOAD:
        return ("first loads must read m0, m1, ... in order, each cell once (or, with "
                "read_once=False, again before it is stored)")
    return "it breaks a pruning rule of the game"


def canonicalize(program: Program, task: Task, **config) -> Program:
    """The equivalent program in the game's canonical form (never longer).

    ``config`` takes AssemblyGame keywords (e.g. ``strict_stores=False``) for the replay.
    Raises CanonicalError where the data dependencies do not allow the form, and
    ProgramError for an ill-formed program.
    """
    program.check(task.n, task.registers)
    rows = [tuple(r) for r in program]
    rows = _drop_dead(rows)
    rows = _order_loads(rows, task.registers, config.get("read_once", True))
    rows = _rename(rows)
    rows = _orient_compares(rows)
    rows = _replay(rows, task, config)
    out = Program.from_instructions(rows) if rows else Program(np.zeros((0, 3), np.int32))
    k = task.n_outputs  # a kernel's scratch cells may differ (a dead store dropped)
    before = run(program.code, task.inputs, task.registers)[:k]
    after = run(out.code, task.inputs, task.registers)[:k]
    if not np.array_equal(before, after):  # a bug here, never the caller's fault
        raise CanonicalError("canonical form changed the program's output (internal error)")
    return out


__all__ = ["CanonicalError", "canonicalize"]
