"""The `discover bench` table of a varsortN task: programs against the human routine.

The human routine (``varsort_program``: branch on the length to the size-optimal network
of that length) takes the place the network program has for the fixed sorts: every
native row of a program gives its time over the human routine's, the median of the
per-round ratios with its 95% interval (same rounds, as ``discover.native.stats``
defines it). Rows, in ns per sort of one array of 0..N items:

- natively (``discover.native.varsort``), each program's exact instructions as inline
  assembly, in latency mode, on lengths drawn uniformly from 0..N at random per call
  (the routine's branches on the length mispredict as often as that makes them), then
  on each fixed length in turn (every branch predictable); and in throughput mode on the
  random lengths;
- on the random lengths, from Python: ``sorted()`` and ``list.sort`` on lists,
  ``numpy.sort`` on arrays, each program's exported Python function, and its exported
  Numba function (per array from Python, and batched over the rows of an (M, N) array
  with a length per row).
"""

from __future__ import annotations

import numpy as np

from discover.kernels import Program, Task, varsort_program
from discover.measure import add_candidate, table_lines

__all__ = ["HUMAN", "bench_rows", "candidates", "expected_rows", "format_table",
           "parse_lengths"]

HUMAN = "human"
"""The label of the human routine's rows."""
MIN_RATIO_NS = 1.0
"""No ratio where the human routine's median is under this (ns over the null routine's):
at lengths 0 and 1 a routine does next to nothing, and a ratio of two differences that
small is noise (it can come out negative)."""


def candidates(programs, task: Task) -> list[tuple[str, Program]]:
    """The given (label, program) pairs plus the human routine (where R >= N + 1),
    deduplicated: a program equal to one listed before joins its label."""
    out: list[tuple[str, Program]] = []
    for label, program in programs:
        add_candidate(out, label, program)
    if task.registers >= task.n + 1:
        add_candidate(out, HUMAN, varsort_program(task.n))
    return out


def parse_lengths(text: str | None, task: Task) -> tuple[int, ...]:
    """The fixed lengths to time one by one: '0,2,3' -> (0, 2, 3); None: every length
    0..N. ValueError names a bad entry (not a number, negative, or over N)."""
    if text is None:
        return tuple(range(task.n + 1))
    out = []
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit():
            raise ValueError(f"--lengths: {part!r} is not a length (give numbers 0..{task.n} "
                             "separated by commas)")
        value = int(part)
        if value > task.n:
            raise ValueError(f"--lengths: {task.name} sorts at most {task.n} items, "
                             f"got length {value}")
        if value not in out:
            out.append(value)
    return tuple(out)


def expected_rows(n_candidates: int, config, n_lengths: int) -> int:
    """How many rows ``bench_rows`` measures at most (for a progress bar)."""
    native = n_candidates * (2 + n_lengths)
    return native + n_candidates * (1 + (2 if config.numba else 0)) + 3


def _random_text(task: Task) -> str:
    return f"lengths 0..{task.n} random"


def bench_rows(programs, task: Task, config, notes=None, progress=None,
               lengths: tuple[int, ...] | None = None):
    """Measure every row of the varsort table (``BenchRow`` as the fixed sorts'; ``how``
    says the lengths, ``vs_network`` holds the ratio to the human routine)."""
    from discover.measure import collect_rows

    notes = [] if notes is None else notes
    lengths = tuple(range(task.n + 1)) if lengths is None else lengths
    cands = candidates(programs, task)
    return collect_rows(lambda add: _measure(cands, task, config, lengths, add, notes),
                        notes, progress)


