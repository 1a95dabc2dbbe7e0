"""Compiled hot loops of the enumerative search (``discover search --method enum``).

The search is a depth-first branch and bound over program prefixes (IDA*-style bounded
iterations, driven from ``discover/search/enum.py``), with a transposition table of
proved failures. Everything here works on a compact form of the machine state:

* A *row* is one slot's content over all B test inputs (``int8[B]``: ranks for
  registers and memory, flag bits for the flags row). Rows are interned: each distinct
  row gets an id (``rows: int8[RCAP, B]``), so a node is ``ids: int32[K]`` with
  K = R + N + 1 (registers, memory cells, flags) and a mov, load or store is one id copy.
* ``cmp`` and ``cmov`` results are memoised on their operand ids (``memo``), so after a
  warm-up most successors cost a hash lookup, not a pass over B inputs.
* Each interned row also keeps, per sorted row, a bit mask of the inputs where it differs
  from that sorted row (``dis: uint64[RCAP, N, W]``, W = ceil(B / 64) words; about B bytes
  per row when N = 8, the size of the row itself). The load and helper-row terms of the
  bound are word operations on these masks, 64 inputs at a time.
* The transposition table (``tt``) is keyed by the state up to symmetry (see
  ``_state_keys``: register renaming and item permutations), and holds proved failures
  as (budget, depth) pairs.
* ``ctr[C_REG_ONLY]`` selects the register phase: loads done first (r_i = m_i), no
  loads or stores searched, goal = every sorted row in some register (the driver adds
  the stores). Otherwise the whole ISA is searched, loads and stores anywhere.
* Visit order (``_expand``): the incumbent program's next instruction first, then the
  smallest bound, so each bounded iteration is a local search around the best so far.

Admissible lower bound on the instructions still needed (``lower_bound``), a sum of
parts each of which counts one kind of instruction only (so the sum stays admissible):

* stores >= memory cells not yet holding their sorted row (a store fixes one cell);
* loads >= max over inputs of the values needed in a wrong cell that no register holds
  (only a load brings a value from memory into a register, one per input per load);
* cmovs >= sorted rows that exist in no slot (only a cmov makes a row that did not
  exist; it makes one), plus *helper* rows (made by a cmov, neither existing now nor
  sorted): at least one when no missing sorted row agrees, input by input, with one of
  two existing rows (then the first new row cannot be a sorted one), or when some missing
  sorted row agrees with no pair of rows that exist now or are other sorted rows (the
  cmov that makes it must read a helper); at least two when two such rows cannot share
  one helper (``_can_share_helper``); and
  >= log2(N! / D), D the number of distinct *routings* over the permutation inputs
  (which input item each slot holds): only a cmov can split inputs that share a
  routing, into at most two groups, and at the end all N! must differ;
* cmps >= log2 of the largest group of permutation inputs sharing routing and flags:
  such inputs behave identically until a cmp separates them, a cmp splits a group into
  at most two (no ties in a permutation), and at the end every group is one input.
"""

from __future__ import annotations

import numba
import numpy as np

from .interp import JIT
from .isa import CMOVE, CMOVG, CMOVGE, CMOVL, CMOVLE, CMOVNE, CMP, COND_MASK, LOAD, MOV, STORE

# Counters shared with the driver: ``ctr: int64[N_CTR]``.
C_ROWS = 0  # rows interned
C_MEMO = 1  # memo entries
C_TT = 2  # transposition-table entries
C_DEPTH = 3  # current DFS depth (-1: iteration finished)
C_BOUND = 4  # length bound of this iteration
C_EXPANDED = 5  # nodes expanded (all iterations)
C_GENERATED = 6  # children generated
C_NEED_EXPAND = 7  # 1: the node at C_DEPTH still has to be expanded
C_ALL = 8  # 1: enumerate every solution within the bound instead of stopping at one
C_SOL_LEN = 9  # length of the solution just reported
C_TT_HITS = 10
C_REG_ONLY = 11  # 1: register phase only (loads done first, stores added at the end)
C_INC_LEN = 12  # length of the incumbent program (visited first where it applies)
N_CTR = 13

# Status returned by ``dfs_run``.
ST_BUDGET = 0  # expansion budget used up; call again
ST_DONE = 1  # iteration exhausted
ST_FOUND = 2  # a solution is in ``program[:ctr[C_SOL_LEN]]``; call again to go on
ST_GROW = 3  # a table is too full: grow it, then call again

EMPTY = -1  # empty hash-table slot
INF = 1 << 20  # bound of a dead state (a needed value is lost)
UNSET_ITEM = 127  # routing entry of an unset register
MAX_CHILDREN_FACTOR = 8  # see max_children()

