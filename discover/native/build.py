"""One shared library per batch of programs: its C source, the compile, the ctypes calls.

The library's routine table: index ``NULL`` (0) is the null routine (an empty function
on the array: what the harness costs), ``1 + k`` is program k (its inline assembly, or
its portable C where the assembly does not fit), and when built with ``portable=True``,
``1 + P + k`` is program k's portable C. Every routine is its own function, called
through the table, so each runs as a function on memory (as a library's sort would),
never merged into the timing loop.
"""

from __future__ import annotations

import ctypes
import dataclasses
import hashlib
import os
import subprocess
from dataclasses import dataclass
from functools import cache

import numpy as np

from discover.native import toolchain as _native
from discover.export import C_TYPES, ExportError, cache_dir, to_c_source
from discover.kernels import Program, Task
from discover.runs import write_atomic

__all__ = ["CFLAGS", "HARNESS_VERSION", "KERNEL_HARNESS_VERSION", "NULL", "Batch",
           "compiler_version", "counters"]

NULL = 0  # table index of the null routine
CLOCK_TSC, CLOCK_MONOTONIC = 0, 1  # the harness's clock argument
CFLAGS = ("-O2", "-shared", "-fPIC", "-std=gnu11")

_HEAD = r"""
/* ---- timing harness (discover.native), part 1: clocks and the null routine ---- */
#include <stdint.h>
#include <time.h>

/* A zero the compiler cannot fold: it keeps each sort's input dependent on the last. */
volatile T discover_zero = 0;

static inline double discover_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

#if defined(__x86_64__)
#define DISCOVER_HAVE_TSC 1
/* Fenced reads: the work before has finished, the work after has not started. */
static inline uint64_t discover_tsc_begin(void)
{
    uint32_t lo, hi;
    __asm__ volatile("lfence\n\trdtsc\n\tlfence" : "=a"(lo), "=d"(hi) : : "memory");
    return ((uint64_t)hi << 32) | lo;
}
static inline uint64_t discover_tsc_end(void)
{
    uint32_t lo, hi, aux;
    __asm__ volatile("rdtscp\n\tlfence" : "=a"(lo), "=d"(hi), "=c"(aux) : : "memory");
    return ((uint64_t)hi << 32) | lo;
}
#else
#define DISCOVER_HAVE_TSC 0
static inline uint64_t discover_tsc_begin(void) { return (uint64_t)discover_now_ns(); }
static inline uint64_t discover_tsc_end(void) { return (uint64_t)discover_now_ns(); }
#endif

/* Every timed routine starts on a 64-byte boundary: where a routine lies in the library
   (what comes before it in the batch) must not change its time. */
#define DISCOVER_ROUTINE __attribute__((noinline, aligned(64))) static void

DISCOVER_ROUTINE discover_null(T *a) { __asm__ volatile("" : : "r"(a) : "memory"); }
"""

