"""The measurement service: batches, the cache, pairing, and the statistics (no test
asserts on a time: only on shapes, counts, orderings the harness guarantees, and on
statistics of synthetic samples)."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from discover.kernels import Task, run
from test_export import random_well_formed

from discover.kernels import baseline_program
from discover.measure import known_program
from discover.native import (
    Batch,
    NativeError,
    NativeRoutine,
    SamplingConfig,
    counters,
    measure,
    measure_together,
    median_ci,
    native_unavailable,
    paired_ratio,
    random_arrays,
    ratio,
    summarize_samples,
    unpaired_ratio,
)
from discover.native.stats import median_ci_ranks

REASON = native_unavailable()
needs_native = pytest.mark.skipif(REASON is not None, reason=REASON or "")
QUICK = SamplingConfig(rounds=9, inner=8, arrays=50)


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    # A fresh cache per test: the counts below start from nothing.
    monkeypatch.setenv("DISCOVER_CACHE_DIR", str(tmp_path / "cache"))


# ---------------------------------------------------------------------------------------
# Statistics on synthetic samples


def test_median_ci_ranks_match_the_sign_test_table():
    assert median_ci_ranks(20) == (5, 14)  # x_(6), x_(15): the textbook 95% interval
    assert median_ci_ranks(51) == (18, 32)
    assert median_ci_ranks(3) == (0, 2)  # too few for 95%: the extremes
    with pytest.raises(ValueError):
        median_ci_ranks(0)


def test_median_interval_covers_at_the_nominal_rate():
    rng = np.random.default_rng(1)
    true_median = 10.0  # of 10 * lognormal(0, 0.2)
    trials, covered = 600, 0
    for _ in range(trials):
        lo, hi = median_ci(true_median * rng.lognormal(0.0, 0.2, size=51))
        covered += lo <= true_median <= hi
    assert covered / trials >= 0.93


def test_summary_orders_its_figures():
    x = np.random.default_rng(0).normal(100.0, 5.0, size=101)
    s = summarize_samples(x)
    assert s.p5 <= s.lo <= s.median <= s.hi and s.n == 101
    assert np.isnan(summarize_samples([]).median)


def _rounds(rng, rounds, drift_sigma, noise_sigma):
    drift = rng.lognormal(0.0, drift_sigma, size=rounds)  # shared by a round's samples
    return drift, lambda: rng.lognormal(0.0, noise_sigma, size=rounds)


@pytest.mark.parametrize("true_ratio", [0.8, 0.95, 1.05, 1.25])
def test_paired_ratio_recovers_a_known_ratio_and_is_significant(true_ratio):
    rng = np.random.default_rng(2)
    drift, noise = _rounds(rng, 101, 0.1, 0.01)
    a, b = true_ratio * 20.0 * drift * noise(), 20.0 * drift * noise()
    r = paired_ratio(a, b)
    assert r.lo <= true_ratio <= r.hi and abs(r.ratio - true_ratio) < 0.01
    assert r.significant and r.paired and r.n == 101
    assert (r.hi < 1.0) == (true_ratio < 1.0)  # significant in the right direction


def test_equal_programs_are_not_significant():
    rng = np.random.default_rng(3)
    drift, noise = _rounds(rng, 101, 0.1, 0.02)
    r = paired_ratio(20.0 * drift * noise(), 20.0 * drift * noise())
    assert r.lo <= 1.0 <= r.hi and not r.significant


def test_pairing_beats_unpaired_when_rounds_share_a_drift():
    rng = np.random.default_rng(4)
    drift, noise = _rounds(rng, 101, 0.3, 0.01)
    a, b = 0.95 * 20.0 * drift * noise(), 20.0 * drift * noise()
    paired, unpaired = paired_ratio(a, b), unpaired_ratio(a, b)
    assert paired.lo <= 0.95 <= paired.hi and unpaired.lo <= 0.95 <= unpaired.hi
    assert (paired.hi - paired.lo) < 0.2 * (unpaired.hi - unpaired.lo)
    assert paired.significant and not unpaired.significant and not unpaired.paired


def test_unpaired_ratio_recovers_a_ratio_of_independent_samples():
    rng = np.random.default_rng(5)
    a, b = 12.0 * rng.lognormal(0, 0.02, 200), 10.0 * rng.lognormal(0, 0.02, 300)
    r = unpaired_ratio(a, b)
    assert r.lo <= 1.2 <= r.hi and r.significant
    assert unpaired_ratio(a, b) == r  # a fixed seed: the same interval


def test_paired_ratio_leaves_out_rounds_it_cannot_divide_by():
    r = paired_ratio([1.0, 2.0, 3.0, np.nan], [1.0, 0.0, -1.0, 2.0])
    assert r.n == 1 and r.ratio == 1.0
    with pytest.raises(ValueError):
        paired_ratio([1.0, 2.0], [1.0])


# ---------------------------------------------------------------------------------------
# Configuration and the logic around the harness (no native code)


@pytest.mark.parametrize("bad", [{"mode": "fast"}, {"ctype": "int8"}, {"rounds": 0},
                                 {"inner": 0}, {"clock": "rdtsc"}, {"warmup": -1},
                                 {"confidence": 1.0}, {"batch_size": 0}])
def test_sampling_config_rejects_bad_values(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        SamplingConfig(**bad)


def test_rounds_are_unpermuted_and_the_same_round_null_subtracted(monkeypatch):
    # A fake harness whose sample of table index k in round r is 1000 r + 10 k, whatever
    # position k ran at: net values come back per program, in program order, with the
    # same round's null taken off.
    from discover.native import sampling

    class FakeBatch:
        has_tsc, count = True, 4

        def __init__(self, programs, task, ctype="int64", force=True):
            self.has_asm = [True] * len(programs)

        def tsc_per_ns(self, spin_ns):
            return 2.0

        def sample(self, src, inner, chain, clock, order, starts, stride=1):
            rounds = np.arange(order.shape[0])[:, None]
            return 1000.0 * rounds + 10.0 * order

    monkeypatch.setattr(sampling, "Batch", FakeBatch)
    monkeypatch.setattr(sampling, "_TSC_PER_NS", [])
    programs = [baseline_program(Task(3)), known_program(Task(3)), baseline_program(Task(3))]
    config = SamplingConfig(rounds=7, inner=5, arrays=10, warmup=2, pin=False)
    ms = sampling._time_batch(programs, Task(3), config)
    for k, m in enumerate(ms):
        assert np.allclose(m.ticks, 10.0 * (k + 1) / 5) and m.ticks.shape == (7,)
        assert np.allclose(m.ns, m.ticks / 2.0)
    assert len({m.batch for m in ms}) == 1
    r = ratio(ms[1], ms[0])
    assert r.paired and r.ratio == pytest.approx(2.0)


def test_pinned_restores_the_affinity():
    import os

    from discover.native.sampling import pinned

    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("no affinity on this OS")
    before = os.sched_getaffinity(0)
    with pinned() as cpu:
        if cpu is not None:
            assert os.sched_getaffinity(0) == {cpu}
    assert os.sched_getaffinity(0) == before


def test_measure_without_native_says_why(monkeypatch):
    from discover import native

    monkeypatch.setattr(native.toolchain.platform, "machine", lambda: "aarch64")
    with pytest.raises(NativeError, match="x86-64"):
        measure([baseline_program(Task(3))], Task(3), QUICK)
    with pytest.raises(NativeError, match="x86-64"):
        measure_together([baseline_program(Task(3))], Task(3), QUICK)


# ---------------------------------------------------------------------------------------
# Batches on the real harness


def _random_programs(task, count, seed):
    rng = random.Random(seed)
    return [random_well_formed(task, rng.randrange(6, 20), rng) for _ in range(count)]


@needs_native
@pytest.mark.parametrize("n", [3, 5])
def test_a_batch_runs_each_program_as_one_library_each_would(n):
    task = Task(n)
    programs = [baseline_program(task)] + _random_programs(task, 5, n)
    if known_program(task) is not None:
        programs.append(known_program(task))
    batch = Batch(programs, task, portable=True)
    assert batch.count == 1 + 2 * len(programs) and all(batch.has_asm)
    inputs = np.ascontiguousarray(task.inputs.T.astype(np.int64))  # int64[B, N]
    rows = random_arrays(task, 200, seed=1)  # int64[200, N]
    for k, program in enumerate(programs):
        alone = NativeRoutine(program, task, force=True)
        expected = run(program.code, task.inputs, task.registers).T
        for portable in (False, True):
            got = batch.sort_rows(inputs.copy(), batch.routine(k, portable))
            assert np.array_equal(got, expected)
            assert np.array_equal(got, alone.sort_rows(inputs.copy(), portable=portable))
        if k == 0 or program == known_program(task):  # the correct ones sort anything
            assert np.array_equal(batch.sort_rows(rows.copy(), batch.routine(k)),
                                  np.sort(rows, axis=1))


@needs_native
def test_batch_sample_shapes_and_checks():
    task = Task(3)
    batch = Batch([baseline_program(task), known_program(task)], task)
    src = random_arrays(task, 20)
    order = np.array([[0, 1, 2], [2, 0, 1]], dtype=np.int32)
    out = batch.sample(src, 4, True, 1, order, np.array([0, 19]))
    assert out.shape == (2, 3) and np.isfinite(out).all() and (out >= 0).all()
    with pytest.raises(ValueError):
        batch.sample(src, 4, True, 1, order + 1, np.array([0, 1]))  # index 3: no routine
    with pytest.raises(ValueError):
        batch.sample(src, 4, True, 1, order, np.array([0, 20]))  # start past M


# ---------------------------------------------------------------------------------------
# The service: measurements, the cache, pairing


@needs_native
@pytest.mark.parametrize("mode", ["latency", "throughput"])
def test_measure_gives_one_measurement_per_program(mode):
    task = Task(4)
    programs = [baseline_program(task)] + _random_programs(task, 3, 7)
    config = SamplingConfig(mode=mode, rounds=9, inner=8, arrays=50)
    ms = measure(programs, task, config)
    assert [m.program for m in ms] == [p.text() for p in programs]
    for m in ms:
        assert m.ticks.shape == (9,) and np.isfinite(m.ticks).all() and m.mode == mode
        s = m.summary_ns
        assert s.lo <= s.median <= s.hi and s.n == 9 and m.ticks_per_ns > 0
        assert not m.cached and m.has_asm


@needs_native
def test_second_measure_times_nothing():
    task = Task(3)
    programs = [baseline_program(task), known_program(task)] + _random_programs(task, 3, 1)
    before = counters()
    first = measure(programs + [programs[0]], task, QUICK)  # a repeat is timed once
    mid = counters()
    assert mid.programs_timed - before.programs_timed == 5
    assert mid.compiles - before.compiles == 1 and mid.batches_timed - before.batches_timed == 1
    second = measure(programs, task, QUICK)
    after = counters()
    assert (after.programs_timed, after.compiles, after.batches_timed) == \
        (mid.programs_timed, mid.compiles, mid.batches_timed)
    assert all(m.cached for m in second)
    for a, b in zip(first, second):
        assert np.array_equal(a.ticks, b.ticks) and a.batch == b.batch


@needs_native
def test_batches_split_by_batch_size_and_settings_change_the_key():
    task = Task(3)
    programs = _random_programs(task, 5, 2)
    before = counters()
    measure(programs, task, SamplingConfig(rounds=5, inner=4, arrays=20, batch_size=2))
    mid = counters()
    assert mid.batches_timed - before.batches_timed == 3
    measure(programs, task, SamplingConfig(rounds=5, inner=4, arrays=20, mode="throughput"))
    assert counters().programs_timed - mid.programs_timed == 5  # another mode: timed again
    off = SamplingConfig(rounds=5, inner=4, arrays=20, cache=False)
    measure(programs, task, off)
    assert counters().programs_timed - mid.programs_timed == 10


@needs_native
def test_a_corrupt_cache_file_is_ignored_and_rewritten(tmp_path):
    from discover.native.cache import MeasurementCache

    task = Task(3)
    programs = _random_programs(task, 3, 3)
    measure(programs, task, QUICK)
    files = sorted(MeasurementCache().folder.rglob("*.json"))
    assert len(files) == 3
    files[0].write_text("{not json")
    files[1].write_text(json.dumps({"format": 1, "key": files[1].stem, "ticks": "x"}))
    before = counters()
    again = measure(programs, task, QUICK)
    assert counters().programs_timed - before.programs_timed == 2
    assert sum(m.cached for m in again) == 1
    assert all(json.loads(f.read_text())["key"] == f.stem for f in files)  # rewritten


@needs_native
def test_measure_together_pairs_and_ratio_falls_back_to_unpaired():
    task = Task(3)
    net, known = baseline_program(task), known_program(task)
    a, b = measure_together([known, net], task, QUICK)
    assert a.batch == b.batch
    r = ratio(a, b)
    assert r.paired and r.lo <= r.ratio <= r.hi and r.n <= QUICK.rounds
    (c,) = measure_together([net], task, QUICK)
    assert c.batch != a.batch and not ratio(a, c).paired


@needs_native
def test_monotonic_clock_has_no_cycles():
    task = Task(3)
    (m,) = measure([baseline_program(task)], task,
                   SamplingConfig(rounds=5, inner=4, arrays=20, clock="monotonic"))
    assert m.clock == "monotonic" and m.cycles is None and m.ticks_per_ns == 1.0
    assert m.summary_cycles is None


@needs_native
def test_bench_table_shows_the_paired_ratio_to_the_network():
    from discover.measure import BenchConfig, bench_rows, format_table

    task = Task(3)
    config = BenchConfig(arrays=30, repeats=1, inner=8, numba=False)
    rows = bench_rows([], task, config)
    latency = [r for r in rows if r.how.startswith("native asm, latency")]
    assert {r.routine for r in latency} == {"network", "known/sort3.asm",
                                            "known/sort3.fastest.asm"}
    for r in latency:
        assert r.vs_network_lo <= r.vs_network <= r.vs_network_hi and r.samples == 21
        assert r.significant == (r.vs_network_lo > 1 or r.vs_network_hi < 1)
    assert all(r.vs_network is None for r in rows if r not in latency)
    table = format_table(rows, task, config)
    assert "vs network [95% CI]" in table and "same rounds" in table


@needs_native
def test_an_ill_formed_program_names_its_place_in_the_batch():
    from discover.kernels import Program

    from discover.export import ExportError

    task = Task(3)
    bad = Program.from_instructions(["mov r0, m0", "cmovl r1, r0", "mov m0, r1"])
    with pytest.raises(ExportError, match="program 1 of the batch"):
        measure([baseline_program(task), bad], task, QUICK)
