"""Compiled Markov chain of the stochastic search over ISA v2 programs (varsortN).

The fixed-size chain (``mcmc.py``) proposes straight-line programs; this one proposes
programs with ``cmp n, K`` and forward jumps, and runs them with the branch-aware
semantics of ``flow.py`` (input i runs instruction k when ``resume[i] <= k``; a taken jump
sets ``resume[i]`` to its target; a load or store past the input's length is a fault).

Representation of labels: a jump row ``(Jcc, t, 0)`` holds the index t of the instruction
its label stands before (``t = length``: the end), as ``Program`` does. Moves that insert
or remove rows rewrite every jump target so that each label keeps standing before the
same instruction (``_remap``): removing row p sends targets above p one down and a target
p (the removed row) to the row that follows it; inserting at p sends targets above p one
up, and a target p either up too (the new row goes before the label: only the
fall-through path runs it) or not (after the label: the jumps to p run it too), drawn at
random. The cached resume index of an input (the row it runs next after a taken
jump; 0 from the start, where no label can stand) is remapped alike. Swaps exchange rows and keep targets as they are (a jump that lands at or past
its target is ill-formed and rejected).

Moves (``_propose``): the six of the fixed search (add, remove, swap, opcode, operand,
instruction; ``add`` and ``instruction`` draw v1 instructions), where ``opcode`` on a
jump changes its condition (jmp, jl .. jne), ``operand`` on a jump moves its target (to
another later row or the end) and on a ``cmp n, K`` changes K; and two more: ``branch``
inserts a jump (a random condition and forward target), preceded half of the time by a
``cmp n, K``; ``unbranch`` removes a random control row (a jump right after a
``cmp n, K``: both).

Ill-formed proposals are rejected without running (``well_formed_flow``: the must-analysis
of ``Program.check(variable=True)``: operands in range, jumps forward, on every path a
register written before it is read and a cmp before every cmov or conditional jump).

Cost: ``alpha x size + incorrectness``, size the length (COST_LENGTH) or the mean path
latency (COST_LATENCY: ``latency_mean``, as ``verify.flow_cost``), incorrectness counting the memory cells not
holding their sorted value summed over the inputs, where an input that faults counts all
N of its cells plus ``fault_penalty``. As in ``mcmc.py``, a chain caches the machine
state (and each input's resume index) before every instruction of its current program,
so a proposal first differing at row i runs from row i (its cached resume indices
remapped like the jump targets), in blocks of input columns, and stops as soon as it is
sure to be rejected.
"""

from __future__ import annotations

import numba
import numpy as np

from .cost import ISSUE_WIDTH, LATENCY
from .interp import UNSET, _apply, _decode
from .isa import (CMPN, COMPARE, COND_MASK, COPY, DST_MEM, DST_REG, EFFECT, FLAG_EQ, FLAG_GT,
                  FLAG_LT, JMP, JNE, JUMP_COND, N_OPCODES, READS_DST, READS_FLAGS,
                  READS_SRC, SELECT, SRC_MEM, WRITES_DST, WRITES_FLAGS)
from .jit import JIT
from .mcmc import (ACCEPTED, EARLY_REJECTED, ILL_FORMED, INVALID, PROPOSED, _best_key,
                   _randint, _random_instruction, _uniform, copy_rows, instruction_move,
                   instruction_ok, opcode_move, operand_move, swap_move)

NEVER = np.int32(2**30)  # resume index of an input that faulted (as flow.py)

# Moves: the fixed search's six (same order), then the branch moves.
ADD = 0
REMOVE = 1
SWAP = 2
OPCODE = 3
OPERAND = 4
INSTRUCTION = 5
BRANCH = 6  # insert [cmp n, K;] jcc L
UNBRANCH = 7  # remove a control row ([cmp n, K;] jcc L together)
N_MOVES = 8
MOVE_NAMES = ("add", "remove", "swap", "opcode", "operand", "instruction", "branch",
              "unbranch")

# What the size term of the cost counts.
COST_LENGTH = 0  # instructions
COST_LATENCY = 1  # the latency estimate of each input's path, mean over the lengths 0..N
# (verify.flow_cost's latency_mean)

