"""Compiled core of the AssemblyGame (``envs/game.py``): one call per move.

The game keeps everything it mutates in a handful of arrays (carved out of one byte buffer
by the environment, so a snapshot is one ``memcpy``). ``game_step`` appends one
instruction, applies it to the machine states of every test input (the interpreter's
incremental ``step``), updates the per-input placed counts (output cells m0..m{K-1}
holding their expected value: K = N for a sort, a kernel's outputs otherwise, the cells
past K being scratch that no reward or mask rule asks for), and rebuilds the action mask
from small summaries that it keeps up to date:

- ``meta: int64[N_META]``: scalar game state (length, placed total, bitmasks, ...);
- ``pairdiff: uint8[R, R]``: for each register pair, the set of flag values over the
  inputs where the two registers differ (bit ``f`` for flags ``f``, bit ``UNSET_BIT`` for
  unset flags); zero means the two rows are equal on every input. It makes the no-op tests
  for ``mov``/``cmov`` O(1) per action and is refreshed only for the row an instruction
  writes (all pairs after a ``cmp``);
- per register, the inputs where it alone holds a value still needed (``_sole_flags``,
  recomputed each move with branch-free byte loops: about 0.7 us on sort5).

Pruning rules (``params[P_PRUNE]``) and why each keeps an optimal program are documented
in ``envs/game.py`` (class docstring) and ``envs/masks.py``.
"""

from __future__ import annotations

import numba
import numpy as np

from .cost import latency_estimate
from .interp import UNSET, step
from .jit import JIT
from .isa import (COND_MASK, DST_MEM, DST_REG, MEM, FLAG_EQ, FLAG_GT, FLAG_LT, N_OPCODES, OPCODES,
                  READS_DST, READS_FLAGS, READS_SRC, ROLE, ROLE_CMOV, ROLE_CMP, ROLE_LOAD,
                  ROLE_MOV, ROLE_OTHER, ROLE_STORE, SRC_MEM, SRC_REG, WRITES_DST,
                  WRITES_FLAGS, operand_range)

# params: int64[N_PARAMS], constant for one game; P_AT_* are byte offsets in the buffer
(P_R, P_N, P_B, P_L, P_PRUNE, P_STRICT, P_COST, P_SEPARATE, P_DEAD_ENDS, P_READ_ONCE, P_K,
 P_A, P_AT_META, P_AT_PROGRAM, P_AT_PAIRDIFF, P_AT_MASK, P_AT_PLACED, P_AT_STATE,
 P_AT_OBS, P_OUT, P_OPTIONAL) = range(21)
N_PARAMS = 21
# P_OUT: output cells K (m0..m{K-1}; N for a sort, fewer for a kernel, the rest scratch).
# P_OPTIONAL: bitmask of input cells a correct program need not read (0 for a sort and
# every built-in kernel): first loads may skip them, and an optional output cell may be
# stored without a load.
COST_LENGTH = 0
COST_LATENCY = 1

# weights: float64[N_WEIGHTS]
W_CORRECT, W_BONUS, W_COST, W_SCALE, W_ILLEGAL = range(5)
N_WEIGHTS = 5

# meta: int64[N_META], the scalar part of a game state
(M_LENGTH, M_PLACED, M_SOLVED, M_WRITTEN, M_LOADED, M_NEXT_LOAD, M_STORED, M_LAST_OP,
 M_SEEN_CMP, M_TERMINATED, M_TRUNCATED, M_ILLEGAL, M_ALLOWED, M_COST, M_PLACED0) = range(15)
N_META = 15

NO_OP = -1  # meta[M_LAST_OP] before the first move
EMPTY = -1  # padding of program rows past the length
UNSET_BIT = 8  # pairdiff bit for inputs whose flags are unset (no cmp yet)


def _of_role(role: int) -> list[int]:
    return [op for op in range(N_OPCODES) if ROLE[op] == role]


# The opcodes of each role (kernels/isa.py). build_mask's rules expect one register copy,
# load, store and compare, any number of cmovs, and apply only well-formedness to the rest.
(_MOV_OP,), (_LOAD_OP,), (_STORE_OP,), (_CMP_OP,) = (
    _of_role(ROLE_MOV), _of_role(ROLE_LOAD), _of_role(ROLE_STORE), _of_role(ROLE_CMP))
