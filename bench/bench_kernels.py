"""Kernel tasks' exported routines against their Python and NumPy references.

Run: ``python -m pytest bench/bench_kernels.py --benchmark-columns=min,median,mean
--benchmark-group-by=group`` (``--benchmark-disable`` runs each once, as a smoke test).
Every "rows" figure is for ROWS rows of an (M, N) array, every "lists" figure for LISTS
lists (divide for ns per call); ``discover bench --task T`` prints ns per call directly,
with its native latency rows. The arrays are ``discover.native.random_arrays`` (within
each task's domain: mergeA+B's halves sorted). JIT compiled and libraries built before
anything is timed; every routine's outputs are checked against the first reference.

Programs: each task's baseline (``discover baseline --task T``) and, for median5,
``bench/programs/median5_26.asm`` (Devillard's 7-comparator median network pruned by
hand: 26 instructions against the baseline's 34).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from discover.export import to_function, to_numba_functions
from discover.kernels import Program, Task, baseline_program
from discover.measure_kernels import numpy_references, python_references
from discover.native import NativeRoutine, native_unavailable, random_arrays

ROWS = 10_000
LISTS = 1_000
TASKS = ("median5", "min2max8", "top2-of-5", "merge4+4", "stablesort3")
PROGRAMS = Path(__file__).parent / "programs"


def _programs(name: str) -> tuple[Task, dict[str, Program]]:
    task = Task.from_name(name)
    out = {"baseline": baseline_program(task)}
    extra = PROGRAMS / f"{name}_26.asm"
    if extra.exists():
        out["median5_26"] = Program.parse(extra.read_text())
    return task, out


def _rows(task: Task) -> np.ndarray:
    return random_arrays(task, ROWS, seed=0)  # int64[M, N]


def _want(task: Task, x: np.ndarray) -> np.ndarray:
    """``int64[M, K]``: the task's outputs, by its first NumPy reference."""
    ref = numpy_references(task)[0]
    return ref.outputs(ref.rows(x))


CASES = [(name, label) for name in TASKS for label in _programs(name)[1]]


@pytest.mark.skipif(native_unavailable() is not None, reason=native_unavailable() or "")
@pytest.mark.parametrize("name, label", CASES)
def test_native_asm_rows(benchmark, name, label):
    task, programs = _programs(name)
    routine = NativeRoutine(programs[label], task)
    x = _rows(task)
    benchmark.group = f"{name} rows"
    benchmark.pedantic(routine.sort_rows, setup=lambda: ((x.copy(),), {}), rounds=30,
                       warmup_rounds=1)
    assert np.array_equal(routine.outputs(x), _want(task, x))


@pytest.mark.parametrize("name, label", CASES)
def test_numba_rows(benchmark, name, label):
    task, programs = _programs(name)
    _, rows = to_numba_functions(programs[label], task)
    x = _rows(task)
    rows(x[:2])  # compile first
    benchmark.group = f"{name} rows"
    benchmark.pedantic(rows, args=(x,), rounds=30, warmup_rounds=1)
    assert np.array_equal(rows(x), _want(task, x))


@pytest.mark.parametrize("name", TASKS)
def test_numpy_reference_rows(benchmark, name):
    task = Task.from_name(name)
    ref = numpy_references(task)[0]
    x = _rows(task)
    benchmark.group = f"{name} rows"
    benchmark.extra_info["reference"] = ref.label
    benchmark.pedantic(ref.rows, args=(x,), rounds=30, warmup_rounds=1)


@pytest.mark.parametrize("name, label", CASES)
def test_python_export_lists(benchmark, name, label):
    task, programs = _programs(name)
    fn = to_function(programs[label], task)
    lists = _rows(task)[:LISTS].tolist()
    benchmark.group = f"{name} {LISTS} lists"
    benchmark(lambda: [fn(v) for v in lists])
    assert [fn(v) for v in lists] == _want(task, _rows(task)[:LISTS]).tolist()


@pytest.mark.parametrize("name, which", [(name, k) for name in TASKS
                                         for k in range(len(python_references(
                                             Task.from_name(name))))])
def test_python_reference_lists(benchmark, name, which):
    task = Task.from_name(name)
    ref = python_references(task)[which]
    lists = _rows(task)[:LISTS].tolist()
    benchmark.group = f"{name} {LISTS} lists"
    benchmark.extra_info["reference"] = ref.label
    benchmark(lambda: [ref.call(v) for v in lists])
