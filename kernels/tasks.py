"""Tasks: ``sortN``, ``varsortN`` and the comparison kernels, with their test inputs.

``sortN`` (ISA v1): one input per weak ordering of N items. ``varsortN`` (ISA v2): the
length n (0..N) is known only at run time; one input per weak ordering of n items, for
every n, with the cells past the length absent (PAD in the arrays).

A *kernel* task (``Kernel``) is any function whose output selects and orders input items
by their order alone: N input cells, K output cells m0..m{K-1}, and the expected output of
every weak ordering (``median5``, ``min2max4``, ``top2-of-5``, ``merge2+2``,
``stablesort3``, or ``Task.from_function``). Cells past K are free scratch space."""

from __future__ import annotations

import functools
import hashlib
import itertools
import re
from dataclasses import dataclass

import numpy as np

from .isa import MAX_ITEMS, MAX_REGISTERS

MIN_ITEMS = 2
TASK_NAMES = tuple(f"sort{n}" for n in range(MIN_ITEMS, MAX_ITEMS + 1))
VARSORT_NAMES = tuple(f"varsort{n}" for n in range(MIN_ITEMS, MAX_ITEMS + 1))
PAD = -1
"""The value of a cell past an input's length in ``Task.inputs`` (never loaded: a fault)."""


class TaskError(ValueError):
    """An unknown task name or a bad task option."""


def _set_partitions(n: int) -> list[tuple[int, ...]]:
    """Restricted growth strings of length n: every partition of n items into blocks."""
    out = []

    def grow(prefix, blocks):
        if len(prefix) == n:
            out.append(tuple(prefix))
            return
        for b in range(blocks + 1):
            grow(prefix + [b], max(blocks, b + 1))

    grow([], 0)
    return out


@functools.lru_cache(maxsize=None)
def weak_orderings(n: int) -> np.ndarray:
    """Every weak ordering of n items as ranks: ``int8[N, B]``, item-major, B = Fubini(n).

    Column b is one input: item i has rank ``out[i, b]`` in 0..k-1, ties share a rank,
    every rank in 0..k-1 is used. Columns are in lexicographic order. Built as (set
    partition) x (order of its blocks), vectorised per block count: sort8's 545,835
    inputs take a few tens of milliseconds and 4.4 MB.
    """
    by_blocks: dict[int, list] = {}
    for rgs in _set_partitions(n):
        by_blocks.setdefault(max(rgs) + 1, []).append(rgs)
    chunks = []
    for k, rows in by_blocks.items():
        labels = np.array(rows, dtype=np.int8)  # int8[M_k, N], block of each item
        orders = np.array(list(itertools.permutations(range(k))), dtype=np.int8)  # [k!, k]
        chunks.append(orders[:, labels].reshape(-1, n))  # rank = order[block]
    ranks = np.concatenate(chunks)  # int8[B, N]
    ranks = ranks[np.lexsort(ranks.T[::-1])]
    out = np.ascontiguousarray(ranks.T)
    out.setflags(write=False)
    return out


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
ALL_TASK_NAMES = TASK_NAMES + VARSORT_NAMES + KERNEL_TASK_NAMES
"""Every task name listed: the fixed sorts, the variable-length ones, the kernels."""
KNOWN = ("sort2..sort8, varsort2..varsort8, median3/5/7, min2max2..8, topK-of-N, mergeA+B, "
         "stablesort2..4, a task defined by Task.from_function, or a task file (.py)")

_USER: dict[str, Kernel] = {}
"""Tasks built by ``Task.from_function`` in this process, by name."""


def make_known(task: "Task") -> None:
    """Make a kernel task known to ``Task.from_name`` by its name in this process, as
    ``Task.from_function`` does where it runs: for a worker process that received the
    task pickled (a name defined earlier in the process stays as it was)."""
    if task.kernel is not None and builtin_kernel(task.kernel.name.lower()) is None:
        _USER.setdefault(task.kernel.name, task.kernel)


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


def _kernel_from_function(name, n, fn, n_outputs, where) -> Kernel:
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_+.-]*", name):
        raise TaskError(f"task name {name!r}: use letters, digits and _ + . - (no spaces)")
    key = name.lower()
    if (key in TASK_NAMES or key in VARSORT_NAMES or key.endswith(".py")
            or _is_builtin(key)):
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


