"""The admissible lower bound on the instructions still needed (``lower_bound``).

A sum of parts each of which counts one kind of instruction only (so the sum stays
admissible):

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

Kernel tasks (K output cells m0..m{K-1}, K <= N, the cells past K scratch; median5,
merge2+2, ...): the sorted rows are the K expected output rows, and each term counts
only what the outputs force. Stores: output cells not yet right. Loads: values a wrong
output cell needs (any of the N cells may hold one), and at least one load for each cell
that alone holds some needed value on some input (``_sole_cells``). cmovs: expected rows present
nowhere (a row two outputs need counted once). Routings: at the end only inputs whose
expected output *items* differ must differ (F of them over the permutation inputs, not
N!: ``bi.n_perm_fact``); cmps: the most distinct expected item tuples (``bi.classes``)
in one group, since a group's pieces must each end with one tuple. Each term stays a
count of one instruction kind that any correct completion needs, so the sum stays
admissible.
"""

from __future__ import annotations

import numba
import numpy as np

from ..jit import JIT
from .rows import _FNV
from .state import INF, UNSET_ITEM


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
def _repeated(sorted_ids, j):
    """Whether sorted row j equals an earlier one (a kernel task may output one item
    twice; a sort's sorted rows all differ)."""
    for t in range(j):
        if sorted_ids[t] == sorted_ids[j]:
            return True
    return False


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
    """Most values some input needs in a wrong output cell that no register holds (each
    load brings one value into a register on every input), or -1 if a needed value is
    held nowhere. Worked on 64 inputs at a time with the disagreement masks, a value
    named by a sorted row holding it (a value an output cell needs on an input is its
    sorted row's there); with ties, the first such row stands for the value. A kernel
    task (K < N sorted rows): only the K output cells need values, any of the N cells
    may hold one.
    """
    loads = 0
    kout = sorted_ids.shape[0]  # output cells m0..m{K-1} (K = N for a sort)
    for w in range(dis.shape[2]):
        c0 = np.uint64(0)  # bit planes of the per-input count of values to load
        c1 = np.uint64(0)
        c2 = np.uint64(0)
        c3 = np.uint64(0)
        for k in range(kout):
            sk = sorted_ids[k]
            need = np.uint64(0)  # a wrong output cell needs row k's value
            mem_have = np.uint64(0)  # a cell (any of the N) holds row k's value
            for j in range(n):
                cell = ids[r + j]
                mem_have |= ~dis[cell, k, w]
                if j >= kout:
                    continue  # a scratch cell (kernel tasks) needs nothing
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


@numba.njit(inline="always", **JIT)
def _sole_cells(ids, dis, sorted_ids, r, n, unset):
    """Mask of the memory cells some load must read: on some input, a wrong output cell
    needs a value (a sorted row's, as in ``_loads``) that no register holds and that this
    cell alone holds. Only a load copies a value out of memory, and it reads one cell, so
    each such cell costs a load of its own."""
    kout = sorted_ids.shape[0]
    cells = 0
    for w in range(dis.shape[2]):
        for k in range(kout):
            sk = sorted_ids[k]
            need = np.uint64(0)
            for j in range(kout):
                cell = ids[r + j]
                if j == k:
                    need |= dis[cell, j, w]
                else:
                    need |= dis[cell, j, w] & ~dis[sk, j, w]
            if need == 0:
                continue
            for s in range(r):
                if ids[s] != unset:
                    need &= dis[ids[s], k, w]  # no register holds it
            if need == 0:
                continue
            for c in range(n):
                if (cells >> c) & 1:
                    continue
                alone = need & ~dis[ids[r + c], k, w]  # cell c holds it ...
                for o in range(n):
                    if o != c:
                        alone &= dis[ids[r + o], k, w]  # ... and no other cell does
                if alone:
                    cells |= 1 << c
    return cells


