"""Compiled core of the VarSort game (``envs/vargame.py``): one call per move.

The fixed-size game (``game.py``) appends straight-line instructions; this one also writes
forward branches, for the varsortN tasks (ISA v2). Its moves are the fixed game's
instructions plus three control moves (see ``action_table``):

- ``branch(jCC, K)``: emits ``cmp n, K`` and ``jCC L`` to a new *pending* label L; the
  active inputs for which the jump is taken are *suspended* on L;
- ``else``: emits ``jmp L'`` to a new pending label and places the most recent pending
  label L here: the inputs running so far are suspended on L', those suspended on L resume;
- ``land``: places the most recent pending label here (no instruction: labels don't
  count); the inputs suspended on it resume, and the paths share the code that follows.

Pending labels stand at the end of the program when the episode ends (``program_code``).
Instructions are applied only to the *active* inputs (``status == 0``); a suspended
input's machine state is frozen, which is exactly its final state if its label is placed
at the end. The game therefore always scores the program "as if it ended here".

Well-formedness is kept on every path statically, as ``Program.check`` sees it: the active
path carries the registers written and whether a cmp was made on *every* path into it
(``M_WRITTEN``, ``M_SEEN_CMP``); a pending label carries those of its jump; placing a label
merges the two (bitwise and). Loads and stores of a cell are allowed only when every
active input has that cell, so no program of the game faults.

State arrays (views of one byte buffer owned by the environment, so a snapshot is one
copy): ``meta int64[N_META]``, ``program int32[L, 3]`` (a pending jump's target is -1),
``stack int64[L, 3]`` (per pending label: its jump's row, registers written, cmp seen),
``state int8[S, B]`` (registers, memory, flags: as the interpreter), ``status int8[B]``
(0 active, d > 0 suspended on stack entry d - 1), ``loaded``/``stored`` ``int16[B]``
(per input, bit i: cell i loaded / stored on its path), ``placed int8[B]``, ``mask bool[A]``,
``moves int32[2 L]`` (the actions played, written by the environment).
"""

from __future__ import annotations

import numba
import numpy as np

from .game import action_table as _fixed_action_table
from .interp import UNSET, _decode
from .isa import (CMPN, COMPARE, COPY, DST_MEM, DST_REG, FLAG_EQ, FLAG_GT, FLAG_LT, JE, JG,
                  JGE, JL, JLE, JMP, JNE, JUMP_COND, N_OPCODES, READS_DST, READS_FLAGS,
                  READS_SRC, ROLE, ROLE_CMOV, ROLE_CMP, ROLE_LOAD, ROLE_MOV, ROLE_STORE,
                  SELECT, SRC_MEM, SRC_REG, WRITES_DST, WRITES_FLAGS)
from .jit import JIT

LAND = -1
"""Pseudo-opcode of the land action's row ``(LAND, 0, 0)`` (a label, not an instruction)."""
BRANCH_CONDS = (JE, JNE, JLE, JGE, JL, JG)
"""The conditional jumps of branch actions, in action order. With pruning, of the branches
that split the active inputs alike only the first in this order is allowed (e.g. ``je 2``
before ``jle 2`` when the active lengths are 2 and 3; ``jle 1`` before ``jl 2``)."""
BRANCH_CONDS_ARRAY = np.array(BRANCH_CONDS, dtype=np.int64)

# params: int64[N_PARAMS]
(P_R, P_N, P_B, P_L, P_A, P_A0, P_PRUNE, P_STRICT, P_DEAD_ENDS, P_READ_ONCE) = range(10)
N_PARAMS = 10
# weights: float64[N_WEIGHTS]
W_CORRECT, W_BONUS, W_COST, W_SCALE, W_ILLEGAL, W_PAIRS = range(6)
N_WEIGHTS = 6
# meta: int64[N_META]
(M_LENGTH, M_PLACED, M_SOLVED, M_TERMINATED, M_TRUNCATED, M_ILLEGAL, M_ALLOWED, M_COST,
 M_WRITTEN, M_SEEN_CMP, M_EVER, M_LAST_OP, M_DEPTH, M_MOVES, M_ACTIVE) = range(15)
