"""Compiled hot loops of the stochastic superoptimiser (AlphaDev-S) and of random search.

Both searches keep Python out of the inner loop: one call runs thousands of proposals.

MCMC (``run_chain``): one Markov chain over whole programs, with its own RNG, so its
trajectory depends only on its seed, never on threads or on how many steps each call
runs. It releases the GIL: the caller runs independent chains on Python threads, one per
core (a ``prange`` over chains did the same but added about 6 s of cold compilation). A
chain keeps the machine state after every prefix of its current program (``states:
int8[P + 1, S, B]``); a proposal that first differs at instruction i is run from the
cached state before i, in blocks of input columns, and is dropped as soon as its
incorrectness already exceeds what the Metropolis test (drawn before evaluating, as
STOKE does) would accept. Most proposals are rejected after one block.

Random search (``random_programs``): masked random programs (no register read before it
is written, no cmov before a cmp: well-formed by construction), generated from a hash of
(seed, index) so the result does not depend on threads or call sizes.
"""

from __future__ import annotations

import numba
import numpy as np

from .cost import latency_estimate, modelled_latency
from .interp import UNSET, _apply, _decode, decode_into
from .jit import JIT
from .isa import (DST_MEM, DST_REG, MIRROR, N_OPCODES, OPCODES, READS_DST, READS_FLAGS,
                  READS_SRC, REG, REGISTER_READS, SRC_MEM, SRC_REG, STORE, WRITES_DST,
                  WRITES_FLAGS)

# Proposal moves (STOKE / AlphaDev-S), the order of the move weights.
ADD = 0  # insert a random instruction
REMOVE = 1  # delete an instruction
SWAP = 2  # exchange two instructions
OPCODE = 3  # change the opcode, keeping the operands
OPERAND = 4  # change one operand
INSTRUCTION = 5  # replace an instruction by a random one
N_MOVES = 6
MOVE_NAMES = ("add", "remove", "swap", "opcode", "operand", "instruction")

# What the length term of the cost counts.
COST_LENGTH = 0
COST_LATENCY = 1  # kernels/cost.py's latency_estimate
COST_MODEL = 2  # latency_model under a packed model (run_chain's ``model``)

# Columns of a chain's counters: int64[C, N_COUNTERS].
PROPOSED = 0
INVALID = 1  # no-op or impossible move (e.g. add at full capacity)
ILL_FORMED = 2  # rejected without running: reads an unwritten register, cmov before cmp
ACCEPTED = 3
EARLY_REJECTED = 4  # sure to be rejected before all inputs ran (or any: too long)
N_COUNTERS = 5

# From the opcode table: the register-register opcodes (mov, cmp, the cmovs), which the
# opcode move cycles through; the order in which masked random programs list opcodes:
# fewest register reads first, flags last (load; mov, store; cmp; cmovs).
_REGISTER_OPS = np.array([op for op, spec in enumerate(OPCODES) if spec.dst == spec.src == REG],
                         dtype=np.int32)  # int32[K]
_BY_NEEDS = np.array(sorted(range(N_OPCODES), key=lambda op: (
    REGISTER_READS[op], READS_FLAGS[op], op)), dtype=np.int64)  # int64[N_OPCODES]
_NEEDS_REGS = REGISTER_READS[_BY_NEEDS]  # int8[N_OPCODES], in _BY_NEEDS order
_NEEDS_FLAGS = READS_FLAGS[_BY_NEEDS]
BLOCK_COLUMNS = 64  # input columns evaluated between two early-rejection checks
NO_BEST = np.inf  # best key of a chain that has seen no correct program

_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_STAR = np.uint64(0x2545F4914F6CDD1D)


@numba.njit(inline="always", **JIT)
def _splitmix(x):
    """A well-mixed 64-bit value of x (splitmix64's finaliser): seeds from small integers."""
    x = np.uint64(x) + _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * _MIX1
    x = (x ^ (x >> np.uint64(27))) * _MIX2
    x = x ^ (x >> np.uint64(31))
    if x == np.uint64(0):
        x = _GOLDEN
    return x


