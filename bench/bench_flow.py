"""The branch-aware interpreter (ISA v2) and the varsort skeleton search.

    pytest bench/bench_flow.py --benchmark-columns=mean,ops --benchmark-group-by=group

The interpreter tests record ``extra_info["executions_per_s"]``: instructions run, summed
over the inputs (each input runs its own path), per second. ``test_straight_line`` times
the fixed sort8 network program through both interpreters (what the masks cost).
"""

import numpy as np
import pytest

from discover.kernels import Task, baseline_program, run, run_flow, varsort_program


def record(benchmark, work):
    stats = getattr(benchmark, "stats", None)
    if stats:
        benchmark.extra_info["executions_per_s"] = work / stats.stats.mean


@pytest.fixture(params=[5, 8], ids=["varsort5", "varsort8"])
def case(request):
    task = Task(request.param, variable=True)
    code = varsort_program(task.n).code
    memory, fault, executed, _ = run_flow(code, task.inputs, task.lengths, task.registers)
    assert np.array_equal(memory, task.expected) and not fault.any()  # also warms the JIT
    return task, code, int(executed.sum())


def test_flow(benchmark, case):
    task, code, work = case
    benchmark.group = f"flow interpreter {task.name}"
    benchmark(run_flow, code, task.inputs, task.lengths, task.registers)
    record(benchmark, work)


@pytest.mark.parametrize("kind", ["run", "run_flow"])
def test_straight_line(benchmark, kind):
    task = Task(8)
    code = baseline_program(task).code
    lengths = np.full(task.n_inputs, 8, dtype=np.int8)
    benchmark.group = "sort8 network: v1 loop vs flow loop"
    if kind == "run":
        run(code, task.inputs, task.registers)
        benchmark(run, code, task.inputs, task.registers)
    else:
        run_flow(code, task.inputs, lengths, task.registers)
        benchmark(run_flow, code, task.inputs, lengths, task.registers)
    record(benchmark, len(code) * task.n_inputs)


def test_skeleton_search_varsort5(benchmark):
    """The first three skeletons of varsort5 compiled and verified (seconds to 52)."""
    from discover.search import BeamConfig, search

    task = Task(5, variable=True)
    search(task, "beam", BeamConfig(restarts=1))  # warm the JIT and the network list
    result = benchmark.pedantic(search, args=(task, "beam", BeamConfig(restarts=3)),
                                rounds=1, iterations=1)
    assert result.program is not None and len(result.program) <= 63