N_META = 15
NO_OP = -1  # meta[M_LAST_OP] at the start and after a label
PENDING = -1  # a pending jump's target in ``program``


def n_actions(n: int, registers: int) -> int:
    return len(action_table(n, registers))


def action_table(n: int, registers: int) -> np.ndarray:
    """``int32[A, 3]``: the fixed game's instructions (``game.action_table``, same order),
    then ``(jCC, 0, K)`` for branch(jCC, K), jCC in BRANCH_CONDS and K = 0..N, then
    ``(JMP, 0, 0)`` for else and ``(LAND, 0, 0)`` for land."""
    rows = [(op, 0, k) for op in BRANCH_CONDS for k in range(n + 1)]
    rows += [(JMP, 0, 0), (LAND, 0, 0)]
    return np.concatenate([_fixed_action_table(n, registers),
                           np.array(rows, dtype=np.int32)]).astype(np.int32)


def buffer_layout(n: int, registers: int, n_inputs: int, length: int) -> tuple[list, int]:
    """``([(name, dtype, shape, byte offset)], total bytes)`` of a game's buffer."""
    slots = registers + n + 1
    blocks = [("meta", np.int64, (N_META,)), ("stack", np.int64, (length + 1, 3)),
              ("program", np.int32, (length, 3)), ("moves", np.int32, (2 * length,)),
              ("loaded", np.int16, (n_inputs,)),
              ("stored", np.int16, (n_inputs,)),
              ("mask", np.bool_, (n_actions(n, registers),)),
              ("status", np.int8, (n_inputs,)), ("placed", np.int8, (n_inputs,)),
              ("state", np.int8, (slots, n_inputs))]
    layout, offset = [], 0
    for name, dtype, shape in blocks:
        layout.append((name, dtype, shape, offset))
        offset += np.dtype(dtype).itemsize * int(np.prod(shape))
    return layout, offset


@numba.njit(inline="always", **JIT)
def _flags(x, y):
    return np.int8((x < y) * FLAG_LT + (x == y) * FLAG_EQ + (x > y) * FLAG_GT)


@numba.njit(**JIT)
def _sole(state, status, lengths, expected, stored, loaded, registers, n, read_once, sole):
    """``sole[r, b]``: on active input b, register r alone holds a value that an unstored
    cell still needs (holders: registers and the cells a later load may read). Values are
    only copied, so overwriting it leaves input b unsortable (the NO_DEAD_END rule)."""
    counts = np.zeros(16, dtype=np.int32)
    for b in range(state.shape[1]):
        for r in range(registers):
            sole[r, b] = False
        if status[b] != 0:
            continue
        for v in range(16):
            counts[v] = 0
        m = lengths[b]
        for r in range(registers):
            v = state[r, b]
            if v >= 0:
                counts[v] += 1
        for i in range(m):
            seen = (loaded[b] >> i) & 1
            done = (stored[b] >> i) & 1
            if done == 0 and (seen == 0 or not read_once):
                counts[state[registers + i, b]] += 1
        needed = 0
        for i in range(m):
            if (stored[b] >> i) & 1 == 0:
                needed |= 1 << expected[i, b]
        for r in range(registers):
            v = state[r, b]
            if v >= 0 and (needed >> v) & 1 == 1 and counts[v] == 1:
                sole[r, b] = True


