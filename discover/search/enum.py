"""Enumerative search (``--method enum``): provably shortest programs.

"optimal: proved" means no shorter program exists in this ISA with this register count,
counting every instruction: the proof searches the whole ISA (loads and stores anywhere,
memory cells usable as spare storage; sort2's shortest program reloads an input).

Design (hot loops in ``kernels/enum/``):

* A node is the machine state over all test inputs, as interned row ids.
* Bounded depth-first iterations (IDA*-style) with an admissible lower bound on the
  instructions still needed and a transposition table of proved failures keyed by the
  state up to symmetry (register renaming; item permutations).
* Phase 1, the register phase (when R >= N + 1): loads first, stores last, only register
  instructions searched (the form enumerative-synthesis papers use). The iterations
  *descend* from the network baseline: the bound starts at its length and drops below
  each program found, children are visited incumbent's instruction first, so each
  iteration is a local search around the best so far. The iteration that finds nothing
  proves ``canonical_form_lower_bound`` (no shorter program of that form), not optimality.
* Phase 2, the proof: the whole ISA, *ascending* from the lower bound proved so far (the
  root's bound at first): each iteration that finds nothing proves one more length
  impossible, and the first program found is a proved optimum. The iterations grow about
  25-fold a length on sort4, so the ones below the last cost little, and a proof stopped
  early still reports the best lower bound it reached. ``--no-register-phase`` skips
  phase 1 (on sort4 its own refutation is about as hard as the proof) and starts from the
  network program. Each iteration is cut into prefix units, searched by ``--workers``
  processes and checkpointed (``proof.json``) for ``--resume``: see
  ``discover/search/proof.py``, which also proves the cut sound.
* ``--all`` / latency tie-break: once proved, one more iteration at the optimal length
  collects every program that passes the pruning below.

Why the pruning keeps at least one shortest program (P* below is any shortest program):

* Dead writes: a mov, load or store into a slot whose previous write was never read, or a
  cmp whose flags were never used, makes that earlier write removable; a shortest program
  has none. Enforced on the current path only (the transposition table ignores the
  path), which stays sound: if a table entry made from path p1 cut a suffix s of P* at
  the same state, then p1 + s, no longer than P*, would be a shortest program with a dead
  write, whose removal gives a shorter one. For the same reason an entry only prunes a
  visit at the same or a greater depth than the one that recorded it; and a cell stored
  into and not read since must still be loaded (a lower-bound term).
* No instruction that leaves the state unchanged, and no cmp of two equal rows (its
  all-equal flags make every following cmov a no-op or a plain mov): removable.
* Register renaming: registers are interchangeable, so a first write to an unset register
  goes to the lowest unset one, and states equal up to renaming share a table entry.
  Permuting the items permutes the test inputs and leaves the sorted rows alone, so such
  states share an entry too.
* ``cmp a, b`` only with a < b: swapping the operands mirrors the flags, and mirroring the
  conditions of the cmovs that use them (l/g, le/ge; e, ne stay) gives the same program.
* Loads: none of a row a register already holds (a mov gives the same state); an input
  loaded into a fresh register only while no cmp has run and every slot holds an input
  (any such load can move to the front of a program). See ``kernels/enum/dfs.py:_expand``.
* The lower bound is admissible (see ``kernels/enum/bound.py``), so a cut node has no
  completion within the bound.

Hashing: table keys are two 64-bit hashes built from 64-bit hashes of the rows; a false
match needs a collision among row hashes (probability about rows^2 / 2^64, ~1e-11 for
sort3's 12,000 rows), which is the only way a hashed proof could be wrong. ``--exact``
(``EnumConfig.exact``) removes that trust: the table also stores each entry's canonical
state (its row ids after the chosen item permutation, the permuted rows interned, so
compared in full) and matches only an equal one (kernels/enum/keys.py). Workers share
the failures they prove near the top of their units in hashed mode only (the keys are
hashes of row contents, the same in every process; row ids are not).
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from discover.candidates import MEASURED_COSTS
from discover.kernels import (LOAD, STORE, Program, Task, initial_state, latency_estimate, step,
                              verify)
from discover.kernels import baseline_program
from discover.kernels import enum as kenum
from discover.search import proof
from discover.search.base import Monitor, SearchResult, SearchStopped
from discover.validation import (MAX_PROGRAM_LENGTH, ConfigError, check_choice, check_int,
                                 check_memory_gb)

__all__ = ["EnumConfig", "search_enum"]

ISA_VERSION = "v1"


@dataclass(frozen=True)
class EnumConfig:
    """Options of the enumerative search."""

    all: bool = False
    """Enumerate every optimal program (one per register renaming and cmp operand order)."""
    tie_break: str = "length"
    """``length`` (first shortest program) or ``latency``: among the shortest programs,
    return the one with the lowest latency estimate (enumerates them all); ``measured``:
    enumerates them all, times them natively and returns the fastest (see
    discover/candidates.py); ``mca``: the same, ranked by llvm-mca's cycle estimate
    (discover/native/mca.py)."""
    max_length: int | None = None
    """Give up above this length (None: no cap)."""
    memory_limit_gb: float = 8.0
    """Stop cleanly with the best so far when the search would exceed this memory."""
    exact: bool = False
    """Exact proof: the transposition table stores and compares whole canonical states
    (else two 64-bit hashes, trusted not to collide)."""
    workers: int = 1
    """Processes that search the proof's units (1: this process alone)."""
    split_depth: int = 5
    """The proof iteration is split into the prefixes of this many instructions (its
    units: checkpointed, shared among the workers); 0: one unit."""
    register_phase: bool = True
    """Run the register phase (loads first, stores last) to its own proof before the
    whole-ISA proof; --no-register-phase proves from the network program at once."""

    def __post_init__(self):
        check_choice(self, "tie_break", TIE_BREAKS)
        check_int(self, "workers", 1, 64)
        check_int(self, "split_depth", 0, 8)
        check_int(self, "max_length", 1, MAX_PROGRAM_LENGTH, optional=True)
        check_memory_gb(self, "memory_limit_gb")

    def check(self, task: Task) -> None:
        """ConfigError if ``max_length`` is below the shortest possible program of ``task``.

        Every correct sortN program loads each of the N cells (each value must move for
        some input) and stores into each, and needs a cmp and a cmov: 2N + 2 instructions.
        """
        shortest = 2 * task.n + 2
        if self.max_length is not None and self.max_length < shortest:
            raise ConfigError(self, "max_length", f"({self.max_length}) is below the shortest "
                              f"possible {task.name} program ({shortest} instructions: N loads, "
                              "N stores, a cmp and a cmov)")


