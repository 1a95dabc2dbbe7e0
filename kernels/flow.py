"""The branch-aware interpreter (ISA v2): jumps, ``cmp n, K`` and faults past the length.

Inputs of different lengths (or different comparisons) take different paths through a
program with jumps. Jumps go forward only, so each input's path is the instructions it
does not skip: input i runs instruction k when ``resume[i] <= k``, and a taken jump sets
``resume[i]`` to its target. Every instruction is still one loop over all the input
columns, masked by that test (a select on an all-ones/all-zeros byte, as the v1 loop's
cmov), so the loops stay vectorised; an instruction no input reaches is skipped whole.

A load or store of a cell at or past an input's length is a fault: that input stops
there (``resume`` = never) and its fault records the instruction. Straight-line programs
of the fixed sorts never come here: ``interp.run`` stays their (faster) loop.
"""

from __future__ import annotations

import numba
import numpy as np

from .interp import BLOCK, UNSET, _apply, _decode
from .isa import (CMPN, COMPARE, COPY, DST_MEM, FLAG_EQ, FLAG_GT, FLAG_LT, FLAG_UNSET,
                  JMP, JUMP_COND, N_OPCODES, SELECT, SRC_MEM)
from .jit import JIT, JIT_PARALLEL

NEVER = np.int32(2**30)  # resume index of an input that faulted
_FLAG_UNSET = np.int8(FLAG_UNSET)
_PRIME = np.int64(1000003)


@numba.njit(**JIT)
def _flow_into(code, length, inputs, lengths, registers, out, fault, executed, path, trace):
    """Run ``code[:length]`` on every input column (see the module docstring).

    Writes the final memory into ``out: int8[N, B]``, and per input: ``fault`` (1 + the
    index of the instruction that faulted, 0: none), ``executed`` (instructions run),
    ``path`` (a hash of the jumps met and taken: equal paths, equal hashes). ``trace``:
    ``int8[P, B]`` set to 1 where input i ran instruction k, or an empty array.

    Inputs run in blocks of BLOCK columns (the state stays in cache, as in ``interp``);
    the varsort tasks list their inputs by length, so most blocks take one path: an
    instruction that no input of the block runs is skipped, one that all run takes the
    unmasked loop of the v1 interpreter.
    """
    n, b = inputs.shape
    rows = registers + n + 1
    flags = rows - 1
    block = np.empty((rows, BLOCK), dtype=np.int8)
    resume = np.empty(BLOCK, dtype=np.int32)
    active = np.empty(BLOCK, dtype=np.int8)  # -1: runs this instruction, 0: skips it
    fault[:] = 0
    executed[:] = 0
    path[:] = 0
    record = trace.shape[0] > 0
    for start in range(0, b, BLOCK):
        w = min(BLOCK, b - start)
        block[:registers, :w] = UNSET
        block[registers:flags, :w] = inputs[:, start:start + w]
        block[flags, :w] = _FLAG_UNSET
        resume[:w] = 0
        fl = block[flags]
        horizon = 0  # every input of the block runs instruction k when k >= horizon
        common = 0  # instructions every input of the block ran (added at the end)
        for k in range(length):
            op = code[k, 0]
            d = code[k, 1]
            s = code[k, 2]
            everyone = k >= horizon
            count = w
            if everyone:
                if record or op >= N_OPCODES or SRC_MEM[op] or DST_MEM[op]:
                    for i in range(w):
                        active[i] = -1
            else:
                count = 0
                for i in range(w):
                    a = resume[i] <= k
                    active[i] = -np.int8(a)
                    count += a
                if count == 0:
                    continue
            if op < N_OPCODES:
                kind, dr, sr, mask = _decode(op, d, s, registers)
                if SRC_MEM[op] or DST_MEM[op]:
                    cell = s if SRC_MEM[op] else d
                    for i in range(w):
                        if active[i] != 0 and cell >= lengths[start + i]:
                            fault[start + i] = k + 1
                            if everyone:  # the others ran it: count them one by one
                                everyone = False
                                for q in range(w):
                                    executed[start + q] += common
                                common = 0
                            resume[i] = NEVER
                            active[i] = 0
                            count -= 1
                            horizon = NEVER
                if count == w:
                    _apply(block, kind, dr, sr, mask, flags, 0, w)
                else:
                    dst = block[dr]
                    src = block[sr]
                    if kind == COPY:
                        for i in range(w):
                            take = active[i]
                            dst[i] = (src[i] & take) | (dst[i] & ~take)
                    elif kind == COMPARE:
                        for i in range(w):
                            x = dst[i]
                            y = src[i]
                            f = np.int8((x < y) * FLAG_LT + (x == y) * FLAG_EQ
                                        + (x > y) * FLAG_GT)
                            take = active[i]
                            fl[i] = (f & take) | (fl[i] & ~take)
                    elif kind == SELECT:
                        m = np.int8(mask)
                        for i in range(w):
                            take = active[i] & np.int8(-np.int8((fl[i] & m) != 0))
                            dst[i] = (src[i] & take) | (dst[i] & ~take)
            elif op == CMPN:
                for i in range(w):
                    x = lengths[start + i]
                    f = np.int8((x < s) * FLAG_LT + (x == s) * FLAG_EQ + (x > s) * FLAG_GT)
                    take = active[i]
                    fl[i] = (f & take) | (fl[i] & ~take)
            else:
                cond = JUMP_COND[op]
                for i in range(w):
                    if active[i] != 0:
                        taken = op == JMP or (fl[i] & cond) != 0
                        if taken:
                            resume[i] = d
                            horizon = max(horizon, d)
                        path[start + i] = path[start + i] * _PRIME + 2 * k + 1 + taken
                        if record:
                            trace[k, start + i] = 1 + taken
            if everyone:
                common += 1
            else:
                for i in range(w):
                    executed[start + i] += active[i] & 1
            if record and (op < N_OPCODES or op == CMPN):  # a jump recorded its way
                for i in range(w):
                    trace[k, start + i] = active[i] & 1
        for i in range(w):
            executed[start + i] += common
        out[:, start:start + w] = block[registers:flags, :w]


