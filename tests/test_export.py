"""Exports (Python, Numba, C source) and the `discover export` / `discover bench` commands."""

from __future__ import annotations

import json
import random
import sys

import numpy as np
import pytest

from discover.cli import main
from discover.export import (ExportError, check_exportable, to_c_source, to_function,
                             to_numba_functions, to_numba_source, to_python_source)
from discover.kernels import (CMOVS, CMP, LOAD, MOV, STORE, Program, Task,
                              baseline_program, run, run_reference)
from discover.measure import known_program

KNOWN3 = known_program(Task(3))


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    # Generated modules go to a per-session folder, not the user's cache.
    monkeypatch.setenv("DISCOVER_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


def correct_programs():
    out = [(f"network{n}", baseline_program(Task(n)), Task(n)) for n in (2, 3, 4, 5)]
    out.append(("known3", KNOWN3, Task(3)))
    # Every cmov flavour in a correct program: compare-exchanges written with
    # cmovge / cmovle, and a min/max written with cmovl plus cmovne / cmove.
    out.append(("ge_le", Program.parse(
        "mov r0, m0\nmov r1, m1\nmov r2, r0\ncmp r0, r1\ncmovge r0, r1\ncmovge r1, r2\n"
        "mov r2, r0\ncmp r1, r0\ncmovle r0, r1\ncmovle r1, r2\n"  # swaps only ties
        "mov m0, r0\nmov m1, r1\n"), Task(2)))
    out.append(("l_ne_e", Program.parse(
        "mov r0, m0\nmov r1, m1\nmov r2, r1\nmov r3, r0\ncmp r0, r1\ncmovl r2, r0\n"
        "cmovl r3, r1\ncmp r2, r2\ncmovne r2, r3\ncmove r0, r2\ncmp r2, r3\n"
        "cmove r3, r3\ncmovne r0, r3\nmov m0, r2\nmov m1, r0\n"), Task(2, 4)))
    return out


CORRECT = correct_programs()
IDS = [name for name, _, _ in CORRECT]


def random_well_formed(task: Task, length: int, rng: random.Random) -> Program:
    """A random well-formed program (loads, register ops over written registers, stores)."""
    n, r = task.n, task.registers
    rows = [(LOAD, i, i) for i in range(n)]
    written, seen_cmp = set(range(n)), False
    for _ in range(length):
        choice = rng.random()
        regs = sorted(written)
        if choice < 0.2:
            rows.append((LOAD, rng.randrange(r), rng.randrange(n)))
        elif choice < 0.4:
            rows.append((MOV, rng.randrange(r), rng.choice(regs)))
        elif choice < 0.6 or not seen_cmp:
            rows.append((CMP, rng.choice(regs), rng.choice(regs)))
            seen_cmp = True
            continue
        else:
            rows.append((rng.choice(CMOVS), rng.choice(regs), rng.choice(regs)))
        written.add(rows[-1][1])
    regs = sorted(written)
    rows += [(STORE, i, rng.choice(regs)) for i in range(n)]
    program = Program.from_instructions(rows)
    program.check(n, r)
    return program


def random_values(kind: str, n: int, rng: np.random.Generator) -> list:
    ints = rng.integers(-4, 5, size=n).tolist()  # few values: ties are common
    if kind == "int":
        return ints
    if kind == "float":
        return [v + 0.5 * float(rng.random()) for v in ints]
    if kind == "str":
        return ["".join(chr(97 + (v + 4) % 26) * (1 + abs(v) % 3)) for v in ints]
    return [(v % 3, str(v)) for v in ints]  # tuples


# --- Python ------------------------------------------------------------------------------

@pytest.mark.parametrize("name, program, task", CORRECT, ids=IDS)
def test_python_export_sorts_every_weak_ordering(name, program, task):
    fn = to_function(program, task)
    for column in task.inputs.T:
        values = [int(v) for v in column]
        out = fn(values)
        assert out is values  # in place, returned
        assert values == sorted(column.tolist())


@pytest.mark.parametrize("kind", ["int", "float", "str", "tuple"])
@pytest.mark.parametrize("name, program, task", CORRECT, ids=IDS)
def test_python_export_sorts_random_values_of_any_type(name, program, task, kind):
    fn = to_function(program, task)
    rng = np.random.default_rng(1)
    for _ in range(200):
        values = random_values(kind, task.n, rng)
        assert fn(list(values)) == sorted(values)


def test_python_export_matches_reference_on_random_programs():
    # Incorrect but well-formed programs too (force): the export must mean what the
    # program means, including live-versus-saved comparisons and if/elif/else chains.
    rng = random.Random(0)
    for trial in range(120):
        task = Task(rng.choice((2, 3, 4)), rng.choice((None, 5)))
        program = random_well_formed(task, rng.randrange(4, 20), rng)
        fn = to_function(program, task, force=True)
        for column in task.inputs.T:
            values = column.tolist()
            assert fn(list(values)) == run_reference(list(program), values), program.text()


def test_python_source_is_readable_and_headed():
    source = to_python_source(KNOWN3, Task(3))
    assert source.startswith("# sort3: 17 instructions (11 register-only)")
    assert "verified: sorts all 13 weak orderings" in source
    assert "def sort3(a):" in source
    assert "elif r0 > r2:" in source  # cmovl then cmovg on one cmp: one comparison chain
    assert "# cmovl r3, r0" in source
    compile(source, "sort3.py", "exec")


def test_to_function_is_found_by_inspect():
    import inspect

    fn = to_function(KNOWN3, Task(3))
    assert "def sort3(a):" in inspect.getsource(fn)


# --- refusal ----------------------------------------------------------------------------

WRONG = Program.parse("mov r0, m0\nmov r1, m1\nmov r2, m2\nmov m0, r2\nmov m2, r0\n")
ILL = Program.parse("mov r0, m0\ncmp r0, r1\nmov m0, r0\n")


def test_incorrect_program_refused_unless_forced():
    task = Task(3)
    for export in (to_python_source, to_numba_source, to_c_source):
        with pytest.raises(ExportError, match="incorrect"):
            export(WRONG, task)
        assert "UNVERIFIED" in export(WRONG, task, force=True)
        with pytest.raises(ExportError, match="ill-formed.*even with --force"):
            export(ILL, task, force=True)
    assert not check_exportable(WRONG, task, force=True).verified


def test_forced_export_runs_the_incorrect_program_faithfully():
    fn = to_function(WRONG, Task(3), force=True)
    assert fn([3, 2, 1]) == [1, 2, 3]
    assert fn([1, 2, 3]) == [3, 2, 1]


# --- Numba ------------------------------------------------------------------------------

NUMBA_CASES = [c for c in CORRECT if c[0] in ("network3", "known3", "network4", "l_ne_e")]


@pytest.mark.parametrize("name, program, task", NUMBA_CASES, ids=[c[0] for c in NUMBA_CASES])
def test_numba_export_sorts(name, program, task):
    one, rows = to_numba_functions(program, task)
    inputs = np.ascontiguousarray(task.inputs.T.astype(np.int64))  # int64[B, N]
    assert np.array_equal(rows(inputs.copy()), task.expected.T)
    for column in inputs:
        assert np.array_equal(one(column.copy()), np.sort(column))
    rng = np.random.default_rng(2)
    for dtype in (np.int64, np.int32, np.float64):
        x = (rng.standard_normal((300, task.n)) * 3).round(1).astype(dtype)
        assert np.array_equal(rows(x.copy()), np.sort(x, axis=1))


def test_numba_export_matches_reference_on_random_programs():
    rng = random.Random(3)
    for _ in range(2):  # compiling is the cost: two programs
        task = Task(3)
        program = random_well_formed(task, 14, rng)
        _, rows = to_numba_functions(program, task, force=True)
        got = rows(np.ascontiguousarray(task.inputs.T.astype(np.int64)))
        assert np.array_equal(got.T, run(program.code, task.inputs, task.registers))


def test_c_source_has_att_operand_order():
    source = to_c_source(KNOWN3, Task(3))
    # Intel `cmp r0, r2` / `cmovl r3, r0` are AT&T `cmp r2, r0` / `cmovl r0, r3`.
    assert '"cmp %[r2], %[r0]\\n\\t"' in source
    assert '"cmovl %[r0], %[r3]\\n\\t"' in source
    assert '"mov 16(%[a]), %[r2]\\n\\t"' in source
    assert "static inline void sort3_portable(int64_t *a)" in source
    assert '"mov 8(%[a]), %[r1]' in to_c_source(KNOWN3, Task(3), ctype="int64")
    assert '"mov 4(%[a]), %[r1]' in to_c_source(KNOWN3, Task(3), ctype="int32")


# --- CLI --------------------------------------------------------------------------------

@pytest.fixture
def files(tmp_path):
    paths = {}
    for name, program in (("known3", KNOWN3), ("wrong", WRONG)):
        paths[name] = tmp_path / f"{name}.asm"
        paths[name].write_text(program.text())
    paths["ill"] = tmp_path / "ill.asm"
    paths["ill"].write_text("mov r0, m0\ncmp r0, r1\nmov m0, r0\n")
    return paths


@pytest.mark.parametrize("fmt", ["python", "numba", "c"])
def test_cli_export(files, fmt, capsys, tmp_path):
    assert main(["export", str(files["known3"]), "--task", "sort3", "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert "verified: sorts all 13" in out
    target = tmp_path / f"out.{fmt}"
    assert main(["export", str(files["known3"]), "--task", "sort3", "--format", fmt,
                 "--out", str(target)]) == 0
    assert target.read_text() == out


def test_cli_export_refusals(files, capsys):
    assert main(["export", str(files["wrong"]), "--task", "sort3"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "incorrect" in err and "--force" in err
    assert main(["export", str(files["wrong"]), "--task", "sort3", "--force"]) == 0
    captured = capsys.readouterr()
    assert "UNVERIFIED" in captured.out and "warning" in captured.err
    assert main(["export", str(files["ill"]), "--task", "sort3", "--force"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "ill-formed" in err and "line 2" in err


def test_cli_bench_small(files, capsys, tmp_path):
    out_json = tmp_path / "bench.json"
    code = main(["bench", str(files["known3"]), "--task", "sort3", "--arrays", "40",
                 "--repeats", "1", "--no-numba", "--json", str(out_json)])
    assert code == 0
    table = capsys.readouterr().out
    for routine in ("network", "sorted()", "list.sort", "numpy.sort"):
        assert routine in table
    payload = json.loads(out_json.read_text())
    assert payload["task"] == "sort3"
    routines = {row["routine"] for row in payload["rows"]}
    assert any("known/sort3.asm" in r for r in routines)
    assert all(row["samples"] >= 1 for row in payload["rows"])


def test_cli_bench_refuses_incorrect(files, capsys):
    assert main(["bench", str(files["wrong"]), "--task", "sort3"]) == 2
    assert "incorrect" in capsys.readouterr().err


def test_cli_bench_plot_without_matplotlib(files, capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails
    assert main(["bench", "--task", "sort3", "--plot", str(tmp_path / "p.png")]) == 2
    assert "matplotlib" in capsys.readouterr().err


def test_cli_bench_plot(files, tmp_path):
    pytest.importorskip("matplotlib")
    target = tmp_path / "bench.png"
    assert main(["bench", "--task", "sort2", "--arrays", "20", "--repeats", "1",
                 "--no-numba", "--no-native", "--plot", str(target)]) == 0
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_bench_rejects_bad_sizes(capsys):
    assert main(["bench", "--task", "sort3", "--arrays", "0"]) == 2
    assert "--arrays" in capsys.readouterr().err


def test_bench_candidates_skip_what_does_not_fit_the_task():
    from discover.measure import candidate_programs

    labels = [label for label, _ in candidate_programs([("mine", KNOWN3)], Task(3))]
    assert labels == ["mine = known/sort3.asm", "network", "known/sort3.fastest.asm"]
    # Three registers: neither the network (needs 4) nor the known programs fit.
    assert candidate_programs([], Task(3, 3)) == []


def test_cache_dir_falls_back_when_unwritable(tmp_path, monkeypatch):
    from discover.export import cache_dir

    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("DISCOVER_CACHE_DIR", str(blocker / "cache"))  # under a file
    folder = cache_dir()
    assert folder.is_dir() and not str(folder).startswith(str(blocker))
    assert to_function(KNOWN3, Task(3))([3, 1, 2]) == [1, 2, 3]
