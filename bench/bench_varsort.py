"""varsort3 exports, the human routine against a 21-instruction program, on random lengths.

Run: ``python -m pytest bench/bench_varsort.py --benchmark-columns=min,median,mean
--benchmark-group-by=group``. Every figure is for ROWS arrays of 0..3 items, the lengths
uniform over 0..3 and drawn per array (divide by ROWS for ns per sort); `discover bench
--task varsort3 bench/programs/varsort3_21.asm` prints ns per sort directly, with the
paired ratio to the human routine. JIT compiled and libraries built before anything is
timed; CI runs this file once with --benchmark-disable.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from discover.export import to_function, to_numba_functions
from discover.kernels import Program, Task, varsort_program
from discover.native import native_unavailable

ROWS = 10_000
TASK = Task.from_name("varsort3")
PROGRAMS = {"human": varsort_program(3),
            "short21": Program.read(Path(__file__).parent / "programs" / "varsort3_21.asm")}


def _data():
    rng = np.random.default_rng(0)
    x = rng.integers(-1000, 1000, size=(ROWS, 3))  # int64[M, 3]
    lengths = rng.integers(0, 4, size=ROWS)  # int64[M]: 0..3
    return x, lengths


def _expected(x, lengths):
    out = x.copy()
    for row, m in zip(out, lengths):
        row[:m] = np.sort(row[:m])
    return out


def _pedantic(benchmark, fn, x, rounds=20):
    # A fresh copy every round (sorted rows would flatter the branchy sorts) and fresh
    # lengths (the same lengths round after round would be learned by the branch
    # predictor: random lengths would look faster than they are).
    rng = np.random.default_rng(1)
    benchmark.pedantic(fn, setup=lambda: ((x.copy(), rng.integers(0, 4, size=len(x))), {}),
                       rounds=rounds, warmup_rounds=1)


@pytest.mark.parametrize("name", PROGRAMS)
def test_numba_rows(benchmark, name):
    _, rows = to_numba_functions(PROGRAMS[name], TASK)
    x, lengths = _data()
    rows(x[:2].copy(), lengths[:2])  # compile first
    benchmark.group = "varsort3 rows, random lengths"
    _pedantic(benchmark, rows, x)
    assert np.array_equal(rows(x.copy(), lengths), _expected(x, lengths))


@pytest.mark.skipif(native_unavailable() is not None, reason=native_unavailable() or "")
@pytest.mark.parametrize("name", PROGRAMS)
def test_native_asm_rows(benchmark, name):
    from discover.native.varsort import VarBatch

    batch = VarBatch([PROGRAMS[name]], TASK)
    x, lengths = _data()
    benchmark.group = "varsort3 rows, random lengths"
    _pedantic(benchmark, lambda y, m: batch.sort_rows(y, m, batch.routine(0)), x)
    assert np.array_equal(batch.sort_rows(x.copy(), lengths, batch.routine(0)),
                          _expected(x, lengths))


@pytest.mark.parametrize("name", PROGRAMS)
def test_python_export_lists(benchmark, name):
    fn = to_function(PROGRAMS[name], TASK)
    x, lengths = _data()
    lists = [row[:m] for row, m in zip(x[:1000].tolist(), lengths[:1000].tolist())]
    benchmark.group = "varsort3 1000 lists, random lengths"
    benchmark.pedantic(lambda ls: [fn(v) for v in ls],
                       setup=lambda: (([list(v) for v in lists],), {}), rounds=20)
    assert [fn(list(v)) for v in lists] == [sorted(v) for v in lists]


def test_sorted_lists(benchmark):
    x, lengths = _data()
    lists = [row[:m] for row, m in zip(x[:1000].tolist(), lengths[:1000].tolist())]
    benchmark.group = "varsort3 1000 lists, random lengths"
    benchmark(lambda: [sorted(v) for v in lists])