_CONDS = np.array([CMOVL, CMOVG, CMOVLE, CMOVGE, CMOVE, CMOVNE], dtype=np.int64)
_MASKS = np.array([COND_MASK[c] for c in _CONDS], dtype=np.int8)
_CMP_TAG = 16  # memo key tag of a cmp (cmov tags are the cond masks 1..7)
_RANK = np.array([2, 2, 1, 0, 3], dtype=np.int64)  # visit rank of load, mov, cmp, cmov, store

_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xBF58476D1CE4E5B9)
_M3 = np.uint64(0x94D049BB133111EB)
_FNV = np.uint64(0x100000001B3)


def max_children(registers: int, n: int) -> int:
    """Most children one node can have: loads, stores, movs, cmps and 6 cmovs per pair."""
    r = registers
    return r * n + n * r + r * (r - 1) + r * (r - 1) // 2 + 6 * r * (r - 1) + 1


def dis_words(n_inputs: int) -> int:
    """W, the 64-bit words of one row's disagreement mask with one sorted row."""
    return (n_inputs + 63) // 64


@numba.njit(inline="always", **JIT)
def memo_reserve(registers, n, max_children_):
    """Memo entries one expansion may add: one cmp or cmov result per child."""
    return max_children_


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
def intern_row(rows, row_hash, row_table, ctr, buf, dis, expected):
    """Id of the row ``buf: int8[B]``, adding it if new (capacity checked by the caller).

    A new row also gets its disagreement masks ``dis[id]`` with the sorted rows
    ``expected: int8[N, B]`` (see ``_fill_dis``).
    """
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
            _fill_dis(dis, n, buf, expected)
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
def rehash_memo(keys, vals, size):
    """Memo table grown to ``size`` slots: ``keys: int32[M, 4]``, ``vals: int32[M]``."""
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
def rehash_tt(tt_key, tt_chk, tt_val, size):
    """Transposition table grown to ``size`` slots (key 0 marks an empty slot)."""
    new_key = np.zeros(size, dtype=np.uint64)
    new_chk = np.zeros(size, dtype=np.uint64)
    new_val = np.zeros((size, 2), dtype=np.int16)
    mask = size - 1
    for j in range(tt_key.shape[0]):
        if tt_key[j] == 0:
            continue
        i = np.int64(tt_key[j] & np.uint64(mask))
        while new_key[i] != 0:
            i = (i + 1) & mask
        new_key[i] = tt_key[j]
        new_chk[i] = tt_chk[j]
        new_val[i] = tt_val[j]
    return new_key, new_chk, new_val


@numba.njit(**JIT)
def _memo_get(keys, vals, ctr, a, b, c, d):
    """(slot, value) of key (a, b, c, d); value EMPTY when absent (slot: where to put it)."""
    mask = keys.shape[0] - 1
    i = np.int64(_memo_hash(a, b, c, d) & np.uint64(mask))
    while True:
        if keys[i, 0] == EMPTY:
            return i, EMPTY
        if keys[i, 0] == a and keys[i, 1] == b and keys[i, 2] == c and keys[i, 3] == d:
            return i, vals[i]
        i = (i + 1) & mask


@numba.njit(**JIT)
def _cmp_id(rows, row_hash, row_table, memo_keys, memo_vals, ctr, buf, dis, expected, a, b):
    """Id of the flags row of ``cmp`` on rows a, b (memoised)."""
    slot, val = _memo_get(memo_keys, memo_vals, ctr, _CMP_TAG, a, b, 0)
    if val != EMPTY:
        return val
    ra = rows[a]
    rb = rows[b]
    for i in range(buf.shape[0]):
        x = ra[i]
        y = rb[i]
        buf[i] = (x < y) * 1 + (x == y) * 2 + (x > y) * 4
    rid = intern_row(rows, row_hash, row_table, ctr, buf, dis, expected)
    memo_keys[slot, 0] = _CMP_TAG
    memo_keys[slot, 1] = a
    memo_keys[slot, 2] = b
    memo_keys[slot, 3] = 0
    memo_vals[slot] = rid
    ctr[C_MEMO] += 1
    return rid


@numba.njit(**JIT)
def _cmov_id(rows, row_hash, row_table, memo_keys, memo_vals, ctr, buf, dis, expected, mask, f,
             d, s):
    """Id of row d after ``cmov`` (condition mask) from row s under flags row f."""
    slot, val = _memo_get(memo_keys, memo_vals, ctr, mask, f, d, s)
    if val != EMPTY:
        return val
    rf = rows[f]
    rd = rows[d]
    rs = rows[s]
    m = np.int8(mask)
    for i in range(buf.shape[0]):
        take = np.int8(-np.int8((rf[i] & m) != 0))
        buf[i] = (rs[i] & take) | (rd[i] & ~take)
    rid = intern_row(rows, row_hash, row_table, ctr, buf, dis, expected)
    memo_keys[slot, 0] = mask
    memo_keys[slot, 1] = f
    memo_keys[slot, 2] = d
    memo_keys[slot, 3] = s
    memo_vals[slot] = rid
    ctr[C_MEMO] += 1
    return rid