_CMOV_OPS = np.array(_of_role(ROLE_CMOV), dtype=np.int64)  # int64[C]
_CMOV_CONDS = COND_MASK[_CMOV_OPS]  # int8[C]: their conditions
_OTHER_OPS = np.array(_of_role(ROLE_OTHER), dtype=np.int64)  # int64[O]
if any(OPCODES[op].writes_dst and OPCODES[op].dst == MEM for op in _OTHER_OPS):
    raise ImportError("game_step's placed counts follow memory through stores only")

# Where each opcode's block of actions starts in action_table, as counts of blocks of each
# size before it: offset = R^2 OFF_RR + R N OFF_RN + R OFF_R + N OFF_N + OFF_1.
_SIZES = [(OPCODES[op].dst, OPCODES[op].src) for op in range(N_OPCODES)]


def _offset_counts(shape) -> np.ndarray:
    counts = [0]
    for kinds in _SIZES:
        sizes = sorted(kind for kind in kinds if kind)  # registers / memory operands
        counts.append(counts[-1] + (sizes == shape))
    return np.array(counts[:-1], dtype=np.int64)  # int64[N_OPCODES]


_OFF_RR, _OFF_RN, _OFF_R, _OFF_N, _OFF_1 = (
    _offset_counts(shape) for shape in (["r", "r"], ["m", "r"], ["r"], ["m"], []))


def n_actions(n: int, registers: int) -> int:
    """A, the number of actions: every instruction over R registers and N cells."""
    return sum(operand_range(s.dst, n, registers) * operand_range(s.src, n, registers)
               for s in OPCODES)


def action_table(n: int, registers: int) -> np.ndarray:
    """``int32[A, 3]  # (op, dst, src)``: every instruction over R registers and N cells.

    Ordered by opcode, then destination, then source (``build_mask`` relies on this
    layout); A = 8 R^2 + 2 R N in ISA v1. No-ops such as ``mov r1, r1`` are included:
    they are masked, not missing, so every instruction of the ISA has an action.
    """
    rows = []
    for op, spec in enumerate(OPCODES):
        rows += [(op, d, s) for d in range(operand_range(spec.dst, n, registers))
                 for s in range(operand_range(spec.src, n, registers))]
    return np.array(rows, dtype=np.int32)


def buffer_layout(n: int, registers: int, n_inputs: int, length: int, n_observed: int,
                  separate: bool) -> tuple[list, int]:
    """Where each array of a game lives in its ``uint8`` buffer: ``([(name, dtype, shape,
    byte offset)], total bytes)``. Larger dtypes first, so every view is aligned; the
    observed-state block exists only when the observation shows a subset of the inputs."""
    slots = registers + n + 1
    blocks = [("meta", np.int64, (N_META,)), ("program", np.int32, (length, 3)),
              ("pairdiff", np.uint8, (registers, registers)),
              ("mask", np.bool_, (n_actions(n, registers),)),
              ("placed", np.int8, (n_inputs,)), ("state", np.int8, (slots, n_inputs))]
    if separate:
        blocks.append(("obs_state", np.int8, (slots, n_observed)))
    layout, offset = [], 0
    for name, dtype, shape in blocks:
        layout.append((name, dtype, shape, offset))
        offset += np.dtype(dtype).itemsize * int(np.prod(shape))
    return layout, offset


@numba.njit(inline="always", **JIT)
def _views(buffer, params):
    """The arrays of a game, as views of its buffer (see buffer_layout)."""
    registers = params[P_R]
    n_inputs = params[P_B]
    slots = registers + params[P_N] + 1
    at = params[P_AT_META]
    meta = buffer[at:at + 8 * N_META].view(np.int64)
    at = params[P_AT_PROGRAM]
    program = buffer[at:at + 12 * params[P_L]].view(np.int32).reshape((params[P_L], 3))
    at = params[P_AT_PAIRDIFF]
    pairdiff = buffer[at:at + registers * registers].reshape((registers, registers))
    at = params[P_AT_MASK]
    mask = buffer[at:at + params[P_A]].view(np.bool_)
    at = params[P_AT_PLACED]
    placed = buffer[at:at + n_inputs].view(np.int8)
    at = params[P_AT_STATE]
    state = buffer[at:at + slots * n_inputs].view(np.int8).reshape((slots, n_inputs))
    if params[P_SEPARATE] != 0:
        at = params[P_AT_OBS]
        k = params[P_K]
        obs_state = buffer[at:at + slots * k].view(np.int8).reshape((slots, k))
    else:
        obs_state = state
    return meta, program, pairdiff, mask, placed, state, obs_state


