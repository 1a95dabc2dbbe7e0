"""One program as a native routine: ``sort_rows`` runs it, ``bench`` times it.

A ``NativeRoutine`` is a batch of one (``discover.native.build``) with the portable C
included: table index 1 is the asm, 2 the portable C. ``bench`` takes one sample per
random array and repetition (M x K samples): a sample is ``inner`` sorts of that one
array, in the mode of ``TimingConfig.chain`` (latency: each sort's input depends on every
output of the previous sort; throughput: independent sorts), and the null routine's
sample of the same array and repetition, taken just before or after it in a seeded
random order, is subtracted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from discover.export import C_TYPES
from discover.kernels import Program, Task
from discover.native.build import CLOCK_MONOTONIC, CLOCK_TSC, NULL, Batch
from discover.native.sampling import _ticks_per_ns, pinned, random_arrays, resolve_clock

__all__ = ["NativeRoutine", "TimingConfig", "native_latency", "random_arrays", "summarize"]

# Table indices of a NativeRoutine's library.
ROUTINE_NULL = NULL
ROUTINE_ASM = 1
ROUTINE_PORTABLE = 2


@dataclass(frozen=True)
class TimingConfig:
    """How ``NativeRoutine.bench`` takes its samples."""

    arrays: int = 1000
    """M: random arrays, each timed on its own."""
    repeats: int = 5
    """K: repetitions per array."""
    inner: int = 256
    """Sorts per timed batch: the clock is read twice per batch, not per sort."""
    chain: bool = True
    """Latency mode: each sort waits for the previous one's output; False: throughput."""
    seed: int = 0
    """Seed of the random arrays (and of the order of the null and the routine)."""


class NativeRoutine:
    """A program compiled to a shared library: ``sort_rows`` runs it, ``bench`` times it.

    NativeError if native code cannot be built here; ExportError (from the exporter) if
    the program is incorrect and ``force`` is not given, or ill-formed.
    """

    def __init__(self, program: Program, task: Task, ctype: str = "int64",
                 force: bool = False):
        if ctype not in C_TYPES:
            raise ValueError(f"unknown C type {ctype!r} (known: {', '.join(C_TYPES)})")
        self.program, self.task = program, task
        self._batch = Batch([program], task, ctype=ctype, portable=True, force=force)
        self.dtype = self._batch.dtype
        self.source = self._batch.source
        self.has_asm = self._batch.has_asm[0]

    def sort_rows(self, x: np.ndarray, portable: bool = False) -> np.ndarray:
        """Sort every row of ``x: T[M, N]`` in place natively (asm, or the portable C)."""
        return self._batch.sort_rows(x, ROUTINE_PORTABLE if portable else ROUTINE_ASM)

    def outputs(self, x: np.ndarray, portable: bool = False) -> np.ndarray:
        """``T[M, K]``: the task's K outputs for every row of ``x: T[M, N]`` (a copy;
        ``x`` is left alone). For a sort, K = N: the rows sorted."""
        work = np.array(x, dtype=self.dtype, order="C", copy=True)
        return self.sort_rows(work, portable)[:, :self.task.n_outputs].copy()

    def bench_rows(self, config: TimingConfig = TimingConfig(), passes: int = 50) -> np.ndarray:
        """``float64[passes]``: ns per row of sorting all M rows in one C loop (throughput:
        rows are independent, so sorts overlap), a fresh copy of the rows each pass."""
        src = np.ascontiguousarray(random_arrays(self.task, config.arrays, config.seed,
                                                 self.dtype))
        samples = np.empty(passes, dtype=np.float64)  # float64[passes]
        for k in range(passes + 1):  # the first pass warms up and is dropped
            x = src.copy()
            ns = self._batch.time_rows(x, ROUTINE_ASM)
            if k:
                samples[k - 1] = ns / x.shape[0]
        return samples

    def bench(self, config: TimingConfig = TimingConfig(), portable: bool = False) -> np.ndarray:
        """``float64[M * K]``: ns per sort, array-major (see the module doc)."""
        src = np.ascontiguousarray(random_arrays(self.task, config.arrays, config.seed,
                                                 self.dtype))
        routine = ROUTINE_PORTABLE if portable else ROUTINE_ASM
        clock = resolve_clock("auto")
        tpn = _ticks_per_ns(self._batch, clock)
        warm = min(50, config.arrays)  # rounds run first and dropped: page in code and data
        starts = np.concatenate([np.arange(warm), np.repeat(np.arange(config.arrays),
                                                              config.repeats)])  # int64[W+M*K]
        rng = np.random.default_rng(config.seed)
        flip = rng.random(starts.size) < 0.5  # bool[W + M*K]: the routine goes first
        order = np.where(flip[:, None], [[routine, ROUTINE_NULL]], [[ROUTINE_NULL, routine]])
        with pinned():
            raw = self._batch.sample(src, config.inner, config.chain,
                                     CLOCK_TSC if clock == "tsc" else CLOCK_MONOTONIC,
                                     order, starts, stride=0)[warm:]
        flip = flip[warm:]
        mine = np.where(flip, raw[:, 0], raw[:, 1])
        null = np.where(flip, raw[:, 1], raw[:, 0])
        return (mine - null) / config.inner / tpn


def native_latency(program: Program, task: Task, config: TimingConfig = TimingConfig(),
                   force: bool = False) -> dict:
    """The figure that ranks candidates: measured latency in ns per sort (median, p5).

    NativeError where native code cannot run here.
    """
    return summarize(NativeRoutine(program, task, force=force).bench(config))


def summarize(samples: np.ndarray) -> dict:
    """Median and 5th percentile of ns-per-sort samples."""
    return {"median_ns": float(np.median(samples)), "p5_ns": float(np.percentile(samples, 5)),
            "samples": int(samples.size)}
