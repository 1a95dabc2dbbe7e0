"""``discover bench --task KERNEL``: a kernel task's programs against its usual references.

The rows, for each program (the given ones, then the task's baseline, ``discover baseline
--task T``): its exact instructions timed natively (latency, every program in the same
rounds, with its paired ratio to the baseline; and batched rows in a C loop), its
exported Python function per list, its exported Numba function per array and batched.
Then what a Python or NumPy user would write instead, per family:

- medianN: ``statistics.median_low(a)``, ``sorted(a)[N // 2]``; ``numpy.partition``;
- min2maxN: ``min(a), max(a)``; ``ndarray.min()``, ``ndarray.max()``;
- topK-of-N: ``heapq.nsmallest(K, a)``, ``sorted(a)[:K]``; ``numpy.partition`` then
  ``numpy.sort`` of the K;
- mergeA+B: ``list(heapq.merge(a[:A], a[A:]))``, ``sorted(a)``; ``numpy.sort(kind=
  "stable")``;
- stablesortN: ``sorted(zip(keys, payloads), key=itemgetter(0))`` unzipped;
  ``numpy.argsort(keys, kind="stable")`` and ``take``;
- a user-defined task: ``sorted(a)`` and ``numpy.sort`` (its function is not kept).

Every reference returns the task's K outputs (``reference_outputs`` says how to read
them), which the tests compare with the exported programs. The arrays are the native
timing's (``discover.native.random_arrays``): random int64 values within the task's
domain (mergeA+B: each half sorted), the same for a seed.
"""

from __future__ import annotations

import heapq
import re
import statistics
from dataclasses import dataclass
from operator import itemgetter
from typing import Callable

import numpy as np

from discover.kernels import Program, Task, baseline_program
from discover.measure import (INTERRUPTED, BenchConfig, BenchRow, _stats, _time_batched,
                              _time_chunks, add_candidate, batched_speedup)

__all__ = ["NumpyReference", "PythonReference", "bench_rows", "candidates", "expected_rows",
           "format_table", "numpy_references", "python_references"]


@dataclass(frozen=True)
class PythonReference:
    """What a Python user would call instead of the kernel, on a list."""

    label: str
    call: Callable
    """``call(a: list)``: the result as that function gives it (timed as it is)."""
    outputs: Callable | None
    """``outputs(result) -> list``: the K outputs it stands for (None: not the task's
    outputs, only a comparable amount of work, e.g. a full sort for a user task)."""


@dataclass(frozen=True)
class NumpyReference:
    """The NumPy equivalent: on one 1-D array, and batched over the rows of an array."""

    label: str
    one: Callable
    """``one(x: int64[N])``."""
    rows: Callable
    """``rows(x: int64[M, N])``."""
    outputs: Callable | None
    """``outputs(rows(x)) -> int64[M, K]`` (None: not the task's outputs)."""


def _family(task: Task) -> tuple[str, tuple[int, ...]]:
    """The built-in family of a kernel task and its numbers ('user', () if none)."""
    for family, pattern in (("median", r"median(\d+)"), ("min2max", r"min2max(\d+)"),
                            ("top", r"top(\d+)-of-(\d+)"), ("merge", r"merge(\d+)\+(\d+)"),
                            ("stablesort", r"stablesort(\d+)")):
        match = re.fullmatch(pattern, task.name)
        if match:
            return family, tuple(int(g) for g in match.groups())
    return "user", ()


def python_references(task: Task) -> list[PythonReference]:
    """The Python references of a kernel task (see the module doc)."""
    family, numbers = _family(task)
    n = task.n
    if family == "median":
        h = n // 2
        return [PythonReference("statistics.median_low(a)", statistics.median_low,
                                lambda r: [r]),
                PythonReference(f"sorted(a)[{h}]", lambda a: sorted(a)[h], lambda r: [r])]
    if family == "min2max":
        return [PythonReference("min(a), max(a)", lambda a: (min(a), max(a)), list)]
    if family == "top":
        k = numbers[0]
        return [PythonReference(f"heapq.nsmallest({k}, a)", lambda a: heapq.nsmallest(k, a),
                                list),
                PythonReference(f"sorted(a)[:{k}]", lambda a: sorted(a)[:k], list)]
    if family == "merge":
        a_len = numbers[0]
        return [PythonReference(f"list(heapq.merge(a[:{a_len}], a[{a_len}:]))",
                                lambda a: list(heapq.merge(a[:a_len], a[a_len:])), list),
                PythonReference("sorted(a)", sorted, list)]
    if family == "stablesort":
        keys = n // 2
        first = itemgetter(0)

        def zipped(a):
            pairs = sorted(zip(a[:keys], a[keys:]), key=first)
            return [k for k, _ in pairs] + [p for _, p in pairs]

        def by_index(a):
            order = sorted(range(keys), key=a.__getitem__)
            return [a[i] for i in order] + [a[keys + i] for i in order]

        return [PythonReference("sorted(zip(keys, payloads), key=itemgetter(0)), unzipped",
                                zipped, list),
                PythonReference("sorted(range(N), key=keys.__getitem__), gathered",
                                by_index, list)]
    return [PythonReference("sorted(a) (a full sort: no reference for a user task)", sorted,
                            None)]


