"""The `discover bench` table: programs measured natively against the usual alternatives.

Rows, all in ns per sort of one N-item array (median and 5th percentile of the samples):
- each program natively: its exact instructions as inline assembly, timed by a C harness
  (discover.native) in latency mode (each sort waits for every output of the previous
  one: the figure that ranks candidates; all programs in one library, in the same
  rounds, so each gets its time over the network program's from same-round pairs, with
  a confidence interval and whether it excludes 1) and over the rows of an array in one
  C loop (throughput, the figure to hold against batched NumPy and Numba), for the given
  programs, the sorting-network program and the shortest known program
  (discover/known/sortN.asm);
- Python's ``sorted()`` and ``list.sort`` on small lists, ``numpy.sort`` on one small
  array and row-wise on an (M, N) array, the exported Python function, and the exported
  Numba function (called per array from Python, and batched over the rows of an array).

Python-level rows time chunks of CHUNK arrays between two ``perf_counter`` calls, so the
Python loop is part of those figures (as it is for anyone calling them that way).
"""

from __future__ import annotations

import platform
import time
from dataclasses import asdict, dataclass

import numpy as np

from discover.kernels import Program, Task, baseline_program
from discover.validation import check_int, check_seed

__all__ = ["BenchConfig", "BenchRow", "batched_speedup", "bench_rows", "candidate_programs",
           "format_table", "known_program", "plot", "rows_payload"]

CHUNK = 100  # arrays per timed chunk in Python-level rows
# Caps of BenchConfig: a million sort8 arrays are 64 MB as int64 and about 0.5 GB as the
# Python lists the sorted()/list.sort rows time; the caps keep a typo from exhausting memory.
MAX_ARRAYS = 1_000_000
MAX_REPEATS = 10_000
MAX_INNER = 1_000_000
INTERRUPTED = "interrupted: the table holds the rows measured before Ctrl-C"


@dataclass(frozen=True)
class BenchConfig:
    """What `discover bench` measures and how long it spends."""

    arrays: int = 1000
    """M: random arrays (int64; mostly distinct values, some ties), the same for a seed."""
    repeats: int = 5
    """K: repetitions over the arrays (native: per array)."""
    inner: int = 256
    """Native only: sorts per timed batch (the clock resolution is tens of ns)."""
    seed: int = 0
    """Seed of the random arrays."""
    native: bool = True
    """Time the programs natively (skipped with a message where that cannot run)."""
    numba: bool = True
    """Time the exported Numba functions (compiled once; cached on disk afterwards)."""

    def __post_init__(self):
        check_int(self, "arrays", 1, MAX_ARRAYS)
        check_int(self, "repeats", 1, MAX_REPEATS)
        check_int(self, "inner", 1, MAX_INNER)
        check_seed(self, "seed")


@dataclass
class BenchRow:
    """One line of the table."""

    routine: str
    """What runs: a program's label or a library function."""
    how: str
    """How it is called and timed."""
    median_ns: float
    p5_ns: float
    samples: int
    length: int | None = None
    """Instruction count, for program rows."""
    vs_network: float | None = None
    """Native latency rows: median of the per-round ratios to the network program's time."""
    vs_network_lo: float | None = None
    """Lower end of that ratio's 95% interval."""
    vs_network_hi: float | None = None
    """Upper end of that ratio's 95% interval."""
    significant: bool | None = None
    """Whether the interval excludes 1.0."""


def known_program(task: Task) -> Program | None:
    """The shortest known program shipped in discover/known/sortN.asm, if there is one."""
    from discover.known import known_program as shipped

    return shipped(task)


def candidate_programs(programs, task: Task) -> list[tuple[str, Program]]:
    """Given (label, program) pairs plus the network, the shortest known and the fastest
    measured program (discover/known/), deduplicated.

    A program equal to one listed before is not timed twice: its label joins the other's.
    """
    out: list[tuple[str, Program]] = []
    for label, program in programs:
        add_candidate(out, label, program)
    if task.registers >= task.n + 1:
        add_candidate(out, "network", baseline_program(task))
    known = known_program(task)
    if known is not None and _correct_for(known, task):  # e.g. needs more registers than R
        add_candidate(out, f"known/{task.name}.asm", known)
    from discover.known import fastest_program

    fastest = fastest_program(task)
    if fastest is not None and _correct_for(fastest, task):
        add_candidate(out, f"known/{task.name}.fastest.asm", fastest)
    return out