def seed_state(seed: int, stream: int) -> np.uint64:
    """Non-zero RNG state for stream ``stream`` of seed ``seed`` (Python side)."""
    return np.uint64(_splitmix(np.uint64((seed * 1_000_003 + stream) % (1 << 64))))


@numba.njit(inline="always", **JIT)
def _next(rng):
    """xorshift64* on ``rng: uint64[1]`` (in place); returns 64 random bits."""
    x = rng[0]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    rng[0] = x
    return x * _STAR


@numba.njit(inline="always", **JIT)
def _randint(rng, n):
    """Uniform integer in 0..n-1 (n > 0; the modulo bias is below 2**-30)."""
    return np.int64((_next(rng) >> np.uint64(32)) % np.uint64(n))


@numba.njit(inline="always", **JIT)
def _uniform(rng):
    """Uniform float in (0, 1]."""
    return (np.float64(_next(rng) >> np.uint64(11)) + 1.0) * (1.0 / 9007199254740992.0)


@numba.njit(inline="always", **JIT)
def _range(reg, mem, registers, n):
    """Values an operand takes: R (a register), N (a memory cell) or 1 (none)."""
    return registers if reg else n if mem else 1


@numba.njit(inline="always", **JIT)
def _random_instruction(rng, n, registers, code, k):
    """Write a uniformly drawn instruction (any opcode, in-range operands) into code[k]."""
    op = _randint(rng, N_OPCODES)
    both = DST_REG[op] and SRC_REG[op]
    if registers < 2 and both:
        op = STORE  # register-register instructions need two registers
        both = False
    d = _randint(rng, _range(DST_REG[op], DST_MEM[op], registers, n))
    if both:  # two distinct registers
        s = _randint(rng, registers - 1)
        if s >= d:
            s += 1
    else:
        s = _randint(rng, _range(SRC_REG[op], SRC_MEM[op], registers, n))
    code[k, 0] = op
    code[k, 1] = d
    code[k, 2] = s


@numba.njit(inline="always", **JIT)
def instruction_ok(op, d, s, written, seen_cmp, n, registers):
    """Is the v1 instruction (op, d, s) well-formed after a prefix that wrote the
    registers ``written`` (bits) and made a cmp (``seen_cmp``)? Operands in range, no
    register read unwritten, no cmov before a cmp."""
    if not (0 <= d < _range(DST_REG[op], DST_MEM[op], registers, n)
            and 0 <= s < _range(SRC_REG[op], SRC_MEM[op], registers, n)):
        return False
    if READS_DST[op] and DST_REG[op] and not (written >> d) & 1:
        return False
    if READS_SRC[op] and SRC_REG[op] and not (written >> s) & 1:
        return False
    return not (READS_FLAGS[op] and not seen_cmp)


@numba.njit(**JIT)
def well_formed(code, length, n, registers):
    """The ISA's well-formedness of ``code[:length]`` (Program.check, as a yes/no)."""
    written = np.int64(0)  # bit r: register r written
    seen_cmp = False
    for k in range(length):
        op = code[k, 0]
        d = code[k, 1]
        s = code[k, 2]
        if op < 0 or op >= N_OPCODES or not instruction_ok(op, d, s, written, seen_cmp, n,
                                                          registers):
            return False
        seen_cmp |= WRITES_FLAGS[op] != 0
        if WRITES_DST[op] and DST_REG[op]:
            written |= np.int64(1) << d
    return True


@numba.njit(inline="always", **JIT)
def copy_rows(dst, src, length):
    """``dst[:length] = src[:length]`` for ``int32[P, 3]`` programs (no temporary)."""
    for k in range(length):
        dst[k, 0] = src[k, 0]
        dst[k, 1] = src[k, 1]
        dst[k, 2] = src[k, 2]