@numba.njit(inline="always", **JIT)
def _sort(a, length):
    """Sort ``a[:length]`` in place: insertion sort when short (sort3 and sort4 have 6 and
    24 permutation inputs, where a library sort's overhead costs more than the sorting)."""
    if length > 32:
        a[:length].sort()
        return
    for i in range(1, length):
        x = a[i]
        t = i - 1
        while t >= 0 and a[t] > x:
            a[t + 1] = a[t]
            t -= 1
        a[t + 1] = x


@numba.njit(inline="always", **JIT)
def _ceil_log2(x):
    c = 0
    v = 1
    while v < x:
        v *= 2
        c += 1
    return c


@numba.njit(inline="always", **JIT)
def _loads(ids, dis, sorted_ids, r, n, unset):
    """Most values some input needs in a wrong memory cell that no register holds (each
    load brings one value into a register on every input), or -1 if a needed value is
    held nowhere. Worked on 64 inputs at a time with the disagreement masks, a value
    named by a sorted row holding it (every value a slot holds on an input is one of that
    input's values, so one of its sorted rows'); with ties, the first such row stands for
    the value.
    """
    loads = 0
    for w in range(dis.shape[2]):
        c0 = np.uint64(0)  # bit planes of the per-input count of values to load
        c1 = np.uint64(0)
        c2 = np.uint64(0)
        c3 = np.uint64(0)
        for k in range(n):
            sk = sorted_ids[k]
            need = np.uint64(0)  # a wrong cell needs row k's value
            mem_have = np.uint64(0)  # a cell holds row k's value
            for j in range(n):
                cell = ids[r + j]
                mem_have |= ~dis[cell, k, w]
                if j == k:
                    need |= dis[cell, j, w]
                else:
                    need |= dis[cell, j, w] & ~dis[sk, j, w]
            if need == 0:
                continue
            have = np.uint64(0)  # a register holds row k's value
            for s in range(r):
                if ids[s] != unset:
                    have |= ~dis[ids[s], k, w]
            if need & ~(have | mem_have):
                return -1
            lack = need & ~have
            for t in range(k):  # count a value once: at its first sorted row
                lack &= dis[sorted_ids[t], k, w]
            carry = lack
            x = c0 & carry
            c0 ^= carry
            carry = x
            x = c1 & carry
            c1 ^= carry
            carry = x
            x = c2 & carry
            c2 ^= carry
            carry = x
            c3 ^= carry
        # the largest count over these inputs, from its bit planes, highest first (four
        # planes: a count is at most N <= 8)
        most = 0
        alive = c0 | c1 | c2 | c3
        if c3 & alive:
            most |= 8
            alive &= c3
        if c2 & alive:
            most |= 4
            alive &= c2
        if c1 & alive:
            most |= 2
            alive &= c1
        if c0 & alive:
            most |= 1
        if most > loads:
            loads = most
    return loads