def _is_builtin(key: str) -> bool:
    try:
        return builtin_kernel(key) is not None
    except TaskError:
        return True


def _load_task_file(path: str) -> "Task":
    import os

    if not os.path.isfile(path):
        raise TaskError(f"task file {path}: no such file")
    stat = os.stat(path)
    return _run_task_file(path, os.path.abspath(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=None)
def _run_task_file(path: str, absolute: str, mtime_ns: int, size: int) -> "Task":
    """A task file's task, run once per version of the file."""
    import runpy

    try:
        scope = runpy.run_path(absolute, run_name="discover_task")
    except TaskError as error:
        raise TaskError(f"task file {path}: {error}") from None
    except Exception as error:  # the user's file: any failure is theirs to fix
        message = str(error).splitlines()[0] if str(error) else ""
        raise TaskError(f"task file {path}: {type(error).__name__}"
                        f"{': ' + message if message else ''}") from None
    task = scope.get("task")
    if not isinstance(task, Task):
        raise TaskError(f"task file {path}: defines no 'task' (set task = "
                        f"Task.from_function(name, n_inputs, fn))")
    return task


@dataclass(frozen=True)
class Task:
    """Sort N items held in memory m0..m{N-1}, with R registers (default N + 1).

    ``variable``: the varsortN task (ISA v2): 0..N items, the length in the operand ``n``.
    ``kernel``: a comparison kernel instead of a sort (``Kernel``): its outputs in
    m0..m{K-1}.
    """

    n: int
    """Number of items to sort (2..8); for varsortN, the most items; for a kernel, its
    input cells (1..8)."""
    registers: int | None = None
    """Register count R (None: N + 1, one spare as a compare-exchange needs; at most 16)."""
    variable: bool = False
    """The length is known only at run time (varsortN, ISA v2: branches allowed)."""
    kernel: Kernel | None = None
    """What a kernel task computes (None: a sort)."""

    def __post_init__(self):
        if self.kernel is not None:
            if self.variable or self.n != self.kernel.n:
                raise TaskError(f"task {self.kernel.name!r} has {self.kernel.n} input cells"
                                f" and a fixed length")
        elif not MIN_ITEMS <= self.n <= MAX_ITEMS:
            kind = "varsort" if self.variable else "sort"
            raise TaskError(f"unknown task '{kind}{self.n}' (known: {KNOWN})")
        if self.registers is None:
            object.__setattr__(self, "registers", min(self.n + 1, MAX_REGISTERS))
        if not 1 <= self.registers <= MAX_REGISTERS:
            raise TaskError(f"--registers must be 1..{MAX_REGISTERS}, got {self.registers}")

    @classmethod
    def from_name(cls, name: str, registers: int | None = None) -> "Task":
        """``Task.from_name("sort3")``, ``"median5"``, ``"top2-of-5"``, a name given to
        ``Task.from_function`` earlier, or a task file ``"mytask.py"`` (a Python file that
        sets ``task``); TaskError for an unknown name."""
        if not isinstance(name, str):
            raise TaskError(f"unknown task {name!r} (known: {KNOWN})")
        key = name.strip().lower()
        if key in TASK_NAMES or key in VARSORT_NAMES:
            variable = key.startswith("var")
            return cls(int(key[len("varsort" if variable else "sort"):]), registers, variable)
        kernel = builtin_kernel(key) or _USER.get(name.strip()) or _USER.get(key)
        if kernel is None and key.endswith(".py"):
            kernel = _load_task_file(name.strip()).kernel
            if kernel is None:
                raise TaskError(f"task file {name.strip()}: its task is a sort; name it "
                                f"(sort3) instead")
        if kernel is None:
            raise TaskError(f"unknown task {name!r} (known: {KNOWN})")
        return cls(kernel.n, registers, kernel=kernel)

    @classmethod
    def from_function(cls, name: str, n_inputs: int, fn, n_outputs: int | None = None,
                      *, where=None, registers: int | None = None) -> "Task":
        """A task from a comparison-based reference ``fn(list) -> list``, e.g.
        ``Task.from_function("second", 4, lambda a: sorted(a)[1:2])``.

        The claim is checked on every weak ordering of ``n_inputs`` items, under several
        value assignments each (integers, negatives, floats): each output must be one of
        the input items, and which one may depend only on the items' order; otherwise a
        TaskError says why. ``where(list) -> bool`` restricts the inputs (``merge2+2``'s
        sorted halves), under the same check. The task is then known to
        ``Task.from_name(name)`` in this process.
        """
        kernel = _kernel_from_function(name, n_inputs, fn, n_outputs, where)
        _USER[name] = kernel
        return cls(kernel.n, registers, kernel=kernel)

    @property
    def name(self) -> str:
        if self.kernel is not None:
            return self.kernel.name
        return f"{'var' * self.variable}sort{self.n}"

    @property
    def is_sort(self) -> bool:
        """A sortN or varsortN task (not a kernel)."""
        return self.kernel is None

    @property
    def n_outputs(self) -> int:
        """Output cells m0..m{K-1}: N for a sort."""
        return self.n if self.kernel is None else self.kernel.n_outputs

    @property
    def symmetric(self) -> bool:
        """Renaming the input items leaves the expected output unchanged (every sort)."""
        return self.kernel is None or self.kernel.symmetric

    @property
    def summary(self) -> str:
        """What the task computes, in a few words."""
        if self.kernel is not None:
            return self.kernel.summary
        if self.variable:
            return f"sort 0..{self.n} items in place, the length in n"
        return f"sort {self.n} items in place"

    @property
    def slots(self) -> int:
        """Rows of a machine state: R registers, N memory cells, one flags row."""
        return self.registers + self.n + 1

    @property
    def inputs(self) -> np.ndarray:
        """``int8[N, B]``: one column per weak ordering of N items (shared, read-only);
        varsortN: of n items for n = 0..N in turn, PAD in the cells past the length;
        a kernel: the weak orderings of its domain."""
        if self.kernel is not None:
            return self.kernel.inputs
        return _variable(self.n)[0] if self.variable else weak_orderings(self.n)

    @property
    def lengths(self) -> np.ndarray:
        """``int8[B]``: each input's length (N for every input of a fixed task)."""
        if self.kernel is not None:
            return _full_lengths(self.n)[:self.n_inputs]
        return _variable(self.n)[1] if self.variable else _full_lengths(self.n)

    @property
    def expected(self) -> np.ndarray:
        """``int8[K, B]``: each input's expected output cells m0..m{K-1}: the column sorted
        ascending for a sort (K = N; PAD past the length for varsortN)."""
        if self.kernel is not None:
            return self.kernel.expected
        return _variable(self.n)[2] if self.variable else _expected(self.n)

    @property
    def n_inputs(self) -> int:
        return self.inputs.shape[1]

    def __str__(self) -> str:
        return self.name


@functools.lru_cache(maxsize=None)
def _expected(n: int) -> np.ndarray:
    out = np.sort(weak_orderings(n), axis=0)
    out.setflags(write=False)
    return out


@functools.lru_cache(maxsize=None)
def _full_lengths(n: int) -> np.ndarray:
    out = np.full(weak_orderings(n).shape[1], n, dtype=np.int8)
    out.setflags(write=False)
    return out


@functools.lru_cache(maxsize=None)
def _variable(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """varsortN's (inputs, lengths, expected): every length 0..N, shortest first."""
    columns, lengths, expected = [], [], []
    for m in range(n + 1):
        ranks = weak_orderings(m) if m else np.zeros((0, 1), dtype=np.int8)
        b = ranks.shape[1]
        pad = np.full((n - m, b), PAD, dtype=np.int8)
        columns.append(np.concatenate([ranks, pad]))
        expected.append(np.concatenate([np.sort(ranks, axis=0), pad]))
        lengths.append(np.full(b, m, dtype=np.int8))
    out = tuple(np.ascontiguousarray(np.concatenate(a, axis=-1))
                for a in (columns, lengths, expected))
    for a in out:
        a.setflags(write=False)
    return out
