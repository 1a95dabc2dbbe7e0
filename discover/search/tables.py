"""The enumerative search's tables: every array its kernels (``kernels/enum/``) work on,
and the item permutations under which states share a transposition-table entry.

``EnumTables`` holds one search's interned rows, memo, transposition table, symmetry and
per-depth stacks, builds the named tuples the kernels take (``kernels/enum/state.py``),
grows them within a memory limit and reads back a solution. The driver
(``discover/search/enum.py``), the proof's units (``discover/search/proof.py``) and the
state bound (``discover/search/bound.py``) all work through it.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from discover.kernels import LOAD, STORE, Program, Task, initial_state, step
from discover.kernels import enum as kenum

from .base import Monitor, SearchStopped

__all__ = ["EnumTables", "item_colmap", "item_symmetry", "symmetry_blocks"]

_GB = 1 << 30
SYMMETRY_BUDGET = 1 << 22
"""Most entries |G| x B of the item-permutation table (``colmap``, int32: 16 MB): also
the hash steps each new row costs (``sym_hash``, one per permutation and input). All N!
permutations fit up to sort6 (720 x 4,683 = 3.4 M); sort7 (5,040 x 47,293 = 238 M, 1 GB,
a quarter of a second a row) and sort8 (40,320 x 545,835, 88 GB) get a subgroup."""
ROW_TABLE_BYTES = 512 << 20
"""The interned rows start at 4,096 (RCAP) unless that passes this; then at the smallest
power of two the kernel accepts (sort8: 2,048 rows of 1 MB with their masks)."""


def item_symmetry(n: int, b: int, rows: int = 1 << 12,
                  limit_bytes: float = float("inf")) -> np.ndarray:
    """``int64[G, N]``: the item permutations under which states share a table entry.

    Every permutation of the items maps a state to an equally hard one (the sorted rows
    stay), so any set of them is sound: a state's key is the least hash over the set, and
    two states with the same key are images of each other under some permutation (up to
    a hash collision). A larger set only merges more states. Each permutation costs a
    column map of B inputs (``colmap``: ``int32[G, B]``), a hash per interned row
    (``sym_hash``: ``uint64[RCAP, G]``) and a pass over the state per key, so the set is
    the whole symmetric group S_N when N! x B fits ``SYMMETRY_BUDGET`` and the tables fit
    a quarter of ``limit_bytes`` (sort2 .. sort6: exactly as before, in
    ``itertools.permutations`` order), else the largest Young subgroup S_a x S_b x ... that
    fits: the items cut into consecutive blocks, each permuted freely (sort7: blocks 4, 2,
    1, 48 permutations; sort8: 3, 1, 1, 1, 1, 1, 6 permutations). At the least it is the
    identity alone (register renaming only). The identity is always first.
    """
    per_permutation = 4 * b + 8 * rows  # bytes: a colmap row and a sym_hash column
    cap = SYMMETRY_BUDGET // max(b, 1)
    if math.isfinite(limit_bytes):
        cap = min(cap, int(limit_bytes / 4 // per_permutation))
    cap = max(cap, 1)
    best_blocks, best_size = [1] * n, 1
    for blocks in _partitions(n):
        size = math.prod(math.factorial(k) for k in blocks)
        if best_size < size <= cap:
            best_blocks, best_size = blocks, size
    if best_blocks == [n]:
        return np.array(list(itertools.permutations(range(n))), dtype=np.int64).reshape(-1, n)
    starts = np.cumsum([0] + best_blocks[:-1])
    parts = [list(itertools.permutations(range(s, s + k))) for s, k in zip(starts, best_blocks)]
    return np.array([sum(choice, ()) for choice in itertools.product(*parts)],
                    dtype=np.int64).reshape(-1, n)


def _partitions(n: int, most: int | None = None):
    """Every partition of n into non-increasing parts (each at most ``most``)."""
    most = n if most is None else most
    if n == 0:
        yield []
        return
    for first in range(min(n, most), 0, -1):
        for rest in _partitions(n - first, first):
            yield [first] + rest


def symmetry_blocks(perms: np.ndarray) -> list[int]:
    """The block sizes of ``item_symmetry``'s group (``[N]``: all of S_N)."""
    n = perms.shape[1]
    blocks, start = [], 0
    while start < n:
        end = int(perms[:, start].max()) + 1  # a block's images stay inside it
        blocks.append(end - start)
        start = end
    return blocks