@numba.njit(**JIT)
def lower_bound(ids, rows, registers, n, sorted_ids, perm_cols, inv, n_perm_fact, scratch, limit,
                reg_only, dis, pending):
    """Admissible lower bound on instructions still needed from state ``ids: int32[K]``.

    Returns INF for a dead state, and stops early (returning a value > limit) once the
    cheap parts already exceed ``limit``. ``perm_cols: int64[P]`` are the inputs without
    ties, ``inv: int8[P, N]`` maps a value to the item holding it in that input;
    ``dis: uint64[RCAP, N, W]`` are the rows' disagreement masks (``_fill_dis``);
    ``scratch: uint64[2, max(P, (K + N) W)]`` is work space.
    """
    r = registers
    flags = r + n
    unset = 0  # ids[...] == 0 is the all-unset register row (interned first)
    # stores: one per wrong cell; cmovs: one per sorted row present nowhere.
    stores = 0
    missing = 0
    b_total = rows.shape[1]
    n_words = dis.shape[2]
    if reg_only:
        # Register phase: memory keeps the inputs (loaded first), the stores come last;
        # the goal is every sorted row in some register.
        for j in range(n):
            present = False
            for s in range(r):
                if ids[s] == sorted_ids[j]:
                    present = True
                    break
            if not present:
                missing += 1
        for j in range(n):
            for w in range(n_words):
                lost = ~np.uint64(0)  # inputs where no register holds sorted row j's value
                for s in range(r):
                    lost &= dis[ids[s], j, w]  # the unset row differs everywhere
                if lost:
                    return INF  # a value is lost from the registers
        h = missing
        if h > limit:
            return h
    else:
        for j in range(n):
            if ids[r + j] != sorted_ids[j]:
                stores += 1
            present = False
            for s in range(r + n):
                if ids[s] == sorted_ids[j]:
                    present = True
                    break
            if not present:
                missing += 1
        h = stores + missing
        if h > limit:
            return h
    # loads: per input, values needed in a wrong cell and held by no register.
    loads = 0 if reg_only else _loads(ids, dis, sorted_ids, r, n, unset)
    if loads < 0:
        return INF  # a needed value exists nowhere: no copy can bring it back
    # A cell stored into and not read since (``pending``: the path's unread writes) that
    # is not final must be overwritten by its final store, so it must be loaded before
    # that, or the store was dead and a shorter program exists.
    spills = 0
    for j in range(n if not reg_only else 0):
        if (pending >> (r + j)) & 1 and ids[r + j] != sorted_ids[j]:
            spills += 1
    if spills > loads:
        loads = spills
    h += loads
    if h > limit:
        return h
    # routing over the permutation inputs: which item each slot holds.
    p_total = perm_cols.shape[0]
    route = scratch[0]
    group = scratch[1]
    for p in range(p_total):
        b = perm_cols[p]
        hr = np.uint64(0x243F6A8885A308D3)
        for s in range(r + n):
            v = rows[ids[s], b]
            item = UNSET_ITEM if v < 0 else inv[p, v]
            hr = (hr ^ np.uint64(item + 1)) * _FNV
        route[p] = hr  # only equality matters here: no finalising mix
        group[p] = hr ^ (np.uint64(rows[ids[flags], b] + 1) << np.uint64(56))
    _sort(route, p_total)
    _sort(group, p_total)
    distinct = 1
    for p in range(1, p_total):
        if route[p] != route[p - 1]:
            distinct += 1
    largest = 1
    run = 1
    for p in range(1, p_total):
        if group[p] == group[p - 1]:
            run += 1
            if run > largest:
                largest = run
        else:
            run = 1
    split = 0
    v = distinct
    while v < n_perm_fact:
        v *= 2
        split += 1
    h += _ceil_log2(largest)
    # cmovs >= max(split, missing + extra), extra the helper rows (_helper_cmovs)
    over = split - missing if split > missing else 0
    if missing == 0 or h + over > limit:
        return h + over
    top = r if reg_only else r + n
    share_test = b_total <= _HELPER_MAX_INPUTS
    return h + max(over, _helper_cmovs(ids, dis, sorted_ids, top, unset, limit - h, share_test,
                                       scratch[0].view(np.int64), scratch[1]))


_HELPER_MAX_INPUTS = 128  # skip the shared-helper test below on larger tasks (cost)


@numba.njit(inline="always", **JIT)
def _disjoint(dw, u, v, n_words):
    """Whether the masks ``dw[u W: u W + W]`` and ``dw[v W: v W + W]`` share no bit."""
    for w in range(n_words):
        if dw[u * n_words + w] & dw[v * n_words + w]:
            return False
    return True