# How a move shifts rows (for jump targets and cached resume indices; see _remap).
SHIFT_NONE = 0
SHIFT_INSERT_BEFORE_LABEL = 1  # rows inserted at p go before a label at p
SHIFT_INSERT_AFTER_LABEL = 2  # ... after it (jumps to p run them)
SHIFT_REMOVE = 3

_N_JUMPS = JNE - JMP + 1  # jmp, jl, jg, jle, jge, je, jne: consecutive opcodes


@numba.njit(inline="always", **JIT)
def _remap(t, kind, at, count):
    """Where row index (jump target or resume index) t goes under a move's shift."""
    if kind == SHIFT_NONE or t >= NEVER:
        return t
    if kind == SHIFT_INSERT_BEFORE_LABEL:  # (no label stands at 0: resume 0 is the start)
        return t + count if t > at or (t == at and at > 0) else t
    if kind == SHIFT_INSERT_AFTER_LABEL:
        return t + count if t > at else t
    # SHIFT_REMOVE: rows at .. at + count - 1 removed
    if t >= at + count:
        return t - count
    if t >= at:
        return at
    return t


@numba.njit(**JIT)
def insert_rows(code, length, at, count, kind):
    """Open ``count`` rows at ``at`` in ``code[:length]`` (their content left as it was),
    rewriting every jump target by ``_remap``; returns the new length."""
    for k in range(length - 1, at - 1, -1):
        code[k + count, 0] = code[k, 0]
        code[k + count, 1] = code[k, 1]
        code[k + count, 2] = code[k, 2]
    for k in range(length + count):
        if at <= k < at + count:
            continue
        if code[k, 0] > CMPN:
            code[k, 1] = _remap(code[k, 1], kind, at, count)
    return length + count


@numba.njit(**JIT)
def remove_rows(code, length, at, count):
    """Delete rows ``at .. at + count - 1`` of ``code[:length]``, rewriting every jump
    target by ``_remap`` (a target in the removed rows moves to the row after them);
    returns the new length."""
    for k in range(at, length - count):
        code[k, 0] = code[k + count, 0]
        code[k, 1] = code[k + count, 1]
        code[k, 2] = code[k + count, 2]
    for k in range(length - count):
        if code[k, 0] > CMPN:
            code[k, 1] = _remap(code[k, 1], SHIFT_REMOVE, at, count)
    return length - count


@numba.njit(**JIT)
def well_formed_flow(code, length, n, registers, written, flags, reached):
    """Well-formedness of ``code[:length]`` on every path, as a yes/no: a must-analysis
    over the forward control flow that counts every path, also those no length can take
    (``Program.check(variable=True)`` skips those, deciding each jump after a ``cmp n, K``
    per length): so the chains may reject a program the checker accepts, never the
    reverse.

    The analysis: ``written: int64[P + 1]`` (registers
    written on every path into row k, as bits), ``flags: bool[P + 1]`` (a cmp made on every
    path), ``reached: bool[P + 1]`` are scratch. Unreachable rows are checked as if every
    register were written (they never run), as Program.check does.
    """
    for k in range(length + 1):
        reached[k] = False
    reached[0] = True
    written[0] = 0
    flags[0] = False
    for k in range(length):
        op = code[k, 0]
        d = code[k, 1]
        s = code[k, 2]
        here = reached[k]
        w = written[k] if here else np.int64(-1)
        f = flags[k] if here else True
        if op >= N_OPCODES:
            if op == CMPN:
                if d != 0 or s < 0 or s > n:
                    return False
                f = True
            elif JMP <= op <= JNE:
                if s != 0 or d <= k or d > length:
                    return False
                if op != JMP and not f:
                    return False
                if here:
                    if reached[d]:
                        written[d] &= w
                        flags[d] = flags[d] and f
                    else:
                        reached[d] = True
                        written[d] = w
                        flags[d] = f
                if op == JMP:
                    continue
            else:
                return False
        else:
            if op < 0 or not instruction_ok(op, d, s, w, f, n, registers):
                return False
            f = f or WRITES_FLAGS[op] != 0
            if WRITES_DST[op] and DST_REG[op]:
                w |= np.int64(1) << d
        if here:
            if reached[k + 1]:
                written[k + 1] &= w
                flags[k + 1] = flags[k + 1] and f
            else:
                reached[k + 1] = True
                written[k + 1] = w
                flags[k + 1] = f
    return True