@numba.njit(**JIT)
def build_mask(meta, stack, state, status, lengths, expected, loaded, stored, placed, mask,
               actions, params):
    """Write the action mask (True = allowed) of the current position; returns the count."""
    mask[:] = False
    if meta[M_TERMINATED] != 0 or meta[M_TRUNCATED] != 0:
        meta[M_ALLOWED] = 0
        return 0
    registers = params[P_R]
    n = params[P_N]
    n_inputs = params[P_B]
    a0 = params[P_A0]
    prune = params[P_PRUNE] != 0
    strict = params[P_STRICT] != 0
    read_once = params[P_READ_ONCE] != 0
    length = meta[M_LENGTH]
    room = params[P_L] - length
    written = meta[M_WRITTEN]
    seen_cmp = meta[M_SEEN_CMP] != 0
    ever = meta[M_EVER]
    last_op = meta[M_LAST_OP]
    after_cmp = 0 <= last_op < N_OPCODES and WRITES_FLAGS[last_op] != 0
    depth = meta[M_DEPTH]
    fresh = 0
    while fresh < registers and (ever >> fresh) & 1:
        fresh += 1
    flags = registers + n
    # lengths present among the active inputs (bit l), and the shortest; lengths with an
    # unsorted active input; whether the inputs suspended on the top label are all sorted
    present = 0
    unsorted = 0
    shortest = n + 1
    top_sorted = True
    for b in range(n_inputs):
        if status[b] == 0:
            present |= 1 << lengths[b]
            if placed[b] != lengths[b]:
                unsorted |= 1 << lengths[b]
            if lengths[b] < shortest:
                shortest = lengths[b]
        elif status[b] == depth and placed[b] != lengths[b]:
            top_sorted = False
    sole = np.zeros((registers, n_inputs), dtype=np.bool_)
    if prune and params[P_DEAD_ENDS] != 0:
        _sole(state, status, lengths, expected, stored, loaded, registers, n, read_once, sole)
    fl = state[flags]
    count = 0
    # with pruning, active inputs that are all sorted only leave (land or else): the code
    # they would run could only keep them sorted
    done = prune and unsorted == 0
    if room >= 1 and present != 0 and not done:
        for a in range(a0):
            op = actions[a, 0]
            d = actions[a, 1]
            s = actions[a, 2]
            # well-formed on every path: registers read are written, a cmp made
            if READS_DST[op] and DST_REG[op] and (written >> d) & 1 == 0:
                continue
            if READS_SRC[op] and SRC_REG[op] and (written >> s) & 1 == 0:
                continue
            if READS_FLAGS[op] and not seen_cmp:
                continue
            # no faults: every active input has the cell
            if SRC_MEM[op] and s >= shortest:
                continue
            if DST_MEM[op] and d >= shortest:
                continue
            if not prune:
                mask[a] = True
                count += 1
                continue
            role = ROLE[op]
            ok = True
            if WRITES_DST[op] and DST_REG[op] and not ((ever >> d) & 1 or d == fresh):
                ok = False  # FIRST_WRITE_ORDER
            elif role == ROLE_LOAD:
                changes = False
                for b in range(n_inputs):
                    if status[b] != 0:
                        continue
                    first = loaded[b] == (1 << s) - 1  # m0..m{s-1} loaded, m{s} not
                    again = (not read_once and (loaded[b] >> s) & 1 == 1
                             and (stored[b] >> s) & 1 == 0)
                    if not (first or again):
                        ok = False
                        break
                    differ = state[d, b] != state[registers + s, b]
                    changes = changes or differ
                    if differ and sole[d, b]:
                        ok = False
                        break
                ok = ok and changes
            elif role == ROLE_STORE:
                for b in range(n_inputs):
                    if status[b] != 0:
                        continue
                    if (loaded[b] >> d) & 1 == 0 or (stored[b] >> d) & 1 == 1 or (
                            strict and state[s, b] != expected[d, b]):
                        ok = False
                        break
            elif role == ROLE_MOV:
                changes = False
                if d == s:
                    ok = False
                for b in range(n_inputs):
                    if not ok:
                        break
                    if status[b] != 0:
                        continue
                    differ = state[d, b] != state[s, b]
                    changes = changes or differ
                    if differ and sole[d, b]:
                        ok = False
                ok = ok and changes
            elif role == ROLE_CMP:
                if d >= s or after_cmp:
                    ok = False
                else:
                    differ = False
                    new = False
                    for b in range(n_inputs):
                        if status[b] != 0:
                            continue
                        x = state[d, b]
                        y = state[s, b]
                        differ = differ or x != y
                        new = new or _flags(x, y) != fl[b]
                    ok = differ and new
            elif role == ROLE_CMOV:
                _, _, _, cond = _decode(op, d, s, registers)
                fires_somewhere = False
                mov_like = True
                if d == s:
                    ok = False
                for b in range(n_inputs):
                    if not ok:
                        break
                    if status[b] != 0:
                        continue
                    differ = state[d, b] != state[s, b]
                    fires = (fl[b] & cond) != 0
                    if differ and fires:
                        fires_somewhere = True
                        if sole[d, b]:
                            ok = False
                    if differ and not fires:
                        mov_like = False
                ok = ok and fires_somewhere and not mov_like
            else:  # no rule knows this role: well-formed is enough, unless it writes nothing
                ok = WRITES_DST[op] != 0 or WRITES_FLAGS[op] != 0
            if ok:
                mask[a] = True
                count += 1
    # branches: cmp n, K and jCC to a new pending label
    n_branch = len(BRANCH_CONDS_ARRAY) * (n + 1)
    if room >= 2 and present != 0 and not done and not (prune and after_cmp):
        taken_seen = np.zeros(1 << (n + 1), dtype=np.bool_)
        for c in range(len(BRANCH_CONDS_ARRAY)):
            cond = JUMP_COND[BRANCH_CONDS_ARRAY[c]]
            for k in range(n + 1):
                taken = 0
                for length_ in range(n + 1):
                    if (present >> length_) & 1 and (_flags(length_, k) & cond) != 0:
                        taken |= 1 << length_
                if taken == 0 or taken == present:
                    continue  # a jump no active input takes, or that every one takes
                if prune and unsorted & ~taken == 0:
                    continue  # nothing left to do on the path that falls through
                if prune:
                    top = 0
                    while (taken >> (top + 1)) != 0:
                        top += 1
                    if taken != present & ((2 << top) - 1):
                        continue  # the jump suspends the shortest active lengths only
                if prune:
                    if taken_seen[taken]:
                        continue  # the same split as an earlier branch action
                    taken_seen[taken] = True
                mask[a0 + c * (n + 1) + k] = True
                count += 1
    if depth > 0:
        row = stack[depth - 1, 0]
        block = length > row + 1  # instructions since the label's jump
        # else: jmp to a new pending label, then place the most recent one (pruning: only
        # when the inputs that ran are all sorted, i.e. they jump to the end)
        if room >= 1 and (block and not top_sorted and done or not prune):
            mask[a0 + n_branch] = True
            count += 1
        # land
        if block or not prune:
            mask[a0 + n_branch + 1] = True
            count += 1
    meta[M_ALLOWED] = count
    return count