@numba.njit(**JIT)
def _helper_cmovs(ids, dis, sorted_ids, top, unset, slack, share_test, ys, dw):
    """Helper cmovs (0, 1 or 2) the bound adds for the missing sorted rows, or a value
    above ``slack`` as soon as it is sure to exceed it (the caller then cuts the node, so
    the exact count does not matter). ``ys: int64[>= top]`` and ``dw: uint64[>= (top + N)
    W]`` are work space.

    One helper if no missing sorted row can be made by one cmov from two rows that exist
    now (in slots a cmov could read, memory included in the full ISA): then the first
    cmov that makes a new row makes one that is not sorted. Also one if some missing
    sorted row j cannot be made by one cmov even from rows that exist now or are other
    missing sorted rows (a "hard" row): the cmov that first makes row j reads two rows
    present then, each of which exists now (a row absent now comes back only through a
    cmov) or is made later by a cmov; so one of them is a row that neither exists now nor
    is sorted, made by a cmov that none of the ``missing`` ones is (each of those makes a
    sorted row). Two if two hard rows cannot share one helper (``_can_share_helper``).
    Rows a, b can be merged by one cmov into sorted row j exactly when their masks
    ``dis[a, j]``, ``dis[b, j]`` share no bit (on every input one of them agrees).
    """
    n = sorted_ids.shape[0]
    n_words = dis.shape[2]
    need = 0  # missing sorted rows
    for j in range(n):
        present = False
        for s in range(top):
            if ids[s] == sorted_ids[j]:
                present = True
                break
        if not present:
            need |= 1 << j
    ny = 0  # distinct rows held now (a repeated row adds no pair that could merge)
    for s in range(top):
        x = ids[s]
        if x == unset:
            continue
        fresh = True
        for u in range(ny):
            if ys[u] == x:
                fresh = False
                break
        if fresh:
            ys[ny] = x
            ny += 1
    covered = 0  # missing rows one cmov could make from two rows that exist now
    hard = 0  # missing rows one cmov cannot make even with the other missing rows' help
    for j in range(n):
        if not (need >> j) & 1:
            continue
        # dw: row j's masks of the rows held now, then of the other missing sorted rows
        m = ny
        for u in range(ny):
            for w in range(n_words):
                dw[u * n_words + w] = dis[ys[u], j, w]
        for k in range(n):
            if k != j and (need >> k) & 1:
                for w in range(n_words):
                    dw[m * n_words + w] = dis[sorted_ids[k], j, w]
                m += 1
        made = False
        for u in range(ny):
            for v in range(u + 1, ny):
                if _disjoint(dw, u, v, n_words):
                    made = True
                    break
            if made:
                break
        if made:
            covered |= 1 << j
            continue
        # a pair with another missing row (a pair holding row j itself is left out)
        for v in range(ny, m):
            for u in range(v):
                if _disjoint(dw, u, v, n_words):
                    made = True
                    break
            if made:
                break
        if not made:
            hard |= 1 << j
            if slack < 1:
                return 1
    if covered == need:
        return 0
    first_not_sorted = 1 if covered == 0 else 0
    if hard == 0 or first_not_sorted > slack:
        return first_not_sorted
    if slack < 1 or not share_test:
        return 1
    # Two helpers if two hard rows j, k cannot share one: with one helper row x (a
    # cmov-made row that neither exists now nor is sorted) and no other, row j's first
    # cmov reads x and a row y that exists now or is sorted (y != j: j does not exist
    # before it is made), so x equals j wherever y differs from j; likewise x equals k
    # wherever some y' differs from k. Some (y, y') must then leave no input where both
    # differ and j differs from k; if none does, two helpers are needed.
    for j in range(n):
        if not (hard >> j) & 1:
            continue
        for k in range(j + 1, n):
            if (hard >> k) & 1 and not _can_share_helper(dis, sorted_ids, ys, ny, j, k):
                return 2
    return 1


@numba.njit(**JIT)
def _can_share_helper(dis, sorted_ids, ys, ny, j, k):
    """Whether some y (a row held now, ``ys[:ny]``, or a sorted row; not row j) and y'
    (likewise, not row k) leave no input where y differs from sorted row j, y' from sorted
    row k, and row j from row k."""
    n = sorted_ids.shape[0]
    sj = sorted_ids[j]
    sk = sorted_ids[k]
    n_words = dis.shape[2]
    for u in range(ny + n):
        y = ys[u] if u < ny else sorted_ids[u - ny]
        if y == sj:
            continue
        for v in range(ny + n):
            y2 = ys[v] if v < ny else sorted_ids[v - ny]
            if y2 == sk:
                continue
            ok = True
            for w in range(n_words):
                if dis[y, j, w] & dis[y2, k, w] & dis[sj, k, w]:
                    ok = False
                    break
            if ok:
                return True
    return False


@numba.njit(inline="always", **JIT)
def _sym_hashes(rid, rows, colmap, sym_hash):
    """Fill ``sym_hash[rid, p]``: hash of row rid with its inputs permuted by colmap[p]."""
    for p in range(colmap.shape[0]):
        h = np.uint64(0xCBF29CE484222325)
        for i in range(colmap.shape[1]):
            h = (h ^ np.uint64(np.uint8(rows[rid, colmap[p, i]]))) * _FNV
        h = _splitmix(h)
        sym_hash[rid, p] = h if h != 0 else np.uint64(1)


