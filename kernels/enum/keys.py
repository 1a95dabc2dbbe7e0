"""State keys up to symmetry, and the transposition table of proved failures.

The table is keyed by the state up to symmetry (``_state_keys``: register renaming and
item permutations), and holds proved failures as (budget, depth) pairs.

Hashed mode (default) trusts two 64-bit keys: a false match needs a hash collision.
Exact mode (``ctr[C_EXACT]``) also stores the canonical state, ``int32[K]``: the row ids
of the state permuted by the permutation the keys chose (each permuted row interned, so
compared in full once, when interned), registers sorted by id; a table entry matches only
when that whole tuple is equal, so two states share an entry only if they are equal up to
register renaming and item permutation. A hash collision can then only make the chosen
permutations of two equivalent states differ, which loses a prune, never a program.
"""

from __future__ import annotations

import numba
import numpy as np

from ..jit import JIT
from .bound import _sort
from .rows import _FNV, _splitmix, intern_row
from .state import C_EXACT, C_TT, EMPTY


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
def _state_keys(ids, registers, rt, sym, reg_only, ctr, canon):
    """Two 64-bit keys of the state, the same for every state equivalent to it.

    Equivalent: equal up to a renaming of the registers and a permutation of the items
    (which permutes the test inputs, ``colmap: int32[N!, B]``): an instruction acts on
    each input alone, and the sorted rows are the same after any such permutation, so
    equivalent states are equally far from the goal. The key is the smallest over the
    N! permutations, with the registers' row hashes sorted. In the register phase the
    memory (the inputs, never read or written there) is left out of the key; in the whole
    ISA it stays in, so the permutation only merges states whose memory matches too.
    ``sym``: a Symmetry (item permutations, row hashes under them, work space); ``rt``: the
    RowTables. Exact mode (``ctr[C_EXACT]``): also writes the canonical state into
    ``canon: int32[K]`` (see the module's docstring), interning the permuted rows (room
    for K new rows is the caller's to check).
    """
    colmap, sym_hash, tmp = sym.colmap, sym.sym_hash, sym.tmp
    rows = rt.rows
    k = ids.shape[0]
    for s in range(k):
        if sym_hash[ids[s], 0] == 0:
            _sym_hashes(ids[s], rows, colmap, sym_hash)
    best1 = np.uint64(0)
    best2 = np.uint64(0)
    best_p = 0
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
            best_p = p
    if ctr[C_EXACT]:
        perm_id = sym.perm_id
        for s in range(k):
            if reg_only and registers <= s < k - 1:
                canon[s] = 0  # memory left out, as in the keys
                continue
            rid = ids[s]
            pid = perm_id[rid, best_p]
            if pid == EMPTY:
                for i in range(colmap.shape[1]):
                    rt.buf[i] = rows[rid, colmap[best_p, i]]
                pid = intern_row(rt, ctr)
                perm_id[rid, best_p] = pid
            canon[s] = pid
        _sort(canon, registers)  # the registers as a multiset
    return best1, best2


@numba.njit(inline="always", **JIT)
def _same_state(tt, i, canon):
    st = tt.state
    for s in range(canon.shape[0]):
        if st[i, s] != canon[s]:
            return False
    return True


@numba.njit(**JIT)
def _tt_find(tt, h1, h2, exact, canon):
    """Slot of keys (h1, h2) in the Transpositions ``tt``, or -1 - (the free slot for them);
    ``exact``: the canonical state ``canon: int32[K]`` must match too."""
    tt_key, tt_chk = tt.key, tt.chk
    mask = tt_key.shape[0] - 1
    i = np.int64(h1 & np.uint64(mask))
    while True:
        if tt_key[i] == 0:
            return -1 - i
        if tt_key[i] == h1 and tt_chk[i] == h2 and (not exact or _same_state(tt, i, canon)):
            return i
        i = (i + 1) & mask


@numba.njit(**JIT)
def _tt_record(tt, ctr, h1, h2, budget, depth, canon):
    """Record: from this state, reached at ``depth``, no solution within ``budget`` more.

    An entry (budget, depth) prunes a later visit at depth >= depth with at most that
    budget left (see the soundness note in discover/search/enum.py).
    """
    tt_key, tt_chk, tt_val = tt.key, tt.chk, tt.val
    exact = ctr[C_EXACT] != 0
    i = _tt_find(tt, h1, h2, exact, canon)
    if i < 0:
        if 4 * (ctr[C_TT] + 1) > 3 * tt_key.shape[0]:
            return  # full: the driver grows the table before the next expansion
        i = -1 - i
        tt_key[i] = h1
        tt_chk[i] = h2
        tt_val[i, 0] = budget
        tt_val[i, 1] = depth
        if exact:
            tt.state[i, :] = canon
        ctr[C_TT] += 1
        return
    old_budget = tt_val[i, 0]
    old_depth = tt_val[i, 1]
    if old_budget >= budget and old_depth <= depth:
        return  # the old entry prunes everything the new one would
    tt_val[i, 0] = budget
    tt_val[i, 1] = depth


@numba.njit(**JIT)
def rehash_tt(tt, size):
    """Transpositions ``tt`` grown to ``size`` slots (key 0 marks an empty slot): the new
    (key, chk, val, state); ``state`` grows only when it has a row per slot (exact mode)."""
    tt_key, tt_chk, tt_val, tt_state = tt.key, tt.chk, tt.val, tt.state
    exact = tt_state.shape[0] == tt_key.shape[0]
    new_key = np.zeros(size, dtype=np.uint64)
    new_chk = np.zeros(size, dtype=np.uint64)
    new_val = np.zeros((size, 2), dtype=np.int16)
    new_state = np.zeros((size if exact else tt_state.shape[0], tt_state.shape[1]),
                         dtype=np.int32)
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
        if exact:
            new_state[i] = tt_state[j]
    return new_key, new_chk, new_val, new_state


@numba.njit(**JIT)
def state_keys(ids, registers, rt, sym, reg_only, ctr, canon):
    """Public wrapper of the TT keys of ``ids: int32[K]`` (the driver's root and prefix
    keys); exact mode also fills ``canon: int32[K]``."""
    return _state_keys(ids, registers, rt, sym, reg_only, ctr, canon)


@numba.njit(**JIT)
def tt_merge(tt, ctr, keys, chks, vals):
    """Record failures another process proved (hashed keys only: they are hashes of row
    contents, the same in every process): ``keys, chks: uint64[E]``, ``vals: int16[E, 2]``
    (budget, depth). An entry that finds the table full is dropped (a lost prune)."""
    canon = np.zeros(tt.state.shape[1], dtype=np.int32)
    for e in range(keys.shape[0]):
        _tt_record(tt, ctr, keys[e], chks[e], vals[e, 0], vals[e, 1], canon)
