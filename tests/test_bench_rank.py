"""``discover bench --rank DIR``: a run's candidates re-timed and re-ranked here.

The logic is checked with a fake measurement (a figure chosen per program, as in
tests/test_search_measured.py), so no test depends on timing; one small real run is
skipped where native code cannot run.
"""

import json
import re

import pytest
from conftest import FakeMeasurement

import discover.candidates as candidates
from discover.cli import main
from discover.kernels import Program, Task, baseline_program, verify
from discover.known import known_program
from discover.native import native_unavailable

SORT3 = Task.from_name("sort3")
NETWORK = baseline_program(SORT3)
KNOWN = known_program(SORT3)
# The known program with its first two loads swapped: a third correct, distinct program.
SWAPPED = Program.parse("\n".join([KNOWN.text().splitlines()[1], KNOWN.text().splitlines()[0]]
                                  + KNOWN.text().splitlines()[2:]))
ROW = re.compile(r"^\s*(\d+)\s+(\d+|-)\s+(\d+)\s+(\d+)\s+(\d+\.\d+)\s")


@pytest.fixture
def figures(monkeypatch):
    """``figures[program text] = ns``: what the fake ``measure_together`` reports (10 ns
    for a program not listed); ``figures.calls`` counts its calls."""
    import discover.native as native

    class Figures(dict):
        calls = 0

    table = Figures()

    def measure_together(programs, task, config=None):
        table.calls += 1
        return [FakeMeasurement(table.get(p.text(), 10.0)) for p in programs]

    monkeypatch.setattr(native, "measure_together", measure_together)
    return table


def write_run(directory, programs, figures, ns):
    """A run directory whose candidates.json ranks ``programs`` by the fake ``ns``."""
    figures.update({p.text(): t for p, t in zip(programs, ns)})
    ranked = candidates.rank(programs, SORT3, "measured")
    directory.mkdir(parents=True, exist_ok=True)
    candidates.write_candidates(directory / candidates.CANDIDATES_FILE, ranked, SORT3,
                                "measured")
    figures.clear()
    figures.calls = 0
    return directory


def table_rows(out: str) -> list[tuple]:
    """(rank here, rank in the file, length, median ns, is the network row) per line."""
    rows = []
    for line in out.splitlines():
        match = ROW.match(line)
        if match:
            here, there, length, _, median = match.groups()
            rows.append((int(here), None if there == "-" else int(there), int(length),
                         float(median), line.endswith("network")))
    return rows