@numba.njit(**JIT)
def _state_keys(ids, registers, tmp, rows, colmap, sym_hash, reg_only):
    """Two 64-bit keys of the state, the same for every state equivalent to it.

    Equivalent: equal up to a renaming of the registers and a permutation of the items
    (which permutes the test inputs, ``colmap: int32[N!, B]``): an instruction acts on
    each input alone, and the sorted rows are the same after any such permutation, so
    equivalent states are equally far from the goal. The key is the smallest over the
    N! permutations, with the registers' row hashes sorted. In the register phase the
    memory (the inputs, never read or written there) is left out of the key; in the whole
    ISA it stays in, so the permutation only merges states whose memory matches too.
    """
    k = ids.shape[0]
    for s in range(k):
        if sym_hash[ids[s], 0] == 0:
            _sym_hashes(ids[s], rows, colmap, sym_hash)
    best1 = np.uint64(0)
    best2 = np.uint64(0)
    for p in range(colmap.shape[0]):
        for s in range(registers):
            tmp[s] = sym_hash[ids[s], p]
        _sort(tmp, registers)  # R is at most 16: an insertion sort
        h1 = np.uint64(0x6A09E667F3BCC909)
        h2 = np.uint64(0xBB67AE8584CAA73B)
        for s in range(k):
            if reg_only and registers <= s < k - 1:
                continue
            v = tmp[s] if s < registers else sym_hash[ids[s], p]
            h1 = _splitmix(h1 ^ v)
            h2 = (h2 ^ (v >> np.uint64(7))) * _FNV
        h2 = _splitmix(h2)
        if h1 == 0:
            h1 = np.uint64(1)
        if p == 0 or h1 < best1 or (h1 == best1 and h2 < best2):
            best1 = h1
            best2 = h2
    return best1, best2


@numba.njit(**JIT)
def _tt_find(tt_key, tt_chk, h1, h2):
    mask = tt_key.shape[0] - 1
    i = np.int64(h1 & np.uint64(mask))
    while True:
        if tt_key[i] == 0:
            return -1 - i
        if tt_key[i] == h1 and tt_chk[i] == h2:
            return i
        i = (i + 1) & mask


@numba.njit(**JIT)
def _tt_record(tt_key, tt_chk, tt_val, ctr, h1, h2, budget, depth):
    """Record: from this state, reached at ``depth``, no solution within ``budget`` more.

    An entry (budget, depth) prunes a later visit at depth >= depth with at most that
    budget left (see the soundness note in discover/search/enum.py).
    """
    i = _tt_find(tt_key, tt_chk, h1, h2)
    if i < 0:
        if 4 * (ctr[C_TT] + 1) > 3 * tt_key.shape[0]:
            return  # full: the driver grows the table before the next expansion
        i = -1 - i
        tt_key[i] = h1
        tt_chk[i] = h2
        tt_val[i, 0] = budget
        tt_val[i, 1] = depth
        ctr[C_TT] += 1
        return
    old_budget = tt_val[i, 0]
    old_depth = tt_val[i, 1]
    if old_budget >= budget and old_depth <= depth:
        return  # the old entry prunes everything the new one would
    tt_val[i, 0] = budget
    tt_val[i, 1] = depth


