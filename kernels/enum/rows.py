"""Interned rows: the row tables, their hashing, disagreement masks, and the memoised
results of cmp and cmov on row ids.

A *row* is one slot's content over all B test inputs (``int8[B]``). Each distinct row gets
an id (``RowTables``), so a mov, load or store is one id copy; cmp and cmov results are
memoised on their operand ids (``Memo``), so after a warm-up most successors cost a hash
lookup, not a pass over B inputs.
"""

from __future__ import annotations

import numba
import numpy as np

from ..isa import CMOVS
from ..jit import JIT
from .state import C_MEMO, C_ROWS, EMPTY

_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xBF58476D1CE4E5B9)
_M3 = np.uint64(0x94D049BB133111EB)
_FNV = np.uint64(0x100000001B3)
_CMP_TAG = 16  # memo key tag of a cmp (cmov tags are the cond masks 1..7)


def max_children(registers: int, n: int) -> int:
    """Most children one node can have: loads, stores, movs, cmps and every cmov per pair."""
    r = registers
    return r * n + n * r + r * (r - 1) + r * (r - 1) // 2 + len(CMOVS) * r * (r - 1) + 1


def dis_words(n_inputs: int) -> int:
    """W, the 64-bit words of one row's disagreement mask with one sorted row."""
    return (n_inputs + 63) // 64


@numba.njit(inline="always", **JIT)
def memo_reserve(registers, n, max_children_):
    """Memo entries one expansion may add: one cmp or cmov result per child."""
    return max_children_


@numba.njit(inline="always", **JIT)
def rows_reserve(max_children_, k_slots, exact):
    """Rows one expansion may intern, with room to spare: a cmp or cmov result per child,
    and in exact mode the K permuted rows of each child's canonical state."""
    return 2 * max_children_ * (1 + k_slots * exact)


@numba.njit(inline="always", **JIT)
def _splitmix(x):
    x = x + _M1
    x = (x ^ (x >> np.uint64(30))) * _M2
    x = (x ^ (x >> np.uint64(27))) * _M3
    return x ^ (x >> np.uint64(31))


@numba.njit(inline="always", **JIT)
def _row_hash(row):
    h = np.uint64(0xCBF29CE484222325)
    for i in range(row.shape[0]):
        h = (h ^ np.uint64(np.uint8(row[i]))) * _FNV
    return _splitmix(h)


@numba.njit(inline="always", **JIT)
def _fill_dis(dis, rid, row, expected):
    """``dis[rid, j, w]``: bit i of word w set when ``row`` differs from sorted row j on input
    64 w + i (``dis: uint64[RCAP, N, W]``, W = ceil(B / 64)). The padding bits of the last
    word stay 0: every use ANDs in at least one such mask, so they never count as inputs.
    Two rows a, b can be merged by a cmov into sorted row j exactly when ``dis[a, j] &
    dis[b, j]`` is all zero.
    """
    b_total = row.shape[0]
    for j in range(expected.shape[0]):
        for w in range(dis.shape[2]):
            word = np.uint64(0)
            lo = 64 * w
            hi = min(lo + 64, b_total)
            for i in range(lo, hi):
                if row[i] != expected[j, i]:
                    word |= np.uint64(1) << np.uint64(i - lo)
            dis[rid, j, w] = word


@numba.njit(**JIT)
def intern_row(rt, ctr):
    """Id of the row ``rt.buf: int8[B]``, adding it if new (capacity checked by the caller).

    A new row also gets its disagreement masks ``rt.dis[id]`` with the sorted rows
    ``rt.expected: int8[N, B]`` (see ``_fill_dis``). ``rt``: a RowTables.
    """
    rows, row_hash, row_table, dis, buf = rt.rows, rt.row_hash, rt.row_table, rt.dis, rt.buf
    h = _row_hash(buf)
    mask = row_table.shape[0] - 1
    i = np.int64(h & np.uint64(mask))
    b = buf.shape[0]
    while True:
        rid = row_table[i]
        if rid == EMPTY:
            n = ctr[C_ROWS]
            rows[n, :b] = buf
            row_hash[n] = h
            _fill_dis(dis, n, buf, rt.expected)
            row_table[i] = n
            ctr[C_ROWS] = n + 1
            return n
        if row_hash[rid] == h:
            same = True
            for k in range(b):
                if rows[rid, k] != buf[k]:
                    same = False
                    break
            if same:
                return rid
        i = (i + 1) & mask