@numba.njit(inline="always", **JIT)
def _step(work, res, op, d, s, k, registers, flags, lengths, lo, w):
    """Run row k = ``(op, d, s)`` on columns 0..w-1 of ``work: int8[S, W]`` (input columns
    lo .. lo + w - 1), ``res: int32[W]`` their resume indices (flow.py's semantics)."""
    count = 0
    for i in range(w):
        count += res[i] <= k
    if count == 0:
        return
    if op < N_OPCODES:
        kind, dr, sr, mask = _decode(op, d, s, registers)
        if SRC_MEM[op] or DST_MEM[op]:
            cell = s if SRC_MEM[op] else d
            for i in range(w):
                if res[i] <= k and cell >= lengths[lo + i]:
                    res[i] = NEVER
                    count -= 1
        if count == w:
            _apply(work, kind, dr, sr, mask, flags, 0, w)
            return
        dst = work[dr]
        src = work[sr]
        fl = work[flags]
        if kind == COPY:
            for i in range(w):
                take = -np.int8(res[i] <= k)
                dst[i] = (src[i] & take) | (dst[i] & ~take)
        elif kind == COMPARE:
            for i in range(w):
                x = dst[i]
                y = src[i]
                f = np.int8((x < y) * FLAG_LT + (x == y) * FLAG_EQ + (x > y) * FLAG_GT)
                take = -np.int8(res[i] <= k)
                fl[i] = (f & take) | (fl[i] & ~take)
        elif kind == SELECT:
            m = np.int8(mask)
            for i in range(w):
                take = -np.int8(res[i] <= k) & np.int8(-np.int8((fl[i] & m) != 0))
                dst[i] = (src[i] & take) | (dst[i] & ~take)
    elif op == CMPN:
        fl = work[flags]
        for i in range(w):
            x = lengths[lo + i]
            f = np.int8((x < s) * FLAG_LT + (x == s) * FLAG_EQ + (x > s) * FLAG_GT)
            take = -np.int8(res[i] <= k)
            fl[i] = (f & take) | (fl[i] & ~take)
    else:
        fl = work[flags]
        cond = JUMP_COND[op]
        for i in range(w):
            if res[i] <= k and (op == JMP or (fl[i] & cond) != 0):
                res[i] = d


@numba.njit(inline="always", **JIT)
def _wrong(work, res, registers, expected, lo, w, fault_cost):
    """Incorrectness of columns 0..w-1: misplaced cells, or ``fault_cost`` for a fault."""
    n = expected.shape[0]
    faults = 0
    for i in range(w):
        faults += res[i] == NEVER
    misplaced = 0
    for j in range(n):
        row = work[registers + j]
        want = expected[j]
        for i in range(w):
            misplaced += (row[i] != want[lo + i]) & (res[i] != NEVER)
    return misplaced + faults * fault_cost


@numba.njit(**JIT)
def _score(code, length, first, states, resumes, shift, at, count, expected, lengths,
           registers, allowed, block, work, res, fault_cost):
    """Incorrectness of ``code[:length]`` run from the cached state before row ``first``
    (resume indices remapped by the move's shift), in blocks of ``block`` columns;
    returns ``(incorrectness, complete)``, stopping once it exceeds ``allowed`` >= 0."""
    n, b = expected.shape
    rows = registers + n + 1
    flags = rows - 1
    start = states[first]
    rstart = resumes[first]
    bad = 0.0
    for lo in range(0, b, block):
        hi = min(lo + block, b)
        w = hi - lo
        for r in range(rows):
            for i in range(w):
                work[r, i] = start[r, lo + i]
        for i in range(w):
            res[i] = _remap(rstart[lo + i], shift, at, count)
        for k in range(first, length):
            _step(work, res, code[k, 0], code[k, 1], code[k, 2], k, registers, flags,
                  lengths, lo, w)
        bad += _wrong(work, res, registers, expected, lo, w, fault_cost)
        if bad > allowed:
            return bad, hi == b
    return bad, True


