"""Compiled hot loops of the enumerative search (``discover search --method enum``).

The search is a depth-first branch and bound over program prefixes (IDA*-style bounded
iterations, driven from ``discover/search/enum.py``), with a transposition table of
proved failures. Everything here works on a compact form of the machine state:

* A *row* is one slot's content over all B test inputs (``int8[B]``: ranks for
  registers and memory, flag bits for the flags row). Rows are interned: each distinct
  row gets an id (``RowTables.rows: int8[RCAP, B]``), so a node is ``ids: int32[K]`` with
  K = R + N + 1 (registers, memory cells, flags) and a mov, load or store is one id copy.
* ``cmp`` and ``cmov`` results are memoised on their operand ids (``Memo``), so after a
  warm-up most successors cost a hash lookup, not a pass over B inputs.
* Each interned row also keeps, per sorted row, a bit mask of the inputs where it differs
  from that sorted row (``RowTables.dis: uint64[RCAP, N, W]``, W = ceil(B / 64) words; about B bytes
  per row when N = 8, the size of the row itself). The load and helper-row terms of the
  bound are word operations on these masks, 64 inputs at a time.
* The transposition table (``Transpositions``) is keyed by the state up to symmetry
  (see ``_state_keys``: register renaming and item permutations), and holds proved
  failures as (budget, depth) pairs.
* ``ctr[C_REG_ONLY]`` selects the register phase: loads done first (r_i = m_i), no
  loads or stores searched, goal = every sorted row in some register (the driver adds
  the stores). Otherwise the whole ISA is searched, loads and stores anywhere.
* Visit order (``_expand``): the incumbent program's next instruction first, then the
  smallest bound, so each bounded iteration is a local search around the best so far.

One idea per file: ``state.py`` (counters, statuses, and the named tuples of arrays the
kernels take), ``rows.py`` (row tables, hashing, disagreement masks, the cmp/cmov memo),
``bound.py`` (the admissible lower bound), ``keys.py`` (symmetry keys, transposition
table), ``dfs.py`` (node expansion and the DFS loop).
"""

# _loads, _helper_cmovs and _HELPER_MAX_INPUTS are private, imported here for the tests
# (they check the bound's terms one by one against a row-by-row reference).
from .bound import _HELPER_MAX_INPUTS, _helper_cmovs, _loads, lower_bound  # noqa: F401
from .dfs import apply_instruction, dfs_run, expand_node
from .keys import rehash_tt, state_keys, tt_merge
from .rows import (dis_words, intern_row, intern_rows, max_children, memo_reserve, rehash_memo,
                   rehash_rows, rows_reserve)
from .state import (C_ALL, C_BASE, C_BOUND, C_DEPTH, C_EXACT, C_EXPANDED, C_GENERATED, C_INC_LEN,
                    C_MEMO, C_NEED_EXPAND, C_REG_ONLY, C_ROWS, C_SOL_LEN, C_TT, C_TT_HITS, EMPTY, INF,
                    MAX_CHILDREN_FACTOR, N_CTR, ST_BUDGET, ST_DONE, ST_FOUND, ST_GROW,
                    UNSET_ITEM, BoundInputs, Memo, RowTables, Stack, Symmetry, Transpositions)

__all__ = [
    "C_ALL", "C_BASE", "C_BOUND", "C_DEPTH", "C_EXACT", "C_EXPANDED", "C_GENERATED", "C_INC_LEN", "C_MEMO",
    "C_NEED_EXPAND", "C_REG_ONLY", "C_ROWS", "C_SOL_LEN", "C_TT", "C_TT_HITS", "EMPTY", "INF",
    "MAX_CHILDREN_FACTOR", "N_CTR", "ST_BUDGET", "ST_DONE", "ST_FOUND", "ST_GROW", "UNSET_ITEM",
    "BoundInputs", "Memo", "RowTables", "Stack", "Symmetry", "Transpositions",
    "apply_instruction", "dfs_run", "expand_node",
    "dis_words", "intern_row", "intern_rows", "lower_bound", "max_children", "memo_reserve",
    "rehash_memo", "rehash_rows", "rehash_tt", "rows_reserve", "state_keys", "tt_merge",
]