_TAIL = r"""
/* ---- timing harness (discover.native), part 2: running and timing the table ---- */
int discover_count(void) { return DISCOVER_COUNT; }
int discover_have_asm(long k) { return discover_asm[k]; }
int discover_have_tsc(void) { return DISCOVER_HAVE_TSC; }

/* TSC ticks per ns, over a spin of spin_ns on CLOCK_MONOTONIC (0 without a TSC). */
double discover_tsc_per_ns(double spin_ns)
{
    if (!DISCOVER_HAVE_TSC) return 0.0;
    double t0 = discover_now_ns();
    uint64_t c0 = discover_tsc_begin();
    double t1;
    do { t1 = discover_now_ns(); } while (t1 - t0 < spin_ns);
    uint64_t c1 = discover_tsc_end();
    return (double)(c1 - c0) / (t1 - t0);
}

/* Sort every row of x (m rows of N) in place with one routine of the table. */
void discover_sort_rows(T *x, long m, int routine)
{
    void (*fn)(T *) = discover_table[routine];
    for (long j = 0; j < m; j++) fn(x + j * N);
}

/* ns taken by discover_sort_rows(x, m, routine), timed in C. */
double discover_time_rows(T *x, long m, int routine)
{
    double t0 = discover_now_ns();
    discover_sort_rows(x, m, routine);
    return discover_now_ns() - t0;
}

/* One sample: `inner` sorts of the arrays j, j + stride, ... (mod m), each copied into buf
   first. Latency (chain): the next input is the next array plus (the OR of EVERY output
   of this sort) & zero, so no sort starts before the previous one has stored all its
   outputs. Throughput: inputs are independent and sorts overlap. */
static inline __attribute__((always_inline)) void discover_block(
    void (*fn)(T *), const T *src, long m, long j, long stride, long inner,
    const int chain, T *buf)
{
    const T zero = discover_zero;
    T d = 0;
    for (long r = 0; r < inner; r++) {
        const T *s = src + j * N;
        for (int i = 0; i < N; i++) buf[i] = s[i] + d;
        fn(buf);
        if (chain) {
            T all = buf[0];
            for (int i = 1; i < N; i++) all |= buf[i];
            d = all & zero;
        }
        j += stride;
        if (j >= m) j -= m;
    }
}

/* Sorts run untimed before each sample: the routine's code, its branch targets and the
   return stack are warm when the clock starts, whichever routine ran before it. */
#define DISCOVER_WARM 16

#define DISCOVER_TIMED(BEGIN, END)                                                  \
    do {                                                                            \
        discover_block(fn, src, m, j, stride, DISCOVER_WARM, chain, buf);           \
        uint64_t t0 = BEGIN();                                                      \
        if (chain) discover_block(fn, src, m, j, stride, inner, 1, buf);            \
        else discover_block(fn, src, m, j, stride, inner, 0, buf);                  \
        out[r * width + i] = (double)(END() - t0);                                  \
    } while (0)

static inline uint64_t discover_ns_begin(void) { return (uint64_t)discover_now_ns(); }

/* out[r * width + i]: clock ticks (clock 0: TSC; 1: CLOCK_MONOTONIC ns) of one sample of
   routine order[r * width + i] in round r, on the arrays from starts[r]. */
void discover_sample(const T *src, long m, long inner, int chain, int clock, long rounds,
                     long width, const int32_t *order, const int64_t *starts, long stride,
                     double *out)
{
    T buf[N];
    for (long r = 0; r < rounds; r++) {
        long j = (long)starts[r];
        for (long i = 0; i < width; i++) {
            void (*fn)(T *) = discover_table[order[r * width + i]];
            if (clock == 0) DISCOVER_TIMED(discover_tsc_begin, discover_tsc_end);
            else DISCOVER_TIMED(discover_ns_begin, discover_ns_begin);
        }
    }
}
"""

HARNESS_VERSION = hashlib.sha256((_HEAD + _TAIL).encode()).hexdigest()[:12]
"""Changes whenever the harness does: part of every measurement's cache key."""

_CHAIN_ALL = "for (int i = 1; i < N; i++) all |= buf[i];"
_KERNEL_TAIL = _TAIL.replace(_CHAIN_ALL, "for (int i = 1; i < DISCOVER_K; i++) all |= buf[i];")
"""A kernel task's harness: its latency chain waits for the K output cells only (what
the routine computes), not for the scratch cells past them."""
assert _KERNEL_TAIL != _TAIL
KERNEL_HARNESS_VERSION = hashlib.sha256((_HEAD + _KERNEL_TAIL).encode()).hexdigest()[:12]
"""``HARNESS_VERSION`` of the kernel tasks' harness."""


@dataclass
class Counters:
    """What this process has done natively (tests count compiles and timed programs)."""

    compiles: int = 0
    """Libraries compiled (a library found in the cache is not counted)."""
    programs_timed: int = 0
    """Programs timed by the measurement service (null routines not counted)."""
    batches_timed: int = 0
    """Batches sampled by the measurement service."""


_COUNTERS = Counters()


def counters() -> Counters:
    """A copy of this process's counters."""
    return dataclasses.replace(_COUNTERS)


@cache
def compiler_version(cc: str) -> str:
    """The compiler's first ``--version`` line ('unknown' if it does not say)."""
    try:
        result = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30,
                                check=False)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (result.stdout.strip().splitlines() or ["unknown"])[0]