@numba.njit(inline="always", **JIT)
def swap_move(rng, prop, length):
    """The swap move on ``prop[:length]``: exchange two random rows; the first changed row,
    or -1 (fewer than two rows, or two equal ones). Moves below return the same."""
    if length < 2:
        return -1
    i = _randint(rng, length)
    j = _randint(rng, length - 1)
    if j >= i:
        j += 1
    if i > j:
        i, j = j, i
    if prop[i, 0] == prop[j, 0] and prop[i, 1] == prop[j, 1] and prop[i, 2] == prop[j, 2]:
        return -1
    for c in range(3):
        t = prop[i, c]
        prop[i, c] = prop[j, c]
        prop[j, c] = t
    return i


@numba.njit(inline="always", **JIT)
def opcode_move(rng, cur, prop, p, op):
    """The opcode move on row p (a v1 opcode ``op``): a load becomes the mirror store (and
    back), a register-register opcode another one."""
    if MIRROR[op] >= 0:  # mov rD, mS  <->  mov mS, rD
        prop[p, 0] = MIRROR[op]
        prop[p, 1] = cur[p, 2]
        prop[p, 2] = cur[p, 1]
    elif DST_REG[op] and SRC_REG[op]:  # another register-register opcode
        k = _REGISTER_OPS.shape[0]
        pos = 0
        while _REGISTER_OPS[pos] != op:
            pos += 1
        prop[p, 0] = _REGISTER_OPS[(pos + 1 + _randint(rng, k - 1)) % k]
    return p if prop[p, 0] != op else -1


@numba.njit(inline="always", **JIT)
def operand_move(rng, prop, p, op, n, registers):
    """The operand move on row p (a v1 opcode ``op``): one operand another value."""
    which = 1 + _randint(rng, 2)
    limit = (_range(DST_REG[op], DST_MEM[op], registers, n) if which == 1
             else _range(SRC_REG[op], SRC_MEM[op], registers, n))
    if limit < 2:
        return -1
    old = prop[p, which]
    new = _randint(rng, limit - 1)
    if new >= old:
        new += 1
    prop[p, which] = new
    if DST_REG[op] and SRC_REG[op] and prop[p, 1] == prop[p, 2]:
        return -1  # rX, rX: a no-op or a useless compare
    return p


@numba.njit(inline="always", **JIT)
def instruction_move(rng, cur, prop, p, n, registers):
    """The instruction move: row p a random instruction."""
    _random_instruction(rng, n, registers, prop, p)
    if prop[p, 0] == cur[p, 0] and prop[p, 1] == cur[p, 1] and prop[p, 2] == cur[p, 2]:
        return -1
    return p


@numba.njit(**JIT)
def _propose(rng, cur, length, prop, capacity, n, registers, move_cdf):
    """Copy ``cur[:length]`` into ``prop`` and apply one random move.

    Returns ``(move, new length, first changed row)``; first = -1 when the move is
    impossible here or changes nothing.
    """
    copy_rows(prop, cur, length)
    u = _uniform(rng) * move_cdf[N_MOVES - 1]
    move = 0
    while move < N_MOVES - 1 and u > move_cdf[move]:
        move += 1
    if move == ADD:
        if length >= capacity:
            return move, length, -1
        p = _randint(rng, length + 1)
        for k in range(length, p, -1):
            prop[k, 0] = prop[k - 1, 0]
            prop[k, 1] = prop[k - 1, 1]
            prop[k, 2] = prop[k - 1, 2]
        _random_instruction(rng, n, registers, prop, p)
        return move, length + 1, p
    if length == 0:
        return move, length, -1
    if move == REMOVE:
        p = _randint(rng, length)
        for k in range(p, length - 1):
            prop[k, 0] = prop[k + 1, 0]
            prop[k, 1] = prop[k + 1, 1]
            prop[k, 2] = prop[k + 1, 2]
        return move, length - 1, p
    if move == SWAP:
        return move, length, swap_move(rng, prop, length)
    p = _randint(rng, length)
    op = prop[p, 0]
    if move == OPCODE:
        return move, length, opcode_move(rng, cur, prop, p, op)
    if move == OPERAND:
        return move, length, operand_move(rng, prop, p, op, n, registers)
    return move, length, instruction_move(rng, cur, prop, p, n, registers)


