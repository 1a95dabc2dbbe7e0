"""``--cost measured``: candidates collected by the search, ranked by a measurement.

The ranking's logic is checked with a fake measurement (a figure chosen per program), so
no test depends on timing; one small real run is skipped where native code cannot run.
"""

import json

import numpy as np
import pytest
from conftest import FakeMeasurement

import discover.candidates as candidates
from discover.cli import main
from discover.kernels import Task, baseline_program, verify
from discover.native import native_unavailable
from discover.search import EnumConfig, StochasticConfig, search
from discover.search.stochastic import POOL_SIZE

SORT3 = Task.from_name("sort3")


@pytest.fixture
def fake_timing(monkeypatch):
    """Time = the program's length minus 0.1 x its number of cmovs (longer, more cmovs:
    faster; an order the model does not follow)."""
    import discover.native as native

    def measure_together(programs, task, config=None):
        return [FakeMeasurement(len(p) - 0.1 * int(np.count_nonzero(p.code[:, 0] >= 4)))
                for p in programs]

    monkeypatch.setattr(native, "measure_together", measure_together)
    return measure_together


def test_rank_orders_by_the_measurement_and_pairs_to_the_best(fake_timing):
    network, short = baseline_program(SORT3), search(SORT3, "stochastic",
                                                     StochasticConfig(steps=20000)).program
    ranked = candidates.rank([short, network, network], SORT3, "measured")
    assert len(ranked) == 2  # duplicates dropped
    assert [c.median_ns for c in ranked] == sorted(c.median_ns for c in ranked)
    assert ranked[0].vs_best == 1.0
    assert ranked[1].vs_best > 1.0


def test_stochastic_pool_holds_only_verified_programs_and_is_deterministic(fake_timing):
    config = StochasticConfig(cost="measured", steps=30000, max_length=20, seed=3)
    first, second = search(SORT3, "stochastic", config), search(SORT3, "stochastic", config)
    assert [p.text() for p in first.candidates] == [p.text() for p in second.candidates]
    assert 1 < len(first.candidates) <= POOL_SIZE
    assert all(verify(p, SORT3).correct for p in first.candidates)
    # The fastest by the (fake) measurement is the result, whatever the model says.
    assert first.program == first.ranked[0].program
    assert first.notes["measured"]["timed"] == len(first.ranked)


def test_enum_measured_ranks_every_optimal_program(fake_timing):
    # Enumerating every optimal sort3 program takes minutes; the ones found in 5 s do.
    result = search(SORT3, "enum", EnumConfig(tie_break="measured"), time_limit=5)
    assert len(result.program) == 17
    assert len(result.ranked) > 10
    assert all(len(c.program) == 17 for c in result.ranked)
    assert verify(result.program, SORT3).correct


def test_candidates_file_round_trip_and_corrupt_fields(tmp_path, fake_timing):
    ranked = candidates.rank([baseline_program(SORT3)], SORT3, "measured")
    path = tmp_path / "candidates.json"
    candidates.write_candidates(path, ranked, SORT3, "measured")
    header, back = candidates.read_candidates(path)
    assert header["task"] == SORT3 and back[0].program == ranked[0].program
    assert back[0].median_ns == ranked[0].median_ns
    payload = json.loads(path.read_text())
    payload["candidates"][0]["program"] = "mov r9, m0"
    path.write_text(json.dumps(payload))
    with pytest.raises(ValueError, match=r"candidates\[0\]: program"):
        candidates.read_candidates(path)
    payload["candidates"][0]["median_ns"] = "fast"
    payload["candidates"][0]["program"] = ranked[0].program.text()
    path.write_text(json.dumps(payload))
    with pytest.raises(ValueError, match="median_ns"):
        candidates.read_candidates(path)


def test_cost_measured_without_native_timing_exits_2(tmp_path, capsys, monkeypatch):
    import discover.native as native

    monkeypatch.setattr(native, "native_unavailable", lambda: "no C compiler (cc) found")
    code = main(["search", "--task", "sort3", "--cost", "measured", "--out",
                 str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().splitlines() == [
        "discover: error: --cost measured needs native timing: no C compiler (cc) found"]
    assert not (tmp_path / "run").exists()


@pytest.mark.skipif(bool(native_unavailable()), reason="native timing unavailable")
def test_search_cost_measured_writes_the_table(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["search", "--task", "sort3", "--cost", "measured", "--steps", "20000",
                 "--max-length", "19", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0 and "candidates timed" in printed
    header, ranked = candidates.read_candidates(out / "candidates.json")
    assert header["timed"] == len(ranked) >= 1
    assert all(verify(c.program, SORT3).correct for c in ranked)
    best = (out / "best.asm").read_text()
    assert ranked[0].program.text() in best


def test_cost_fitted_runs_on_the_shipped_model_and_repeats(tmp_path, capsys):
    from discover.cli import main
    from discover.search.base import fitted_cycles

    config = StochasticConfig(cost="fitted", steps=20000, seed=2)
    first, second = search(SORT3, "stochastic", config), search(SORT3, "stochastic", config)
    assert first.program == second.program and verify(first.program, SORT3).correct
    network = baseline_program(SORT3)
    assert fitted_cycles(first.program, SORT3) <= fitted_cycles(network, SORT3)
    code = main(["search", "--task", "sort3", "--cost", "fitted", "--steps", "20000",
                 "--seed", "2", "--out", str(tmp_path / "run")])
    out = capsys.readouterr().out
    assert code == 0 and "fitted model:" in out and first.program.text() in out
