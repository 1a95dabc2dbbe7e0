"""varsortN programs natively: a batch library of ``(T *a, long n)`` routines and its timing.

The fixed-size harness (``discover.native.build``) calls ``void sortN(T *a)``; a varsort
routine also takes the length, so it has a harness of its own, the same in every other
respect: one library per batch (the null routine at table index 0, program k at 1 + k,
each its exact instructions as inline assembly, each its own 64-byte aligned function
called through the table), rounds in a seeded random order, the null routine's sample of
the same round subtracted, the TSC as clock where it is invariant.

Each sort gets the next random array (copied into a buffer whole, all N cells, so the
harness does the same work whatever the length) and the next length from a sequence of
lengths drawn in advance: ``uniform`` lengths 0..N drawn at random per call, so the
routine's branches on the length are as unpredictable as that distribution makes them,
or one fixed length (every branch predictable). In latency mode the next array depends
on every cell of the previous sort's buffer (``(OR of buf) & zero``, no branch on the
length), so sorts never overlap; the length itself does not wait for the previous sort
(a length is usually known early), so a mispredicted branch costs what it costs when the
length is ready and the data is not.
"""

from __future__ import annotations

import ctypes
import uuid

import numpy as np

from discover.export import C_TYPES, ExportError, to_c_source
from discover.kernels import Program, Task
from discover.native import toolchain as _native
from discover.native.build import _COUNTERS, _HEAD, CLOCK_MONOTONIC, CLOCK_TSC, build_library
from discover.native.sampling import (Measurement, SamplingConfig, _ticks_per_ns, pinned,
                                      resolve_clock)

__all__ = ["LENGTH_COUNT", "VarBatch", "random_lengths", "time_varsort", "varsort_source"]

LENGTH_COUNT = 1 << 16
"""Lengths drawn per sequence: far more calls than a branch predictor learns. (A short
sequence repeated is learned: the branches on 1,000 lengths sorted over and over are
predicted well enough to make a sort of random lengths look about 3 times faster.)"""

# The clocks of the fixed harness (its part 1 up to its null routine), reused as they are.
_CLOCKS = _HEAD.split("DISCOVER_ROUTINE discover_null")[0]

_NULL = r"""
DISCOVER_ROUTINE discover_null(T *a, long n)
{ __asm__ volatile("" : : "r"(a), "r"(n) : "memory"); }
"""

_TAIL = r"""
/* ---- varsort timing harness (discover.native.varsort), part 2 ---- */
int discover_count(void) { return DISCOVER_COUNT; }
int discover_have_asm(long k) { return discover_asm[k]; }
int discover_have_tsc(void) { return DISCOVER_HAVE_TSC; }

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

/* Sort x[j, 0..lengths[j]-1] for every row j (m rows of N) with one routine. */
void discover_sort_rows(T *x, const int64_t *lengths, long m, int routine)
{
    void (*fn)(T *, long) = discover_table[routine];
    for (long j = 0; j < m; j++) fn(x + j * N, (long)lengths[j]);
}

/* `inner` sorts: array j, j + 1, ... (mod m), copied whole into buf, with the lengths
   q, q + 1, ... (mod lm). Latency (chain): the next input is the next array plus (the
   OR of every cell of buf) & zero. No branch depends on the length here. */
static inline __attribute__((always_inline)) void discover_block(
    void (*fn)(T *, long), const T *src, long m, long j, const int64_t *lens, long lm,
    long q, long inner, const int chain, T *buf)
{
    const T zero = discover_zero;
    T d = 0;
    for (long r = 0; r < inner; r++) {
        const T *s = src + j * N;
        for (int i = 0; i < N; i++) buf[i] = s[i] + d;
        fn(buf, (long)lens[q]);
        if (chain) {
            T all = buf[0];
            for (int i = 1; i < N; i++) all |= buf[i];
            d = all & zero;
        }
        if (++j >= m) j = 0;
        if (++q >= lm) q = 0;
    }
}

#define DISCOVER_WARM 16

#define DISCOVER_TIMED(BEGIN, END)                                                  \
    do {                                                                            \
        discover_block(fn, src, m, j, lens, lm, q, DISCOVER_WARM, chain, buf);      \
        uint64_t t0 = BEGIN();                                                      \
        if (chain) discover_block(fn, src, m, j, lens, lm, q, inner, 1, buf);       \
        else discover_block(fn, src, m, j, lens, lm, q, inner, 0, buf);             \
        out[r * width + i] = (double)(END() - t0);                                  \
    } while (0)

static inline uint64_t discover_ns_begin(void) { return (uint64_t)discover_now_ns(); }

/* out[r * width + i]: ticks of one sample of routine order[r * width + i] in round r, on
   the arrays from starts[r] and the lengths from lstarts[r]. */
void discover_sample(const T *src, long m, const int64_t *lens, long lm, long inner,
                     int chain, int clock, long rounds, long width, const int32_t *order,
                     const int64_t *starts, const int64_t *lstarts, double *out)
{
    T buf[N];
    for (long r = 0; r < rounds; r++) {
        long j = (long)starts[r], q = (long)lstarts[r];
        for (long i = 0; i < width; i++) {
            void (*fn)(T *, long) = discover_table[order[r * width + i]];
            if (clock == 0) DISCOVER_TIMED(discover_tsc_begin, discover_tsc_end);
            else DISCOVER_TIMED(discover_ns_begin, discover_ns_begin);
        }
    }
}
"""