@numba.njit(**JIT)
def _evaluate(code, length, first, base, states, expected, registers, allowed, block, decoded):
    """Run ``code[first:length]`` from ``base[first]`` into ``states[first + 1 ..]``.

    ``base, states: int8[P + 1, S, B]`` (may be the same array). Returns
    ``(misplaced, complete)``: output cells (m0..m{K-1}) not holding their expected value, summed over
    the inputs run so far; stops early (complete False) once misplaced > allowed >= 0.
    """
    k_out, b = expected.shape  # K output cells (N for a sort); memory has N cells
    rows = base.shape[1]
    flags = rows - 1
    decode_into(code, first, length, registers, decoded)
    final = states[length] if length > first else base[first]
    misplaced = 0
    for lo in range(0, b, block):
        hi = min(lo + block, b)
        for k in range(first, length):
            src = base[first] if k == first else states[k]
            dst = states[k + 1]
            for r in range(rows):
                for i in range(lo, hi):
                    dst[r, i] = src[r, i]
            _apply(dst, decoded[k, 0], decoded[k, 1], decoded[k, 2], decoded[k, 3], flags, lo, hi)
        for j in range(k_out):
            row = final[registers + j]
            want = expected[j]
            for i in range(lo, hi):
                misplaced += row[i] != want[i]
        if misplaced > allowed:
            return misplaced, hi == b
    return misplaced, True


@numba.njit(**JIT)
def _score(code, length, first, base, expected, registers, allowed, block, decoded, work):
    """Misplaced cells of ``code[:length]``, run from ``base[first]`` (the cached state).

    Runs block after block of input columns in ``work: int8[S, block]`` (stays in L1; no
    prefix state is stored, so a rejected proposal costs only its instructions): about
    3x faster on sort5 than writing every prefix state. Returns ``(misplaced, complete)``;
    stops early (complete False) once misplaced > allowed >= 0.
    """
    k_out, b = expected.shape  # K output cells (N for a sort); memory has N cells
    rows = base.shape[1]
    flags = rows - 1
    decode_into(code, first, length, registers, decoded)
    start = base[first]
    misplaced = 0
    for lo in range(0, b, block):
        hi = min(lo + block, b)
        w = hi - lo
        for r in range(rows):
            for i in range(w):
                work[r, i] = start[r, lo + i]
        for k in range(first, length):
            _apply(work, decoded[k, 0], decoded[k, 1], decoded[k, 2], decoded[k, 3], flags, 0, w)
        for j in range(k_out):
            row = work[registers + j]
            want = expected[j]
            for i in range(w):
                misplaced += row[i] != want[lo + i]
        if misplaced > allowed:
            return misplaced, hi == b
    return misplaced, True


@numba.njit(**JIT)
def prefix_states(code, length, states, inputs, expected, registers):
    """Fill ``states: int8[P + 1, S, B]`` with the state after each prefix of ``code``.

    Returns the misplaced-cell count of the whole program (its incorrectness).
    """
    n, b = inputs.shape
    states[0, :registers] = UNSET
    states[0, registers:registers + n] = inputs
    states[0, registers + n] = 0
    decoded = np.empty((max(length, 1), 4), dtype=np.int64)
    misplaced, _ = _evaluate(code, length, 0, states, states, expected, registers,
                             np.int64(n * b), BLOCK_COLUMNS, decoded)
    return misplaced


