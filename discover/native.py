"""Run and time a program natively: its exact instructions as x86-64 inline assembly.

The exported C (``discover.export.to_c_source``) plus a small timing harness, also in C,
is built with the system C compiler into a shared library (cached by the source's hash)
and loaded with ctypes. Timing happens entirely in C, so no Python overhead is measured.

How a sample is taken (after AlphaDev's "many repetitions over random inputs"):
for each of M random arrays and each of K repetitions, a batch of ``inner`` sorts runs
between two ``clock_gettime`` calls. In **latency** mode each sort's input depends on
the previous sort's output (``buf[i] = src[i] + (buf[N-1] & zero)`` with a ``zero`` the
compiler cannot see through), so sorts cannot overlap and a batch measures the
routine's latency; in **throughput** mode the sorts are independent. The same batch run
with an empty routine is the overhead (the copy-in and the clock); its median is
subtracted and the rest divided by ``inner``: ns per sort. Reported: the median and the
5th percentile of the M x K samples.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from discover.export import C_TYPES, cache_dir, to_c_source
from discover.kernels import Program, Task
from discover.runs import write_atomic

__all__ = ["NativeError", "NativeRoutine", "TimingConfig", "compiler", "native_latency",
           "native_unavailable", "random_arrays", "summarize"]

# Routine ids understood by the harness's discover_bench().
ROUTINE_NULL = 0
ROUTINE_ASM = 1
ROUTINE_PORTABLE = 2

CFLAGS = ("-O2", "-shared", "-fPIC", "-std=gnu11")


class NativeError(RuntimeError):
    """The native routine cannot be built or run here (no compiler, not x86-64, ...)."""


@lru_cache(maxsize=None)
def compiler() -> str | None:
    """The C compiler: $CC if set, else the first of cc, gcc, clang on PATH (None if none)."""
    candidates = [os.environ["CC"]] if os.environ.get("CC") else ["cc", "gcc", "clang"]
    for name in candidates:
        path = shutil.which(name)
        if path:
            return path
    return None


def native_unavailable() -> str | None:
    """Why native timing cannot run here, in one line; None when it can."""
    machine = platform.machine().lower()
    if machine not in ("x86_64", "amd64"):
        return f"native timing needs x86-64 (this machine is {platform.machine() or 'unknown'})"
    if compiler() is None:
        return "native timing needs a C compiler (none of $CC, cc, gcc, clang found)"
    return None


_HARNESS = r"""
/* ---- timing harness (discover.native) ---- */
#include <time.h>

#ifndef DISCOVER_HAVE_ASM
#define DISCOVER_HAVE_ASM 0
#define SORT_ASM(a) SORT_PORTABLE(a)
#endif

/* A zero the compiler cannot fold: it keeps each sort's input dependent on the last. */
volatile T discover_zero = 0;

int discover_have_asm(void) { return DISCOVER_HAVE_ASM; }

static inline double discover_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void discover_null(T *a) { __asm__ volatile("" : : "r"(a) : "memory"); }
static void discover_call_asm(T *a) { SORT_ASM(a); }
static void discover_call_portable(T *a) { SORT_PORTABLE(a); }

/* Sort every row of x (m rows of N) in place with routine 1 (asm) or 2 (portable C). */
void discover_sort_rows(T *x, long m, int routine)
{
    for (long j = 0; j < m; j++) {
        if (routine == 1) SORT_ASM(x + j * N); else SORT_PORTABLE(x + j * N);
    }
}

/* ns taken by discover_sort_rows(x, m, routine), timed in C. */
double discover_time_rows(T *x, long m, int routine)
{
    double t0 = discover_now_ns();
    discover_sort_rows(x, m, routine);
    return discover_now_ns() - t0;
}

/* out[m * repeats]: ns per batch of `inner` sorts, for each array j and repetition k.
   Every sort is a call through a pointer the compiler cannot see through, so each
   routine runs as a function on memory (as a library's sort would), never merged into
   the loop; the empty routine measures the loop, the copy-in and the call. */
void discover_bench(const T *src, long m, long repeats, long inner, int routine,
                    int chain, double *out)
{
    static void (*volatile table[3])(T *) = {discover_null, discover_call_asm,
                                              discover_call_portable};
    void (*fn)(T *) = table[routine];
    const T zero = discover_zero;
    for (long j = 0; j < m; j++) {
        const T *s = src + j * N;
        for (long k = 0; k < repeats; k++) {
            T buf[N];
            for (int i = 0; i < N; i++) buf[i] = s[i];
            double t0 = discover_now_ns();
            for (long r = 0; r < inner; r++) {
                /* Latency: the next input depends on every output of this sort. */
                T d = 0;
                if (chain) {
                    for (int i = 0; i < N; i++) d |= buf[i];
                    d &= zero;
                }
                for (int i = 0; i < N; i++) buf[i] = s[i] + d;
                fn(buf);
            }
            out[j * repeats + k] = discover_now_ns() - t0;
        }
    }
}
"""


@dataclass(frozen=True)
class TimingConfig:
    """How native timing samples are taken."""

    arrays: int = 1000
    """M: random arrays, each timed on its own."""
    repeats: int = 5
    """K: repetitions per array."""
    inner: int = 256
    """Sorts per timed batch: the clock is read twice per batch, not per sort (its
    resolution here is about 10 ns, so a batch of 256 sorts is resolved to within 1%)."""
    chain: bool = True
    """Latency mode: each sort waits for the previous one's output; False: throughput."""
    seed: int = 0
    """Seed of the random arrays."""


