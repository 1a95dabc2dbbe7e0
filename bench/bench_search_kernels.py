"""Searches on kernel tasks: time to a shortest program and to its proof (enum), and the
stochastic search's time to its best, per task.

    pytest bench/bench_search_kernels.py --benchmark-columns=mean,min --benchmark-group-by=group
    pytest bench/bench_search_kernels.py --benchmark-disable        # smoke test

The JIT is warmed before anything is timed. Each test records in ``extra_info``: the
length found, whether it was proved optimal, the lower bound reached, the time to the
best program, and nodes (enum) or proposals (stochastic). The enum cases run to their
proof (median3, min2max3, merge2+2, stablesort2: under a few seconds) or under a time
limit (min2max4: its proof takes about 15 s on one idle core, so the bench stops it).
"""

import pytest

from discover.kernels import Task, baseline_program, verify
from discover.search import StochasticConfig, search
from discover.search.base import Monitor
from discover.search.enum import EnumConfig, _warm_up, search_enum

# task -> (time limit in seconds, length it must reach): the proved optimum where the
# search runs to its proof (README, "Beyond sorting"), else the baseline's length.
ENUM_CASES = {"median3": (None, 12), "min2max3": (None, 13), "merge2+2": (None, 20),
              "stablesort2": (None, 15), "min2max4": (3.0, 18)}
STOCHASTIC_CASES = ("median3", "median5", "min2max4", "merge2+2", "top2-of-5")


@pytest.mark.parametrize("name", list(ENUM_CASES))
def test_enum_kernel(benchmark, name):
    """Whole search (exact keys): find, then prove, or stop at the time limit."""
    _warm_up()
    task = Task.from_name(name)
    limit, target = ENUM_CASES[name]

    def once():
        return search_enum(task, EnumConfig(exact=True), Monitor(time_limit=limit))

    benchmark.group = "enum search, kernel tasks"
    rounds = 3 if limit is None else 1
    result = benchmark.pedantic(once, rounds=rounds, iterations=1)
    assert result.program is not None and verify(result.program, task).correct
    assert len(result.program) <= target
    if limit is None:
        assert result.optimal
    benchmark.extra_info.update(length=len(result.program), optimal=result.optimal,
                                lower_bound=result.notes.get("lower_bound"),
                                time_to_best=result.time_to_best, stopped=result.stopped,
                                explored=result.explored)


@pytest.mark.parametrize("name", STOCHASTIC_CASES)
def test_stochastic_kernel(benchmark, name):
    """The stochastic search for a fixed number of steps (seed 0, 2 chains, warm start
    from the baseline): same steps on every machine, so the length is reproducible."""
    task = Task.from_name(name)
    config = StochasticConfig(seed=0, steps=50_000)
    search(task, "stochastic", StochasticConfig(seed=0, steps=1))  # JIT

    def once():
        return search(task, "stochastic", config)

    benchmark.group = "stochastic search, kernel tasks"
    result = benchmark.pedantic(once, rounds=1, iterations=1)
    assert result.program is not None and verify(result.program, task).correct
    assert len(result.program) <= len(baseline_program(task))
    benchmark.extra_info.update(length=len(result.program),
                                baseline=len(baseline_program(task)),
                                time_to_best=result.time_to_best, explored=result.explored)