def add_candidate(out: list, label: str, program: Program) -> None:
    """Append ``(label, program)`` to ``out``, or, when ``out`` holds the same program
    already, add the label to its label (``a = b``): a program is timed once."""
    for k, (other_label, other) in enumerate(out):
        if other == program:
            out[k] = (f"{other_label} = {label}", other)
            return
    out.append((label, program))


def _correct_for(program: Program, task: Task) -> bool:
    from discover.kernels import ProgramError, verify

    try:
        return verify(program, task).correct
    except ProgramError:
        return False


def _stats(samples) -> tuple[float, float, int]:
    samples = np.asarray(samples, dtype=np.float64)
    return float(np.median(samples)), float(np.percentile(samples, 5)), int(samples.size)


def _time_chunks(call, items: list, repeats: int, fresh=None) -> list[float]:
    """ns per item of ``call(chunk)`` over chunks of CHUNK items, ``repeats`` passes.

    ``fresh(chunk)`` makes the chunk's input anew before each timing (in-place sorts).
    """
    samples = []
    for _ in range(repeats):
        for start in range(0, len(items), CHUNK):
            chunk = items[start:start + CHUNK]
            data = fresh(chunk) if fresh else chunk
            t0 = time.perf_counter_ns()
            call(data)
            samples.append((time.perf_counter_ns() - t0) / len(chunk))
    return samples


def expected_rows(n_candidates: int, config: BenchConfig) -> int:
    """How many rows bench_rows() measures at most (for a progress bar)."""
    return (n_candidates * (2 + 1 + (2 if config.numba else 0))) + 4


def collect_rows(measure, notes=None, progress=None) -> list[BenchRow]:
    """Run ``measure(add)`` and return the rows it added with ``add(routine, how, samples,
    length=None, vs=None)`` (``vs``: a ``native.Ratio`` to the baseline); ``progress()``
    is called after each row. Ctrl-C keeps the rows measured so far (the caller prints
    them) and notes it. Every bench table (sorts, varsort, kernels) measures through it."""
    notes = [] if notes is None else notes
    tick = progress or (lambda: None)
    rows: list[BenchRow] = []

    def add(routine, how, samples, length=None, vs=None):
        median, p5, count = _stats(samples)
        rows.append(BenchRow(routine, how, median, p5, count, length))
        if vs is not None:
            rows[-1].vs_network, rows[-1].vs_network_lo = vs.ratio, vs.lo
            rows[-1].vs_network_hi, rows[-1].significant = vs.hi, vs.significant
        tick()

    try:
        measure(add)
    except KeyboardInterrupt:
        notes.append(INTERRUPTED)
    return rows


def bench_rows(programs, task: Task, config: BenchConfig = BenchConfig(), notes=None,
               progress=None) -> list[BenchRow]:
    """Measure every row of the table; ``notes`` (a list) collects skip messages.

    ``programs``: (label, Program) pairs, checked correct by the caller. ``progress()``
    is called after each row.
    """
    from discover.native import random_arrays

    notes = [] if notes is None else notes
    candidates = candidate_programs(programs, task)
    arrays = random_arrays(task, config.arrays, config.seed)  # int64[M, N]
    return collect_rows(lambda add: _measure(candidates, task, config, arrays, add, notes),
                        notes, progress)