@numba.njit(inline="always", **JIT)
def _range(reg, mem, registers, n):
    """Values an operand takes: R (a register), N (a memory cell) or 1 (none)."""
    return registers if reg else n if mem else 1


@numba.njit(inline="always", **JIT)
def _offset(op, registers, n):
    """Index of the first action of opcode ``op`` in action_table."""
    return (_OFF_RR[op] * registers * registers + _OFF_RN[op] * registers * n
            + _OFF_R[op] * registers + _OFF_N[op] * n + _OFF_1[op])


@numba.njit(inline="always", **JIT)
def _decode_action(action, registers, n):
    """(op, dst, src) of a valid action index, from action_table's block layout."""
    for op in range(N_OPCODES):
        src_range = _range(SRC_REG[op], SRC_MEM[op], registers, n)
        size = _range(DST_REG[op], DST_MEM[op], registers, n) * src_range
        if action < size:
            return op, action // src_range, action % src_range
        action -= size
    return -1, 0, 0


@numba.njit(inline="always", **JIT)
def _pair_diff(state, flags, x, y):
    """Flag values (as bits) over the inputs where rows x and y differ; 0 if equal."""
    a = state[x]
    c = state[y]
    fl = state[flags]
    acc = 0
    for b in range(a.shape[0]):
        f = fl[b]
        bit = f | ((f == 0) * UNSET_BIT)
        acc |= bit * (a[b] != c[b])
    return acc


@numba.njit(**JIT)
def _refresh_pairs(state, pairdiff, registers, row):
    """Recompute pairdiff for every pair touching ``row`` (all pairs when row < 0)."""
    flags = state.shape[0] - 1
    for x in range(registers):
        if row >= 0 and x != row:
            continue
        for y in range(registers):
            if y == x or (row < 0 and y < x):
                continue
            v = _pair_diff(state, flags, x, y)
            pairdiff[x, y] = v
            pairdiff[y, x] = v


@numba.njit(inline="always", **JIT)
def _row_equals(row, target):
    """True when two int8 rows agree on every input (branch-free: LLVM vectorises it)."""
    acc = 0
    for b in range(row.shape[0]):
        acc |= row[b] ^ target[b]
    return acc == 0


@numba.njit(inline="always", **JIT)
def _cmp_changes_flags(a, c, fl):
    """True when ``cmp`` of rows a, c gives flags other than ``fl`` on some input."""
    acc = 0
    for b in range(a.shape[0]):
        x = a[b]
        y = c[b]
        acc |= ((x < y) * FLAG_LT + (x == y) * FLAG_EQ + (x > y) * FLAG_GT) ^ fl[b]
    return acc != 0


