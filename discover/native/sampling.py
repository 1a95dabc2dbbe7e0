"""The measurement service: many programs timed natively, in batches, with statistics.

How samples are taken (``SamplingConfig``): the programs of a batch and the null routine
are timed in rounds. In each round every routine takes one sample (``inner`` sorts of
consecutive random arrays, the same arrays for every routine of that round) in an order
drawn afresh for the round (a seeded permutation), so slow drift and bursts of noise hit
all routines alike rather than whichever happens to run at that moment. The null routine's
sample of the same round is subtracted from each program's and the rest divided by
``inner``: one value per program and round, in clock ticks per sort. The process is
pinned to one core while it samples (where the OS allows; restored afterwards).

The clock is the time-stamp counter (``lfence; rdtsc; lfence`` before, ``rdtscp;
lfence`` after), calibrated against CLOCK_MONOTONIC to report ns as well; where there is
no invariant TSC, CLOCK_MONOTONIC itself (and no cycle figures). TSC ticks are cycles of
the nominal (reference) frequency, not core cycles: with turbo or power saving they
differ, which is one more reason to compare programs by paired ratios.

``measure`` looks every program up in the measurement cache (``discover.native.cache``)
and times only the rest, ``batch_size`` programs to a library; ``measure_together``
times all the given programs in one batch (the same rounds), so that ``ratio`` can pair
them.
"""

from __future__ import annotations

import math
import os
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from discover.native import toolchain as _native
from discover.export import C_TYPES
from discover.kernels import Program, Task
from discover.native.build import _COUNTERS, CLOCK_MONOTONIC, CLOCK_TSC, NULL, Batch
from discover.native.cache import MeasurementCache, machine_context
from discover.native.stats import (
    CONFIDENCE,
    Ratio,
    Summary,
    paired_ratio,
    summarize_samples,
    unpaired_ratio,
)

__all__ = ["MODES", "Measurement", "SamplingConfig", "measure", "measure_together", "pinned",
           "ratio", "resolve_clock"]

MODES = ("latency", "throughput")
CLOCKS = ("auto", "tsc", "monotonic")


def random_arrays(task: Task, arrays: int, seed: int = 0, dtype=np.int64) -> np.ndarray:
    """``int64[M, N]`` random values (mostly distinct, some ties), the same for a seed.

    A kernel task's arrays keep to its domain: mergeA+B's halves are each sorted; any
    other task defined on only some inputs (``where=``) draws each array's order from its
    test inputs (uniformly), then random values in that order. Tasks on every input (the
    sorts, medians, min2max, top-k, stable sorts) take the sorts' arrays."""
    rng = np.random.default_rng(seed)
    # A small range, so that ties occur too (in about 1% of sort5 arrays).
    out = rng.integers(-500, 500, size=(arrays, task.n))
    if task.kernel is not None:
        out = _in_domain(task, out, rng)
    return out.astype(dtype)


def _in_domain(task: Task, values: np.ndarray, rng) -> np.ndarray:
    """``values: int64[M, N]`` moved into a kernel task's domain (see random_arrays)."""
    import re

    from discover.kernels import weak_orderings

    if task.n_inputs == weak_orderings(task.n).shape[1]:
        return values
    merge = re.fullmatch(r"merge(\d+)\+(\d+)", task.name)
    if merge:
        a = int(merge[1])
        return np.concatenate([np.sort(values[:, :a], axis=1), np.sort(values[:, a:], axis=1)],
                              axis=1)
    # Any restricted domain: an order drawn from the test inputs, values drawn in it.
    ranks = task.inputs.T[rng.integers(0, task.n_inputs, size=len(values))]  # int8[M, N]
    levels = np.sort(values, axis=1)  # the k-th smallest value stands for rank k
    return np.take_along_axis(levels, ranks.astype(np.int64), axis=1)