def measure_native(candidates, task: Task, config: BenchConfig, add, notes) -> None:
    """The native rows: every candidate's latency in one library and the same rounds (so
    that each one's ratio to the baseline program rests on same-round pairs), then its
    batched rows in a C loop. Skipped with a note where there is no C compiler or x86-64."""
    from discover.native import (NativeError, NativeRoutine, SamplingConfig, TimingConfig,
                                 measure_together, native_unavailable, ratio)

    reason = native_unavailable() if config.native else "native timing turned off"
    if reason is not None:
        notes.append(f"native timing skipped: {reason}")
        return
    sampling = SamplingConfig(rounds=max(20 * config.repeats, 21), inner=config.inner,
                              arrays=config.arrays, seed=config.seed)
    try:
        latency = measure_together([p for _, p in candidates], task, sampling)
    except NativeError as error:
        notes.append(f"native latency skipped: {error}")
        latency = []
    base = _network_index(candidates, task)
    for k, m in enumerate(latency):
        label, program = candidates[k]
        vs = ratio(m, latency[base]) if base is not None else None
        add(label, "native asm, latency (C harness)", m.ns, len(program), vs)
    timing = TimingConfig(arrays=config.arrays, repeats=config.repeats, inner=config.inner,
                          seed=config.seed)
    for label, program in candidates:
        try:
            routine = NativeRoutine(program, task, force=True)
        except NativeError as error:
            notes.append(f"native timing of {label} skipped: {error}")
            continue
        add(label, "native asm, batched rows (C loop)",
            routine.bench_rows(timing, passes=max(config.repeats * 10, 20)), len(program))


def measure_numba(candidates, task: Task, config: BenchConfig, arrays: np.ndarray, add,
                  notes, fresh=None) -> None:
    """The exported Numba functions, per array from Python and on batched rows;
    ``fresh(chunk)`` copies the arrays before each timed chunk (routines that sort in
    place)."""
    from discover.export import to_numba_functions

    if not config.numba:
        notes.append("numba rows skipped")
        return
    row_list = list(arrays)
    for label, program in candidates:
        one, batch = to_numba_functions(program, task, force=True)
        warm = arrays[:2].copy()
        one(warm[0])  # compile (or load from cache) before timing
        batch(warm)
        add(f"{label} exported", "numba, per array (from python)",
            _time_chunks(lambda c, one=one: [one(x) for x in c], row_list, config.repeats,
                         fresh=fresh), len(program))
        add(f"{label} exported", "numba, batched rows",
            _time_batched(batch, arrays, max(config.repeats * 10, 20)), len(program))


def _measure(candidates, task: Task, config: BenchConfig, arrays: np.ndarray, add, notes):
    from discover.export import to_function

    lists = arrays.tolist()
    measure_native(candidates, task, config, add, notes)  # the exact instructions, in C

    # Python built-ins on small lists.
    add("sorted()", "python, per list", _time_chunks(lambda c: [sorted(x) for x in c],
                                                       lists, config.repeats))
    add("list.sort", "python, per list",
        _time_chunks(lambda c: [x.sort() for x in c], lists, config.repeats,
                     fresh=lambda c: [list(x) for x in c]))
    for label, program in candidates:
        fn = to_function(program, task, force=True)
        add(f"{label} exported", "python, per list",
            _time_chunks(lambda c, fn=fn: [fn(x) for x in c], lists, config.repeats,
                         fresh=lambda c: [list(x) for x in c]), len(program))

    # NumPy.
    row_list = list(arrays)
    add("numpy.sort", "numpy, per array", _time_chunks(lambda c: [np.sort(x) for x in c],
                                                         row_list, config.repeats))
    batched_repeats = max(config.repeats * 10, 20)  # one sample per pass: take more passes
    add("numpy.sort", "numpy, batched rows (in place)",
        _time_batched(lambda y: y.sort(axis=1), arrays, batched_repeats))

    measure_numba(candidates, task, config, arrays, add, notes,
                  fresh=lambda c: [x.copy() for x in c])


def _network_index(candidates, task: Task) -> int | None:
    """Where the baseline (network) program is among the candidates (None if it does not
    fit)."""
    if task.registers < task.n + 1:
        return None
    from discover.kernels import baseline_program

    network = baseline_program(task)
    return next((k for k, (_, p) in enumerate(candidates) if p == network), None)


