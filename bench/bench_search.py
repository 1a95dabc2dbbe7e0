"""Stochastic and random search: proposal throughput, parallel chains, time to a target.

    pytest bench/bench_search.py --benchmark-columns=mean,ops --benchmark-group-by=group

Throughput tests record ``extra_info["proposals_per_s"]`` (or ``programs_per_s``); the
time-to-target tests record the search time and the length reached. The JIT is warmed
(``run(0)``) before anything is timed; compile time is reported by ``discover search``
apart from search time.
"""

import numba
import pytest

from discover.kernels import Task, baseline_program, verify
from discover.kernels import mcmc
from discover.search import Monitor, RandomConfig, StochasticConfig, search_random, \
    search_stochastic
from discover.search.stochastic import _Chains

STEPS = 20_000  # proposals per chain per timed call


def chains_for(task, n_chains, seed=0):
    config = StochasticConfig(seed=seed, chains=n_chains).resolved(task)
    start = baseline_program(task)
    chains = _Chains(task, config, start, len(start) + 2)
    chains.run(0)  # warm the JIT
    chains.run(STEPS)  # leave the baseline: time a chain in its working regime
    return chains


@pytest.mark.parametrize("n", [3, 4, 5])
def test_proposals_per_second(benchmark, n):
    """Two chains (the default, one per core) from the network baseline."""
    task = Task(n)
    chains = chains_for(task, 2)
    benchmark.group = "stochastic proposals"
    benchmark.pedantic(chains.run, args=(STEPS,), rounds=3)
    stats = getattr(benchmark, "stats", None)
    if stats:
        benchmark.extra_info["proposals_per_s"] = 2 * STEPS / stats.stats.mean


@pytest.mark.parametrize("n_chains", [1, 2])
def test_parallel_chains(benchmark, n_chains):
    """sort5: total proposals/s with 1 chain on 1 thread vs 2 chains on 2 threads."""
    if n_chains > numba.config.NUMBA_NUM_THREADS:
        pytest.skip("fewer cores than chains")
    chains = chains_for(Task(5), n_chains)
    benchmark.group = "stochastic parallel chains (sort5)"
    benchmark.pedantic(chains.run, args=(STEPS,), rounds=3)
    stats = getattr(benchmark, "stats", None)
    if stats:
        benchmark.extra_info["proposals_per_s"] = n_chains * STEPS / stats.stats.mean


def test_time_to_sort3_17(benchmark):
    """Warm start from the 18-instruction network to 17 (AlphaDev-S: 0.4 s)."""
    task = Task(3)
    search_stochastic(task, StochasticConfig(steps=0), Monitor())  # warm the JIT

    def once():
        return search_stochastic(task, StochasticConfig(seed=0, steps=300_000), Monitor())

    benchmark.group = "stochastic time to target"
    result = benchmark.pedantic(once, rounds=1)
    assert verify(result.program, task).correct
    benchmark.extra_info.update(length=len(result.program), time_to_best=result.time_to_best)


def test_random_programs_per_second(benchmark):
    """The floor: masked random sort3 programs of 6..18 instructions, run on all inputs."""
    task = Task(3)
    search_random(task, RandomConfig(programs=0), Monitor())  # warm the JIT
    count = 200_000

    def once():
        return search_random(task, RandomConfig(seed=1, programs=count), Monitor())

    benchmark.group = "random programs"
    result = benchmark.pedantic(once, rounds=3)
    stats = getattr(benchmark, "stats", None)
    if stats:
        benchmark.extra_info["programs_per_s"] = count / stats.stats.mean
    benchmark.extra_info["length"] = len(result.program) if result.program else None


def test_well_formed_check(benchmark):
    """The per-proposal well-formedness check on the sort5 baseline (46 instructions)."""
    task = Task(5)
    code = baseline_program(task).code
    assert mcmc.well_formed(code, len(code), task.n, task.registers)
    benchmark.group = "stochastic parts"
    benchmark(mcmc.well_formed, code, len(code), task.n, task.registers)