def batch_source(programs: list[Program], task: Task, ctype: str = "int64",
                 portable: bool = False, force: bool = True) -> str:
    """The C of a batch library: every program's export, renamed, then the harness.

    Each export defines ``sortN``, ``sortN_asm`` and ``sortN_portable``; macros rename
    them per program (``discover_cK...``), so the exporter's output is used as it is.
    """
    if ctype not in C_TYPES:
        raise ValueError(f"unknown C type {ctype!r} (known: {', '.join(C_TYPES)})")
    from discover.export import function_name

    name = function_name(task)
    parts = [f"#define T {C_TYPES[ctype][0]}", f"#define N {task.n}", _HEAD]
    if not task.is_sort:  # a kernel: K output cells, and name_out to rename too
        parts.insert(2, f"#define DISCOVER_K {task.n_outputs}")
    suffixes = ("_asm", "_portable") + (("_out",) if not task.is_sort else ())
    table = ["discover_null"]
    for k, program in enumerate(programs):
        try:
            exported = to_c_source(program, task, force=force, ctype=ctype)
        except ExportError as error:
            raise ExportError(f"program {k} of the batch: {error}") from None
        parts += [f"/* ---- program {k} ---- */", f"#define {name} discover_c{k}"]
        parts += [f"#define {name}{x} discover_c{k}{x}" for x in suffixes]
        parts += [exported,
                  "#ifdef DISCOVER_HAVE_ASM",
                  f"#define DISCOVER_ASM_{k} 1",
                  (f"DISCOVER_ROUTINE discover_r{k}(T *a) "
                   f"{{ discover_c{k}_asm(a); }}"),
                  "#else",
                  f"#define DISCOVER_ASM_{k} 0",
                  (f"DISCOVER_ROUTINE discover_r{k}(T *a) "
                   f"{{ discover_c{k}_portable(a); }}"),
                  "#endif"]
        if portable:
            parts.append(f"DISCOVER_ROUTINE discover_p{k}(T *a) "
                         f"{{ discover_c{k}_portable(a); }}")
        parts += ["#undef DISCOVER_HAVE_ASM", f"#undef {name}"]
        parts += [f"#undef {name}{x}" for x in suffixes]
        table.append(f"discover_r{k}")
    if portable:
        table += [f"discover_p{k}" for k in range(len(programs))]
    flags = ", ".join(f"DISCOVER_ASM_{k}" for k in range(len(programs))) or "0"
    parts += [f"#define DISCOVER_COUNT {len(table)}",
              f"static const int discover_asm[] = {{{flags}}};",
              "static void (*const discover_table[DISCOVER_COUNT])(T *) = {"
              + ", ".join(table) + "};", _TAIL if task.is_sort else _KERNEL_TAIL]
    return "\n".join(parts) + "\n"


_LIBRARIES: dict[str, ctypes.CDLL] = {}  # path -> loaded library


def build_library(source: str) -> ctypes.CDLL:
    """Compile ``source`` to a shared library once (cached on disk by hash) and load it."""
    cc = _native.compiler()
    if cc is None:
        raise _native.NativeError(_native.native_unavailable() or "no C compiler")
    key = hashlib.sha256("\0".join((source, cc, *CFLAGS)).encode()).hexdigest()[:16]
    folder = cache_dir() / "native"
    folder.mkdir(parents=True, exist_ok=True)
    lib = folder / f"routine_{key}.so"
    if str(lib) in _LIBRARIES:
        return _LIBRARIES[str(lib)]
    if not lib.exists():
        c_file = folder / f"routine_{key}.c"
        write_atomic(c_file, source)
        tmp = folder / f".routine_{key}.{os.getpid()}.so"
        result = subprocess.run([cc, *CFLAGS, "-o", str(tmp), str(c_file)],
                                capture_output=True, text=True, check=False)
        if result.returncode != 0:
            tmp.unlink(missing_ok=True)
            first = (result.stderr.strip().splitlines() or ["unknown error"])[0]
            raise _native.NativeError(f"C compiler failed ({cc}): {first}")
        os.replace(tmp, lib)  # atomic: a concurrent build never loads a half-written file
        _COUNTERS.compiles += 1
    _LIBRARIES[str(lib)] = loaded = ctypes.CDLL(str(lib))
    return loaded


_P, _L, _I = ctypes.c_void_p, ctypes.c_long, ctypes.c_int
_SIGNATURES = {  # name: (argument types, result type)
    "discover_count": ([], _I),
    "discover_have_asm": ([_L], _I),
    "discover_have_tsc": ([], _I),
    "discover_tsc_per_ns": ([ctypes.c_double], ctypes.c_double),
    "discover_sort_rows": ([_P, _L, _I], None),
    "discover_time_rows": ([_P, _L, _I], ctypes.c_double),
    "discover_sample": ([_P, _L, _L, _I, _I, _L, _L, _P, _P, _L, _P], None),
}