@numba.njit(**JIT)
def instructions_needed(state, lengths, expected, loaded, registers):
    """A lower bound on the instructions any correct continuation still writes, under the
    pruning rules (a cell is stored only after its load): on some input, each cell not
    holding its sorted value needs a store, and a load first if not loaded yet. Every
    instruction an input runs is in the program, so the most over the inputs bounds it."""
    most = 0
    for b in range(state.shape[1]):
        need = 0
        for i in range(lengths[b]):
            if state[registers + i, b] != expected[i, b]:
                need += 1 + ((loaded[b] >> i) & 1 == 0)
        if need > most:
            most = need
    return most


@numba.njit(**JIT)
def game_reset(meta, stack, program, state, status, loaded, stored, placed, mask, inputs,
               lengths, expected, actions, params):
    """Start a game: empty program, inputs in memory, every input active."""
    registers = params[P_R]
    n = params[P_N]
    flags = registers + n
    state[:registers] = UNSET
    state[registers:flags] = inputs
    state[flags] = 0
    program[:] = -1
    stack[:] = 0
    meta[:] = 0
    meta[M_LAST_OP] = NO_OP
    status[:] = 0
    loaded[:] = 0
    stored[:] = 0
    total = 0
    solved = 0
    for b in range(inputs.shape[1]):
        p = 0
        m = lengths[b]
        for i in range(m):
            p += inputs[i, b] == expected[i, b]
        placed[b] = p
        total += p
        solved += p == m
    meta[M_PLACED] = total
    meta[M_SOLVED] = solved
    meta[M_ACTIVE] = inputs.shape[1]
    build_mask(meta, stack, state, status, lengths, expected, loaded, stored, placed, mask,
               actions, params)


