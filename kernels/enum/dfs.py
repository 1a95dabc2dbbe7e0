"""The bounded depth-first search: node expansion and the resumable DFS loop.

The search is a depth-first branch and bound over program prefixes (IDA*-style bounded
iterations, driven from ``discover/search/enum.py``); a node is ``ids: int32[K]``, the row
ids of its K = R + N + 1 slots (registers, memory cells, flags).

* ``ctr[C_REG_ONLY]`` selects the register phase: loads done first (r_i = m_i), no
  loads or stores searched, goal = every sorted row in some register (the driver adds
  the stores). Otherwise the whole ISA is searched, loads and stores anywhere.
* The goal: memory cells m0..m{K-1} hold the K sorted rows (``bi.sorted_ids``; a kernel
  task's expected outputs, K <= N; the cells past K are free scratch).
* Visit order (``_expand``): the incumbent program's next instruction first, then the
  smallest bound, so each bounded iteration is a local search around the best so far.
"""

from __future__ import annotations

import numba
import numpy as np

from ..jit import JIT
from ..isa import CMOVS, CMP, COND_MASK, LOAD, MOV, STORE
from .bound import lower_bound
from .keys import _state_keys, _tt_find, _tt_record
from .rows import _cmov_id, _cmp_id, memo_reserve, rows_reserve
from .state import (C_BASE, C_BOUND, C_DEPTH, C_EXACT, C_EXPANDED, C_GENERATED, C_INC_LEN,
                    C_MEMO, C_NEED_EXPAND, C_REG_ONLY, C_ROWS, C_SOL_LEN, C_TT, C_TT_HITS,
                    ST_BUDGET, ST_DONE, ST_FOUND, ST_GROW)

_CONDS = np.array(CMOVS, dtype=np.int64)  # every cmov of the opcode table
N_CONDS = len(CMOVS)
_MASKS = np.array([COND_MASK[c] for c in _CONDS], dtype=np.int8)
_COND_MASK = np.asarray(COND_MASK, dtype=np.int8)  # opcode -> condition mask
_RANK = np.array([2, 2, 1, 0, 3], dtype=np.int64)  # visit rank of load, mov, cmp, cmov, store


