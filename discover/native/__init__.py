"""Run and time programs natively: their exact instructions as x86-64 inline assembly.

The exported C (``discover.export.to_c_source``) of each program, plus a timing harness
also in C, is built with the system C compiler into a shared library (cached by the
source's hash) and loaded with ctypes. Timing happens entirely in C, so no Python
overhead is measured. One library holds a *batch* of routines: many programs, each its
own function, plus the null routine whose time is the harness's overhead.

Modules: ``build`` (the C source of a batch, compiling, loading), ``sampling`` (rounds
in a seeded random order, the clock, pinning; the ``measure`` service and its results),
``stats`` (pure NumPy statistics: medians, intervals, paired ratios), ``cache`` (the
measurement cache on disk), ``toolchain`` (the C compiler, and why native code cannot run) and ``routine`` (one program: ``NativeRoutine``, the figures
of ``discover bench``).

What the two modes measure (``SamplingConfig.mode``):

- **latency**: each sort's input is the next random array plus ``(OR of every output of
  the previous sort) & zero``, with a ``zero`` the compiler cannot see through. So a
  sort cannot start before the previous one has written *all* its outputs, sorts never
  overlap, and the time per sort is the routine's critical path from its loads to its
  last store (plus the harness's fixed chain, which the null routine also pays and
  which is subtracted; what is not subtracted is one store-to-load forwarding, since
  the sort reads inputs just stored, as a sort on memory does in real use). This is the
  figure AlphaDev ranks by: a small sort inside a larger algorithm usually sits on that
  algorithm's critical path.
- **throughput**: each sort gets a fresh random array and nothing depends on its output,
  so the out-of-order core overlaps consecutive sorts; the time per sort is how many
  sorts per second the core sustains (limited by instruction count and ports rather
  than by dependency chains), the figure for sorting many independent small arrays.
  Since work overlaps here, subtracting the null routine's time is an approximation:
  compare programs by their ratio rather than read the ns as a cost of their own.
"""

from __future__ import annotations


from discover.native.toolchain import NativeError, compiler, native_unavailable
from discover.native.build import Batch, counters
from discover.native.routine import (
    NativeRoutine,
    TimingConfig,
    native_latency,
    random_arrays,
    summarize,
)
from discover.native.sampling import (
    Measurement,
    SamplingConfig,
    measure,
    measure_together,
    ratio,
)
from discover.native.stats import (
    Ratio,
    Summary,
    median_ci,
    paired_ratio,
    summarize_samples,
    unpaired_ratio,
)

__all__ = ["Batch", "Measurement", "NativeError", "NativeRoutine", "Ratio", "SamplingConfig",
           "Summary", "TimingConfig", "compiler", "counters", "measure", "measure_together",
           "median_ci", "native_latency", "native_unavailable", "paired_ratio",
           "random_arrays", "ratio", "summarize", "summarize_samples", "unpaired_ratio"]