@numba.njit(**JIT)
def game_step(action, meta, stack, program, state, status, loaded, stored, placed, mask,
              lengths, expected, actions, params, weights):
    """Play one move: ``(reward, terminated, truncated, solved inputs, length, illegal)``.
    A masked move ends the game (terminated, ``-weights[W_ILLEGAL]``)."""
    if meta[M_TERMINATED] != 0 or meta[M_TRUNCATED] != 0:
        return 0.0, True, meta[M_TRUNCATED] != 0, meta[M_SOLVED], meta[M_LENGTH], False
    if action < 0 or action >= params[P_A] or not mask[action]:
        meta[M_ILLEGAL] = 1
        meta[M_TERMINATED] = 1
        mask[:] = False
        meta[M_ALLOWED] = 0
        return -weights[W_ILLEGAL], True, False, meta[M_SOLVED], meta[M_LENGTH], True
    registers = params[P_R]
    n = params[P_N]
    n_inputs = params[P_B]
    a0 = params[P_A0]
    n_branch = len(BRANCH_CONDS_ARRAY) * (n + 1)
    flags = registers + n
    length = meta[M_LENGTH]
    depth = meta[M_DEPTH]
    reward = 0.0
    meta[M_MOVES] += 1
    if action < a0:
        op = actions[action, 0]
        d = actions[action, 1]
        s = actions[action, 2]
        program[length, 0] = op
        program[length, 1] = d
        program[length, 2] = s
        meta[M_LENGTH] = length + 1
        kind, dr, sr, cond = _decode(op, d, s, registers)
        dst = state[dr]
        src = state[sr]
        fl = state[flags]
        if ROLE[op] == ROLE_STORE:
            delta = 0
            solved = meta[M_SOLVED]
            for b in range(n_inputs):
                if status[b] != 0:
                    continue
                change = (np.int64(src[b] == expected[d, b])
                          - np.int64(dst[b] == expected[d, b]))
                if change != 0:
                    before = placed[b]
                    after = before + change
                    m = lengths[b]
                    solved += (after == m) - (before == m)
                    placed[b] = after
                    delta += change
                stored[b] |= np.int16(1 << d)
            meta[M_SOLVED] = solved
            meta[M_PLACED] += delta
            reward = weights[W_CORRECT] * delta / weights[W_PAIRS]
        if ROLE[op] == ROLE_LOAD:
            for b in range(n_inputs):
                if status[b] == 0:
                    loaded[b] |= np.int16(1 << s)
        for b in range(n_inputs):
            if status[b] != 0:
                continue
            if kind == COPY:
                dst[b] = src[b]
            elif kind == COMPARE:
                fl[b] = _flags(dst[b], src[b])
            elif kind == SELECT:
                if fl[b] & cond:
                    dst[b] = src[b]
        if WRITES_FLAGS[op]:
            meta[M_SEEN_CMP] = 1
        if WRITES_DST[op] and DST_REG[op]:
            meta[M_WRITTEN] |= np.int64(1) << d
            meta[M_EVER] |= np.int64(1) << d
        meta[M_LAST_OP] = op
    elif action < a0 + n_branch:
        c = (action - a0) // (n + 1)
        k = (action - a0) % (n + 1)
        op = BRANCH_CONDS_ARRAY[c]
        cond = JUMP_COND[op]
        program[length, 0] = CMPN
        program[length, 1] = 0
        program[length, 2] = k
        program[length + 1, 0] = op
        program[length + 1, 1] = PENDING
        program[length + 1, 2] = 0
        meta[M_LENGTH] = length + 2
        fl = state[flags]
        active = 0
        for b in range(n_inputs):
            if status[b] != 0:
                continue
            f = _flags(lengths[b], k)
            fl[b] = f
            if f & cond:
                status[b] = depth + 1
            else:
                active += 1
        meta[M_ACTIVE] = active
        meta[M_SEEN_CMP] = 1
        stack[depth, 0] = length + 1
        stack[depth, 1] = meta[M_WRITTEN]
        stack[depth, 2] = 1
        meta[M_DEPTH] = depth + 1
        meta[M_LAST_OP] = op
    elif action == a0 + n_branch:  # else
        program[length, 0] = JMP
        program[length, 1] = PENDING
        program[length, 2] = 0
        meta[M_LENGTH] = length + 1
        top = depth - 1
        # the label of the top entry goes here: its jump gets this target
        program[stack[top, 0], 1] = length + 1
        written = stack[top, 1]
        seen = stack[top, 2]
        stack[top, 0] = length
        stack[top, 1] = meta[M_WRITTEN]
        stack[top, 2] = meta[M_SEEN_CMP]
        meta[M_WRITTEN] = written
        meta[M_SEEN_CMP] = seen
        active = 0
        for b in range(n_inputs):
            if status[b] == 0:
                status[b] = depth
            elif status[b] == depth:
                status[b] = 0
                active += 1
        meta[M_ACTIVE] = active
        meta[M_LAST_OP] = NO_OP
    else:  # land
        top = depth - 1
        program[stack[top, 0], 1] = length
        meta[M_WRITTEN] &= stack[top, 1]
        meta[M_SEEN_CMP] = meta[M_SEEN_CMP] & stack[top, 2]
        active = 0
        for b in range(n_inputs):
            if status[b] == depth:
                status[b] = 0
            if status[b] == 0:
                active += 1
        meta[M_ACTIVE] = active
        meta[M_DEPTH] = depth - 1
        meta[M_LAST_OP] = NO_OP
    length = meta[M_LENGTH]
    if meta[M_SOLVED] == n_inputs:
        meta[M_TERMINATED] = 1
        meta[M_COST] = length
        reward += weights[W_BONUS] - weights[W_COST] * length / weights[W_SCALE]
    elif length >= params[P_L]:
        meta[M_TRUNCATED] = 1
    elif params[P_PRUNE] != 0 and length + instructions_needed(
            state, lengths, expected, loaded, registers) > params[P_L]:
        meta[M_TRUNCATED] = 1  # no correct program fits the rest of the budget
    if build_mask(meta, stack, state, status, lengths, expected, loaded, stored, placed,
                  mask, actions, params) == 0:
        if meta[M_TERMINATED] == 0:
            meta[M_TRUNCATED] = 1
    return (reward, meta[M_TERMINATED] != 0, meta[M_TRUNCATED] != 0, meta[M_SOLVED],
            meta[M_LENGTH], False)


@numba.njit(**JIT)
def program_code(program, length):
    """``int32[length, 3]``: the program with its pending labels placed at the end."""
    out = program[:length].copy()
    for k in range(length):
        if out[k, 1] == PENDING and out[k, 0] >= CMPN and out[k, 0] != CMPN:
            out[k, 1] = length
    return out


__all__ = ["BRANCH_CONDS", "LAND", "N_META", "N_PARAMS", "N_WEIGHTS", "PENDING",
           "action_table", "buffer_layout", "build_mask", "game_reset", "game_step",
           "n_actions", "program_code"]