@numba.njit(**JIT)
def fill_states(code, length, first, states, resumes, expected, lengths, registers,
                fault_cost):
    """Fill ``states[first + 1 .. length]``, ``resumes[...]`` (the state and resume indices
    before each row) from ``states[first]``; returns the program's incorrectness.
    ``states: int8[P + 1, S, B]``, ``resumes: int32[P + 1, B]``."""
    n, b = expected.shape
    rows = registers + n + 1
    flags = rows - 1
    for k in range(first, length):
        src = states[k]
        dst = states[k + 1]
        for r in range(rows):
            for i in range(b):
                dst[r, i] = src[r, i]
        for i in range(b):
            resumes[k + 1, i] = resumes[k, i]
        _step(dst, resumes[k + 1], code[k, 0], code[k, 1], code[k, 2], k, registers, flags,
              lengths, 0, b)
    return _wrong(states[length], resumes[length], registers, expected, 0, b, fault_cost)


@numba.njit(**JIT)
def prefix_states(code, length, states, resumes, inputs, expected, lengths, registers,
                  fault_cost):
    """The whole cache of a program: initial state, then ``fill_states`` from row 0."""
    n, b = inputs.shape
    states[0, :registers] = UNSET
    states[0, registers:registers + n] = inputs
    states[0, registers + n] = 0
    resumes[0, :] = 0
    return fill_states(code, length, 0, states, resumes, expected, lengths, registers,
                       fault_cost)


@numba.njit(**JIT)
def _path_latency(code, length, inputs, lengths, col, registers, values, ready):
    """The latency estimate of input column ``col``'s path through ``code[:length]``: the
    cost model's schedule (kernels/cost.py, latency_estimate's parameters) of the v1
    instructions it runs, at least its instructions run (``cmp n`` and jumps included)
    over the issue width, as ``verify.flow_cost`` computes a path's (a fault ends the path
    before the faulting row). ``values: int64[R + N]``, ``ready: float64[R + N]`` scratch."""
    n = inputs.shape[0]
    m = lengths[col]
    for r in range(registers):
        values[r] = UNSET
        ready[r] = 0.0
    for j in range(n):
        values[registers + j] = inputs[j, col]
        ready[registers + j] = 0.0
    flag = 0
    flags_ready = 0.0
    finish = 0.0
    straight = 0
    rows = 0
    resume = 0
    for k in range(length):
        if resume > k:
            continue
        op = code[k, 0]
        d = code[k, 1]
        s = code[k, 2]
        if op < N_OPCODES:
            if (SRC_MEM[op] and s >= m) or (DST_MEM[op] and d >= m):
                break  # a fault
            d += DST_MEM[op] * registers
            s += SRC_MEM[op] * registers
            start = 0.0
            if READS_DST[op]:
                start = max(start, ready[d])
            if READS_SRC[op]:
                start = max(start, ready[s])
            if READS_FLAGS[op]:
                start = max(start, flags_ready)
            end = start + LATENCY[op]
            effect = EFFECT[op]
            if effect == COPY:
                values[d] = values[s]
            elif effect == COMPARE:
                x = values[d]
                y = values[s]
                flag = (x < y) * FLAG_LT + (x == y) * FLAG_EQ + (x > y) * FLAG_GT
            elif effect == SELECT and (flag & COND_MASK[op]) != 0:
                values[d] = values[s]
            if WRITES_DST[op]:
                ready[d] = end
            if WRITES_FLAGS[op]:
                flags_ready = end
            finish = max(finish, end)
            straight += 1
        elif op == CMPN:
            flag = (m < s) * FLAG_LT + (m == s) * FLAG_EQ + (m > s) * FLAG_GT
        elif op == JMP or (flag & JUMP_COND[op]) != 0:
            resume = d
        rows += 1
    latency = max(finish, np.ceil(straight / ISSUE_WIDTH))
    return max(np.floor(latency), np.ceil(rows / ISSUE_WIDTH))