@numba.njit(**JIT)
def lower_bound(ids, rt, bi, registers, n, limit, reg_only, pending):
    """Admissible lower bound on instructions still needed from state ``ids: int32[K]``.

    Returns INF for a dead state, and stops early (returning a value > limit) once the
    cheap parts already exceed ``limit``. ``rt``: the RowTables (rows and their
    disagreement masks); ``bi``: the BoundInputs (sorted rows, permutation inputs, work
    space); ``pending``: mask of the slots written and not read since.
    """
    rows, dis = rt.rows, rt.dis
    sorted_ids, perm_cols, inv, scratch = bi.sorted_ids, bi.perm_cols, bi.inv, bi.scratch
    n_perm_fact = bi.n_perm_fact
    r = registers
    flags = r + n
    kout = sorted_ids.shape[0]  # output cells m0..m{K-1}: N for a sort, K <= N for a kernel
    unset = 0  # ids[...] == 0 is the all-unset register row (interned first)
    # stores: one per wrong cell; cmovs: one per sorted row present nowhere.
    stores = 0
    missing = 0
    b_total = rows.shape[1]
    n_words = dis.shape[2]
    if reg_only:
        # Register phase: memory keeps the inputs (loaded first), the stores come last;
        # the goal is every sorted row in some register.
        for j in range(kout):
            if _repeated(sorted_ids, j):
                continue  # one cmov makes a row that two outputs need
            present = False
            for s in range(r):
                if ids[s] == sorted_ids[j]:
                    present = True
                    break
            if not present:
                missing += 1
        for j in range(kout):
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
        for j in range(kout):
            if ids[r + j] != sorted_ids[j]:
                stores += 1
            if _repeated(sorted_ids, j):
                continue  # one cmov makes a row that two outputs need
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
    spill_cells = 0
    for j in range(kout if not reg_only else 0):  # scratch cells need no final value
        if (pending >> (r + j)) & 1 and ids[r + j] != sorted_ids[j]:
            spills += 1
            spill_cells |= 1 << j
    if spills > loads:
        loads = spills
    if bi.kernel and not reg_only:
        # A kernel task: the cells that must each be loaded from at least once (a value
        # some wrong output cell needs that only this cell holds, or a spill), one load
        # a cell. Sorts keep the per-input count alone (their figures stay as they were).
        cells = _sole_cells(ids, dis, sorted_ids, r, n, unset) | spill_cells
        count = 0
        for j in range(n):
            count += (cells >> j) & 1
        if count > loads:
            loads = count
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
    distinct = 1
    for p in range(1, p_total):
        if route[p] != route[p - 1]:
            distinct += 1
    classes = bi.classes
    largest = 1
    if classes.shape[0] == 0:  # a sort: every input has its own expected items
        _sort(group, p_total)
        run = 1
        for p in range(1, p_total):
            if group[p] == group[p - 1]:
                run += 1
                if run > largest:
                    largest = run
            else:
                run = 1
    else:
        # A kernel: inputs of one group must end split only where their expected items
        # differ, so count the distinct classes in each group. Each group is numbered by
        # its rank among the sorted group hashes (the route's work space, free now), and
        # (rank, class) packed exactly into one key (both below 2^16: P <= 8!).
        ranks = route
        for p in range(p_total):
            ranks[p] = group[p]
        _sort(ranks, p_total)
        for p in range(p_total):
            lo, hi = 0, p_total - 1  # the first index holding group[p]
            while lo < hi:
                mid = (lo + hi) // 2
                if ranks[mid] < group[p]:
                    lo = mid + 1
                else:
                    hi = mid
            group[p] = (np.uint64(lo) << np.uint64(20)) | np.uint64(classes[p])
        _sort(group, p_total)
        run = 1
        for p in range(1, p_total):
            if (group[p] >> np.uint64(20)) == (group[p - 1] >> np.uint64(20)):
                if group[p] != group[p - 1]:
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
    need = 0  # missing sorted rows (a row two outputs need counted once)
    for j in range(n):
        if _repeated(sorted_ids, j):
            continue
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