@numba.njit(**JIT)
def run_flow(code, inputs, lengths, registers):
    """Run ``code: int32[P, 3]`` (v1 or v2) on every input column, lengths ``int8[B]``.

    Returns ``(memory int8[N, B], fault int32[B], executed int32[B], path int64[B])``:
    see ``_flow_into``.
    """
    n, b = inputs.shape
    out = np.empty_like(inputs)
    fault = np.empty(b, dtype=np.int32)
    executed = np.empty(b, dtype=np.int32)
    path = np.empty(b, dtype=np.int64)
    _flow_into(code, code.shape[0], inputs, lengths, registers, out, fault, executed, path,
               np.zeros((0, 0), dtype=np.int8))
    return out, fault, executed, path


@numba.njit(**JIT)
def trace_flow(code, inputs, lengths, registers):
    """``int8[P, B]``: where input column i runs instruction k (its path), 1; 2 for a
    jump it takes."""
    n, b = inputs.shape
    out = np.empty_like(inputs)
    fault = np.empty(b, dtype=np.int32)
    executed = np.empty(b, dtype=np.int32)
    path = np.empty(b, dtype=np.int64)
    trace = np.zeros((code.shape[0], b), dtype=np.int8)
    _flow_into(code, code.shape[0], inputs, lengths, registers, out, fault, executed, path,
               trace)
    return trace


@numba.njit(**JIT)
def score_flow(code, length, inputs, lengths, expected, registers):
    """``(solved, placed, faults, executed)`` of ``code[:length]``: inputs sorted without
    a fault, cells holding their sorted value summed over inputs that did not fault,
    inputs that faulted, instructions executed summed over inputs. Correct iff solved == B.
    """
    n, b = inputs.shape
    out = np.empty((n, b), dtype=np.int8)
    fault = np.empty(b, dtype=np.int32)
    executed = np.empty(b, dtype=np.int32)
    path = np.empty(b, dtype=np.int64)
    _flow_into(code, length, inputs, lengths, registers, out, fault, executed, path,
               np.zeros((0, 0), dtype=np.int8))
    solved = 0
    placed = 0
    faults = 0
    steps = 0
    for i in range(b):
        steps += executed[i]
        if fault[i] != 0:
            faults += 1
            continue
        p = 0
        for j in range(n):
            p += out[j, i] == expected[j, i]
        placed += p
        solved += p == n
    return solved, placed, faults, steps


@numba.njit(**JIT_PARALLEL)
def score_flow_batch(codes, lengths_of_codes, inputs, lengths, expected, registers):
    """``score_flow`` of K programs in parallel: four ``int64[K]`` arrays."""
    k_total = codes.shape[0]
    solved = np.zeros(k_total, dtype=np.int64)
    placed = np.zeros(k_total, dtype=np.int64)
    faults = np.zeros(k_total, dtype=np.int64)
    steps = np.zeros(k_total, dtype=np.int64)
    for k in numba.prange(k_total):
        s, p, f, e = score_flow(codes[k], lengths_of_codes[k], inputs, lengths, expected,
                                registers)
        solved[k] = s
        placed[k] = p
        faults[k] = f
        steps[k] = e
    return solved, placed, faults, steps