@numba.njit(**JIT)
def latency_mean(code, length, inputs, lengths, registers):
    """``verify.flow_cost(...).latency_mean`` of ``code[:length]``: each input's path
    latency (``_path_latency``), mean over the inputs of each length, mean over the
    lengths present."""
    n, b = inputs.shape
    values = np.empty(registers + n, dtype=np.int64)
    ready = np.empty(registers + n, dtype=np.float64)
    sums = np.zeros(n + 1, dtype=np.float64)
    counts = np.zeros(n + 1, dtype=np.int64)
    for i in range(b):
        sums[lengths[i]] += _path_latency(code, length, inputs, lengths, i, registers,
                                          values, ready)
        counts[lengths[i]] += 1
    total = 0.0
    present = 0
    for m in range(n + 1):
        if counts[m] > 0:
            total += sums[m] / counts[m]
            present += 1
    return total / max(present, 1)


@numba.njit(**JIT)
def _random_jump(rng, prop, k, length):
    """A random jump (any of the seven) at row k to a random later row or the end."""
    prop[k, 0] = JMP + _randint(rng, _N_JUMPS)
    prop[k, 1] = k + 1 + _randint(rng, length - k)
    prop[k, 2] = 0


@numba.njit(**JIT)
def _propose(rng, cur, length, prop, capacity, n, registers, move_cdf, shape):
    """Copy ``cur[:length]`` into ``prop`` and apply one random move.

    Returns ``(move, new length, first changed row)`` (first = -1: the move is impossible
    here or changes nothing) and writes the move's row shift into ``shape: int64[3]``
    (kind, at, count) for the cached resume indices.
    """
    copy_rows(prop, cur, length)
    shape[0] = SHIFT_NONE
    shape[1] = 0
    shape[2] = 0
    u = _uniform(rng) * move_cdf[N_MOVES - 1]
    move = 0
    while move < N_MOVES - 1 and u > move_cdf[move]:
        move += 1
    if move == ADD or move == BRANCH:
        rows = 1
        if move == BRANCH:
            rows = 1 + _randint(rng, 2)  # a jump, or cmp n, K + a jump
        if length + rows > capacity:
            return move, length, -1
        p = _randint(rng, length + 1)
        kind = SHIFT_INSERT_BEFORE_LABEL + _randint(rng, 2)
        plen = insert_rows(prop, length, p, rows, kind)
        shape[0] = kind
        shape[1] = p
        shape[2] = rows
        if move == ADD:
            _random_instruction(rng, n, registers, prop, p)
        else:
            if rows == 2:
                prop[p, 0] = CMPN
                prop[p, 1] = 0
                prop[p, 2] = _randint(rng, n + 1)
            _random_jump(rng, prop, p + rows - 1, plen)
        return move, plen, p
    if length == 0:
        return move, length, -1
    if move == REMOVE or move == UNBRANCH:
        if move == REMOVE:
            p = _randint(rng, length)
        else:
            controls = 0
            for k in range(length):
                controls += prop[k, 0] >= N_OPCODES
            if controls == 0:
                return move, length, -1
            pick = _randint(rng, controls)
            p = 0
            for k in range(length):
                if prop[k, 0] >= N_OPCODES:
                    if pick == 0:
                        p = k
                        break
                    pick -= 1
        rows = 1
        if move == UNBRANCH and prop[p, 0] > CMPN and p > 0 and prop[p - 1, 0] == CMPN:
            p -= 1
            rows = 2
        shape[0] = SHIFT_REMOVE
        shape[1] = p
        shape[2] = rows
        return move, remove_rows(prop, length, p, rows), p
    if move == SWAP:
        return move, length, swap_move(rng, prop, length)
    p = _randint(rng, length)
    op = prop[p, 0]
    if move == OPCODE:
        if op == CMPN:
            return move, length, -1
        if op > CMPN:  # another jump condition
            prop[p, 0] = JMP + (op - JMP + 1 + _randint(rng, _N_JUMPS - 1)) % _N_JUMPS
            return move, length, p
        return move, length, opcode_move(rng, cur, prop, p, op)
    if move == OPERAND:
        if op == CMPN:  # another K
            new = _randint(rng, n)
            if new >= prop[p, 2]:
                new += 1
            prop[p, 2] = new
            return move, length, p
        if op > CMPN:  # another forward target
            if length - p < 2:
                return move, length, -1
            new = p + 1 + _randint(rng, length - p - 1)
            if new >= prop[p, 1]:
                new += 1
            prop[p, 1] = new
            return move, length, p
        return move, length, operand_move(rng, prop, p, op, n, registers)
    return move, length, instruction_move(rng, cur, prop, p, n, registers)