def varsort_source(programs: list[Program], task: Task, ctype: str = "int64",
                   force: bool = True) -> str:
    """The C of a varsort batch library: every program's export, renamed, then the harness."""
    if not task.variable:
        raise ValueError(f"{task.name} is not a varsort task")
    if ctype not in C_TYPES:
        raise ValueError(f"unknown C type {ctype!r} (known: {', '.join(C_TYPES)})")
    name = task.name
    parts = [f"#define T {C_TYPES[ctype][0]}", f"#define N {task.n}", _CLOCKS, _NULL]
    table = ["discover_null"]
    for k, program in enumerate(programs):
        try:
            exported = to_c_source(program, task, force=force, ctype=ctype)
        except ExportError as error:
            raise ExportError(f"program {k} of the batch: {error}") from None
        parts += [f"/* ---- program {k} ---- */",
                  f"#define {name} discover_c{k}", f"#define {name}_asm discover_c{k}_asm",
                  f"#define {name}_portable discover_c{k}_portable", exported,
                  "#ifdef DISCOVER_HAVE_ASM",
                  f"#define DISCOVER_ASM_{k} 1",
                  f"DISCOVER_ROUTINE discover_r{k}(T *a, long n) {{ discover_c{k}_asm(a, n); }}",
                  "#else",
                  f"#define DISCOVER_ASM_{k} 0",
                  (f"DISCOVER_ROUTINE discover_r{k}(T *a, long n) "
                   f"{{ discover_c{k}_portable(a, n); }}"),
                  "#endif",
                  f"DISCOVER_ROUTINE discover_p{k}(T *a, long n) "
                  f"{{ discover_c{k}_portable(a, n); }}",
                  "#undef DISCOVER_HAVE_ASM", f"#undef {name}", f"#undef {name}_asm",
                  f"#undef {name}_portable"]
        table.append(f"discover_r{k}")
    table += [f"discover_p{k}" for k in range(len(programs))]
    flags = ", ".join(f"DISCOVER_ASM_{k}" for k in range(len(programs))) or "0"
    parts += [f"#define DISCOVER_COUNT {len(table)}",
              f"static const int discover_asm[] = {{{flags}}};",
              "static void (*const discover_table[DISCOVER_COUNT])(T *, long) = {"
              + ", ".join(table) + "};", _TAIL]
    return "\n".join(parts) + "\n"


_P, _L, _I = ctypes.c_void_p, ctypes.c_long, ctypes.c_int
_SIGNATURES = {
    "discover_count": ([], _I),
    "discover_have_asm": ([_L], _I),
    "discover_have_tsc": ([], _I),
    "discover_tsc_per_ns": ([ctypes.c_double], ctypes.c_double),
    "discover_sort_rows": ([_P, _P, _L, _I], None),
    "discover_sample": ([_P, _L, _P, _L, _L, _I, _I, _L, _L, _P, _P, _P, _P], None),
}