TIE_BREAKS = ("length", "latency", "measured", "mca")
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


class _Tables:
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
        perm_cols = np.flatnonzero((np.sort(inputs, axis=0) == np.arange(n)[:, None]).all(axis=0))
        self.perm_cols = perm_cols.astype(np.int64)  # int64[P]: inputs without ties
        self.inv = np.zeros((len(perm_cols), n), dtype=np.int8)  # int8[P, N]: value -> item
        self.inv[np.arange(len(perm_cols))[:, None], inputs[:, perm_cols].T] = np.arange(n)
        self.n_perm_fact = math.factorial(n)
        # uint64[2, max(P, (K + N) W)]: work space of kernels/enum/bound.py:lower_bound
        width = max(len(perm_cols), (self.k + n) * kenum.dis_words(self.b))
        self.scratch = np.zeros((2, width), dtype=np.uint64)
        self.ctr = np.zeros(kenum.N_CTR, dtype=np.int64)
        cap = _row_capacity(n, self.b, self.m)
        self.rows = np.zeros((cap, self.b), dtype=np.int8)  # int8[RCAP, B]: interned rows
        self.row_hash = np.zeros(cap, dtype=np.uint64)  # uint64[RCAP]
        self.expected = np.ascontiguousarray(task.expected)  # int8[N, B]: the sorted rows
        # uint64[RCAP, N, W]: where each row differs from each sorted row, a bit per input
        # (W = ceil(B / 64) words: about B bytes per row with N = 8, the size of a row)
        self.dis = np.zeros((cap, n, kenum.dis_words(self.b)), dtype=np.uint64)
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
        perms = item_symmetry(n, self.b, cap, limit_bytes)  # int64[G, N]
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
        self.sorted_ids = first_ids[2 + n:].copy()  # int32[N]; row 0 (all zeros) is id 1
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
                                 self.scratch)

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
        """Visit this program's instructions first (its register part in the register phase)."""
        code = program.code
        if self.reg_only:
            code = code[self.n: len(code) - self.n]
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
        # Register phase: load m_i into r_i first; at the end store, for each cell, a
        # register holding its sorted row (the goal guarantees one exists).
        code = [(LOAD, i, i) for i in range(self.n)] + body
        state = initial_state(self.task.inputs, self.r)
        for op, dst, src in code:
            step(state, op, dst, src, self.r)
        stores = []
        for j in range(self.n):
            reg = next(q for q in range(self.r) if np.array_equal(state[q], self.task.expected[j]))
            stores.append((STORE, j, reg))
        return Program.from_instructions(code + stores)

    def stats(self) -> dict:
        c = self.ctr
        return {"expanded": int(c[kenum.C_EXPANDED]), "generated": int(c[kenum.C_GENERATED]),
                "table_entries": int(c[kenum.C_TT]), "table_hits": int(c[kenum.C_TT_HITS]),
                "rows": int(c[kenum.C_ROWS]), "memory_gb": round(self.nbytes() / _GB, 4),
                "flushes": getattr(self, "flushes", 0)}