@numba.njit(**JIT)
def _expand(d, st, pend, ch_ids, ch_pend, ch_ins, ch_h, n_ch, order, rows, row_hash,
            row_table, memo_keys, memo_vals, tt_key, tt_chk, tt_val, ctr, buf, tmp, registers,
            n, sorted_ids, perm_cols, inv, n_perm_fact, scratch, incumbent, dis, expected):
    """Generate the children of the node at depth d that can still meet the bound.

    Pruning, each rule keeping at least one shortest program (see enum.py):
    reads of unset registers and cmovs before a cmp are ill-formed; a write to a
    register that is still unset goes to the lowest unset one (register renaming);
    ``cmp a, b`` only with a < b (a cmp with swapped operands gives mirrored flags,
    and mirrored cmov conditions make the same program); no instruction whose result
    leaves the state unchanged; no cmp of two equal rows (all-equal flags make every
    cmov a no-op or a mov); no write to a slot whose last write was never read (that
    write was dead, so a shorter program reaches the same state); no load of a row that
    a register holds (the mov from that register gives the same state, and any dead
    write it exposes later exposes one in the load's program too); a load of an input
    row into a fresh (never written) register only while the state is pristine (no cmp
    yet, every slot an input row): such a load can move to the front of any program,
    as a load from the input's own cell (the register is unused before it and the cells
    are untouched at the start), so some shortest program does all of them first.
    Pristine is a property of the state that symmetric states share, so the table stays
    sound; bound and TT.
    """
    r = registers
    k_slots = r + n + 1
    flags = r + n
    bound = ctr[C_BOUND]
    budget = bound - (d + 1)  # instructions left after the child's one
    ids = st[d]
    pmask = pend[d]
    first_unset = r
    for s in range(r):
        if ids[s] == 0:
            first_unset = s
            break
    flags_set = ids[flags] != 1  # id 1 is the unset flags row (interned second)
    # Pristine: no cmp yet, and every slot holds an input row (st[0] is the root, whose
    # memory holds the input rows). Only then may a fresh register load an input row.
    inputs = st[0, r:r + n]
    pristine = not flags_set
    for s in range(r + n):
        if ids[s] == 0:
            continue
        known = False
        for j in range(n):
            if ids[s] == inputs[j]:
                known = True
        if not known:
            pristine = False
    nc = 0
    child = ch_ids[d + 1]
    reg_only = ctr[C_REG_ONLY]
    for kind in range(5):
        # 0 load, 1 mov, 2 cmp, 3 cmov, 4 store
        if kind == 3 and not flags_set:
            continue
        if reg_only and (kind == 0 or kind == 4):
            continue
        a_max = r if kind != 4 else n
        b_max = n if kind == 0 else r
        for a in range(a_max):
            for b in range(b_max):
                n_cond = 6 if kind == 3 else 1
                for c in range(n_cond):
                    # decode: instruction (op, dst, src), written slot w, new id
                    if kind == 0:  # load r_a <- m_b
                        if ids[a] == 0 and a != first_unset:
                            continue
                        op = LOAD
                        w = a
                        new = ids[r + b]
                        reads = np.int64(1) << (r + b)
                        held = False
                        for q in range(r):
                            if ids[q] == new:
                                held = True
                        if held:
                            continue  # a mov from that register reaches the same state
                        if ids[a] == 0 and not pristine:
                            late = False
                            for j in range(n):
                                if new == inputs[j]:
                                    late = True
                            if late:
                                continue  # would have loaded at the start (see above)
                    elif kind == 1:  # mov r_a <- r_b
                        if a == b or ids[b] == 0:
                            continue
                        if ids[a] == 0 and a != first_unset:
                            continue
                        op = MOV
                        w = a
                        new = ids[b]
                        reads = np.int64(1) << b
                    elif kind == 2:  # cmp r_a, r_b
                        if b <= a or ids[a] == 0 or ids[b] == 0 or ids[a] == ids[b]:
                            continue
                        op = CMP
                        w = flags
                        new = _cmp_id(rows, row_hash, row_table, memo_keys, memo_vals, ctr,
                                      buf, dis, expected, ids[a], ids[b])
                        reads = (np.int64(1) << a) | (np.int64(1) << b)
                    elif kind == 3:  # cmov r_a <- r_b
                        if a == b or ids[a] == 0 or ids[b] == 0 or ids[a] == ids[b]:
                            continue
                        op = _CONDS[c]
                        w = a
                        new = _cmov_id(rows, row_hash, row_table, memo_keys, memo_vals, ctr,
                                       buf, dis, expected, _MASKS[c], ids[flags], ids[a], ids[b])
                        reads = (np.int64(1) << a) | (np.int64(1) << b) | (np.int64(1) << flags)
                    else:  # store m_a <- r_b
                        if ids[b] == 0:
                            continue
                        op = STORE
                        w = r + a
                        new = ids[b]
                        reads = np.int64(1) << b
                    if new == ids[w]:
                        continue  # no effect
                    cleared = pmask & ~reads
                    wbit = np.int64(1) << w
                    if op != CMP and op < 4 and (cleared & wbit):
                        continue  # overwrites an unread write: that write was dead
                    if op == CMP and (cleared & wbit):
                        continue  # flags of the previous cmp never used
                    for s in range(k_slots):
                        child[nc, s] = ids[s]
                    child[nc, w] = new
                    ctr[C_GENERATED] += 1
                    h = lower_bound(child[nc], rows, r, n, sorted_ids, perm_cols, inv,
                                    n_perm_fact, scratch, budget, reg_only, dis, cleared | wbit)
                    if h > budget:
                        continue
                    ch_pend[d + 1, nc] = cleared | wbit
                    ch_ins[d + 1, nc, 0] = op
                    ch_ins[d + 1, nc, 1] = a
                    ch_ins[d + 1, nc, 2] = b
                    # Visit order: the incumbent's instruction at this depth (or one or two
                    # further on, where a shorter program skips some) first, then smallest
                    # bound first, then cmovs, cmps, copies. This makes each iteration a
                    # local search around the best program so far.
                    key = 3 + h * 4 + _RANK[kind]
                    for off in range(3):
                        t = d + off
                        if (t < ctr[C_INC_LEN] and incumbent[t, 0] == op
                                and incumbent[t, 1] == a and incumbent[t, 2] == b):
                            key = off
                            break
                    ch_h[d + 1, nc] = key
                    nc += 1
    # stable counting sort on the visit keys (they are small)
    top = 4 * budget + 9
    hist = np.zeros(top, dtype=np.int64)
    for i in range(nc):
        hist[ch_h[d + 1, i] + 1] += 1
    for v in range(1, top):
        hist[v] += hist[v - 1]
    for i in range(nc):
        hv = ch_h[d + 1, i]
        order[d + 1, hist[hv]] = i
        hist[hv] += 1
    n_ch[d + 1] = nc


