"""Tasks: ``sortN``, ``varsortN`` and the comparison kernels, with their test inputs.

``sortN`` (ISA v1): one input per weak ordering of N items. ``varsortN`` (ISA v2): the
length n (0..N) is known only at run time; one input per weak ordering of n items, for
every n, with the cells past the length absent (PAD in the arrays).

A *kernel* task (``Kernel``) is any function whose output selects and orders input items
by their order alone: N input cells, K output cells m0..m{K-1}, and the expected output of
every weak ordering (``median5``, ``min2max4``, ``top2-of-5``, ``merge2+2``,
``stablesort3``, or ``Task.from_function``). Cells past K are free scratch space.
The inputs and names are ``orderings.py``'s, the kernels ``kernel_tasks.py``'s; this
module is the ``Task`` that joins them, by name or from a task file."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .isa import MAX_ITEMS, MAX_REGISTERS
from .kernel_tasks import KERNEL_TASK_NAMES, Kernel, builtin_kernel, kernel_from_function
from .orderings import MIN_ITEMS, PAD, TASK_NAMES, VARSORT_NAMES, TaskError, weak_orderings

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
        kernel = kernel_from_function(name, n_inputs, fn, n_outputs, where)
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