def random_arrays(task: Task, arrays: int, seed: int = 0, dtype=np.int64) -> np.ndarray:
    """``int64[M, N]`` random values (mostly distinct, some ties), the same for a seed."""
    rng = np.random.default_rng(seed)
    # A small range, so that ties occur too (in about 1% of sort5 arrays).
    return rng.integers(-500, 500, size=(arrays, task.n)).astype(dtype)


class NativeRoutine:
    """A program compiled to a shared library: ``sort_rows`` runs it, ``bench`` times it.

    NativeError if native code cannot be built here; ExportError (from the exporter) if
    the program is incorrect and ``force`` is not given, or ill-formed.
    """

    def __init__(self, program: Program, task: Task, ctype: str = "int64",
                 force: bool = False):
        reason = native_unavailable()
        if reason:
            raise NativeError(reason)
        self.program, self.task = program, task
        if ctype not in C_TYPES:
            raise ValueError(f"unknown C type {ctype!r} (known: {', '.join(C_TYPES)})")
        self.dtype = np.dtype(ctype)
        c_type = C_TYPES[ctype][0]
        name = task.name
        source = (to_c_source(program, task, force=force, ctype=ctype)
                  + f"\n#define T {c_type}\n#define N {task.n}\n"
                  + f"#define SORT_PORTABLE(a) {name}_portable(a)\n"
                  + (f"#if DISCOVER_HAVE_ASM\n#define SORT_ASM(a) {name}_asm(a)\n#endif\n")
                  + _HARNESS)
        self.source = source
        self._lib = _build(source)
        self._lib.discover_sort_rows.argtypes = [ctypes.c_void_p, ctypes.c_long, ctypes.c_int]
        self._lib.discover_sort_rows.restype = None
        self._lib.discover_bench.argtypes = [ctypes.c_void_p, ctypes.c_long, ctypes.c_long,
                                             ctypes.c_long, ctypes.c_int, ctypes.c_int,
                                             ctypes.c_void_p]
        self._lib.discover_bench.restype = None
        self._lib.discover_time_rows.argtypes = [ctypes.c_void_p, ctypes.c_long, ctypes.c_int]
        self._lib.discover_time_rows.restype = ctypes.c_double
        self.has_asm = bool(self._lib.discover_have_asm())

    def sort_rows(self, x: np.ndarray, portable: bool = False) -> np.ndarray:
        """Sort every row of ``x: T[M, N]`` in place natively (asm, or the portable C)."""
        if x.ndim != 2 or x.shape[1] != self.task.n or x.dtype != self.dtype \
                or not x.flags.c_contiguous or not x.flags.writeable:
            raise ValueError(f"expected a writable C-contiguous {self.dtype}[M, {self.task.n}]")
        routine = ROUTINE_PORTABLE if portable else ROUTINE_ASM
        self._lib.discover_sort_rows(x.ctypes.data, x.shape[0], routine)
        return x

    def bench_rows(self, config: TimingConfig = TimingConfig(), passes: int = 50) -> np.ndarray:
        """``float64[passes]``: ns per row of sorting all M rows in one C loop (throughput:
        rows are independent, so sorts overlap), a fresh copy of the rows each pass."""
        src = np.ascontiguousarray(random_arrays(self.task, config.arrays, config.seed,
                                                 self.dtype))
        samples = np.empty(passes, dtype=np.float64)  # float64[passes]
        for k in range(passes + 1):  # the first pass warms up and is dropped
            x = src.copy()
            ns = self._lib.discover_time_rows(x.ctypes.data, x.shape[0], ROUTINE_ASM)
            if k:
                samples[k - 1] = ns / x.shape[0]
        return samples

    def _batches(self, src: np.ndarray, config: TimingConfig, routine: int) -> np.ndarray:
        out = np.empty(src.shape[0] * config.repeats, dtype=np.float64)  # float64[M * K]
        self._lib.discover_bench(src.ctypes.data, src.shape[0], config.repeats, config.inner,
                                 routine, int(config.chain), out.ctypes.data)
        return out

    def bench(self, config: TimingConfig = TimingConfig(), portable: bool = False) -> np.ndarray:
        """``float64[M * K]``: ns per sort samples (overhead subtracted); see the module doc."""
        src = np.ascontiguousarray(random_arrays(self.task, config.arrays, config.seed,
                                                 self.dtype))
        routine = ROUTINE_PORTABLE if portable else ROUTINE_ASM
        warm = TimingConfig(arrays=min(50, config.arrays), repeats=1, inner=config.inner,
                            chain=config.chain)
        self._batches(src[:warm.arrays], warm, routine)  # page in code and data first
        overhead = float(np.median(self._batches(src, config, ROUTINE_NULL)))
        batches = self._batches(src, config, routine)
        return (batches - overhead) / config.inner


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


def _build(source: str) -> ctypes.CDLL:
    """Compile ``source`` to a shared library once (cached by hash) and load it."""
    cc = compiler()
    key = hashlib.sha256("\0".join((source, cc, *CFLAGS)).encode()).hexdigest()[:16]
    folder = cache_dir() / "native"
    folder.mkdir(parents=True, exist_ok=True)
    lib = folder / f"routine_{key}.so"
    if not lib.exists():
        c_file = folder / f"routine_{key}.c"
        write_atomic(c_file, source)
        tmp = folder / f".routine_{key}.{os.getpid()}.so"
        result = subprocess.run([cc, *CFLAGS, "-o", str(tmp), str(c_file)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            tmp.unlink(missing_ok=True)
            first = (result.stderr.strip().splitlines() or ["unknown error"])[0]
            raise NativeError(f"C compiler failed ({cc}): {first}")
        os.replace(tmp, lib)  # atomic: a concurrent build never loads a half-written file
    return ctypes.CDLL(str(lib))