def _time_batched(call, arrays: np.ndarray, repeats: int) -> list[float]:
    """ns per row of ``call(copy_of_arrays)``: one sample per pass over all M rows."""
    samples = []
    for _ in range(repeats):
        data = arrays.copy()
        t0 = time.perf_counter_ns()
        call(data)
        samples.append((time.perf_counter_ns() - t0) / len(arrays))
    return samples


def machine_info() -> dict:
    import numba

    from discover.native import compiler
    from discover.native.cache import cpu_model

    return {"machine": platform.machine(), "processor": cpu_model(),
            "python": platform.python_version(), "numpy": np.__version__,
            "numba": numba.__version__, "compiler": compiler()}


def format_table(rows: list[BenchRow], task: Task, config: BenchConfig) -> str:
    """The table as text, rows in the order measured, and the Numba-over-NumPy speedup."""
    head = (f"{task.name}: ns per sort of one {task.n}-item array, {config.arrays} random "
            f"int64 arrays x {config.repeats} repeats (median, 5th percentile)")
    lines = table_lines(rows, head, "vs network")
    if any(r.vs_network is not None for r in rows):
        lines.append("vs network: median of per-round time ratios to the network program "
                     "(native latency, same rounds); * = the interval excludes 1")
    speedup = batched_speedup(rows)
    if speedup is not None:
        lines.append(f"exported Numba, batched rows: {speedup:.1f}x faster than numpy.sort "
                     "on the same rows (best program, medians)")
    return "\n".join(lines) + "\n"


def table_lines(rows: list[BenchRow], head: str, versus: str, digits: int = 1) -> list[str]:
    """The head line, the column titles and one line per row (``versus``: the ratio
    column's title, ``digits``: decimals of the times), as every bench table prints them."""
    width = max([len(r.routine) for r in rows] + [7])
    how_width = max([len(r.how) for r in rows] + [3])
    lines = [head, f"{'routine':<{width}}  {'len':>3}  {'how':<{how_width}}  "
                   f"{'median':>8}  {'p5':>8}  {versus} [95% CI]"]
    for r in rows:
        length = "" if r.length is None else str(r.length)
        lines.append((f"{r.routine:<{width}}  {length:>3}  {r.how:<{how_width}}  "
                      f"{r.median_ns:>8.{digits}f}  {r.p5_ns:>8.{digits}f}  "
                      f"{_ratio_text(r)}").rstrip())
    return lines


def _ratio_text(row: BenchRow) -> str:
    if row.vs_network is None:
        return ""
    return (f"{row.vs_network:.3f} [{row.vs_network_lo:.3f}, {row.vs_network_hi:.3f}]"
            + (" *" if row.significant else ""))


def batched_speedup(rows: list[BenchRow]) -> float | None:
    """numpy.sort's batched median over the best exported Numba batched median."""
    numpy_rows = [r.median_ns for r in rows if r.how.startswith("numpy, batched")]
    numba_rows = [r.median_ns for r in rows if r.how == "numba, batched rows"]
    if not numpy_rows or not numba_rows or min(numba_rows) <= 0:
        return None
    return numpy_rows[0] / min(numba_rows)


def rows_payload(rows: list[BenchRow], task: Task, config: BenchConfig, notes) -> dict:
    return {"task": task.name, "registers": task.registers, "config": asdict(config),
            "machine": machine_info(), "notes": list(notes),
            "numba_batched_speedup_over_numpy": batched_speedup(rows),
            "rows": [asdict(r) for r in rows]}


def plot(rows: list[BenchRow], task: Task, path) -> None:
    """Horizontal bars of the medians, 5th percentiles as ticks; log scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r.routine} [{r.how}]" for r in rows]
    fig, ax = plt.subplots(figsize=(9, 0.35 * len(rows) + 1.2))
    y = np.arange(len(rows))
    ax.barh(y, [max(r.median_ns, 0.1) for r in rows], color="tab:blue", label="median")
    ax.plot([max(r.p5_ns, 0.1) for r in rows], y, "k|", markersize=12, label="5th percentile")
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("ns per sort (log scale)")
    ax.set_title(f"{task.name}: ns per sort")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