@numba.njit(**JIT)
def _expand(d, stack, rt, memo, bi, ctr, registers, n):
    """Generate the children of the node at depth d that can still meet the bound, into
    ``stack.ch_*[d + 1]`` (a Stack; rt, memo, bi: RowTables, Memo, BoundInputs).

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
    st, pend, ch_ids, ch_pend = stack.st, stack.pend, stack.ch_ids, stack.ch_pend
    ch_ins, ch_h, n_ch, order = stack.ch_ins, stack.ch_h, stack.n_ch, stack.order
    incumbent = stack.incumbent
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
                n_cond = N_CONDS if kind == 3 else 1
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
                        new = _cmp_id(rt, memo, ctr, ids[a], ids[b])
                        reads = (np.int64(1) << a) | (np.int64(1) << b)
                    elif kind == 3:  # cmov r_a <- r_b
                        if a == b or ids[a] == 0 or ids[b] == 0 or ids[a] == ids[b]:
                            continue
                        op = _CONDS[c]
                        w = a
                        new = _cmov_id(rt, memo, ctr, _MASKS[c], ids[flags], ids[a], ids[b])
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
                    h = lower_bound(child[nc], rt, bi, r, n, budget, reg_only, cleared | wbit)
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
def dfs_run(max_expansions, stack, rt, memo, bi, sym, tt, ctr, registers, n, max_children_):
    """Run the bounded DFS for up to ``max_expansions`` expansions; returns a status.

    Resumable: all of its state lives in the arrays (depth in ``ctr[C_DEPTH]``); the
    iteration ends when the search returns above depth ``ctr[C_BASE]`` (0: the root's
    whole tree; D: the subtree of the prefix ``program[:D]``, see ``discover/search/enum.py``). Node
    d is ``stack.st[d]: int32[K]`` with pending-write mask ``stack.pend[d]``; its
    children are ``stack.ch_*[d + 1, :stack.n_ch[d + 1]]`` visited in
    ``stack.order[d + 1]``, next one ``stack.idx[d + 1]``; ``stack.program[:d]: int32[d,
    3]`` is the prefix leading to node d. The other tables: RowTables, Memo, BoundInputs,
    Symmetry, Transpositions (see state.py).
    """
    st, pend, key, idx, n_ch = stack.st, stack.pend, stack.key, stack.idx, stack.n_ch
    order, ch_ids, ch_pend, ch_ins = stack.order, stack.ch_ids, stack.ch_pend, stack.ch_ins
    program, found_below, canon = stack.program, stack.found_below, stack.canon
    sorted_ids = bi.sorted_ids
    r = registers
    k_slots = r + n + 1
    expansions = 0
    bound = ctr[C_BOUND]
    rows_cap = rt.rows.shape[0]
    exact = ctr[C_EXACT] != 0
    reserve = rows_reserve(max_children_, k_slots, ctr[C_EXACT])
    while True:
        d = ctr[C_DEPTH]
        if d < ctr[C_BASE]:
            return ST_DONE
        if ctr[C_NEED_EXPAND]:
            if (ctr[C_ROWS] + reserve >= rows_cap
                    or 2 * (ctr[C_MEMO] + memo_reserve(r, n, max_children_)) >= memo.keys.shape[0]
                    or 2 * (ctr[C_TT] + 2 * bound + 2) >= tt.key.shape[0]):
                return ST_GROW
            if expansions >= max_expansions:
                return ST_BUDGET
            _expand(d, stack, rt, memo, bi, ctr, r, n)
            idx[d + 1] = 0
            found_below[d] = 0
            expansions += 1
            ctr[C_EXPANDED] += 1
            ctr[C_NEED_EXPAND] = 0
        if idx[d + 1] < n_ch[d + 1]:
            c = order[d + 1, idx[d + 1]]
            idx[d + 1] += 1
            h1, h2 = _state_keys(ch_ids[d + 1, c], r, rt, sym, ctr[C_REG_ONLY], ctr, canon[d + 1])
            i = _tt_find(tt, h1, h2, exact, canon[d + 1])
            if i >= 0 and tt.val[i, 0] >= bound - (d + 1) and tt.val[i, 1] <= d + 1:
                ctr[C_TT_HITS] += 1
                continue
            program[d, 0] = ch_ins[d + 1, c, 0]
            program[d, 1] = ch_ins[d + 1, c, 1]
            program[d, 2] = ch_ins[d + 1, c, 2]
            goal = True
            if ctr[C_REG_ONLY]:
                for j in range(sorted_ids.shape[0]):  # K output rows (N for a sort)
                    here = False
                    for s in range(r):
                        if ch_ids[d + 1, c, s] == sorted_ids[j]:
                            here = True
                    if not here:
                        goal = False
                        break
            else:
                for j in range(sorted_ids.shape[0]):  # output cells m0..m{K-1}
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
                _tt_record(tt, ctr, key[d, 0], key[d, 1], bound - d, d, canon[d])
            ctr[C_DEPTH] = d - 1


@numba.njit(**JIT)
def expand_node(d, stack, rt, memo, bi, ctr, registers, n):
    """The children of node ``stack.st[d]`` (pending mask ``stack.pend[d]``) that can meet
    ``ctr[C_BOUND]``, into ``stack.ch_*[d + 1]`` in visit order ``stack.order[d + 1]``
    (the driver's split of an iteration into prefixes; room checked by the caller)."""
    _expand(d, stack, rt, memo, bi, ctr, registers, n)
    ctr[C_EXPANDED] += 1


@numba.njit(**JIT)
def apply_instruction(ids, pending, op, a, b, rt, memo, ctr, registers, n):
    """Apply instruction (op, a, b) to state ``ids: int32[K]`` in place; returns the new
    pending-write mask (as ``_expand`` computes it for a child). Room for one row is the
    caller's to check."""
    r = registers
    if op == LOAD:
        w, new, reads = a, ids[r + b], np.int64(1) << (r + b)
    elif op == STORE:
        w, new, reads = r + a, ids[b], np.int64(1) << b
    elif op == MOV:
        w, new, reads = a, ids[b], np.int64(1) << b
    elif op == CMP:
        w = r + n
        new = _cmp_id(rt, memo, ctr, ids[a], ids[b])
        reads = (np.int64(1) << a) | (np.int64(1) << b)
    else:
        w = a
        new = _cmov_id(rt, memo, ctr, _COND_MASK[op], ids[r + n], ids[a], ids[b])
        reads = (np.int64(1) << a) | (np.int64(1) << b) | (np.int64(1) << (r + n))
    ids[w] = new
    return (pending & ~reads) | (np.int64(1) << w)