@numba.njit(**JIT)
def intern_rows(rt, ctr, rows, ids):
    """Intern every row of ``rows: int8[M, B]`` (a state, say) into ``ids: int32[M]``
    (capacity checked by the caller): one call per state, where a call per row cost more
    in dispatch than in work."""
    for s in range(rows.shape[0]):
        rt.buf[:] = rows[s]
        ids[s] = intern_row(rt, ctr)


@numba.njit(**JIT)
def rehash_rows(row_hash, n_rows, size):
    """A fresh row table of ``size`` slots (a power of two) holding rows 0..n_rows-1."""
    table = np.full(size, EMPTY, dtype=np.int32)
    mask = size - 1
    for rid in range(n_rows):
        i = np.int64(row_hash[rid] & np.uint64(mask))
        while table[i] != EMPTY:
            i = (i + 1) & mask
        table[i] = rid
    return table


@numba.njit(inline="always", **JIT)
def _memo_hash(a, b, c, d):
    h = _splitmix(np.uint64(a) * np.uint64(0x1F3D5B79) + np.uint64(b))
    return _splitmix(h ^ (np.uint64(c) << np.uint64(32)) ^ np.uint64(d))


@numba.njit(**JIT)
def rehash_memo(memo, size):
    """Memo (``keys: int32[M, 4]``, ``vals: int32[M]``) grown to ``size`` slots: the new
    (keys, vals)."""
    keys, vals = memo.keys, memo.vals
    new_keys = np.full((size, 4), EMPTY, dtype=np.int32)
    new_vals = np.full(size, EMPTY, dtype=np.int32)
    mask = size - 1
    for j in range(keys.shape[0]):
        if keys[j, 0] == EMPTY:
            continue
        i = np.int64(_memo_hash(keys[j, 0], keys[j, 1], keys[j, 2], keys[j, 3]) & np.uint64(mask))
        while new_keys[i, 0] != EMPTY:
            i = (i + 1) & mask
        new_keys[i] = keys[j]
        new_vals[i] = vals[j]
    return new_keys, new_vals


@numba.njit(**JIT)
def _memo_get(memo, a, b, c, d):
    """(slot, value) of key (a, b, c, d); value EMPTY when absent (slot: where to put it)."""
    keys, vals = memo.keys, memo.vals
    mask = keys.shape[0] - 1
    i = np.int64(_memo_hash(a, b, c, d) & np.uint64(mask))
    while True:
        if keys[i, 0] == EMPTY:
            return i, EMPTY
        if keys[i, 0] == a and keys[i, 1] == b and keys[i, 2] == c and keys[i, 3] == d:
            return i, vals[i]
        i = (i + 1) & mask


@numba.njit(**JIT)
def _cmp_id(rt, memo, ctr, a, b):
    """Id of the flags row of ``cmp`` on rows a, b (memoised)."""
    slot, val = _memo_get(memo, _CMP_TAG, a, b, 0)
    if val != EMPTY:
        return val
    rows, buf, memo_keys, memo_vals = rt.rows, rt.buf, memo.keys, memo.vals
    ra = rows[a]
    rb = rows[b]
    for i in range(buf.shape[0]):
        x = ra[i]
        y = rb[i]
        buf[i] = (x < y) * 1 + (x == y) * 2 + (x > y) * 4
    rid = intern_row(rt, ctr)
    memo_keys[slot, 0] = _CMP_TAG
    memo_keys[slot, 1] = a
    memo_keys[slot, 2] = b
    memo_keys[slot, 3] = 0
    memo_vals[slot] = rid
    ctr[C_MEMO] += 1
    return rid


@numba.njit(**JIT)
def _cmov_id(rt, memo, ctr, mask, f, d, s):
    """Id of row d after ``cmov`` (condition mask) from row s under flags row f."""
    slot, val = _memo_get(memo, mask, f, d, s)
    if val != EMPTY:
        return val
    rows, buf, memo_keys, memo_vals = rt.rows, rt.buf, memo.keys, memo.vals
    rf = rows[f]
    rd = rows[d]
    rs = rows[s]
    m = np.int8(mask)
    for i in range(buf.shape[0]):
        take = np.int8(-np.int8((rf[i] & m) != 0))
        buf[i] = (rs[i] & take) | (rd[i] & ~take)
    rid = intern_row(rt, ctr)
    memo_keys[slot, 0] = mask
    memo_keys[slot, 1] = f
    memo_keys[slot, 2] = d
    memo_keys[slot, 3] = s
    memo_vals[slot] = rid
    ctr[C_MEMO] += 1
    return rid