@numba.njit(**JIT)
def _metric(code, length, n, registers, cost_kind, model):
    """The size term of the cost: length, the latency estimate, or a packed model's."""
    if cost_kind == COST_LATENCY:
        return np.float64(latency_estimate(code[:length], n, registers))
    if cost_kind == COST_MODEL:
        return modelled_latency(code[:length], n, registers, model)
    return np.float64(length)


@numba.njit(**JIT)
def _best_key(metric, length, capacity):
    """Order of correct programs: the metric, then length (for latency)."""
    return metric * (capacity + 1) + length


@numba.njit(**JIT)
def run_chain(steps, code, length, cost, rng, states, prop, work, decoded,
           best_code, best_length, best_key, counters, expected, registers,
           alpha, beta, move_cdf, cost_kind, block, model):
    """Run one chain for ``steps`` proposals; returns (length, cost, best_length, best_key).

    ``code: int32[P, 3]`` the current program (first ``length`` rows), ``cost`` its
    cost, ``rng: uint64[1]``, ``states: int8[P + 1, S, B]`` its prefix states over the
    columns of ``expected: int8[K, B]`` (the K output cells; N for a sort); ``prop: int32[P, 3]``, ``work: int8[S, block]``,
    ``decoded: int64[P, 4]`` scratch; ``best_code``, ``best_length``, ``best_key`` the best
    correct program seen; ``counters: int64[N_COUNTERS]``. Arrays are updated in place.
    ``move_cdf: float64[N_MOVES]`` cumulative move weights; ``cost_kind`` COST_LENGTH,
    COST_LATENCY or COST_MODEL (``model: float64[MODEL_SIZE]``, kernels/cost.py's
    pack_model; read only for COST_MODEL). Releases the GIL, so threads can run several
    chains at once.
    """
    n = states.shape[1] - registers - 1  # memory cells (a kernel's K outputs are the first)
    b = expected.shape[1]
    capacity = code.shape[0]
    for _ in range(steps):
        counters[PROPOSED] += 1
        move, plen, first = _propose(rng, code, length, prop, capacity, n, registers, move_cdf)
        if first < 0:
            counters[INVALID] += 1
            continue
        if not well_formed(prop, plen, n, registers):
            counters[ILL_FORMED] += 1
            continue
        metric = _metric(prop, plen, n, registers, cost_kind, model)
        size = alpha * metric
        # Metropolis: accept iff new cost <= cost - log(u) / beta (drawn first, so the
        # evaluation can stop as soon as the proposal is sure to be rejected).
        threshold = cost - np.log(_uniform(rng)) / beta
        key = _best_key(metric, plen, capacity)
        allowed = threshold - size
        if key < best_key and allowed < 0.0:
            allowed = 0.0  # still worth knowing whether it is correct: a new best
        if allowed < 0.0:
            counters[EARLY_REJECTED] += 1
            continue
        misplaced, complete = _score(prop, plen, first, states, expected, registers,
                                     np.int64(np.floor(allowed)), block, decoded, work)
        new_cost = size + misplaced
        if misplaced == 0 and complete and key < best_key:
            best_key = key
            best_length = plen
            copy_rows(best_code, prop, plen)
        if not complete or new_cost > threshold:
            counters[EARLY_REJECTED] += not complete
            continue
        counters[ACCEPTED] += 1
        copy_rows(code, prop, plen)
        # Accepted (a few percent of proposals): store the new prefix states.
        _evaluate(code, plen, first, states, states, expected, registers,
                  np.int64(n * b), block, decoded)
        length = plen
        cost = new_cost
    return length, cost, best_length, best_key