@numba.njit(**JIT)
def _remap_cache(resumes, upto, kind, at, count):
    """Remap the cached resume indices before rows 0..upto by an accepted move's shift."""
    if kind == SHIFT_NONE:
        return
    for k in range(upto + 1):
        row = resumes[k]
        for i in range(row.shape[0]):
            row[i] = _remap(row[i], kind, at, count)


@numba.njit(**JIT)
def run_flow_chain(steps, code, length, cost, rng, states, resumes, prop, work, res,
                   best_code, best_length, best_key, counters, expected, lengths,
                   registers, alpha, beta, move_cdf, block, fault_cost, scratch_w,
                   scratch_f, scratch_r, shape, cost_kind, inputs):
    """Run one chain for ``steps`` proposals; returns (length, cost, best_length, best_key).

    As ``mcmc.run_chain``, over v2 programs (``cost_kind``: COST_LENGTH, or COST_LATENCY,
    whose size term ``latency_mean`` needs the proposal's complete run: the early
    rejection then bounds it by 0; ``inputs: int8[N, B]`` the columns of ``expected``):
    ``code: int32[P, 3]`` (first ``length`` rows), ``states: int8[P + 1, S, B]`` and
    ``resumes: int32[P + 1, B]`` its cache, ``lengths: int8[B]`` the inputs' lengths,
    ``move_cdf: float64[N_MOVES]``, ``fault_cost`` what a faulting input adds (N + the
    fault penalty); ``prop``, ``work: int8[S, block]``, ``res: int32[block]``,
    ``scratch_*`` (``well_formed_flow``'s) and ``shape: int64[3]`` scratch. Releases the
    GIL (threads run several chains at once).
    """
    n, b = expected.shape
    capacity = code.shape[0]
    for _ in range(steps):
        counters[PROPOSED] += 1
        move, plen, first = _propose(rng, code, length, prop, capacity, n, registers,
                                     move_cdf, shape)
        if first < 0:
            counters[INVALID] += 1
            continue
        if not well_formed_flow(prop, plen, n, registers, scratch_w, scratch_f, scratch_r):
            counters[ILL_FORMED] += 1
            continue
        threshold = cost - np.log(_uniform(rng)) / beta
        if cost_kind == COST_LATENCY:
            size = 0.0  # a lower bound until the run is complete
            key = -np.inf  # (any proposal may be a new best)
        else:
            size = alpha * plen
            key = _best_key(plen, plen, capacity)
        allowed = threshold - size
        if key < best_key and allowed < 0.0:
            allowed = 0.0  # still worth knowing whether it is correct: a new best
        if allowed < 0.0:
            counters[EARLY_REJECTED] += 1
            continue
        bad, complete = _score(prop, plen, first, states, resumes, shape[0], shape[1],
                               shape[2], expected, lengths, registers, allowed, block,
                               work, res, fault_cost)
        if cost_kind == COST_LATENCY and complete:
            metric = latency_mean(prop, plen, inputs, lengths, registers)
            size = alpha * metric
            key = _best_key(metric, plen, capacity)
        new_cost = size + bad
        if bad == 0.0 and complete and key < best_key:
            best_key = key
            best_length = plen
            copy_rows(best_code, prop, plen)
        if not complete or new_cost > threshold:
            counters[EARLY_REJECTED] += not complete
            continue
        counters[ACCEPTED] += 1
        copy_rows(code, prop, plen)
        _remap_cache(resumes, first, shape[0], shape[1], shape[2])
        fill_states(code, plen, first, states, resumes, expected, lengths, registers,
                    fault_cost)
        length = plen
        cost = new_cost
    return length, cost, best_length, best_key
