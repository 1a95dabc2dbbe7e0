"""The network beam search: time per restart, and restarts on one and two threads.

    pytest bench/bench_search_beam.py --benchmark-columns=mean,ops --benchmark-group-by=group

Each test records the restart's length in ``extra_info["length"]``. The exchange kernel
and the verifier are compiled (or loaded from the cache) by a first untimed search.
"""

import pytest

from discover.kernels import Task, verify
from discover.search import BeamConfig, Monitor, search_beam


def _search(task, **fields):
    return search_beam(task, BeamConfig(**fields), Monitor())


@pytest.mark.parametrize("n", [6, 7, 8])
def test_restart(benchmark, n):
    """One restart of the default search (width 24, orders chosen by the beam)."""
    task = Task(n)
    _search(task, restarts=1)  # warm the JIT
    benchmark.group = "beam restart"
    result = benchmark.pedantic(_search, args=(task,), kwargs={"restarts": 1}, rounds=3)
    assert verify(result.program, task).correct
    benchmark.extra_info["length"] = len(result.program)


@pytest.mark.parametrize("workers", [1, 2])
def test_workers(benchmark, workers):
    """sort7: four restarts in one process vs two worker processes (spawn included)."""
    task = Task(7)
    _search(task, restarts=1)
    benchmark.group = "beam workers (sort7, 4 restarts)"
    result = benchmark.pedantic(_search, args=(task,),
                                kwargs={"restarts": 4, "workers": workers}, rounds=2)
    benchmark.extra_info["length"] = len(result.program)