@numba.njit(**JIT)
def _random_program(rng, length, n, registers, code):
    """Fill ``code[:length]`` with a masked random program (well-formed by construction)."""
    written = np.zeros(registers, dtype=np.int64)  # int64[R]: written registers, listed
    count = 0
    is_written = np.zeros(registers, dtype=np.bool_)
    seen_cmp = False
    for k in range(length):
        # Allowed: opcodes whose register reads find enough distinct written registers
        # and, if they read the flags, come after a cmp (load; mov, store; cmp; cmovs).
        choices = 0
        op = _BY_NEEDS[0]
        for i in range(N_OPCODES):
            choices += _NEEDS_REGS[i] <= count and (seen_cmp or not _NEEDS_FLAGS[i])
        pick = 0 if choices == 1 else _randint(rng, choices)
        for i in range(N_OPCODES):
            if _NEEDS_REGS[i] <= count and (seen_cmp or not _NEEDS_FLAGS[i]):
                if pick == 0:
                    op = _BY_NEEDS[i]
                    break
                pick -= 1
        reads_d = READS_DST[op] and DST_REG[op]
        reads_s = READS_SRC[op] and SRC_REG[op]
        if reads_d and reads_s:  # cmp, cmov: two distinct written registers
            i = _randint(rng, count)
            j = _randint(rng, count - 1)
            if j >= i:
                j += 1
            d = written[i]
            s = written[j]
        elif DST_REG[op] and reads_s:  # mov: into another register than its source
            s = written[_randint(rng, count)]
            d = _randint(rng, registers - 1) if registers > 1 else 0
            if registers > 1 and d >= s:
                d += 1
        else:  # load, store
            d = written[_randint(rng, count)] if reads_d else _randint(
                rng, _range(DST_REG[op], DST_MEM[op], registers, n))
            s = written[_randint(rng, count)] if reads_s else _randint(
                rng, _range(SRC_REG[op], SRC_MEM[op], registers, n))
        if WRITES_FLAGS[op]:
            seen_cmp = True
        if WRITES_DST[op] and DST_REG[op] and not is_written[d]:
            is_written[d] = True
            written[count] = d
            count += 1
        code[k, 0] = op
        code[k, 1] = d
        code[k, 2] = s


@numba.njit(**JIT)
def random_programs(seed_state, start, stop, min_length, max_length, inputs, expected,
                    registers, best_code, best, stats):
    """Draw programs ``start .. stop - 1`` and run each on every input (releases the GIL).

    Program i comes from an RNG seeded with (seed_state, i) alone, so the caller may split
    the indices into slices and run them on threads in any order. ``best_code: int32[P,
    3]``, ``best: int64[2]`` (length, index) the shortest correct program of this slice's
    stream (lowest index among equals; length max_length + 1 while none), ``stats:
    int64[2]`` (programs run, fewest misplaced cells seen), all updated in place.
    Programs that cannot beat ``best`` are skipped without running: drawn later, an equal
    one loses to it, so carrying ``best`` between calls does not change the result.
    """
    n, b = inputs.shape
    rows = registers + n + 1
    flags = rows - 1
    code = np.empty((max_length, 3), dtype=np.int32)  # int32[P, 3]: (op, dst, src)
    state = np.empty((rows, b), dtype=np.int8)  # int8[S, B]
    rng = np.empty(1, dtype=np.uint64)
    for index in range(start, stop):
        rng[0] = _splitmix(seed_state ^ _splitmix(np.uint64(index)))
        length = min_length + _randint(rng, max_length - min_length + 1)
        if length >= best[0]:
            continue
        stats[0] += 1
        _random_program(rng, length, n, registers, code)
        state[:registers] = UNSET
        state[registers:registers + n] = inputs
        state[flags] = 0
        for k in range(length):
            kind, d, s, mask = _decode(code[k, 0], code[k, 1], code[k, 2], registers)
            _apply(state, kind, d, s, mask, flags, 0, b)
        misplaced = 0
        for j in range(expected.shape[0]):  # the K output cells
            for i in range(b):
                misplaced += state[registers + j, i] != expected[j, i]
        if misplaced < stats[1]:
            stats[1] = misplaced
        if misplaced == 0 and length < best[0]:
            best[0] = length
            best[1] = index
            best_code[:length] = code[:length]
