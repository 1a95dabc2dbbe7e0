"""The stochastic search over ISA v2 (varsortN): proposal throughput of the v2 chains.

    pytest bench/bench_search_varsort.py --benchmark-columns=mean,ops

Records ``extra_info["proposals_per_s"]``. The JIT is warmed (``run(0)``) and the chains
leave the human routine (``run(STEPS)``) before anything is timed.
"""

import numpy as np
import pytest

from discover.kernels import flow_mcmc, mcmc
from discover.kernels.networks import varsort_program
from discover.kernels.tasks import Task
from discover.search import StochasticConfig
from discover.search.stochastic_flow import FlowChains, resolved

STEPS = 20_000  # proposals per chain per timed call


def chains_for(task, n_chains, seed=0):
    config = resolved(StochasticConfig(seed=seed, chains=n_chains), task)
    start = varsort_program(task.n)
    chains = FlowChains(task, config, start, len(start) + 4)
    chains.run(0)  # warm the JIT
    chains.run(STEPS)  # leave the human routine: time a chain in its working regime
    return chains


@pytest.mark.parametrize("name", ["varsort3", "varsort4", "varsort5"])
def test_flow_proposals_per_second(benchmark, name):
    """Two chains (the default, one per core) from the human routine."""
    chains = chains_for(Task.from_name(name), 2)
    benchmark.group = "stochastic proposals (varsort, ISA v2)"
    benchmark.pedantic(chains.run, args=(STEPS,), rounds=3)
    stats = getattr(benchmark, "stats", None)
    if stats:
        benchmark.extra_info["proposals_per_s"] = 2 * STEPS / stats.stats.mean
    counters = chains.counters.sum(axis=0)
    benchmark.extra_info["acceptance_rate"] = counters[mcmc.ACCEPTED] / counters[mcmc.PROPOSED]


def test_flow_well_formed_check(benchmark):
    """The per-proposal must-analysis on the varsort5 human routine (110 instructions)."""
    task = Task.from_name("varsort5")
    code = varsort_program(5).code
    scratch = (np.zeros(len(code) + 1, dtype=np.int64), np.zeros(len(code) + 1, dtype=np.bool_),
               np.zeros(len(code) + 1, dtype=np.bool_))
    assert flow_mcmc.well_formed_flow(code, len(code), task.n, task.registers, *scratch)
    benchmark.group = "stochastic parts (varsort, ISA v2)"
    benchmark(flow_mcmc.well_formed_flow, code, len(code), task.n, task.registers, *scratch)