def _measure(cands, task: Task, config, lengths, add, notes):
    from discover.export import to_function, to_numba_functions
    from discover.measure import _time_chunks
    from discover.native import NativeError, SamplingConfig, native_unavailable, ratio
    from discover.native.varsort import (VarBatch, random_lengths, time_varsort,
                                         varsort_arrays)

    human = next((k for k, (label, _) in enumerate(cands)
                  if label == HUMAN or label.endswith(f"= {HUMAN}")), None)
    reason = native_unavailable() if config.native else "native timing turned off"
    if reason is None:
        try:
            batch = VarBatch([p for _, p in cands], task)
        except NativeError as error:
            notes.append(f"native timing skipped: {error}")
            batch = None
        if batch is not None:
            runs = [("latency", None)] + [("latency", m) for m in lengths] \
                + [("throughput", None)]
            for mode, length in runs:
                sampling = SamplingConfig(mode=mode, rounds=max(20 * config.repeats, 21),
                                          inner=config.inner, arrays=config.arrays,
                                          seed=config.seed)
                try:
                    ms = time_varsort([p for _, p in cands], task, sampling, length, batch)
                except NativeError as error:
                    notes.append(f"native {mode} skipped: {error}")
                    continue
                what = _random_text(task) if length is None else f"length {length}"
                small = human is not None and ms[human].median_ns < MIN_RATIO_NS
                if small:
                    notes.append(f"native {mode}, {what}: no ratio, the human routine takes "
                                 f"{ms[human].median_ns:.2f} ns, under {MIN_RATIO_NS} ns "
                                 "(noise)")
                for k, m in enumerate(ms):
                    vs = ratio(m, ms[human]) if human is not None and not small else None
                    add(cands[k][0], f"native asm, {mode}, {what}", m.ns, len(cands[k][1]),
                        vs)
    else:
        notes.append(f"native timing skipped: {reason}")

    # From Python, on random lengths.
    arrays = varsort_arrays(task, config.arrays, config.seed)  # int64[M, N]
    sizes = random_lengths(task, config.arrays, config.seed)  # int64[M]
    lists = [row[:m] for row, m in zip(arrays.tolist(), sizes.tolist())]
    what = _random_text(task)
    add("sorted()", f"python, per list, {what}",
        _time_chunks(lambda c: [sorted(x) for x in c], lists, config.repeats))
    add("list.sort", f"python, per list, {what}",
        _time_chunks(lambda c: [x.sort() for x in c], lists, config.repeats,
                     fresh=lambda c: [list(x) for x in c]))
    for label, program in cands:
        fn = to_function(program, task, force=True)
        add(f"{label} exported", f"python, per list, {what}",
            _time_chunks(lambda c, fn=fn: [fn(x) for x in c], lists, config.repeats,
                         fresh=lambda c: [list(x) for x in c]), len(program))
    row_list = [np.ascontiguousarray(row[:m]) for row, m in zip(arrays, sizes)]
    add("numpy.sort", f"numpy, per array, {what}",
        _time_chunks(lambda c: [np.sort(x) for x in c], row_list, config.repeats))
    if config.numba:
        batched_repeats = max(config.repeats * 10, 20)
        for label, program in cands:
            one, rows_fn = to_numba_functions(program, task, force=True)
            one(row_list[0].copy())  # compile (or load from cache) before timing
            rows_fn(arrays[:2].copy(), sizes[:2].copy())
            add(f"{label} exported", f"numba, per array (from python), {what}",
                _time_chunks(lambda c, one=one: [one(x) for x in c], row_list,
                             config.repeats, fresh=lambda c: [x.copy() for x in c]),
                len(program))
            add(f"{label} exported", f"numba, batched rows, {what}",
                _time_rows_fresh_lengths(rows_fn, arrays, task, batched_repeats,
                                         config.seed), len(program))
    else:
        notes.append("numba rows skipped")


def _time_rows_fresh_lengths(rows_fn, arrays: np.ndarray, task: Task, repeats: int,
                             seed: int) -> list[float]:
    """ns per row of ``rows_fn(copy_of_arrays, lengths)``, one sample per pass, with
    lengths drawn afresh for every pass (seeded): the same lengths pass after pass would
    be learned by the branch predictor."""
    import time

    rng = np.random.default_rng([seed, 2])
    samples = []
    for _ in range(repeats):
        data = arrays.copy()
        lengths = rng.integers(0, task.n + 1, size=len(arrays))  # int64[M]
        t0 = time.perf_counter_ns()
        rows_fn(data, lengths)
        samples.append((time.perf_counter_ns() - t0) / len(arrays))
    return samples


def format_table(rows, task: Task, config) -> str:
    """The varsort table as text, rows in the order measured."""
    head = (f"{task.name}: ns per sort of one array of 0..{task.n} items, {config.arrays} "
            f"random int64 arrays x {config.repeats} repeats (median, 5th percentile); "
            f"random lengths: uniform over 0..{task.n}, drawn per call")
    lines = table_lines(rows, head, "vs human", digits=2)
    if any(r.vs_network is not None for r in rows):
        lines.append("vs human: median of per-round time ratios to the human routine "
                     "(branch on the length to the size-optimal network; native, same "
                     "rounds, same lengths); * = the interval excludes 1")
    return "\n".join(lines) + "\n"