@numba.njit(**JIT)
def _sole_flags(state, expected, meta, registers, n, read_once, out):
    """Per register, the flag bits of the inputs where it alone holds a needed value.

    A value is needed on an input while some unstored output cell (m0..m{K-1}, K =
    ``expected.shape[0]``) that does not yet hold its expected row on every input has
    that input's expected value equal to it (scratch cells past K need nothing; an output
    cell already right on every input, e.g. a kernel's item left in place, is never
    stored: a store of any other row would break it, one of the same row changes nothing,
    so a correct program leaves it). It is
    held by registers and by the cells a later load may still read: cells not yet loaded
    (stores need a prior load and first loads go in order, so they still hold the input),
    or without ``read_once`` every cell not yet stored. Overwriting register d on an input
    where it is the only holder of a needed value leaves that input unsortable for good,
    since no later move can recreate a lost value: ``out: uint8[R]`` says where (as
    pairdiff's bits), so a mov or load into d is a dead end when ``out[d] != 0`` and a cmov
    when ``out[d] & cond != 0``. (Without ``read_once``, a store that overwrites the last
    copy of a needed value is not caught: the mask is then only less strict.)
    Bit v of a per-input byte stands for value v (ranks are 0..N-1 <= 7).
    """
    n_inputs = state.shape[1]
    stored = meta[M_STORED]
    next_load = meta[M_NEXT_LOAD]
    flags = state.shape[0] - 1
    needed = np.zeros(n_inputs, dtype=np.uint8)  # uint8[B]: bit v = value v needed
    once = np.zeros(n_inputs, dtype=np.uint8)  # held at least once
    multi = np.zeros(n_inputs, dtype=np.uint8)  # held at least twice
    for i in range(expected.shape[0]):
        if (stored >> i) & 1 == 0 and not _row_equals(state[registers + i], expected[i]):
            row = expected[i]
            for b in range(n_inputs):
                needed[b] |= np.uint8(1) << np.uint8(row[b])
    for r in range(registers + n):
        if r >= registers:
            cell = r - registers
            if (read_once and cell < next_load) or (stored >> cell) & 1 == 1:
                continue  # no load can read this cell's value any more
        row = state[r]
        for b in range(n_inputs):
            v = row[b]
            bit = (np.uint8(1) << np.uint8(v & 7)) * np.uint8(v >= 0)
            multi[b] |= once[b] & bit
            once[b] |= bit
    for b in range(n_inputs):
        needed[b] &= once[b] & ~multi[b]  # now: needed values with a single holder
    fl = state[flags]
    for r in range(registers):
        row = state[r]
        acc = 0
        for b in range(n_inputs):
            v = row[b]
            sole = (needed[b] >> np.uint8(v & 7)) & np.uint8(v >= 0) & np.uint8(1)
            f = fl[b]
            acc |= (f | ((f == 0) * UNSET_BIT)) * sole
        out[r] = acc


@numba.njit(**JIT)
def _mask_well_formed(op, mask, written, seen_cmp, prune, registers, n):
    """Allow every well-formed action of ``op`` (an opcode of no role the pruning rules
    know), unless pruning and it writes nothing (NO_NOOP)."""
    if (READS_FLAGS[op] and not seen_cmp) or (prune and not (WRITES_DST[op]
                                                             or WRITES_FLAGS[op])):
        return 0
    at = _offset(op, registers, n)
    src_range = _range(SRC_REG[op], SRC_MEM[op], registers, n)
    count = 0
    for d in range(_range(DST_REG[op], DST_MEM[op], registers, n)):
        for s in range(src_range):
            ok = ((not (READS_DST[op] and DST_REG[op]) or (written >> d) & 1 == 1)
                  and (not (READS_SRC[op] and SRC_REG[op]) or (written >> s) & 1 == 1))
            mask[at + d * src_range + s] = ok
            count += ok
    return count


