"""The measurement service: candidate programs timed natively per minute, compile included.

    pytest bench/bench_native.py --benchmark-columns=mean,rounds --benchmark-group-by=group

``extra_info["candidates_per_minute"]`` is the figure: CANDIDATES distinct sort5
candidates (variants of the network program, as a search would propose) measured from an
empty cache, so every call exports, compiles (one library per ``batch_size``), samples
with the default ``SamplingConfig`` and writes the cache. The verifier's JIT and the
exporter are warmed on another program first. The second test times the same call
against a full cache (no compile, no sampling).
"""

from __future__ import annotations

import random

import pytest
from discover.kernels import CMOVS, CMP, Program, Task

from discover.kernels import baseline_program
from discover.native import SamplingConfig, counters, measure, native_unavailable

CANDIDATES = 1000
pytestmark = pytest.mark.skipif(native_unavailable() is not None,
                                reason=native_unavailable() or "")


def candidates(task: Task, count: int, seed: int = 0) -> list[Program]:
    """``count`` distinct variants of the network: cmov conditions and cmp operands
    changed (well-formed, mostly incorrect: the timing does not care)."""
    rng = random.Random(seed)
    rows0 = list(baseline_program(task))
    out: dict[str, Program] = {}
    while len(out) < count:
        rows = list(rows0)
        for _ in range(3):
            i = rng.randrange(task.n, len(rows) - task.n)
            op, dst, src = rows[i]
            if op in CMOVS:
                rows[i] = (rng.choice(CMOVS), dst, src)
            elif op == CMP:
                rows[i] = (CMP, src, dst)
        program = Program.from_instructions(rows)
        out[program.text()] = program
    return list(out.values())


def _fresh_cache(tmp_path_factory, monkeypatch):
    folder = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("DISCOVER_CACHE_DIR", str(folder))


def test_candidates_per_minute(benchmark, tmp_path_factory, monkeypatch):
    task = Task(5)
    programs = candidates(task, CANDIDATES)
    _fresh_cache(tmp_path_factory, monkeypatch)
    measure([baseline_program(task)], task)  # warm the verifier's JIT and the exporter
    before = counters()
    calls = []  # one entry per timed call (one with --benchmark-disable, else `rounds`)

    def run():
        calls.append(1)
        measure(programs, task, SamplingConfig())

    benchmark.group = "native measurement service"
    # An empty cache for every round: each one compiles and times all the candidates.
    benchmark.pedantic(run, rounds=2, setup=lambda: _fresh_cache(tmp_path_factory, monkeypatch))
    after = counters()
    assert after.programs_timed - before.programs_timed == len(calls) * CANDIDATES
    stats = getattr(benchmark, "stats", None)
    if stats:
        benchmark.extra_info["candidates_per_minute"] = CANDIDATES * 60 / stats.stats.mean
        benchmark.extra_info["compiles_per_round"] = (after.compiles - before.compiles) / len(calls)


def test_cached_candidates_per_minute(benchmark, tmp_path_factory, monkeypatch):
    task = Task(5)
    programs = candidates(task, CANDIDATES)
    _fresh_cache(tmp_path_factory, monkeypatch)
    measure(programs, task)  # fill the cache
    before = counters()
    benchmark.group = "native measurement service"
    benchmark.pedantic(measure, args=(programs, task), rounds=3)
    assert counters().programs_timed == before.programs_timed  # nothing timed again
    stats = getattr(benchmark, "stats", None)
    if stats:
        benchmark.extra_info["candidates_per_minute"] = CANDIDATES * 60 / stats.stats.mean