@numba.njit(**JIT)
def dfs_run(max_expansions, st, pend, key, idx, n_ch, order, ch_ids, ch_pend, ch_ins, ch_h,
            program, found_below, rows, row_hash, row_table, memo_keys, memo_vals,
            tt_key, tt_chk, tt_val, ctr, buf, tmp, registers, n, sorted_ids, perm_cols, inv,
            n_perm_fact, scratch, max_children_, colmap, sym_hash, incumbent, dis, expected):
    """Run the bounded DFS for up to ``max_expansions`` expansions; returns a status.

    Resumable: all of its state lives in the arrays (depth in ``ctr[C_DEPTH]``). Node
    d is ``st[d]: int32[K]`` with pending-write mask ``pend[d]``; its children are
    ``ch_*[d + 1, :n_ch[d + 1]]`` visited in ``order[d + 1]``, next one ``idx[d + 1]``;
    ``program[:d]: int32[d, 3]`` is the prefix leading to node d.
    """
    r = registers
    k_slots = r + n + 1
    expansions = 0
    bound = ctr[C_BOUND]
    rows_cap = rows.shape[0]
    while True:
        d = ctr[C_DEPTH]
        if d < 0:
            return ST_DONE
        if ctr[C_NEED_EXPAND]:
            if (ctr[C_ROWS] + 2 * max_children_ >= rows_cap
                    or 2 * (ctr[C_MEMO] + memo_reserve(r, n, max_children_)) >= memo_keys.shape[0]
                    or 2 * (ctr[C_TT] + 2 * bound + 2) >= tt_key.shape[0]):
                return ST_GROW
            if expansions >= max_expansions:
                return ST_BUDGET
            _expand(d, st, pend, ch_ids, ch_pend, ch_ins, ch_h, n_ch, order, rows,
                    row_hash, row_table, memo_keys, memo_vals, tt_key, tt_chk, tt_val, ctr,
                    buf, tmp, r, n, sorted_ids, perm_cols, inv, n_perm_fact, scratch, incumbent,
                    dis, expected)
            idx[d + 1] = 0
            found_below[d] = 0
            expansions += 1
            ctr[C_EXPANDED] += 1
            ctr[C_NEED_EXPAND] = 0
        if idx[d + 1] < n_ch[d + 1]:
            c = order[d + 1, idx[d + 1]]
            idx[d + 1] += 1
            h1, h2 = _state_keys(ch_ids[d + 1, c], r, tmp, rows, colmap, sym_hash,
                                 ctr[C_REG_ONLY])
            i = _tt_find(tt_key, tt_chk, h1, h2)
            if i >= 0 and tt_val[i, 0] >= bound - (d + 1) and tt_val[i, 1] <= d + 1:
                ctr[C_TT_HITS] += 1
                continue
            program[d, 0] = ch_ins[d + 1, c, 0]
            program[d, 1] = ch_ins[d + 1, c, 1]
            program[d, 2] = ch_ins[d + 1, c, 2]
            goal = True
            if ctr[C_REG_ONLY]:
                for j in range(n):
                    here = False
                    for s in range(r):
                        if ch_ids[d + 1, c, s] == sorted_ids[j]:
                            here = True
                    if not here:
                        goal = False
                        break
            else:
                for j in range(n):
                    if ch_ids[d + 1, c, r + j] != sorted_ids[j]:
                        goal = False
                        break
            if goal:
                ctr[C_SOL_LEN] = d + 1
                for t in range(d + 1):
                    found_below[t] = 1
                return ST_FOUND
            if d + 1 < bound:
                for s in range(k_slots):
                    st[d + 1, s] = ch_ids[d + 1, c, s]
                pend[d + 1] = ch_pend[d + 1, c]
                key[d + 1, 0] = h1
                key[d + 1, 1] = h2
                ctr[C_DEPTH] = d + 1
                ctr[C_NEED_EXPAND] = 1
        else:
            # node d exhausted: no solution below it within the bound (unless found)
            if not found_below[d]:
                _tt_record(tt_key, tt_chk, tt_val, ctr, key[d, 0], key[d, 1], bound - d, d)
            ctr[C_DEPTH] = d - 1


@numba.njit(**JIT)
def state_keys(ids, registers, rows, colmap, sym_hash, reg_only):
    """Public wrapper of the TT key of ``ids: int32[K]`` (for the driver's root key)."""
    tmp = np.empty(ids.shape[0], dtype=np.uint64)
    return _state_keys(ids, registers, tmp, rows, colmap, sym_hash, reg_only)
