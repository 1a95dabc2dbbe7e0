"""Compare-exchanges in fewer than four instructions: the compiled part of the network
beam search (``discover/search/beam.py``).

A comparator network's compare-exchange of registers A and B (values a and b over every
test input) must leave lo = min(a, b) and hi = max(a, b) in two registers. Written plainly
it takes four instructions (a spare copy, cmp, two cmovs). AlphaDev's shorter sorts come
from exchanges that take three or two, because a register the program no longer needs
already holds the right value on exactly the inputs where a cmov leaves it alone: e.g.
``cmp A, B; cmovle Z, B; cmovg A, B`` leaves hi in Z when Z holds a wherever a > b, which
earlier comparisons may guarantee (the state over all inputs shows it).

``exchanges`` enumerates every ``cmp`` of A and B (either order) followed by one or two
cmovs (any condition of the opcode table, destinations from a given set, any source), and
reports those after which lo and hi stand in two distinct registers, one of them written.
It runs on a sample of the test inputs; the caller confirms each hit on all of them.
"""

from __future__ import annotations

import numba
import numpy as np

from .isa import CMOVS, COND_MASK, FLAG_EQ, FLAG_GT, FLAG_LT
from .jit import JIT

MAX_HITS = 4096  # sequences reported per call (more are dropped: the caller keeps few)
HIT_WIDTH = 8  # (cmp lhs, cmp rhs, op1, dst1, src1, op2, dst2, src2); op2 = -1: one cmov
NONE = -1

CMOV_OPS = np.array(CMOVS, dtype=np.int32)  # int32[C]: the cmov opcodes
CMOV_MASKS = np.array([COND_MASK[op] for op in CMOVS], dtype=np.int8)  # int8[C]: their flags


@numba.njit(inline="always", **JIT)
def _flags(x, y, out):
    for i in range(x.shape[0]):
        out[i] = (x[i] < y[i]) * FLAG_LT + (x[i] == y[i]) * FLAG_EQ + (x[i] > y[i]) * FLAG_GT


@numba.njit(inline="always", **JIT)
def _select(dst, src, flags, mask, out):
    for i in range(dst.shape[0]):
        out[i] = src[i] if flags[i] & mask else dst[i]


@numba.njit(inline="always", **JIT)
def _selects_to(dst, src, flags, mask, want):
    """Does the cmov ``dst = src if flags & mask`` give ``want``? (stops at the first miss)"""
    for i in range(dst.shape[0]):
        if (src[i] if flags[i] & mask else dst[i]) != want[i]:
            return False
    return True


@numba.njit(inline="always", **JIT)
def _equal(x, y):
    for i in range(x.shape[0]):
        if x[i] != y[i]:
            return False
    return True


@numba.njit(**JIT)
def exchanges(regs, a, b, dests, lo, hi, ops, masks, max_cmovs, out):
    """Short compare-exchanges of registers a and b; returns how many rows of ``out`` it filled.

    ``regs: int8[R, M]`` register rows over M inputs (UNSET rows are never read, nor
    written by a cmov, which reads its destination),
    ``dests: int32[D]`` registers a cmov may write (the dead ones and a, b),
    ``lo, hi: int8[M]`` the rows wanted, ``ops: int32[C]`` / ``masks: int8[C]`` the cmov
    opcodes and their flag masks, ``max_cmovs`` 1 or 2, ``out: int32[MAX_HITS, 8]``.
    With one cmov, the row it writes is lo or hi and the other already stands in another
    register; with two, they write lo and hi (the first may be the second's source).
    """
    r, m = regs.shape
    flags = np.empty(m, dtype=np.int8)
    v1 = np.empty(m, dtype=np.int8)
    k = 0
    for orient in range(2):
        lhs, rhs = (a, b) if orient == 0 else (b, a)
        _flags(regs[lhs], regs[rhs], flags)
        for c1 in range(ops.shape[0]):
            for i1 in range(dests.shape[0]):
                d1 = dests[i1]
                if regs[d1, 0] == -1:
                    continue  # a cmov reads its destination: never an unset register
                for s1 in range(r):
                    if s1 == d1 or regs[s1, 0] == -1:
                        continue
                    is_lo = _selects_to(regs[d1], regs[s1], flags, masks[c1], lo)
                    if not is_lo and not _selects_to(regs[d1], regs[s1], flags, masks[c1], hi):
                        continue  # every cmov of a shortest exchange writes lo or hi
                    _select(regs[d1], regs[s1], flags, masks[c1], v1)
                    other = hi if is_lo else lo
                    # One cmov: the other row already stands in another register.
                    for q in range(r):
                        if q != d1 and _equal(regs[q], other):
                            if k < MAX_HITS:
                                out[k, 0] = lhs
                                out[k, 1] = rhs
                                out[k, 2] = ops[c1]
                                out[k, 3] = d1
                                out[k, 4] = s1
                                out[k, 5] = NONE
                                out[k, 6] = NONE
                                out[k, 7] = NONE
                            k += 1
                            break
                    if max_cmovs < 2:
                        continue
                    for c2 in range(ops.shape[0]):
                        for i2 in range(dests.shape[0]):
                            d2 = dests[i2]
                            if d2 == d1 or regs[d2, 0] == -1:
                                continue
                            for s2 in range(r):
                                if s2 == d2:
                                    continue
                                src = v1 if s2 == d1 else regs[s2]
                                if src[0] == -1:
                                    continue
                                if k < MAX_HITS and _selects_to(regs[d2], src, flags,
                                                                masks[c2], other):
                                    out[k, 0] = lhs
                                    out[k, 1] = rhs
                                    out[k, 2] = ops[c1]
                                    out[k, 3] = d1
                                    out[k, 4] = s1
                                    out[k, 5] = ops[c2]
                                    out[k, 6] = d2
                                    out[k, 7] = s2
                                    k += 1
    return min(k, MAX_HITS)
