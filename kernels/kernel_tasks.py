"""Comparison kernels as tasks: ``Kernel``, the built-in families and user functions.

A *kernel* is any function whose output selects and orders input items by their order
alone: N input cells, K output cells m0..m{K-1}, and the expected output of every weak
ordering (``median5``, ``min2max4``, ``top2-of-5``, ``merge2+2``, ``stablesort3``, or
``Task.from_function``, whose checks are ``kernel_from_function`` here). ``Task``
(``tasks.py``) wraps one as a task.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass

import numpy as np

from .isa import MAX_ITEMS
from .orderings import MIN_ITEMS, TASK_NAMES, VARSORT_NAMES, TaskError, weak_orderings


@dataclass(frozen=True, eq=False)
class Kernel:
    """What a kernel task computes: N input cells, K output cells m0..m{K-1}, and for each
    test input (a weak ordering of the N items, within the task's domain) the expected
    output as item ranks. Built by ``Task.from_function`` or a built-in family; compared
    and hashed by content, pickled with its tables (no function travels)."""

    name: str
    n: int
    """Input cells m0..m{N-1}."""
    n_outputs: int
    """Output cells m0..m{K-1} (K <= N); the cells past K are scratch space."""
    columns: np.ndarray
    """``int64[B]``: the test inputs, as columns of ``weak_orderings(N)`` (the domain)."""
    expected: np.ndarray
    """``int8[K, B]``: each test input's expected output, as the ranks of the items."""
    summary: str = ""
    """One line for ``discover tasks`` and the verification report."""

    def __post_init__(self):
        for field in ("columns", "expected"):
            array = np.ascontiguousarray(getattr(self, field))
            array.setflags(write=False)
            object.__setattr__(self, field, array)
        digest = hashlib.blake2b(self.columns.tobytes() + self.expected.tobytes(),
                                 digest_size=16).hexdigest()
        object.__setattr__(self, "_key", (self.name, self.n, self.n_outputs, digest))

    def __eq__(self, other):
        return isinstance(other, Kernel) and self._key == other._key

    def __hash__(self):
        return hash(self._key)

    @functools.cached_property
    def inputs(self) -> np.ndarray:
        """``int8[N, B]``: the test inputs (read-only)."""
        out = np.ascontiguousarray(weak_orderings(self.n)[:, self.columns])
        out.setflags(write=False)
        return out

    @functools.cached_property
    def symmetric(self) -> bool:
        """True when renaming the input items changes nothing: the domain is every weak
        ordering and the expected output is a function of the multiset (sorts, medians,
        min2max, top-k; not merges or stable sorts). Search symmetries rely on it."""
        full = weak_orderings(self.n)
        if self.columns.shape[0] != full.shape[1]:
            return False
        for i in range(self.n - 1):  # adjacent transpositions generate every renaming
            swapped = full.copy()
            swapped[[i, i + 1]] = swapped[[i + 1, i]]
            if not np.array_equal(self.expected[:, _column_index(swapped)], self.expected):
                return False
        return True


def _column_index(ranks: np.ndarray) -> np.ndarray:
    """Index in ``weak_orderings(N)`` of each column of ``ranks: int8[N, M]`` (every column
    a weak ordering): its columns are in lexicographic order, so base-8 keys ascend."""
    n = ranks.shape[0]
    weights = 8 ** np.arange(n - 1, -1, -1, dtype=np.int64)
    table = weights @ weak_orderings(n).astype(np.int64)
    return np.searchsorted(table, weights @ ranks.astype(np.int64))


# ------------------------------------------------------------------ built-in kernels

def _sorted(n: int) -> np.ndarray:
    return np.sort(weak_orderings(n), axis=0)


def _all(n: int) -> np.ndarray:
    return np.arange(weak_orderings(n).shape[1], dtype=np.int64)


def _median(n: int) -> Kernel:
    if n % 2 == 0 or not 3 <= n <= MAX_ITEMS:
        raise TaskError(f"unknown task 'median{n}' (medianN takes an odd N, 3..7)")
    return Kernel(f"median{n}", n, 1, _all(n), _sorted(n)[n // 2:n // 2 + 1],
                  f"the median of {n} items in m0")


def _min2max(n: int) -> Kernel:
    if not MIN_ITEMS <= n <= MAX_ITEMS:
        raise TaskError(f"unknown task 'min2max{n}' (min2maxN takes N = 2..{MAX_ITEMS})")
    return Kernel(f"min2max{n}", n, 2, _all(n), _sorted(n)[[0, n - 1]],
                  f"the minimum of {n} items in m0, the maximum in m1")


def _top(k: int, n: int) -> Kernel:
    if not 1 <= k < n <= MAX_ITEMS:
        raise TaskError(f"unknown task 'top{k}-of-{n}' (topK-of-N takes 1 <= K < N <= "
                        f"{MAX_ITEMS})")
    return Kernel(f"top{k}-of-{n}", n, k, _all(n), _sorted(n)[:k],
                  f"the {k} smallest of {n} items, ascending, in m0..m{k - 1}")


def _merge(a: int, b: int) -> Kernel:
    n = a + b
    if a < 1 or b < 1 or n > MAX_ITEMS:
        raise TaskError(f"unknown task 'merge{a}+{b}' (mergeA+B takes A, B >= 1, A + B <= "
                        f"{MAX_ITEMS})")
    ranks = weak_orderings(n)
    ok = np.ones(ranks.shape[1], dtype=bool)
    for lo, hi in ((0, a), (a, n)):
        for i in range(lo, hi - 1):
            ok &= ranks[i] <= ranks[i + 1]
    columns = np.flatnonzero(ok).astype(np.int64)
    return Kernel(f"merge{a}+{b}", n, n, columns, _sorted(n)[:, columns],
                  f"merge ascending m0..m{a - 1} and m{a}..m{n - 1} into m0..m{n - 1}")


def _stablesort(n: int) -> Kernel:
    if not MIN_ITEMS <= n <= MAX_ITEMS // 2:
        raise TaskError(f"unknown task 'stablesort{n}' (stablesortN takes N = 2..{MAX_ITEMS // 2}:"
                        f" N keys and N payloads)")
    ranks = weak_orderings(2 * n)
    order = np.argsort(ranks[:n], axis=0, kind="stable")  # int64[N, B]: item of rank j
    keys = np.take_along_axis(ranks[:n], order, axis=0)
    payloads = np.take_along_axis(ranks[n:], order, axis=0)
    return Kernel(f"stablesort{n}", 2 * n, 2 * n, _all(2 * n),
                  np.concatenate([keys, payloads]),
                  f"sort keys m0..m{n - 1}, each carrying its payload m{n}..m{2 * n - 1};"
                  f" equal keys keep their order")


_FAMILIES = (
    (re.compile(r"median(\d+)"), lambda m: _median(int(m[1]))),
    (re.compile(r"min2max(\d+)"), lambda m: _min2max(int(m[1]))),
    (re.compile(r"top(\d+)-of-(\d+)"), lambda m: _top(int(m[1]), int(m[2]))),
    (re.compile(r"merge(\d+)\+(\d+)"), lambda m: _merge(int(m[1]), int(m[2]))),
    (re.compile(r"stablesort(\d+)"), lambda m: _stablesort(int(m[1]))),
)
KERNEL_TASK_NAMES = (("median3", "median5", "median7")
                     + tuple(f"min2max{n}" for n in range(MIN_ITEMS, MAX_ITEMS + 1))
                     + ("top2-of-4", "top2-of-5", "top3-of-6", "top4-of-8")
                     + ("merge2+2", "merge3+3", "merge4+4")
                     + tuple(f"stablesort{n}" for n in range(MIN_ITEMS, MAX_ITEMS // 2 + 1)))
"""The built-in kernel tasks ``discover tasks`` lists (the families take more sizes:
medianN for odd N, min2maxN, topK-of-N, mergeA+B, stablesortN)."""
@functools.lru_cache(maxsize=None)
def builtin_kernel(key: str) -> Kernel | None:
    """The built-in kernel of a lower-case name, or None; TaskError for a family member
    out of range (``median4``)."""
    for pattern, build in _FAMILIES:
        match = pattern.fullmatch(key)
        if match:
            return build(match)
    return None


# ------------------------------------------------------------------ user kernels

def _assignments(ranks: list[int]) -> list[list]:
    """Value assignments of a weak ordering that keep its order and ties: the ranks
    themselves, spread integers, negatives, floats, and uneven gaps."""
    return [list(ranks), [10 * r + 3 for r in ranks], [r - 50 for r in ranks],
            [0.25 * r + 0.125 for r in ranks], [r * r * r + 7 * r - 1000 for r in ranks]]


def _call(name, fn, values, what):
    try:
        return fn(list(values))
    except Exception as error:  # the user's function: any failure is theirs to fix
        message = str(error).splitlines()[0] if str(error) else ""
        raise TaskError(f"task {name!r}: {what}({values}) raised {type(error).__name__}"
                        f"{': ' + message if message else ''}") from None


def kernel_from_function(name, n, fn, n_outputs, where) -> Kernel:
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_+.-]*", name):
        raise TaskError(f"task name {name!r}: use letters, digits and _ + . - (no spaces)")
    key = name.lower()
    if (key in TASK_NAMES or key in VARSORT_NAMES or key.endswith(".py")
            or is_builtin(key)):
        raise TaskError(f"task name {name!r} is a built-in task's: choose another")
    if not isinstance(n, int) or not 1 <= n <= MAX_ITEMS:
        raise TaskError(f"task {name!r}: n_inputs must be 1..{MAX_ITEMS}, got {n!r}")
    if not callable(fn):
        raise TaskError(f"task {name!r}: fn must be a function list -> list, got {fn!r}")
    if where is not None and not callable(where):
        raise TaskError(f"task {name!r}: where must be a function list -> bool, got {where!r}")
    ranks = weak_orderings(n)
    columns, rows = [], []
    for b in range(ranks.shape[1]):
        column = ranks[:, b].tolist()
        keep, chosen = None, None
        for values in _assignments(column):
            rank_of = dict(zip(values, column))
            if where is not None:
                ok = bool(_call(name, where, values, "where"))
                if keep is not None and ok != keep:
                    raise TaskError(f"task {name!r}: where({values}) is {ok} but not for the "
                                    f"same order of other values: it must depend only on "
                                    f"the inputs' order")
                keep = ok
                if not ok:
                    continue
            out = _call(name, fn, values, "fn")
            try:
                out = list(out)
            except TypeError:
                raise TaskError(f"task {name!r} cannot be a task: fn({values}) returned "
                                f"{out!r}, not a list of input items") from None
            picked = []
            for value in out:
                try:
                    picked.append(rank_of[value])
                except (KeyError, TypeError):
                    raise TaskError(f"task {name!r} cannot be a task: fn({values}) returned "
                                    f"{value!r}, which is not one of its input items (the "
                                    f"outputs must be input items chosen by their order)"
                                    ) from None
            if chosen is not None and picked != chosen:
                raise TaskError(f"task {name!r} cannot be a task: its output depends on more "
                                f"than the inputs' order (fn({values}) picks ranks {picked}, "
                                f"fn({column}) ranks {chosen})")
            chosen = picked
        if where is not None and not keep:
            continue
        if rows and len(chosen) != len(rows[0]):
            raise TaskError(f"task {name!r}: fn returns {len(rows[0])} items for one input "
                            f"and {len(chosen)} for {column}: the output count must be fixed")
        columns.append(b)
        rows.append(chosen)
    if not rows:
        raise TaskError(f"task {name!r}: where() accepts no input")
    k = len(rows[0])
    if n_outputs is not None and k != n_outputs:
        raise TaskError(f"task {name!r}: fn returns {k} items, n_outputs says {n_outputs}")
    if not 1 <= k <= n:
        raise TaskError(f"task {name!r}: fn returns {k} items; a task has 1..{n} outputs "
                        f"(they live in m0..m{{K-1}})")
    expected = np.array(rows, dtype=np.int8).T
    return Kernel(name, n, k, np.array(columns, dtype=np.int64), expected,
                  f"{name}: {k} output(s) of {n} items (user-defined)")


def is_builtin(key: str) -> bool:
    try:
        return builtin_kernel(key) is not None
    except TaskError:
        return True
