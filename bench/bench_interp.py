"""Interpreter throughput, in instruction x input executions per second.

    pytest bench/bench_interp.py --benchmark-columns=mean,ops --benchmark-group-by=group

Each test records ``extra_info["executions_per_s"]`` (instructions x inputs / mean time).
"""

import numpy as np
import pytest

from discover.kernels import Task, baseline_program
from discover.kernels import initial_state, run, run_reference, step
from numpy_executor import run_numpy

REFERENCE_INPUTS = 2000  # the Python reference is slow: time it on a prefix of the inputs


def record(benchmark, work):
    stats = getattr(benchmark, "stats", None)
    if stats:
        benchmark.extra_info["executions_per_s"] = work / stats.stats.mean


@pytest.fixture(params=[5, 8], ids=["sort5", "sort8"])
def case(request):
    task = Task(request.param)
    code = baseline_program(task).code
    expected = run(code, task.inputs, task.registers)  # also warms the JIT
    assert np.array_equal(expected, task.expected)
    return task, code


def test_compiled(benchmark, case):
    task, code = case
    benchmark.group = f"interpreter {task.name}"
    benchmark(run, code, task.inputs, task.registers)
    record(benchmark, len(code) * task.n_inputs)


def test_numpy_vectorised(benchmark, case):
    task, code = case
    benchmark.group = f"interpreter {task.name}"
    out = benchmark(run_numpy, code, task.inputs, task.registers)
    assert np.array_equal(out, task.expected)
    record(benchmark, len(code) * task.n_inputs)


def test_reference(benchmark, case):
    task, code = case
    benchmark.group = f"interpreter {task.name}"
    columns = task.inputs[:, :REFERENCE_INPUTS].T.tolist()
    rows = code.tolist()
    benchmark.pedantic(lambda: [run_reference(rows, c) for c in columns], rounds=3)
    record(benchmark, len(code) * len(columns))


@pytest.mark.parametrize("n", [3, 5, 8])
def test_incremental_step(benchmark, n):
    """One instruction applied to a stored state over all inputs (what envs and search do)."""
    task = Task(n)
    state = initial_state(task.inputs, task.registers)
    step(state, 1, 0, 0, task.registers)  # warm
    step(state, 1, 1, 1, task.registers)
    benchmark.group = "incremental step"
    benchmark(step, state, 3, 0, 1, task.registers)  # cmp r0, r1 over all inputs
    record(benchmark, task.n_inputs)


@pytest.mark.parametrize("threads", [1, 2])
def test_batch_of_programs(benchmark, threads):
    """64 programs of sort5 per call (what a search scores at once), on 1 or 2 threads."""
    import numba

    from discover.kernels import run_batch

    if threads > numba.config.NUMBA_NUM_THREADS:
        pytest.skip("fewer cores than threads")
    task = Task(5)
    code = baseline_program(task).code
    codes = np.ascontiguousarray(np.broadcast_to(code, (64, *code.shape)))
    lengths = np.full(64, len(code), dtype=np.int32)
    args = (codes, lengths, task.inputs, task.expected, task.registers)
    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        solved, _ = run_batch(*args)
        assert (solved == task.n_inputs).all()
        benchmark.group = "batch of 64 sort5 programs"
        benchmark(run_batch, *args)
    finally:
        numba.set_num_threads(previous)
    record(benchmark, 64 * len(code) * task.n_inputs)