class VarBatch:
    """varsort programs compiled together: table index 0 the null routine, 1 + k program
    k (asm where it fits), 1 + P + k program k's portable C.

    NativeError if native code cannot be built here; ExportError if a program is
    ill-formed (or incorrect and ``force`` is False).
    """

    def __init__(self, programs, task: Task, ctype: str = "int64", force: bool = True):
        reason = _native.native_unavailable()
        if reason:
            raise _native.NativeError(reason)
        self.programs, self.task, self.ctype = list(programs), task, ctype
        self.dtype = np.dtype(ctype)
        self.source = varsort_source(self.programs, task, ctype, force)
        self._lib = build_library(self.source)
        for fn_name, (args, result) in _SIGNATURES.items():
            fn = getattr(self._lib, fn_name)
            fn.argtypes, fn.restype = args, result
        self.count = int(self._lib.discover_count())
        self.has_asm = [bool(self._lib.discover_have_asm(k)) for k in range(len(self.programs))]
        self.has_tsc = bool(self._lib.discover_have_tsc())

    def routine(self, k: int, portable: bool = False) -> int:
        """Table index of program k (or of its portable C)."""
        if not 0 <= k < len(self.programs):
            raise IndexError(f"no routine for program {k}")
        return 1 + k + (len(self.programs) if portable else 0)

    def sort_rows(self, x: np.ndarray, lengths, routine: int) -> np.ndarray:
        """Sort ``x[j, :lengths[j]]`` of ``x: T[M, N]`` in place, every row j; ValueError
        for a length outside 0..N (the routines do not check it)."""
        n = self.task.n
        if x.ndim != 2 or x.shape[1] != n or x.dtype != self.dtype \
                or not x.flags.c_contiguous or not x.flags.writeable:
            raise ValueError(f"expected a writable C-contiguous {self.dtype}[M, {n}]")
        lengths = np.ascontiguousarray(lengths, dtype=np.int64)
        if lengths.shape != (x.shape[0],):
            raise ValueError(f"expected one length per row ({x.shape[0]}), got {lengths.shape}")
        if lengths.size and (lengths.min() < 0 or lengths.max() > n):
            raise ValueError(f"{self.task.name} sorts at most {n} items, got a length of "
                             f"{int(lengths.max()) if lengths.max() > n else int(lengths.min())}")
        if not 0 <= routine < self.count:
            raise ValueError(f"routine index out of range 0..{self.count - 1}")
        self._lib.discover_sort_rows(x.ctypes.data, lengths.ctypes.data, x.shape[0], routine)
        return x

    def tsc_per_ns(self, spin_ns: float = 2e7) -> float:
        return float(self._lib.discover_tsc_per_ns(spin_ns))

    def sample(self, src: np.ndarray, lengths: np.ndarray, inner: int, chain: bool,
               clock: int, order: np.ndarray, starts: np.ndarray,
               lstarts: np.ndarray) -> np.ndarray:
        """``float64[rounds, width]``: ticks of each sample, in the order given."""
        n = self.task.n
        src = np.ascontiguousarray(src, dtype=self.dtype)
        lengths = np.ascontiguousarray(lengths, dtype=np.int64)
        order = np.ascontiguousarray(order, dtype=np.int32)
        starts = np.ascontiguousarray(starts, dtype=np.int64)
        lstarts = np.ascontiguousarray(lstarts, dtype=np.int64)
        rounds, width = order.shape
        if src.ndim != 2 or src.shape[1] != n or src.shape[0] < 1:
            raise ValueError(f"expected arrays {self.dtype}[M, {n}], M >= 1")
        if lengths.ndim != 1 or lengths.size < 1 or lengths.min() < 0 or lengths.max() > n:
            raise ValueError(f"expected lengths int64[L] in 0..{n}, L >= 1")
        if order.size and (order.min() < 0 or order.max() >= self.count):
            raise ValueError(f"routine index out of range 0..{self.count - 1}")
        for what, values, limit in (("starts", starts, src.shape[0]),
                                    ("lstarts", lstarts, lengths.size)):
            if values.shape != (rounds,) or (values.size and (values.min() < 0
                                                              or values.max() >= limit)):
                raise ValueError(f"one of {what} per round, each in 0..{limit - 1}")
        out = np.empty((rounds, width), dtype=np.float64)  # float64[rounds, width]
        self._lib.discover_sample(src.ctypes.data, src.shape[0], lengths.ctypes.data,
                                  lengths.size, inner, int(chain), clock, rounds, width,
                                  order.ctypes.data, starts.ctypes.data, lstarts.ctypes.data,
                                  out.ctypes.data)
        return out


