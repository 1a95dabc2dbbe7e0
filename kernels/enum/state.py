"""The enumerative search's state: counters, statuses, sentinels, and the named tuples of
arrays that the driver (``discover/search/enum.py``) builds and the kernels take.

A named tuple groups the arrays of one idea; Numba passes it to a compiled function as
one argument and its fields cost what separate arguments cost. The tuples hold no state
of their own: the driver keeps the arrays (a table that grows is a new array) and builds
the tuples again for each call.
"""

from __future__ import annotations

from collections import namedtuple

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
C_BASE = 13  # the iteration ends when the DFS returns above this depth (a prefix's subtree)
C_EXACT = 14  # 1: the transposition table compares whole canonical states (no hash trust)
N_CTR = 15

# Status returned by ``dfs_run``.
ST_BUDGET = 0  # expansion budget used up; call again
ST_DONE = 1  # iteration exhausted
ST_FOUND = 2  # a solution is in ``program[:ctr[C_SOL_LEN]]``; call again to go on
ST_GROW = 3  # a table is too full: grow it, then call again

EMPTY = -1  # empty hash-table slot
INF = 1 << 20  # bound of a dead state (a needed value is lost)
UNSET_ITEM = 127  # routing entry of an unset register
MAX_CHILDREN_FACTOR = 8  # see max_children()

RowTables = namedtuple("RowTables", ["rows", "row_hash", "row_table", "dis", "expected", "buf"])
"""The interned rows (``rows.py``); RCAP rows of B inputs, K sorted rows (a kernel task's K
expected output rows; N for a sort), W = ceil(B / 64).

* ``rows: int8[RCAP, B]``: row id -> content (ids 0 and 1 are the unset register and the
  unset flags, interned first by the driver);
* ``row_hash: uint64[RCAP]``: each row's hash;
* ``row_table: int32[2 RCAP]``: open-addressing table of row ids by hash (EMPTY: free);
* ``dis: uint64[RCAP, K, W]``: each row's disagreement masks with the sorted rows;
* ``expected: int8[K, B]``: the sorted rows (the expected contents of m0..m{K-1});
* ``buf: int8[B]``: work space where a new row is built before it is interned.
"""

Memo = namedtuple("Memo", ["keys", "vals"])
"""Memoised cmp and cmov results: ``keys: int32[M, 4]`` (tag, x, y, z; EMPTY: free) and
``vals: int32[M]`` (the result's row id), M a power of two."""

BoundInputs = namedtuple("BoundInputs", ["sorted_ids", "perm_cols", "inv", "n_perm_fact",
                                         "scratch", "classes", "kernel"])
"""What the lower bound (``bound.py``) reads besides the rows; P permutation inputs.

* ``sorted_ids: int32[K]``: the sorted rows' ids (a kernel task: its K expected output
  rows, K <= N; a sort: K = N);
* ``perm_cols: int64[P]``: the inputs without ties;
* ``inv: int8[P, N]``: in each of them, value -> item holding it;
* ``n_perm_fact``: the routings that must differ at the end: N! for a sort, the number
  of distinct expected item tuples over the permutation inputs for a kernel (an int);
* ``scratch: uint64[2, max(P, (K + N) W)]``: work space;
* ``classes: int64[P]``: each permutation input's expected item tuple, numbered (inputs
  of one class may end with the same routing); empty when every input has its own (a
  sort);
* ``kernel``: 1 for a kernel task (the bound adds the kernel-only load term), 0 for a
  sort (an int).
"""

Symmetry = namedtuple("Symmetry", ["colmap", "sym_hash", "tmp", "perm_id"])
"""State keys up to symmetry (``keys.py``): ``colmap: int32[N!, B]`` (input b's items
under permutation p are input ``colmap[p, b]``'s), ``sym_hash: uint64[RCAP, N!]`` (row
hashes under each permutation, 0: not computed yet), ``tmp: uint64[K]`` (work space),
``perm_id: int32[RCAP, N!]`` (exact mode: id of the row permuted by p, EMPTY: not
interned yet; ``int32[1, 1]`` when hashed)."""

Transpositions = namedtuple("Transpositions", ["key", "chk", "val", "state"])
"""Transposition table of proved failures (``keys.py``), T slots, a power of two:
``key: uint64[T]`` (first state key, 0: free), ``chk: uint64[T]`` (second key),
``val: int16[T, 2]`` (budget, depth) of the failure, ``state: int32[T, K]`` (exact mode:
the canonical state, compared in full; ``int32[1, K]`` when hashed)."""

Stack = namedtuple("Stack", ["st", "pend", "key", "idx", "n_ch", "order", "ch_ids", "ch_pend",
                             "ch_ins", "ch_h", "program", "found_below", "incumbent", "canon"])
"""The DFS stack (``dfs.py``) for programs up to D - 2 instructions; M = max_children().

* ``st: int32[D, K]``: node ids per depth; ``pend: int64[D]``: its unread-write mask;
  ``key: uint64[D, 2]``: its state keys;
* ``idx: int64[D + 1]``: next child to visit per depth; ``n_ch: int64[D + 1]``: children;
* ``order: int64[D + 1, M]``: visit order of the children;
* ``ch_ids: int32[D + 1, M, K]``, ``ch_pend: int64[D + 1, M]``, ``ch_ins: int32[D + 1, M, 3]``
  (op, dst, src), ``ch_h: int64[D + 1, M]`` (visit key): the children;
* ``program: int32[D, 3]``: the prefix leading to the current node;
* ``found_below: int64[D]``: 1 where a solution was found below that node;
* ``incumbent: int32[D, 3]``: the program whose instructions are visited first;
* ``canon: int32[D + 1, K]``: exact mode, the canonical state of the node per depth (its
  row ids permuted by the chosen item permutation, registers sorted).
"""