def _warm_up() -> float:
    """Compile (or load from Numba's cache) every kernel on sort2; returns seconds."""
    start = time.perf_counter()
    tables = _Tables(Task(2), 10)
    tables.root_bound()
    tables.start(8)
    tables.run(1 << 30)  # compiles the whole kernel, whichever status it returns
    tables.grow(float("inf"))
    kenum.rehash_rows(tables.row_hash, 1, 4)
    kenum.rehash_memo(tables.memo(), tables.memo_keys.shape[0])
    kenum.rehash_tt(tables.transpositions(), tables.tt_key.shape[0])
    exact = _Tables(Task(2), 10, exact=True)  # exact keys, and the proof's split and units
    units, _, _ = proof.split(exact, 7, 2)
    proof.run_unit(exact, 7, units[0], lambda: False, float("inf"), [1 << 20])
    exact.grow(float("inf"))
    verify(Program.from_instructions(["mov r0, m0", "mov m0, r0"]), Task(2))
    step(initial_state(tables.task.inputs, tables.r), LOAD, 0, 0, tables.r)  # for solution()
    return time.perf_counter() - start


def search_enum(task: Task, config: EnumConfig, monitor: Monitor,
                run_dir=None) -> SearchResult:
    """Find a shortest program for ``task`` and, run to completion, prove it shortest.

    Calls ``monitor.found`` for each shorter program, ``monitor.progress`` about ten
    times a second, and stops when ``monitor.should_stop()``. ``result.optimal`` is True
    only when every shorter length was searched exhaustively. ``run_dir``: where the
    whole-ISA proof checkpoints its progress (``proof.json``, see discover/search/proof.py),
    and whence it resumes.
    """
    if config.tie_break not in TIE_BREAKS:
        raise ValueError(f"tie_break must be one of {TIE_BREAKS}, got {config.tie_break!r}")
    if config.max_length is not None and config.max_length < 1:
        raise ValueError(f"max_length must be positive, got {config.max_length}")
    limit_bytes = config.memory_limit_gb * _GB
    upper = None
    network = baseline_program(task) if task.registers >= task.n + 1 else None
    if network is not None:
        upper = len(network)  # a program this long exists: start there
    cap = config.max_length
    if upper is not None and cap is not None:
        upper = min(upper, cap)
    # Set-up (the network offered first, JIT, both table sets, the root bound): a stop
    # interrupts it at once (Monitor.setup); it counts against the time limit, not in
    # search_time.
    # A resumed proof (DIR/proof.json with a program) goes straight to the whole ISA.
    ckpt = proof.load_checkpoint(run_dir, task, config.exact, config.split_depth)
    register_phase = upper is not None and config.register_phase \
        and not (ckpt is not None and ckpt.get("best"))
    began = time.perf_counter()
    compile_time = 0.0
    try:
        with monitor.setup():
            if network is not None and upper == len(network):
                verify(network, task)  # compiled here, where a stop can interrupt it
                monitor.found(network, task)  # best.asm holds it from the first second
            monitor.check()
            compile_time = _warm_up()
            monitor.check()
            full = _Tables(task, upper if upper is not None else 32, limit_bytes=limit_bytes,
                           exact=config.exact)
            reg = None if not register_phase else _Tables(
                task, upper - 2 * task.n, reg_only=True, limit_bytes=limit_bytes,
                exact=config.exact)
            root_bound = full.root_bound()
    except SearchStopped as stop:
        return monitor.result(task, "enum", 0, 0, compile_time, {
            "stopped_in": "set-up", "setup_time": time.perf_counter() - began,
            "message": f"stopped ({stop}) during set-up; keeping the network program"
                       if monitor.best is not None else f"stopped ({stop}) during set-up"})
    setup_time = time.perf_counter() - began
    full.monitor = monitor
    if reg is not None:
        reg.monitor = monitor
    monitor.start_search()
    result = SearchResult(task=task, method="enum", seed=0, compile_time=compile_time)
    result.notes["setup_time"] = setup_time
    result.notes["symmetry_blocks"] = full.symmetry_blocks
    best: Program | None = None
    enumerate_all = config.all or config.tie_break != "length"
    optimal_programs: list[Program] = []
    # Kernel calls start at 256 expansions (sort7, sort8: 1, where one expansion interns
    # up to hundreds of rows of 47,293 or 545,835 inputs), then adapt to about 20 ms.
    state = {"budget": 256 if task.n_inputs <= 5000 else 1, "last_progress": 0.0,
             "proved_below": 0, "phase": ""}

    def drive(tables: _Tables, bound: int, collect: bool) -> str:
        """Run one iteration; returns 'found', 'exhausted' or a stop reason."""
        nonlocal best
        tables.start(bound)
        while True:
            if monitor.should_stop():
                return monitor.stop_reason
            t = time.perf_counter()
            status = tables.run(state["budget"])
            took = time.perf_counter() - t
            # keep each kernel call near 20 ms so stops and progress stay responsive
            if took < 0.01:
                state["budget"] = min(state["budget"] * 2, 1 << 24)
            elif took > 0.04:
                state["budget"] = max(state["budget"] // 2, 1)
            if status == kenum.ST_GROW:
                others = sum(t.nbytes() for t in live if t is not tables)
                if not tables.grow(limit_bytes - others):
                    monitor.request_stop("memory limit")
                    return "memory limit"
            elif status == kenum.ST_FOUND:
                program = tables.solution()
                if collect:
                    if not verify(program, task).correct:
                        raise AssertionError("enum produced an incorrect program")
                    optimal_programs.append(program)
                    if best is None or len(program) < len(best):
                        best = program
                        monitor.found(program, task)
                    continue
                if best is None or len(program) < len(best):
                    best = program
                    monitor.found(program, task)
                tables.set_incumbent(program)
                return "found"
            elif status == kenum.ST_DONE:
                return "exhausted"
            now = monitor.elapsed
            if now - state["last_progress"] >= 0.1:
                state["last_progress"] = now
                c = tables.ctr
                monitor.progress(sum(int(t.ctr[kenum.C_EXPANDED]) for t in live),
                                 phase=state["phase"],
                                 bound=bound + (2 * task.n if tables.reg_only else 0),
                                 proved_below=state["proved_below"],
                                 table=int(c[kenum.C_TT]), memory_gb=tables.nbytes() / _GB)

    def descend(tables: _Tables, bound: int, offset: int) -> tuple[str | None, int]:
        """Lower the bound below each program found until an iteration finds none.

        Returns (stop reason or None, the first bound that was exhausted)."""
        floor = tables.root_bound()
        while bound >= floor:
            outcome = drive(tables, bound, collect=False)
            if outcome == "found":
                bound = min(bound, len(best) - offset) - 1
            elif outcome == "exhausted":
                return None, bound
            else:
                return outcome, bound
        return None, bound

    stopped = None
    live = [full] if reg is None else [full, reg]  # every table set, for the memory limit
    if sum(t.nbytes() for t in live) > limit_bytes:
        stopped = monitor.stop_reason or "memory limit"
        monitor.request_stop(stopped)
    state["proved_below"] = root_bound
    canonical_below = None
    pool = None
    tally = {"nodes": 0, "worker_nodes": 0, "iteration": None}  # proof nodes (finished work)
    if ckpt is not None:
        tally["nodes"] = int(ckpt.get("nodes_before", 0))
        state["proved_below"] = max(root_bound, int(ckpt.get("lower_bound", root_bound)))
        try:
            saved = Program.parse(ckpt["best"]) if ckpt.get("best") else None
        except (ValueError, TypeError):
            saved = None
        if saved is not None and verify(saved, task).correct:
            best = saved
            monitor.found(best, task)
        result.notes["resumed_proof"] = {"bound": ckpt.get("bound"),
                                         "units_done": len(ckpt.get("done", []))}

    def checkpoint(bound, units, done, split_nodes, complete=False):
        if run_dir is None:
            return
        from discover.runs import write_json

        tally["last_save"] = time.monotonic()
        write_json(Path(run_dir) / proof.CHECKPOINT, {
            "task": task.name, "registers": task.registers, "isa": ISA_VERSION,
            "keys": "exact" if config.exact else "hashed", "split_depth": config.split_depth,
            "bound": bound, "units": len(units), "digest": proof.digest(units),
            "done": sorted([int(i), int(v)] for i, v in done.items()),
            "split_nodes": split_nodes, "nodes_before": tally["nodes"],
            "lower_bound": int(state["proved_below"]),
            "best": best.text() if best is not None else None, "complete": complete})

    def prove(bound: int) -> str:
        """One whole-ISA iteration (no program of at most ``bound`` instructions?), cut
        into units (discover/search/proof.py): 'found', 'exhausted' or a stop reason."""
        nonlocal best, pool
        if best is not None:
            full.set_incumbent(best)
        units, solution, split_nodes = proof.split(full, bound, config.split_depth)
        if solution is not None:
            program = Program.from_instructions(list(solution))
            if best is None or len(program) < len(best):
                best = program
                monitor.found(program, task)
            return "found"
        done: dict = {}
        if (ckpt is not None and ckpt.get("bound") == bound
                and ckpt.get("digest") == proof.digest(units)):
            done = {int(i): int(v) for i, v in ckpt.get("done", [])}
        tally["iteration"] = (bound, len(units), done, split_nodes)
        if pool is None:
            pool = proof.Pool(task, config.exact, config.workers, limit_bytes, _Tables)
        checkpoint(bound, units, done, split_nodes)

        def report():
            now = monitor.elapsed
            if now - state["last_progress"] >= 0.1:
                state["last_progress"] = now
                monitor.progress(sum(int(t.ctr[kenum.C_EXPANDED]) for t in live)
                                 + tally["worker_nodes"], phase="proof", bound=bound,
                                 proved_below=state["proved_below"],
                                 units=f"{len(done)}/{len(units)}")

        def on_unit():
            report()
            if time.monotonic() - tally.get("last_save", 0.0) >= proof.CHECKPOINT_EVERY:
                checkpoint(bound, units, done, split_nodes)

        def should_stop():
            report()
            return monitor.should_stop()

        class _Stop:  # the monitor, with progress reports in the single-process loop
            stop_reason = property(lambda _: monitor.stop_reason)

        stopper = _Stop()
        stopper.should_stop = should_stop
        outcome, code = proof.iterate(full, pool, bound, units, done, best.code
                                      if best is not None else [], stopper,
                                      limit_bytes - sum(t.nbytes() for t in live if t is not full),
                                      on_unit, state.setdefault("unit_budget", [256]),
                                      tally, tally.get("estimates"))
        tally["estimates"] = {tuple(units[i]): nodes for i, nodes in done.items()}
        if outcome == "found":
            program = Program.from_instructions([tuple(i) for i in code])
            if not verify(program, task).correct:
                raise AssertionError("enum produced an incorrect program")
            if best is None or len(program) < len(best):
                best = program
                monitor.found(program, task)
            tally["nodes"] += split_nodes + sum(done.values())
        elif outcome == "exhausted":
            state["proved_below"] = bound + 1
            tally["nodes"] += split_nodes + sum(done.values())
            result.notes["proof_iteration"] = {"bound": bound, "units": len(units),
                                               "split_nodes": split_nodes,
                                               "nodes": split_nodes + sum(done.values())}
            checkpoint(bound, units, done, split_nodes,
                       complete=(best is not None and bound + 1 >= len(best))
                       or (cap is not None and bound >= cap))
        else:
            checkpoint(bound, units, done, split_nodes)
        return outcome

    try:
        if stopped is None and upper is not None:
            if reg is not None:
                # Phase 1, fast: loads first, stores last, search the register instructions
                # only. It finds short programs quickly; its exhaustion proves only that no
                # shorter program of that form exists.
                state["phase"] = "register"
                monitor.set_phase("register")
                reg.set_incumbent(baseline_program(task))
                stopped, exhausted = descend(reg, upper - 2 * task.n, 2 * task.n)
                if stopped is None:
                    canonical_below = exhausted + 1 + 2 * task.n
                    result.notes["canonical_proof_time"] = monitor.elapsed
            elif best is None:
                best = baseline_program(task)
                if cap is None or len(best) <= cap:
                    monitor.found(best, task)
                else:
                    best = None
        # Phase 2, the proof: the whole ISA, loads and stores anywhere. It ascends from the
        # lower bound proved so far: each iteration that finds nothing raises it by one
        # (the iterations grow about 25-fold a length on sort4, so the lower ones cost
        # little), and the first program an iteration finds is a shortest one.
        if stopped is None:
            state["phase"] = "proof"
            monitor.set_phase("proof")
            bound = state["proved_below"]
            while (cap is None or bound <= cap) and (best is None or bound < len(best)):
                outcome = prove(bound)
                if outcome == "found":
                    break
                if outcome != "exhausted":
                    stopped = outcome
                    break
                bound += 1
            if stopped is None and best is not None and (cap is None or len(best) <= cap):
                state["proved_below"] = len(best)
    finally:
        if pool is not None:
            pool.close()
    proved_below = state["proved_below"]
    if stopped is None and best is not None and proved_below == len(best):
        result.optimal = True
        if enumerate_all:
            state["phase"] = "enumerate"
            monitor.set_phase("enumerate")
            optimal_programs.clear()
            outcome = drive(full, len(best), collect=True)
            if outcome != "exhausted":
                stopped = outcome
                result.notes["enumeration_complete"] = False
            else:
                result.notes["enumeration_complete"] = True
            if config.tie_break != "length" and optimal_programs:
                latencies = [int(latency_estimate(p.code, task.n, task.registers))
                             for p in optimal_programs]
                best = optimal_programs[int(np.argmin(latencies))]
                monitor.found(best, task)  # a monitor ranking by (length, latency) keeps it
            if config.all:
                result.programs = list(optimal_programs)
            if config.tie_break in MEASURED_COSTS:
                result.candidates = list(optimal_programs)  # ranked by search()
    if canonical_below is not None:
        # No program with loads first and stores last is shorter than this (the form
        # enumerative-synthesis papers search); "lower_bound" covers every program.
        result.notes["canonical_form_lower_bound"] = int(canonical_below)
    result.program = best if best is not None else monitor.best  # the network, say
    result.stopped = stopped or "completed"
    result.search_time = monitor.elapsed
    result.time_to_first = monitor.time_to_first
    result.time_to_best = monitor.time_to_best
    result.explored = sum(t.stats()["expanded"] for t in live) + tally["worker_nodes"]
    result.notes["proved"] = {
        "task": task.name, "registers": task.registers, "isa": ISA_VERSION,
        "lower_bound": int(proved_below), "nodes": int(tally["nodes"]),
        "keys": "exact" if config.exact else "hashed", "complete": stopped is None,
        "workers": config.workers, "split_depth": config.split_depth}
    if stopped is not None and tally["iteration"] is not None:
        # the unfinished iteration: how far it got (its finished units' nodes not in "nodes")
        bound, n_units, done, split_nodes = tally["iteration"]
        result.notes["proved"]["in_progress"] = {
            "bound": bound, "units": n_units, "units_done": len(done),
            "nodes": split_nodes + sum(done.values())}
    result.notes.update(
        lower_bound=int(proved_below),
        root_lower_bound=int(root_bound),
        start_bound="network baseline" if upper is not None else "root lower bound",
        proof=full.stats(),
    )
    if len(live) > 1:
        result.notes["register_phase"] = live[1].stats()
    if result.stopped == "memory limit":
        result.notes["message"] = (f"stopped: the search would exceed its memory limit of "
                                   f"{config.memory_limit_gb:g} GB; keeping the best so far")
    return result