def random_lengths(task: Task, count: int = LENGTH_COUNT, seed: int = 0,
                   length: int | None = None) -> np.ndarray:
    """``int64[count]``: lengths uniform over 0..N (drawn per call, the same for a seed),
    or all ``length``."""
    if length is not None:
        if not 0 <= length <= task.n:
            raise ValueError(f"{task.name} sorts at most {task.n} items, got length {length}")
        return np.full(count, length, dtype=np.int64)
    rng = np.random.default_rng([seed, 1])  # a stream of its own: not the arrays'
    return rng.integers(0, task.n + 1, size=count).astype(np.int64)


def varsort_arrays(task: Task, arrays: int, seed: int = 0, dtype=np.int64) -> np.ndarray:
    """``T[M, N]`` random values as the fixed sorts' ``random_arrays`` (ties included)."""
    from discover.native.sampling import random_arrays

    return random_arrays(task, arrays, seed, dtype)


def time_varsort(programs, task: Task, config: SamplingConfig, length: int | None = None,
                 batch: VarBatch | None = None) -> list[Measurement]:
    """Time varsort programs in one library and the same rounds, on lengths drawn
    uniformly from 0..N per call (``length`` None) or on one fixed length; one Measurement
    per program (``ratio`` pairs any two of them by round). Not cached: the lengths are
    part of what is measured."""
    programs = list(programs)
    batch = batch if batch is not None else VarBatch(programs, task, ctype=config.ctype)
    clock = resolve_clock(config.clock)
    if clock == "tsc" and not batch.has_tsc:
        raise _native.NativeError("clock 'tsc' asked for, but this build has no TSC")
    tpn = _ticks_per_ns(batch, clock)
    width = len(programs) + 1
    total = config.warmup + config.rounds
    rng = np.random.default_rng(config.seed)
    order = np.argsort(rng.random((total, width)), axis=1).astype(np.int32)  # int32[R, P+1]
    starts = (np.arange(total, dtype=np.int64) * config.inner) % config.arrays  # int64[R]
    lengths = random_lengths(task, LENGTH_COUNT, config.seed, length)  # int64[L]
    lstarts = (np.arange(total, dtype=np.int64) * config.inner) % lengths.size  # int64[R]
    src = varsort_arrays(task, config.arrays, config.seed, np.dtype(config.ctype))
    with pinned(config.pin):
        raw = batch.sample(src, lengths, config.inner, config.mode == "latency",
                           CLOCK_TSC if clock == "tsc" else CLOCK_MONOTONIC, order, starts,
                           lstarts)
    values = np.empty_like(raw)  # float64[R, P+1]: column = table index
    np.put_along_axis(values, order.astype(np.int64), raw, axis=1)
    values = values[config.warmup:]
    net = (values[:, 1:width] - values[:, :1]) / config.inner  # float64[rounds, P]
    _COUNTERS.programs_timed += len(programs)
    _COUNTERS.batches_timed += 1
    run_id = uuid.uuid4().hex[:16]
    return [Measurement(program.text(), task.name, config.mode, np.ascontiguousarray(net[:, k]),
                        tpn, clock, run_id, batch.has_asm[k], confidence=config.confidence)
            for k, program in enumerate(programs)]