def numpy_references(task: Task) -> list[NumpyReference]:
    """The NumPy references of a kernel task (see the module doc)."""
    family, numbers = _family(task)
    n = task.n
    if family == "median":
        h = n // 2
        return [NumpyReference(f"numpy.partition(x, {h})[{h}]",
                               lambda x: np.partition(x, h)[h],
                               lambda x: np.partition(x, h, axis=1)[:, h],
                               lambda r: r[:, None])]
    if family == "min2max":
        return [NumpyReference("x.min(), x.max()", lambda x: (x.min(), x.max()),
                               lambda x: (x.min(axis=1), x.max(axis=1)),
                               lambda r: np.stack(r, axis=1))]
    if family == "top":
        k = numbers[0]
        return [NumpyReference(f"numpy.sort(numpy.partition(x, {k - 1})[:{k}])",
                               lambda x: np.sort(np.partition(x, k - 1)[:k]),
                               lambda x: np.sort(np.partition(x, k - 1, axis=1)[:, :k], axis=1),
                               lambda r: r)]
    if family == "merge":
        return [NumpyReference("numpy.sort(x, kind='stable')",
                               lambda x: np.sort(x, kind="stable"),
                               lambda x: np.sort(x, axis=1, kind="stable"), lambda r: r)]
    if family == "stablesort":
        keys = n // 2

        def one(x):
            order = np.argsort(x[:keys], kind="stable")
            return np.concatenate((x[:keys][order], x[keys:][order]))

        def rows(x):
            order = np.argsort(x[:, :keys], axis=1, kind="stable")
            return np.concatenate((np.take_along_axis(x[:, :keys], order, axis=1),
                                   np.take_along_axis(x[:, keys:], order, axis=1)), axis=1)

        return [NumpyReference("numpy.argsort(keys, kind='stable'), take", one, rows,
                               lambda r: r)]
    return [NumpyReference("numpy.sort (a full sort: no reference for a user task)", np.sort,
                           lambda x: np.sort(x, axis=1), None)]


def candidates(programs, task: Task) -> list[tuple[str, Program]]:
    """The given (label, program) pairs, the task's baseline and, for a built-in kernel,
    the shortest known program (``discover/known/<task>.asm``), deduplicated (a program
    given twice is timed once, under both labels)."""
    from discover.kernels.tasks import builtin_kernel
    from discover.measure import _correct_for, known_program

    out: list[tuple[str, Program]] = []
    for label, program in programs:
        add_candidate(out, label, program)
    if task.registers >= task.n + 1:
        add_candidate(out, "baseline", baseline_program(task))
    known = known_program(task) if builtin_kernel(task.name) == task.kernel else None
    if known is not None and _correct_for(known, task):  # e.g. needs more registers than R
        add_candidate(out, f"known/{task.name}.asm", known)
    return out


def expected_rows(n_candidates: int, config: BenchConfig, task: Task) -> int:
    """How many rows bench_rows() measures at most (for a progress bar)."""
    refs = len(python_references(task)) + 2 * len(numpy_references(task))
    return n_candidates * (2 + 1 + (2 if config.numba else 0)) + refs


def bench_rows(programs, task: Task, config: BenchConfig = BenchConfig(), notes=None,
               progress=None) -> list[BenchRow]:
    """Measure every row of the table; ``notes`` (a list) collects skip messages.

    ``programs``: (label, Program) pairs, checked correct by the caller. ``progress()``
    is called after each row.
    """
    from discover.native import random_arrays

    notes = [] if notes is None else notes
    tick = progress or (lambda: None)
    timed = candidates(programs, task)
    arrays = random_arrays(task, config.arrays, config.seed)  # int64[M, N], in the domain
    rows: list[BenchRow] = []

    def add(routine, how, samples, length=None, vs=None):
        median, p5, count = _stats(samples)
        rows.append(BenchRow(routine, how, median, p5, count, length))
        if vs is not None:
            rows[-1].vs_network, rows[-1].vs_network_lo = vs.ratio, vs.lo
            rows[-1].vs_network_hi, rows[-1].significant = vs.hi, vs.significant
        tick()

    try:
        _measure(timed, task, config, arrays, add, notes)
    except KeyboardInterrupt:
        notes.append(INTERRUPTED)
    return rows


