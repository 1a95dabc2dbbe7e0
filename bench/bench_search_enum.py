"""Enumerative search: time to a shortest program and to its proof, per task.

    pytest bench/bench_search_enum.py --benchmark-columns=mean,min --benchmark-group-by=group

The JIT is warmed before anything is timed (compile time is reported apart by
``discover search``). Each test records in ``extra_info``: the length found, whether it
was proved optimal, the time to the best program, and nodes expanded. sort4 and sort5
run under a time limit: they find their programs fast, the proofs take far longer.
"""

import pytest

from discover.kernels import Task, verify
from discover.search.base import Monitor
from discover.search.enum import EnumConfig, _warm_up, search_enum

# task -> (time limit in seconds, length it must reach). sort2 and sort3 run to their
# proof; under a time limit only the network's length is certain (what a time-limited
# search reaches depends on the machine: it is recorded, not asserted).
CASES = {"sort2": (None, 8), "sort3": (None, 17), "sort4": (2.0, 28), "sort5": (8.0, 46)}


@pytest.mark.parametrize("name", list(CASES))
def test_enum(benchmark, name):
    """Whole search: find, then prove (sort2, sort3) or stop at the time limit."""
    _warm_up()
    task = Task.from_name(name)
    limit, target = CASES[name]

    def once():
        return search_enum(task, EnumConfig(), Monitor(time_limit=limit))

    benchmark.group = "enum search"
    # the searches run to their proof are short: several rounds steady the mean
    rounds = 5 if limit is None else 1
    result = benchmark.pedantic(once, rounds=rounds, iterations=1, warmup_rounds=rounds // 5)
    assert result.program is not None and verify(result.program, task).correct
    assert len(result.program) <= target
    benchmark.extra_info.update(length=len(result.program), optimal=result.optimal,
                                time_to_best=result.time_to_best, stopped=result.stopped,
                                explored=result.explored)


@pytest.mark.parametrize("workers", [1, 2])
def test_proof_workers(benchmark, workers):
    """One whole-ISA proof iteration (sort4: no program of 21 instructions or fewer, about
    6,000 nodes, split at depth 5) on 1 and 2 worker processes; compare the two means
    for the speed-up (the processes start before the clock: a pool is kept for a proof)."""
    from discover.kernels import baseline_program
    from discover.search import proof
    from discover.search.tables import EnumTables

    _warm_up()
    task = Task(4)
    incumbent = baseline_program(task)
    pool = proof.Pool(task, False, workers, 4 << 30, EnumTables)

    def once():
        pool.reset()  # every round from empty tables, in the workers as here
        tables = EnumTables(task, 21)
        tables.set_incumbent(incumbent)
        units, _, _ = proof.split(tables, 21, 5)
        done: dict = {}
        outcome, _ = proof.iterate(tables, pool, 21, units, done, incumbent.code, Monitor(),
                                   4 << 30, lambda: None, [256], {"worker_nodes": 0})
        return outcome, sum(done.values())

    try:
        once()  # the workers load their kernels
        benchmark.group = "enum proof workers"
        outcome, nodes = benchmark.pedantic(once, rounds=3, iterations=1)
    finally:
        pool.close()
    assert outcome == "exhausted"
    benchmark.extra_info.update(workers=workers, nodes=nodes)