@numba.njit(**JIT)
def build_mask(state, meta, pairdiff, mask, expected, params):
    """Write the action mask (True = allowed) for the current game state; returns count.

    Works block by block over ``action_table``'s layout (opcode-major, then destination,
    then source), so each register pair is examined once for mov, cmp and all six cmovs:
    about 4x faster on sort5 than decoding every action.
    """
    mask[:] = False
    if meta[M_TERMINATED] != 0 or meta[M_TRUNCATED] != 0:
        meta[M_ALLOWED] = 0
        return 0
    registers = params[P_R]
    n = params[P_N]
    prune = params[P_PRUNE] != 0
    strict = params[P_STRICT] != 0
    read_once = params[P_READ_ONCE] != 0
    n_out = params[P_OUT]
    optional = params[P_OPTIONAL]
    written = meta[M_WRITTEN]
    loaded = meta[M_LOADED]
    stored = meta[M_STORED]
    next_load = meta[M_NEXT_LOAD]
    last_op = meta[M_LAST_OP]
    after_cmp = last_op != NO_OP and WRITES_FLAGS[last_op] != 0
    seen_cmp = meta[M_SEEN_CMP] != 0
    fresh = 0  # lowest register never written: the only one a first write may use
    while fresh < registers and (written >> fresh) & 1:
        fresh += 1
    reach = next_load  # the last cell a first load may read: past it only optional cells
    while reach < n - 1 and (optional >> reach) & 1:
        reach += 1
    flags = state.shape[0] - 1
    sole = np.zeros(registers, dtype=np.uint8)  # uint8[R]: see _sole_flags
    if prune and params[P_DEAD_ENDS] != 0:
        _sole_flags(state, expected, meta, registers, n, read_once, sole)
    off_mov = _offset(_MOV_OP, registers, n)  # block offsets in action_table's order
    off_load = _offset(_LOAD_OP, registers, n)
    off_store = _offset(_STORE_OP, registers, n)
    off_cmp = _offset(_CMP_OP, registers, n)
    off_cmov = np.empty(_CMOV_OPS.shape[0], dtype=np.int64)  # int64[C]
    for c in range(_CMOV_OPS.shape[0]):
        off_cmov[c] = _offset(_CMOV_OPS[c], registers, n)
    count = 0
    for d in range(registers):
        d_written = (written >> d) & 1 == 1
        d_free = d_written or d == fresh  # a write to d keeps first writes in order
        # loads
        for i in range(n):
            ok = True
            if prune:
                ok = d_free and sole[d] == 0
                if ok and next_load <= i <= reach:
                    ok = (stored >> i) & 1 == 0  # a first load (skipping optional cells)
                elif ok:
                    # a re-load (without read_once) of a cell not yet stored, unless r{d}
                    # holds its value already
                    ok = (not read_once and i < next_load and (stored >> i) & 1 == 0
                          and not _row_equals(state[d], state[registers + i]))
            mask[off_load + d * n + i] = ok
            count += ok
        for s in range(registers):
            if (written >> s) & 1 == 0:
                continue  # every move reading r{s} is ill-formed
            k = d * registers + s
            diff = pairdiff[d, s]
            # mov rD, rS
            ok = True
            if prune:
                ok = d != s and d_free and diff != 0 and sole[d] == 0
            mask[off_mov + k] = ok
            count += ok
            if not d_written:
                continue  # cmp and cmov read r{d} too
            # cmp rD, rS
            ok = True
            if prune:
                ok = (d < s and not after_cmp and diff != 0
                      and _cmp_changes_flags(state[d], state[s], state[flags]))
            mask[off_cmp + k] = ok
            count += ok
            # cmovCC rD, rS
            if seen_cmp:
                for c in range(_CMOV_OPS.shape[0]):
                    ok = True
                    if prune:
                        cond = _CMOV_CONDS[c]
                        # changes something, is not simply a mov (fires wherever the rows
                        # differ), and loses no value that only r{d} holds
                        ok = (d != s and (diff & cond) != 0 and (diff & ~cond & 15) != 0
                              and (sole[d] & cond) == 0)
                    mask[off_cmov[c] + k] = ok
                    count += ok
    # stores
    for i in range(n):
        if prune and (i >= n_out or (stored >> i) & 1 == 1
                      or ((loaded >> i) & 1 == 0 and (optional >> i) & 1 == 0)):
            continue  # scratch, stored already, or (not optional) not loaded yet
        for s in range(registers):
            if (written >> s) & 1 == 0:
                continue
            ok = True
            if prune and strict:
                ok = _row_equals(state[s], expected[i])
            mask[off_store + i * registers + s] = ok
            count += ok
    for c in range(_OTHER_OPS.shape[0]):
        count += _mask_well_formed(_OTHER_OPS[c], mask, written, seen_cmp, prune,
                                   registers, n)
    meta[M_ALLOWED] = count
    return count


@numba.njit(inline="always", **JIT)
def _outcome(reward, meta):
    """(reward, terminated, truncated, solved inputs, length, illegal): Python scalars once
    returned, which is cheaper than reading numpy scalars out of meta afterwards."""
    return (reward, meta[M_TERMINATED] != 0, meta[M_TRUNCATED] != 0, meta[M_SOLVED],
            meta[M_LENGTH], meta[M_ILLEGAL] != 0)


@numba.njit(**JIT)
def game_reset(buffer, inputs, columns, expected, params):
    """Start a game: empty program, inputs in memory, registers and flags unset."""
    meta, program, pairdiff, mask, placed, state, obs_state = _views(buffer, params)
    registers = params[P_R]
    n = params[P_N]
    flags = registers + n
    state[:registers] = UNSET
    state[registers:flags] = inputs
    state[flags] = 0
    if params[P_SEPARATE] != 0:
        for j in range(columns.shape[0]):
            for r in range(state.shape[0]):
                obs_state[r, j] = state[r, columns[j]]
    program[:] = EMPTY
    meta[:] = 0
    meta[M_LAST_OP] = NO_OP
    n_out = params[P_OUT]
    total = 0
    solved = 0
    for b in range(inputs.shape[1]):
        p = 0
        for i in range(n_out):
            p += inputs[i, b] == expected[i, b]
        placed[b] = p
        total += p
        solved += p == n_out
    meta[M_PLACED] = total
    meta[M_PLACED0] = total
    meta[M_SOLVED] = solved
    pairdiff[:] = 0
    build_mask(state, meta, pairdiff, mask, expected, params)