@dataclass(frozen=True)
class SamplingConfig:
    """How the measurement service times programs (defaults: about 1 s of sampling for
    1,000 sort5 candidates here; the compile takes longer)."""

    mode: str = "latency"
    """'latency' (each sort waits for every output of the previous one) or 'throughput'
    (independent sorts, free to overlap); see discover.native's module doc."""
    ctype: str = "int64"
    """Element type of the sorted arrays: 'int64' or 'int32'."""
    rounds: int = 51
    """Samples per program, one per round (a paired ratio rests on this many pairs)."""
    inner: int = 1024
    """Sorts per sample: the clock is read twice per sample, not per sort (the TSC here
    advances in steps of 20 ticks, so 1,024 sorts of 20+ ticks resolve a sample to 0.1%)."""
    arrays: int = 1000
    """M: random arrays (``random_arrays``), walked through round after round."""
    seed: int = 0
    """Seed of the arrays and of each round's order."""
    warmup: int = 1
    """Rounds run first and dropped (pages in code and data, trains the predictors)."""
    clock: str = "auto"
    """'tsc', 'monotonic', or 'auto': the TSC where it is invariant, else monotonic."""
    pin: bool = True
    """Pin the process to one core while sampling (where the OS allows)."""
    batch_size: int = 200
    """Programs per library in ``measure`` (one compile each)."""
    confidence: float = CONFIDENCE
    """Coverage of the reported intervals (not part of the cache key: computed on read)."""
    cache: bool = True
    """Look measurements up in, and write them to, the measurement cache."""

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.ctype not in C_TYPES:
            raise ValueError(f"ctype must be one of {', '.join(C_TYPES)}, got {self.ctype!r}")
        if self.clock not in CLOCKS:
            raise ValueError(f"clock must be one of {', '.join(CLOCKS)}, got {self.clock!r}")
        for name in ("rounds", "inner", "arrays", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.warmup < 0:
            raise ValueError(f"warmup must be at least 0, got {self.warmup}")
        if not 0.0 < self.confidence < 1.0:
            raise ValueError(f"confidence must be in (0, 1), got {self.confidence}")

    def key_fields(self) -> dict:
        """The settings a measurement depends on (the clock resolved)."""
        return {"mode": self.mode, "ctype": self.ctype, "rounds": self.rounds,
                "inner": self.inner, "arrays": self.arrays, "seed": self.seed,
                "warmup": self.warmup, "clock": resolve_clock(self.clock), "pin": self.pin}


@dataclass(frozen=True, eq=False)
class Measurement:
    """One program's samples and what they say."""

    program: str
    """The program's canonical text."""
    task: str
    mode: str
    ticks: np.ndarray = field(repr=False)
    """``float64[rounds]``: clock ticks per sort in each round, the null routine's of the
    same round subtracted (ns where the clock is monotonic)."""
    ticks_per_ns: float
    """The clock's rate (1.0 for the monotonic clock)."""
    clock: str
    """'tsc' or 'monotonic'."""
    batch: str
    """Id of the timed run: measurements with the same id were taken in the same rounds."""
    has_asm: bool
    """False where the program was timed as portable C (too many registers for asm)."""
    cached: bool = False
    """Read from the measurement cache rather than timed now."""
    confidence: float = CONFIDENCE

    @property
    def ns(self) -> np.ndarray:
        """``float64[rounds]``: ns per sort in each round."""
        return self.ticks / self.ticks_per_ns

    @property
    def cycles(self) -> np.ndarray | None:
        """``float64[rounds]``: TSC (reference) cycles per sort; None without a TSC."""
        return self.ticks if self.clock == "tsc" else None

    @property
    def summary_ns(self) -> Summary:
        return summarize_samples(self.ns, self.confidence)

    @property
    def summary_cycles(self) -> Summary | None:
        cycles = self.cycles
        return None if cycles is None else summarize_samples(cycles, self.confidence)

    @property
    def median_ns(self) -> float:
        return float(np.median(self.ns))

    @property
    def p5_ns(self) -> float:
        return float(np.percentile(self.ns, 5))

    def payload(self) -> dict:
        """What the cache stores (JSON)."""
        return {"program": self.program, "task": self.task, "mode": self.mode,
                "ticks": [float(t) for t in self.ticks], "ticks_per_ns": self.ticks_per_ns,
                "clock": self.clock, "batch": self.batch, "has_asm": self.has_asm}

    @classmethod
    def from_payload(cls, payload: dict, rounds: int, confidence: float) -> Measurement:
        """From a cached payload; ValueError/TypeError/KeyError if it is not one."""
        ticks = np.asarray(payload["ticks"], dtype=np.float64)  # float64[rounds]
        tpn = float(payload["ticks_per_ns"])
        if ticks.shape != (rounds,) or not math.isfinite(tpn) or tpn <= 0 \
                or payload["clock"] not in ("tsc", "monotonic"):
            raise ValueError("not a measurement")
        return cls(str(payload["program"]), str(payload["task"]), str(payload["mode"]), ticks,
                   tpn, payload["clock"], str(payload["batch"]), bool(payload["has_asm"]),
                   cached=True, confidence=confidence)


def ratio(a: Measurement, b: Measurement, confidence: float | None = None) -> Ratio:
    """A's time over B's: paired by round when both were timed in the same rounds (the
    same batch), else unpaired (a bootstrap of the ratio of medians)."""
    confidence = a.confidence if confidence is None else confidence
    if a.batch == b.batch and a.ticks.shape == b.ticks.shape:
        return paired_ratio(a.ticks, b.ticks, confidence)
    return unpaired_ratio(a.ns, b.ns, confidence)


@cache
def _cpu_flags() -> frozenset:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def resolve_clock(clock: str) -> str:
    """'auto' made definite: the TSC where the CPU says it is invariant, else monotonic."""
    if clock != "auto":
        return clock
    flags = _cpu_flags()
    return "tsc" if "constant_tsc" in flags and "nonstop_tsc" in flags else "monotonic"


def _current_cpu() -> int | None:
    """The core this thread last ran on (/proc/self/stat field 39), None if unknown."""
    try:
        with open("/proc/self/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return int(fields[36])  # fields[0] is field 3 (state)
    except (OSError, IndexError, ValueError):
        return None


@contextmanager
def pinned(enabled: bool = True):
    """Pin this thread to the core it runs on; yields that core (None: not pinned)."""
    if not enabled or not hasattr(os, "sched_setaffinity"):
        yield None
        return
    try:
        before = os.sched_getaffinity(0)
        cpu = _current_cpu()
        cpu = cpu if cpu in before else min(before)
        os.sched_setaffinity(0, {cpu})
    except (OSError, ValueError):
        yield None
        return
    try:
        yield cpu
    finally:
        try:
            os.sched_setaffinity(0, before)
        except OSError:
            pass


_TSC_PER_NS: list[float] = []  # this process's calibration, once


def _ticks_per_ns(batch: Batch, clock: str) -> float:
    if clock == "monotonic":
        return 1.0
    if not _TSC_PER_NS:
        # Three 5 ms spins; the median shrugs off one that was descheduled at an end.
        _TSC_PER_NS.append(float(np.median([batch.tsc_per_ns(5e6) for _ in range(3)])))
    return _TSC_PER_NS[0]


def _time_batch(programs: list[Program], task: Task, config: SamplingConfig
                ) -> list[Measurement]:
    """Time programs in one library, in the same rounds (see the module doc)."""

    batch = Batch(programs, task, ctype=config.ctype, force=True)
    clock = resolve_clock(config.clock)
    if clock == "tsc" and not batch.has_tsc:
        raise _native.NativeError("clock 'tsc' asked for, but this build has no TSC")
    tpn = _ticks_per_ns(batch, clock)
    width = len(programs) + 1  # table index 0 (null) .. P: the routines timed
    total = config.warmup + config.rounds
    rng = np.random.default_rng(config.seed)
    order = np.argsort(rng.random((total, width)), axis=1).astype(np.int32)  # int32[R, P+1]
    starts = (np.arange(total, dtype=np.int64) * config.inner) % config.arrays  # int64[R]
    src = random_arrays(task, config.arrays, config.seed, np.dtype(config.ctype))
    with pinned(config.pin):
        raw = batch.sample(src, config.inner, config.mode == "latency",
                           CLOCK_TSC if clock == "tsc" else CLOCK_MONOTONIC, order, starts)
    values = np.empty_like(raw)  # float64[R, P+1]: column = table index
    np.put_along_axis(values, order.astype(np.int64), raw, axis=1)
    values = values[config.warmup:]
    net = (values[:, 1:] - values[:, NULL:NULL + 1]) / config.inner  # float64[rounds, P]
    _COUNTERS.programs_timed += len(programs)
    _COUNTERS.batches_timed += 1
    run_id = uuid.uuid4().hex[:16]
    return [Measurement(program.text(), task.name, config.mode, np.ascontiguousarray(net[:, k]),
                        tpn, clock, run_id, batch.has_asm[k], confidence=config.confidence)
            for k, program in enumerate(programs)]


def _check_available() -> None:
    reason = _native.native_unavailable()
    if reason:
        raise _native.NativeError(reason)


def _context(program: Program, task: Task, config: SamplingConfig, machine: dict) -> dict:
    context = {"program": program.text(), "task": task.name, **machine,
               **config.key_fields()}
    if task.kernel is not None:  # its harness, and what the name stands for (user tasks)
        from discover.native.build import KERNEL_HARNESS_VERSION

        context["harness"] = KERNEL_HARNESS_VERSION
        context["kernel"] = list(task.kernel._key[1:])
    return context


def measure(programs, task: Task, config: SamplingConfig = SamplingConfig()
            ) -> list[Measurement]:
    """One Measurement per program (in order): from the cache where it has one, the rest
    timed ``config.batch_size`` to a library and cached. NativeError where native timing
    cannot run here; ExportError for an ill-formed program."""
    _check_available()
    programs = list(programs)
    store = MeasurementCache() if config.cache else None
    machine = machine_context()
    found: dict[str, Measurement] = {}
    keys: dict[str, str] = {}
    todo: list[Program] = []
    for program in programs:
        text = program.text()
        if text in keys:
            continue
        keys[text] = key = MeasurementCache.key(_context(program, task, config, machine))
        payload = store.load(key) if store else None
        if payload is not None:
            try:
                found[text] = Measurement.from_payload(payload, config.rounds,
                                                       config.confidence)
                continue
            except (KeyError, TypeError, ValueError):
                pass  # a corrupt entry: measure again, and overwrite it
        todo.append(program)
    for start in range(0, len(todo), config.batch_size):
        for m in _time_batch(todo[start:start + config.batch_size], task, config):
            found[m.program] = m
            if store:
                store.store(keys[m.program], m.payload())
    return [found[program.text()] for program in programs]


def measure_together(programs, task: Task, config: SamplingConfig = SamplingConfig()
                     ) -> list[Measurement]:
    """Time all the programs in one batch, in the same rounds, whatever the cache holds
    (``ratio`` pairs them); the results are written to the cache."""
    _check_available()
    programs = list(programs)
    if not programs:
        return []
    results = _time_batch(programs, task, config)
    if config.cache:
        store, machine = MeasurementCache(), machine_context()
        for program, m in zip(programs, results):
            store.store(MeasurementCache.key(_context(program, task, config, machine)),
                        m.payload())
    return results