def item_colmap(inputs: np.ndarray, perms: np.ndarray) -> np.ndarray:
    """``int32[G, B]``: ``colmap[p, b]`` is the input whose items are input b's items
    reordered by ``perms[p]`` (``inputs: int8[N, B]``, the weak orderings, each a column
    of ranks 0..N-1). Vectorised: each column is coded as a base-N number, and the
    permuted columns are looked up in a table of every code (N^N entries: 64 MB for
    sort8, for the moment of the call)."""
    n, b = inputs.shape
    weights = np.int64(n) ** np.arange(n, dtype=np.int64)  # int64[N]
    codes = weights @ inputs.astype(np.int64)  # int64[B]
    lookup = np.full(n ** n, -1, dtype=np.int32)  # int32[N^N]: code -> input
    lookup[codes] = np.arange(b, dtype=np.int32)
    colmap = np.empty((len(perms), b), dtype=np.int32)
    chunk = max(1, (1 << 22) // max(b, 1))  # int64[chunk, B] of codes at a time
    for lo in range(0, len(perms), chunk):
        block = perms[lo: lo + chunk]  # int64[g, N]
        permuted = np.zeros((len(block), b), dtype=np.int64)
        for i in range(n):
            permuted += weights[i] * inputs[block[:, i]]  # item i of the permuted input
        colmap[lo: lo + chunk] = lookup[permuted]
    if colmap.min() < 0:
        raise AssertionError("an item permutation left the weak orderings")
    return colmap


WATCHED_INPUTS = 5000
"""Above this many inputs (sort7: 47,293; sort8: 545,835) one expansion can take most of a
second, so each kernel call runs on a helper thread and a stop returns at once."""


def _row_capacity(n: int, b: int, max_children: int) -> int:
    """Initial RCAP: 4,096 rows, fewer when their bytes pass ``ROW_TABLE_BYTES`` (never
    fewer than one expansion needs: the kernel asks to grow below 2 x max_children free)."""
    per_row = b + 8 * n * kenum.dis_words(b)
    cap = 1 << 12
    while cap * per_row > ROW_TABLE_BYTES and cap // 2 > 2 * max_children + 2 * n + 2:
        cap //= 2
    return cap


def _output_classes(task: Task, perm_cols: np.ndarray, inv: np.ndarray):
    """(F, classes) for the bound's routing and cmp terms (kernels/enum/bound.py).

    On a permutation input every output cell must end holding one definite item; inputs
    whose expected items differ must end with different routings. F is the number of
    distinct expected item tuples over the permutation inputs (N! for a sort, whose every
    permutation input has its own); ``classes: int64[P]`` numbers each permutation
    input's tuple, or is empty when all P differ (a sort, a merge: the bound's old terms
    are then exact as they are)."""
    if task.is_sort:
        return math.factorial(task.n), np.zeros(0, dtype=np.int64)
    if len(perm_cols) == 0:  # a domain without permutation inputs: no such term
        return 1, np.zeros(0, dtype=np.int64)
    ranks = task.expected[:, perm_cols]  # int8[K, P]: the expected ranks
    items = inv[np.arange(len(perm_cols))[None, :], ranks]  # int8[K, P]: their items
    _, classes = np.unique(items.T, axis=0, return_inverse=True)
    classes = classes.reshape(-1).astype(np.int64)
    count = int(classes.max()) + 1 if len(classes) else 1
    if count == len(perm_cols):
        return count, np.zeros(0, dtype=np.int64)
    return count, classes


def _drop_unneeded_loads(program: Program, task: Task) -> Program:
    """A kernel task's register-phase program without the loads its outputs never need
    (the phase loads every input; a task may not depend on some of them)."""
    from discover.kernels import ProgramError, verify

    code = [tuple(int(v) for v in row) for row in program.code]
    k = 0
    while k < len(code) and code[k][0] == LOAD:
        trial = Program.from_instructions(code[:k] + code[k + 1:])
        try:
            trial.check(task.n, task.registers)
            ok = verify(trial, task).correct
        except ProgramError:  # ill-formed without it (a register read before written)
            ok = False
        if ok:
            code = code[:k] + code[k + 1:]
        else:
            k += 1
    return Program.from_instructions(code)


class EnumTables:
    """Every array the kernel works on; grown on request within the memory limit."""

    def __init__(self, task: Task, max_depth: int, reg_only: bool = False,
                 limit_bytes: float = float("inf"), exact: bool = False):
        n, r = task.n, task.registers
        self.task = task
        self.r, self.n = r, n
        self.k = r + n + 1
        self.b = task.n_inputs
        self.m = kenum.max_children(r, n)
        inputs = task.inputs  # int8[N, B]
        self.kout = task.n_outputs  # K output cells m0..m{K-1} (N for a sort)
        perm_cols = np.flatnonzero((np.sort(inputs, axis=0) == np.arange(n)[:, None]).all(axis=0))
        self.perm_cols = perm_cols.astype(np.int64)  # int64[P]: inputs without ties
        self.inv = np.zeros((len(perm_cols), n), dtype=np.int8)  # int8[P, N]: value -> item
        self.inv[np.arange(len(perm_cols))[:, None], inputs[:, perm_cols].T] = np.arange(n)
        self.n_perm_fact, self.classes = _output_classes(task, self.perm_cols, self.inv)
        # uint64[2, max(P, (K + N) W)]: work space of kernels/enum/bound.py:lower_bound
        width = max(len(perm_cols), (self.k + n) * kenum.dis_words(self.b))
        self.scratch = np.zeros((2, width), dtype=np.uint64)
        self.ctr = np.zeros(kenum.N_CTR, dtype=np.int64)
        cap = _row_capacity(n, self.b, self.m)
        self.rows = np.zeros((cap, self.b), dtype=np.int8)  # int8[RCAP, B]: interned rows
        self.row_hash = np.zeros(cap, dtype=np.uint64)  # uint64[RCAP]
        # int8[K, B]: the sorted rows (a kernel task: its K expected output rows)
        self.expected = np.ascontiguousarray(task.expected)
        # uint64[RCAP, K, W]: where each row differs from each sorted row, a bit per input
        # (W = ceil(B / 64) words: about B bytes per row with N = 8, the size of a row)
        self.dis = np.zeros((cap, self.kout, kenum.dis_words(self.b)), dtype=np.uint64)
        self.row_table = np.full(2 * cap, kenum.EMPTY, dtype=np.int32)  # int32[2 RCAP]
        self.memo_keys = np.full((1 << 14, 4), kenum.EMPTY, dtype=np.int32)  # (tag, x, y, z)
        self.memo_vals = np.full(1 << 14, kenum.EMPTY, dtype=np.int32)
        self.tt_key = np.zeros(1 << 14, dtype=np.uint64)  # 0: empty
        self.tt_chk = np.zeros(1 << 14, dtype=np.uint64)
        self.tt_val = np.zeros((1 << 14, 2), dtype=np.int16)  # (budget, depth) of a failure
        self.buf = np.zeros(self.b, dtype=np.int8)
        self.tmp = np.zeros(self.k, dtype=np.uint64)
        # Item permutations act on the inputs: colmap[p, b] is the input whose items are
        # input b's items reordered by permutation p (every state's rows are compared up
        # to these, see kernels/enum/keys.py:_state_keys); all N! of them up to sort6, a
        # subgroup beyond (item_symmetry).
        # A kernel task whose output changes when its items are renamed (merge2+2,
        # stablesortN, most user tasks) gets the identity alone.
        perms = item_symmetry(n, self.b, cap, limit_bytes) if task.symmetric \
            else np.arange(n, dtype=np.int64)[None, :]  # int64[G, N]
        self.symmetry_blocks = symmetry_blocks(perms)
        self.colmap = item_colmap(inputs, perms)  # int32[G, B]
        self.sym_hash = np.zeros((cap, len(perms)), dtype=np.uint64)  # uint64[RCAP, G]
        # Rows 0 and 1 are the unset register and the unset flags (the kernel relies on it),
        # then the inputs and the sorted rows, interned in one kernel call.
        first = np.concatenate([np.full((1, self.b), -1), np.zeros((1, self.b)), inputs,
                                task.expected]).astype(np.int8)  # int8[2 + 2N, B]
        first_ids = np.zeros(len(first), dtype=np.int32)
        self.intern_rows(first, first_ids)
        x_ids = [int(i) for i in first_ids[2: 2 + n]]
        self.sorted_ids = first_ids[2 + n:].copy()  # int32[K]; row 0 (all zeros) is id 1
        self.reg_only = reg_only
        self.ctr[kenum.C_REG_ONLY] = int(reg_only)
        regs = x_ids + [0] * (r - n) if reg_only else [0] * r
        self.root = np.array(regs + x_ids + [1], dtype=np.int32)  # int32[K]
        self.depth_arrays(max_depth)
        self.monitor: Monitor | None = None  # set: run() watches it (sort7, sort8)
        self.abandoned = False  # a kernel call left running at a stop: no further calls
        self.set_exact(exact)

    # The kernels take their arrays as named tuples, one per idea (kernels/enum/state.py);
    # built again for each call, since growing a table replaces its arrays.
    def row_tables(self) -> kenum.RowTables:
        return kenum.RowTables(self.rows, self.row_hash, self.row_table, self.dis, self.expected,
                               self.buf)

    def memo(self) -> kenum.Memo:
        return kenum.Memo(self.memo_keys, self.memo_vals)

    def bound_inputs(self) -> kenum.BoundInputs:
        return kenum.BoundInputs(self.sorted_ids, self.perm_cols, self.inv, self.n_perm_fact,
                                 self.scratch, self.classes, int(not self.task.is_sort))

    def symmetry(self) -> kenum.Symmetry:
        return kenum.Symmetry(self.colmap, self.sym_hash, self.tmp, self.perm_id)

    def transpositions(self) -> kenum.Transpositions:
        return kenum.Transpositions(self.tt_key, self.tt_chk, self.tt_val, self.tt_state)

    def set_exact(self, exact: bool) -> None:
        """Exact mode (the table compares whole canonical states, see kernels/enum/keys.py)
        or hashed; empties the transposition table."""
        self.exact = bool(exact)
        self.ctr[kenum.C_EXACT] = int(exact)
        shape = (self.rows.shape[0], self.colmap.shape[0]) if exact else (1, 1)
        self.perm_id = np.full(shape, kenum.EMPTY, dtype=np.int32)  # int32[RCAP, N!]
        self.reset_tt()

    def reset_tt(self, size: int = 1 << 14) -> None:
        """An empty transposition table (each proof unit starts with one: its node count
        then depends on its prefix alone, whichever process runs it and in what order)."""
        self.tt_key = np.zeros(size, dtype=np.uint64)  # 0: empty
        self.tt_chk = np.zeros(size, dtype=np.uint64)
        self.tt_val = np.zeros((size, 2), dtype=np.int16)  # (budget, depth) of a failure
        self.tt_state = np.zeros((size if self.exact else 1, self.k), dtype=np.int32)
        self.ctr[kenum.C_TT] = 0

    def stack(self) -> kenum.Stack:
        return kenum.Stack(self.st, self.pend, self.key, self.idx, self.n_ch, self.order,
                           self.ch_ids, self.ch_pend, self.ch_ins, self.ch_h, self.program,
                           self.found_below, self.incumbent, self.canon)

    def intern(self, row) -> int:
        self.buf[:] = row
        return int(kenum.intern_row(self.row_tables(), self.ctr))

    def intern_rows(self, rows, ids) -> None:
        """Ids of every row of ``rows: int8[M, B]`` (a state, say) into ``ids: int32[M]``."""
        kenum.intern_rows(self.row_tables(), self.ctr, rows, ids)

    def depth_arrays(self, max_depth: int) -> None:
        """Per-depth stacks for programs up to ``max_depth`` instructions."""
        d, m, k = max_depth + 2, self.m, self.k
        self.max_depth = max_depth
        self.st = np.zeros((d, k), dtype=np.int32)  # node ids per depth
        self.pend = np.zeros(d, dtype=np.int64)  # pending-write mask per depth
        self.key = np.zeros((d, 2), dtype=np.uint64)
        self.idx = np.zeros(d + 1, dtype=np.int64)
        self.n_ch = np.zeros(d + 1, dtype=np.int64)
        self.order = np.zeros((d + 1, m), dtype=np.int64)
        self.ch_ids = np.zeros((d + 1, m, k), dtype=np.int32)
        self.ch_pend = np.zeros((d + 1, m), dtype=np.int64)
        self.ch_ins = np.zeros((d + 1, m, 3), dtype=np.int32)  # (op, dst, src)
        self.ch_h = np.zeros((d + 1, m), dtype=np.int64)
        self.program = np.zeros((d, 3), dtype=np.int32)
        old = getattr(self, "incumbent", np.zeros((0, 3), dtype=np.int32))
        self.incumbent = np.zeros((d, 3), dtype=np.int32)  # int32[D, 3]: visited first
        self.incumbent[: min(len(old), d)] = old[:d]
        self.found_below = np.zeros(d, dtype=np.int64)
        self.canon = np.zeros((d + 1, k), dtype=np.int32)  # exact mode's canonical states

    def flush(self) -> None:
        """Start again from empty tables (rows, memo, transposition table), keeping the
        incumbent, the key mode and the counters: a long proof's memory stays bounded,
        at the cost of the prunes the table held (the proof's units are programs, not
        row ids, so they stay valid)."""
        incumbent, length = self.incumbent.copy(), int(self.ctr[kenum.C_INC_LEN])
        counters = {c: int(self.ctr[c]) for c in (kenum.C_EXPANDED, kenum.C_GENERATED,
                                                  kenum.C_TT_HITS)}
        self.__init__(self.task, self.max_depth, self.reg_only, self.exact)
        self.incumbent[: len(incumbent)] = incumbent[: self.incumbent.shape[0]]
        self.ctr[kenum.C_INC_LEN] = length
        for c, v in counters.items():
            self.ctr[c] = v
        self.flushes = getattr(self, "flushes", 0) + 1

    def nbytes(self) -> int:
        return sum(a.nbytes for a in vars(self).values() if isinstance(a, np.ndarray))

    def root_bound(self) -> int:
        return self.bound(self.root)

    def bound(self, ids, pending: int = 0) -> int:
        """The kernel's lower bound on instructions still needed from state ``ids: int32[K]``
        (``pending``: mask of slots written and not read since)."""
        return int(kenum.lower_bound(ids, self.row_tables(), self.bound_inputs(), self.r, self.n,
                                     1 << 30, int(self.reg_only), pending))

    def start(self, bound: int) -> None:
        """Begin a DFS iteration over programs of at most ``bound`` instructions."""
        if bound > self.max_depth:
            self.depth_arrays(bound)
        c = self.ctr
        c[kenum.C_BOUND] = bound
        c[kenum.C_DEPTH] = 0
        c[kenum.C_NEED_EXPAND] = 1
        c[kenum.C_BASE] = 0
        self.st[0] = self.root
        self.pend[0] = 0
        self.key[0] = self.keys(self.root, self.canon[0])

    def keys(self, ids, canon) -> tuple[int, int]:
        """The table keys of state ``ids`` (exact mode: its canonical state into ``canon``)."""
        self.make_room()
        return kenum.state_keys(ids, self.r, self.row_tables(), self.symmetry(),
                                int(self.reg_only), self.ctr, canon)

    def make_room(self) -> None:
        """Grow the tables if one expansion could fill them (for kernel calls outside
        ``run``, which checks this itself)."""
        c = self.ctr
        if (c[kenum.C_ROWS] + kenum.rows_reserve(self.m, self.k, int(self.exact))
                >= self.rows.shape[0]
                or 2 * (c[kenum.C_MEMO] + kenum.memo_reserve(self.r, self.n, self.m))
                >= self.memo_keys.shape[0]):
            if not self.grow(float("inf")):
                raise MemoryError("enum: cannot grow the tables")

    def start_prefix(self, bound: int, prefix) -> None:
        """Begin a DFS of the subtree below ``prefix`` (instructions (op, a, b)) within
        programs of at most ``bound`` instructions; ``run`` reports ST_DONE when it is
        exhausted. The prefix is replayed here, so any process's tables can run it."""
        if bound > self.max_depth:
            self.depth_arrays(bound)
        depth = len(prefix)
        self.st[0] = self.root
        self.pend[0] = 0
        for t, (op, a, b) in enumerate(prefix):
            self.make_room()
            self.st[t + 1] = self.st[t]
            self.pend[t + 1] = kenum.apply_instruction(self.st[t + 1], self.pend[t], op, a, b,
                                                       self.row_tables(), self.memo(), self.ctr,
                                                       self.r, self.n)
            self.program[t] = (op, a, b)
        self.key[depth] = self.keys(self.st[depth], self.canon[depth])
        c = self.ctr
        c[kenum.C_BOUND] = bound
        c[kenum.C_DEPTH] = depth
        c[kenum.C_BASE] = depth
        c[kenum.C_NEED_EXPAND] = 1

    def children(self, d: int, bound: int):
        """Children of node ``st[d]`` within ``bound``, in visit order: a list of (ids,
        pending mask, instruction) (the split of an iteration into prefixes)."""
        if bound > self.max_depth:
            self.depth_arrays(bound)
        self.make_room()
        self.ctr[kenum.C_BOUND] = bound
        kenum.expand_node(d, self.stack(), self.row_tables(), self.memo(), self.bound_inputs(),
                          self.ctr, self.r, self.n)
        n_ch = int(self.n_ch[d + 1])
        return [(self.ch_ids[d + 1, i].copy(), int(self.ch_pend[d + 1, i]),
                 tuple(int(v) for v in self.ch_ins[d + 1, i]))
                for i in self.order[d + 1, :n_ch]]

    def run(self, max_expansions: int) -> int:
        def call():
            return int(kenum.dfs_run(max_expansions, self.stack(), self.row_tables(),
                                     self.memo(), self.bound_inputs(), self.symmetry(),
                                     self.transpositions(), self.ctr, self.r, self.n, self.m))

        if self.monitor is None or self.b <= WATCHED_INPUTS:
            return call()
        if self.abandoned:
            return kenum.ST_BUDGET
        try:
            return self.monitor.watched(call)
        except SearchStopped:  # a stop came during the call, which goes on alone
            self.abandoned = True
            return kenum.ST_BUDGET

    def set_incumbent(self, program: Program) -> None:
        """Visit this program's instructions first (its register part in the register phase:
        without its leading loads and trailing stores)."""
        code = program.code
        if self.reg_only:
            first, last = 0, len(code)
            while first < last and code[first, 0] == LOAD:
                first += 1
            while last > first and code[last - 1, 0] == STORE:
                last -= 1
            code = code[first:last]
        length = min(len(code), self.incumbent.shape[0])
        self.incumbent[:length] = code[:length]
        self.ctr[kenum.C_INC_LEN] = length

    def grow(self, limit_bytes: float) -> bool:
        """Grow whichever table is too full; False if that would pass the memory limit."""
        c, m = self.ctr, self.m
        plan = []
        if c[kenum.C_ROWS] + kenum.rows_reserve(m, self.k, int(self.exact)) >= self.rows.shape[0]:
            cap = self.rows.shape[0] * 2
            per_row = (self.b + 8 + 8 + 8 * self.colmap.shape[0] + self.dis[0].nbytes
                       + (4 * self.colmap.shape[0] if self.exact else 0))
            plan.append(("rows", cap * per_row))
        if 2 * (c[kenum.C_MEMO] + kenum.memo_reserve(self.r, self.n, m)) >= self.memo_keys.shape[0]:
            plan.append(("memo", self.memo_keys.nbytes + self.memo_vals.nbytes))
        if 2 * (c[kenum.C_TT] + 2 * c[kenum.C_BOUND] + 2) >= self.tt_key.shape[0]:
            plan.append(("tt", self.tt_key.nbytes * 2 + self.tt_val.nbytes
                         + (self.tt_state.nbytes if self.exact else 0)))
        extra = sum(size for _, size in plan)
        if self.nbytes() + extra > limit_bytes:
            return False
        for what, _ in plan:
            if what == "rows":
                cap = self.rows.shape[0] * 2
                rows = np.zeros((cap, self.b), dtype=np.int8)
                rows[: self.rows.shape[0]] = self.rows
                row_hash = np.zeros(cap, dtype=np.uint64)
                row_hash[: self.row_hash.shape[0]] = self.row_hash
                sym_hash = np.zeros((cap, self.colmap.shape[0]), dtype=np.uint64)
                sym_hash[: self.sym_hash.shape[0]] = self.sym_hash
                dis = np.zeros((cap,) + self.dis.shape[1:], dtype=np.uint64)
                dis[: self.dis.shape[0]] = self.dis
                self.rows, self.row_hash, self.sym_hash, self.dis = rows, row_hash, sym_hash, dis
                if self.exact:
                    perm_id = np.full((cap, self.colmap.shape[0]), kenum.EMPTY, dtype=np.int32)
                    perm_id[: self.perm_id.shape[0]] = self.perm_id
                    self.perm_id = perm_id
                self.row_table = kenum.rehash_rows(row_hash, c[kenum.C_ROWS], 2 * cap)
            elif what == "memo":
                self.memo_keys, self.memo_vals = kenum.rehash_memo(
                    self.memo(), 2 * self.memo_keys.shape[0])
            else:
                self.tt_key, self.tt_chk, self.tt_val, self.tt_state = kenum.rehash_tt(
                    self.transpositions(), 2 * self.tt_key.shape[0])
        return True

    def solution(self) -> Program:
        """The program just found (the register phase's with its loads and stores added)."""
        length = int(self.ctr[kenum.C_SOL_LEN])
        body = [tuple(int(v) for v in row) for row in self.program[:length]]
        if not self.reg_only:
            return Program.from_instructions(body)
        # Register phase: load m_i into r_i first; at the end store, for each output cell,
        # a register holding its sorted row (the goal guarantees one exists).
        code = [(LOAD, i, i) for i in range(self.n)] + body
        state = initial_state(self.task.inputs, self.r)
        for op, dst, src in code:
            step(state, op, dst, src, self.r)
        stores = []
        for j in range(self.kout):
            reg = next(q for q in range(self.r) if np.array_equal(state[q], self.task.expected[j]))
            stores.append((STORE, j, reg))
        program = Program.from_instructions(code + stores)
        if not self.task.is_sort:
            program = _drop_unneeded_loads(program, self.task)
        return program

    def stats(self) -> dict:
        c = self.ctr
        return {"expanded": int(c[kenum.C_EXPANDED]), "generated": int(c[kenum.C_GENERATED]),
                "table_entries": int(c[kenum.C_TT]), "table_hits": int(c[kenum.C_TT_HITS]),
                "rows": int(c[kenum.C_ROWS]), "memory_gb": round(self.nbytes() / _GB, 4),
                "flushes": getattr(self, "flushes", 0)}