@numba.njit(**JIT)
def game_step(action, buffer, expected, params, weights):
    """Play one move; returns ``_outcome(reward, meta)``. A masked move ends the game.

    Five arguments, the arrays carved out of ``buffer`` inside: each array argument costs
    about 60 ns of dispatch, a tenth of a sort3 move."""
    meta, program, pairdiff, mask, placed, state, obs_state = _views(buffer, params)
    if meta[M_TERMINATED] != 0 or meta[M_TRUNCATED] != 0:
        return _outcome(0.0, meta)
    if action < 0 or action >= params[P_A] or not mask[action]:
        meta[M_ILLEGAL] = 1
        meta[M_TERMINATED] = 1
        mask[:] = False
        meta[M_ALLOWED] = 0
        return _outcome(-weights[W_ILLEGAL], meta)
    registers = params[P_R]
    n = params[P_N]
    n_inputs = params[P_B]
    op, d, s = _decode_action(action, registers, n)
    length = meta[M_LENGTH]
    program[length, 0] = op
    program[length, 1] = d
    program[length, 2] = s
    length += 1
    meta[M_LENGTH] = length
    reward = 0.0
    n_out = params[P_OUT]
    if ROLE[op] == ROLE_STORE and d < n_out:
        # Only the stored cell changes: update placed counts from its old and new values
        # (a store to a scratch cell past the outputs places nothing).
        target = expected[d]
        new_row = state[s]
        old_row = state[registers + d]
        delta = 0
        solved = meta[M_SOLVED]
        for b in range(n_inputs):
            change = np.int64(new_row[b] == target[b]) - np.int64(old_row[b] == target[b])
            if change != 0:
                before = placed[b]
                after = before + change
                solved += (after == n_out) - (before == n_out)
                placed[b] = after
                delta += change
        meta[M_SOLVED] = solved
        meta[M_PLACED] += delta
        reward = weights[W_CORRECT] * delta / (n_out * n_inputs)
    if ROLE[op] == ROLE_STORE:
        meta[M_STORED] |= np.int64(1) << d
    step(state, op, d, s, registers)
    if params[P_SEPARATE] != 0:
        step(obs_state, op, d, s, registers)
    if WRITES_FLAGS[op]:
        meta[M_SEEN_CMP] = 1
        _refresh_pairs(state, pairdiff, registers, -1)
    if WRITES_DST[op] and DST_REG[op]:  # mov, load, cmov write register d
        meta[M_WRITTEN] |= np.int64(1) << d
        if not WRITES_FLAGS[op]:
            _refresh_pairs(state, pairdiff, registers, d)
    if ROLE[op] == ROLE_LOAD:
        meta[M_LOADED] |= np.int64(1) << s
        if s + 1 > meta[M_NEXT_LOAD]:
            meta[M_NEXT_LOAD] = s + 1
    meta[M_LAST_OP] = op
    if meta[M_SOLVED] == n_inputs:
        meta[M_TERMINATED] = 1
        if params[P_COST] == COST_LATENCY:
            cost = latency_estimate(program[:length], n, registers)
        else:
            cost = length
        meta[M_COST] = cost
        reward += weights[W_BONUS] - weights[W_COST] * cost / weights[W_SCALE]
    elif length >= params[P_L]:
        meta[M_TRUNCATED] = 1
    if build_mask(state, meta, pairdiff, mask, expected, params) == 0:
        if meta[M_TERMINATED] == 0:
            meta[M_TRUNCATED] = 1  # no legal move left: a dead end
    return _outcome(reward, meta)


__all__ = ["COST_LATENCY", "COST_LENGTH", "EMPTY", "NO_OP", "action_table", "buffer_layout",
           "build_mask", "game_reset", "game_step"]