class Batch:
    """Programs compiled together into one library (see the module doc for the table).

    NativeError if native code cannot be built here; ExportError (from the exporter) if
    a program is ill-formed, or incorrect and ``force`` is False.
    """

    def __init__(self, programs, task: Task, ctype: str = "int64", portable: bool = False,
                 force: bool = True):
        reason = _native.native_unavailable()
        if reason:
            raise _native.NativeError(reason)
        self.programs, self.task, self.ctype = list(programs), task, ctype
        self.dtype = np.dtype(ctype) if ctype in C_TYPES else None
        self.source = batch_source(self.programs, task, ctype, portable, force)
        self._lib = build_library(self.source)
        for fn_name, (args, result) in _SIGNATURES.items():
            fn = getattr(self._lib, fn_name)
            fn.argtypes, fn.restype = args, result
        self.count = int(self._lib.discover_count())
        self.has_asm = [bool(self._lib.discover_have_asm(k)) for k in range(len(self.programs))]
        self.has_tsc = bool(self._lib.discover_have_tsc())
        self.portable = portable

    def routine(self, k: int, portable: bool = False) -> int:
        """Table index of program k (its portable C: only in a library built with it)."""
        if not 0 <= k < len(self.programs) or (portable and not self.portable):
            raise IndexError(f"no routine for program {k} (portable={portable})")
        return 1 + k + (len(self.programs) if portable else 0)

    def _rows(self, x: np.ndarray) -> None:
        if x.ndim != 2 or x.shape[1] != self.task.n or x.dtype != self.dtype \
                or not x.flags.c_contiguous or not x.flags.writeable:
            raise ValueError(f"expected a writable C-contiguous {self.dtype}[M, {self.task.n}]")

    def sort_rows(self, x: np.ndarray, routine: int) -> np.ndarray:
        """Sort every row of ``x: T[M, N]`` in place with one routine of the table (a
        kernel: its outputs in the first K columns, the rest scratch)."""
        self._rows(x)
        self._lib.discover_sort_rows(x.ctypes.data, x.shape[0], routine)
        return x

    def time_rows(self, x: np.ndarray, routine: int) -> float:
        """ns taken by ``sort_rows(x, routine)``, timed in C."""
        self._rows(x)
        return float(self._lib.discover_time_rows(x.ctypes.data, x.shape[0], routine))

    def tsc_per_ns(self, spin_ns: float = 2e7) -> float:
        """TSC ticks per ns against CLOCK_MONOTONIC (0.0 without a TSC)."""
        return float(self._lib.discover_tsc_per_ns(spin_ns))

    def sample(self, src: np.ndarray, inner: int, chain: bool, clock: int,
               order: np.ndarray, starts: np.ndarray, stride: int = 1) -> np.ndarray:
        """``float64[rounds, width]``: ticks of each sample, in the order given.

        ``order: int32[rounds, width]`` the routines of each round in the order they run;
        ``starts: int64[rounds]`` each round's first array (every routine of a round sorts
        the same arrays); ``src: T[M, N]`` the arrays.
        """
        src = np.ascontiguousarray(src, dtype=self.dtype)
        order = np.ascontiguousarray(order, dtype=np.int32)
        starts = np.ascontiguousarray(starts, dtype=np.int64)
        rounds, width = order.shape
        if src.ndim != 2 or src.shape[1] != self.task.n or src.shape[0] < 1:
            raise ValueError(f"expected arrays {self.dtype}[M, {self.task.n}], M >= 1")
        if order.size and (order.min() < 0 or order.max() >= self.count):
            raise ValueError(f"routine index out of range 0..{self.count - 1}")
        if starts.shape != (rounds,) or (starts.size and (starts.min() < 0
                                                          or starts.max() >= src.shape[0])):
            raise ValueError("one start per round, each in 0..M-1")
        if not 0 <= stride < src.shape[0]:
            raise ValueError("stride must be in 0..M-1")
        out = np.empty((rounds, width), dtype=np.float64)  # float64[rounds, width]
        self._lib.discover_sample(src.ctypes.data, src.shape[0], inner, int(chain), clock,
                                  rounds, width, order.ctypes.data, starts.ctypes.data,
                                  stride, out.ctypes.data)
        return out