def bench(capsys, *argv):
    code = main(["bench", "--rank", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_programs_are_correct_and_distinct():
    assert all(verify(p, SORT3).correct for p in (NETWORK, KNOWN, SWAPPED))
    assert len({NETWORK.text(), KNOWN.text(), SWAPPED.text()}) == 3


def test_rank_follows_the_figures_here_and_adds_the_network(tmp_path, capsys, figures):
    run = write_run(tmp_path / "run", [KNOWN, SWAPPED], figures, [1.0, 2.0])
    # Here the order is the other way round, and the network program is in between.
    figures.update({SWAPPED.text(): 3.0, NETWORK.text(): 4.0, KNOWN.text(): 5.0})
    code, out, err = bench(capsys, run)
    assert code == 0, err
    assert err == ""
    rows = table_rows(out)
    assert [(here, there, network) for here, there, _, _, network in rows] == [
        (1, 2, False), (2, None, True), (3, 1, False)]
    assert [median for *_, median, _ in rows] == [3.0, 4.0, 5.0]
    assert rows[1][2] == len(NETWORK)
    assert "vs network" in out
    network_line = next(line for line in out.splitlines() if line.endswith("network"))
    assert "1.000 [1.000, 1.000]" in network_line
    summary = out.strip().splitlines()[-1]
    assert summary.startswith("2 candidates: the file's fastest is rank 3 here")
    assert "the file's rank 2" in summary
    assert figures.calls == 1  # every program in one batch: paired ratios


def test_fastest_kept_and_network_in_the_file(tmp_path, capsys, figures):
    run = write_run(tmp_path / "run", [NETWORK, KNOWN, SWAPPED], figures, [3.0, 1.0, 2.0])
    figures.update({NETWORK.text(): 3.0, KNOWN.text(): 1.0, SWAPPED.text(): 2.0})
    code, out, _ = bench(capsys, run, "--task", "sort3")  # the same task: allowed
    assert code == 0
    rows = table_rows(out)
    assert [(here, there, network) for here, there, _, _, network in rows] == [
        (1, 1, False), (2, 2, False), (3, 3, True)]
    assert out.strip().splitlines()[-1] == \
        "3 candidates: the file's fastest is still the fastest here"


def test_json_holds_the_rows(tmp_path, capsys, figures):
    run = write_run(tmp_path / "run", [KNOWN, SWAPPED], figures, [1.0, 2.0])
    figures.update({KNOWN.text(): 2.0, SWAPPED.text(): 1.0, NETWORK.text(): 4.0})
    path = tmp_path / "out" / "rank.json"
    code, _, err = bench(capsys, run, "--json", path)
    assert code == 0, err
    payload = json.loads(path.read_text())
    assert payload["task"] == "sort3" and payload["candidates"] == 2
    assert payload["file_fastest_still_fastest"] is False
    rows = payload["rows"]
    assert [r["rank"] for r in rows] == [1, 2, 3]
    assert [r["file_rank"] for r in rows] == [2, 1, None]
    assert [r["network"] for r in rows] == [False, False, True]
    assert rows[0]["program"] == SWAPPED.text()
    assert rows[2]["vs_network"] == 1.0
    assert rows[0]["vs_network"] < 1.0 and rows[1]["vs_file_fastest"] == 1.0


def one_error(code, out, err) -> str:
    assert code == 2, err
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("discover: error: ") and "Traceback" not in err
    return lines[0]


def test_missing_directory_and_missing_file(tmp_path, capsys, figures):
    line = one_error(*bench(capsys, tmp_path / "nowhere"))
    assert "nowhere" in line and "no such directory" in line
    (tmp_path / "empty").mkdir()
    line = one_error(*bench(capsys, tmp_path / "empty"))
    assert "candidates.json" in line
    assert figures.calls == 0


@pytest.mark.parametrize("corrupt, field", [
    (lambda p: "{", "corrupt JSON"),
    (lambda p: json.dumps({**p, "task": 3}), "'task'"),
    (lambda p: json.dumps({**p, "candidates": "all"}), "'candidates'"),
    (lambda p: json.dumps({**p, "candidates": []}), "'candidates'"),
    (lambda p: json.dumps({**p, "mode": "fast"}), "'mode'"),
    (lambda p: json.dumps({**p, "candidates": [{**p["candidates"][0],
                                                "program": "mov r0, m9"}]}),
     "candidates[0]: program"),
])
def test_corrupt_file_names_the_file_and_the_field(tmp_path, capsys, figures, corrupt, field):
    run = write_run(tmp_path / "run", [KNOWN], figures, [1.0])
    path = run / candidates.CANDIDATES_FILE
    path.write_text(corrupt(json.loads(path.read_text())))
    line = one_error(*bench(capsys, run))
    assert str(path) in line and field in line
    assert figures.calls == 0


def test_task_mismatch(tmp_path, capsys, figures):
    run = write_run(tmp_path / "run", [KNOWN], figures, [1.0])
    line = one_error(*bench(capsys, run, "--task", "sort4"))
    assert "--task sort4" in line and "sort3" in line
    line = one_error(*bench(capsys, run, "--task", "sort3", "--registers", "5"))
    assert "R=5" in line
    assert figures.calls == 0


def test_without_native_timing_nothing_is_timed(tmp_path, capsys, figures, monkeypatch):
    import discover.native as native

    run = write_run(tmp_path / "run", [KNOWN], figures, [1.0])
    monkeypatch.setattr(native, "native_unavailable", lambda: "no C compiler (cc) found")
    line = one_error(*bench(capsys, run))
    assert line == "discover: error: --rank needs native timing: no C compiler (cc) found"
    assert figures.calls == 0


def test_other_inputs_are_refused(tmp_path, capsys, figures):
    run = write_run(tmp_path / "run", [KNOWN], figures, [1.0])
    assert "--no-native" in one_error(*bench(capsys, run, "--no-native"))
    assert "--plot" in one_error(*bench(capsys, run, "--plot", tmp_path / "b.png"))
    assert "PROGRAM.asm" in one_error(*bench(capsys, run, "discover/known/sort3.asm"))
    # Without --rank, --task is still required.
    code = main(["bench"])
    assert "--task" in one_error(code, *capsys.readouterr())
    assert figures.calls == 0


def test_ctrl_c_exits_130_without_a_traceback(tmp_path, capsys, figures, monkeypatch):
    import discover.native as native

    run = write_run(tmp_path / "run", [KNOWN], figures, [1.0])

    def interrupted(programs, task, config=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(native, "measure_together", interrupted)
    code, out, err = bench(capsys, run)
    assert code == 130
    assert out == "" and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.skipif(bool(native_unavailable()), reason="native timing unavailable")
def test_real_run(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    ranked = candidates.rank([KNOWN, SWAPPED], SORT3, "length")  # no timing in the file
    candidates.write_candidates(run / candidates.CANDIDATES_FILE, ranked, SORT3, "length")
    code, out, err = bench(capsys, run, "--repeats", "1", "--arrays", "50", "--inner", "16")
    assert code == 0, err
    rows = table_rows(out)
    assert len(rows) == 3 and sum(network for *_, network in rows) == 1
    assert sorted(there for _, there, *_ in rows if there is not None) == [1, 2]
    assert out.strip().splitlines()[-1].startswith("2 candidates: the file's fastest")