def _measure(timed, task: Task, config: BenchConfig, arrays: np.ndarray, add, notes):
    from discover.export import to_function, to_numba_functions
    from discover.native import (NativeError, NativeRoutine, SamplingConfig, TimingConfig,
                                 measure_together, native_unavailable, ratio)

    lists = arrays.tolist()
    reason = native_unavailable() if config.native else "native timing turned off"
    if reason is None:
        sampling = SamplingConfig(rounds=max(20 * config.repeats, 21), inner=config.inner,
                                  arrays=config.arrays, seed=config.seed)
        try:
            latency = measure_together([p for _, p in timed], task, sampling)
        except NativeError as error:
            notes.append(f"native latency skipped: {error}")
            latency = []
        baseline = baseline_program(task) if task.registers >= task.n + 1 else None
        base = next((k for k, (_, p) in enumerate(timed) if p == baseline), None)
        for k, m in enumerate(latency):
            label, program = timed[k]
            vs = ratio(m, latency[base]) if base is not None else None
            add(label, "native asm, latency (C harness)", m.ns, len(program), vs)
        timing = TimingConfig(arrays=config.arrays, repeats=config.repeats,
                              inner=config.inner, seed=config.seed)
        for label, program in timed:
            try:
                routine = NativeRoutine(program, task, force=True)
            except NativeError as error:
                notes.append(f"native timing of {label} skipped: {error}")
                continue
            add(label, "native asm, batched rows (C loop)",
                routine.bench_rows(timing, passes=max(config.repeats * 10, 20)), len(program))
    else:
        notes.append(f"native timing skipped: {reason}")

    # Python: the references, then the exported functions (which leave the list alone).
    for ref in python_references(task):
        add(ref.label, "python, per list",
            _time_chunks(lambda c, f=ref.call: [f(x) for x in c], lists, config.repeats))
    for label, program in timed:
        fn = to_function(program, task, force=True)
        add(f"{label} exported", "python, per list",
            _time_chunks(lambda c, fn=fn: [fn(x) for x in c], lists, config.repeats),
            len(program))

    # NumPy.
    row_list = list(arrays)
    batched_repeats = max(config.repeats * 10, 20)
    for ref in numpy_references(task):
        add(ref.label, "numpy, per array",
            _time_chunks(lambda c, f=ref.one: [f(x) for x in c], row_list, config.repeats))
    for ref in numpy_references(task):
        add(ref.label, "numpy, batched rows", _time_batched(ref.rows, arrays, batched_repeats))

    # Numba.
    if config.numba:
        for label, program in timed:
            one, batch = to_numba_functions(program, task, force=True)
            one(arrays[0])  # compile (or load from cache) before timing
            batch(arrays[:2])
            add(f"{label} exported", "numba, per array (from python)",
                _time_chunks(lambda c, one=one: [one(x) for x in c], row_list,
                             config.repeats), len(program))
            add(f"{label} exported", "numba, batched rows",
                _time_batched(batch, arrays, batched_repeats), len(program))
    else:
        notes.append("numba rows skipped")


def format_table(rows: list[BenchRow], task: Task, config: BenchConfig) -> str:
    """The table as text, rows in the order measured, and the Numba-over-NumPy speedup."""
    domain = "" if task.n_inputs == _full(task) else ", each within the task's domain"
    head = (f"{task.name} ({task.summary}): ns per call on one {task.n}-item array, "
            f"{config.arrays} random int64 arrays{domain} x {config.repeats} repeats "
            "(median, 5th percentile)")
    width = max([len(r.routine) for r in rows] + [7])
    how_width = max([len(r.how) for r in rows] + [3])
    lines = [head, f"{'routine':<{width}}  {'len':>3}  {'how':<{how_width}}  "
                   f"{'median':>8}  {'p5':>8}  vs baseline [95% CI]"]
    for r in rows:
        length = "" if r.length is None else str(r.length)
        ratio = "" if r.vs_network is None else (
            f"{r.vs_network:.3f} [{r.vs_network_lo:.3f}, {r.vs_network_hi:.3f}]"
            + (" *" if r.significant else ""))
        lines.append((f"{r.routine:<{width}}  {length:>3}  {r.how:<{how_width}}  "
                      f"{r.median_ns:>8.1f}  {r.p5_ns:>8.1f}  {ratio}").rstrip())
    if any(r.vs_network is not None for r in rows):
        lines.append(f"vs baseline: median of per-round time ratios to the baseline program "
                     f"(discover baseline --task {task.name}; native latency, same rounds); "
                     "* = the interval excludes 1")
    speedup = batched_speedup(rows)
    if speedup is not None:
        numpy_label = next(r.routine for r in rows if r.how.startswith("numpy, batched"))
        lines.append(f"exported Numba, batched rows: {speedup:.1f}x faster than "
                     f"{numpy_label} on the same rows (best program, medians)")
    return "\n".join(lines) + "\n"


def _full(task: Task) -> int:
    from discover.kernels import weak_orderings

    return weak_orderings(task.n).shape[1]
