"""Exported routines against the baselines, per row of an (M, N) array and per list.

Run: ``python -m pytest bench/bench_export.py --benchmark-columns=min,median,mean
--benchmark-group-by=group``. Every figure is for ROWS rows (divide by ROWS for ns per
sort); `discover bench` prints ns per sort directly. JIT compiled and libraries built
before anything is timed.
"""

from __future__ import annotations

import numpy as np
import pytest

from discover.export import to_function, to_numba_functions
from discover.kernels import Task, baseline_program
from discover.measure import known_program
from discover.native import NativeRoutine, native_unavailable

ROWS = 10_000
SIZES = (3, 4, 5)


def _programs(n):
    task = Task(n)
    out = {"network": baseline_program(task)}
    known = known_program(task)
    if known is not None and known != out["network"]:
        out["known"] = known
    return task, out


def _rows(n):
    return np.random.default_rng(0).integers(-1000, 1000, size=(ROWS, n))  # int64[M, N]


def _pedantic(benchmark, fn, x, rounds=30):
    # A fresh copy every round: sorting sorted rows would flatter the branchy sorts.
    benchmark.pedantic(fn, setup=lambda: ((x.copy(),), {}), rounds=rounds, warmup_rounds=1)


CASES = [(n, name) for n in SIZES for name in _programs(n)[1]]


@pytest.mark.parametrize("n, name", CASES)
def test_numba_rows(benchmark, n, name):
    task, programs = _programs(n)
    _, rows = to_numba_functions(programs[name], task)
    x = _rows(n)
    rows(x[:2].copy())  # compile first
    benchmark.group = f"sort{n} rows"
    benchmark.extra_info["ns_per_sort_note"] = f"divide by {ROWS}"
    _pedantic(benchmark, rows, x)
    assert np.array_equal(rows(x.copy()), np.sort(x, axis=1))


@pytest.mark.parametrize("n", SIZES)
def test_numpy_sort_rows(benchmark, n):
    x = _rows(n)
    benchmark.group = f"sort{n} rows"
    _pedantic(benchmark, lambda y: y.sort(axis=1), x)


@pytest.mark.skipif(native_unavailable() is not None, reason=native_unavailable() or "")
@pytest.mark.parametrize("n, name", CASES)
def test_native_asm_rows(benchmark, n, name):
    task, programs = _programs(n)
    routine = NativeRoutine(programs[name], task)
    x = _rows(n)
    benchmark.group = f"sort{n} rows"
    _pedantic(benchmark, routine.sort_rows, x)
    assert np.array_equal(routine.sort_rows(x.copy()), np.sort(x, axis=1))


@pytest.mark.parametrize("n, name", CASES)
def test_python_export_lists(benchmark, n, name):
    task, programs = _programs(n)
    fn = to_function(programs[name], task)
    lists = _rows(n)[:1000].tolist()
    benchmark.group = f"sort{n} 1000 lists"
    benchmark.pedantic(lambda ls: [fn(v) for v in ls],
                       setup=lambda: (([list(v) for v in lists],), {}), rounds=20)


@pytest.mark.parametrize("n", SIZES)
def test_sorted_lists(benchmark, n):
    lists = _rows(n)[:1000].tolist()
    benchmark.group = f"sort{n} 1000 lists"
    benchmark(lambda: [sorted(v) for v in lists])
