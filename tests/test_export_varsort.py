"""Exports of varsortN programs (ISA v2) and `discover export` / `discover bench` on them.

Every exported function is checked on every length 0..N and every weak ordering of that
many items, on random data with ties (ints, floats, strings, tuples), on over-long input
(the error), and, on random well-formed programs with jumps (exported with --force),
input by input against the branch-aware interpreter.
"""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
from pathlib import Path

import numpy as np
import pytest

from discover.cli import main
from discover.export import (ExportError, to_c_source, to_function, to_numba_functions,
                             to_numba_source, to_python_source)
from discover.kernels import (CMOVS, CMP, CMPN, JL, JUMPS, LOAD, MOV, STORE, Program, Task,
                              baseline_program, run_flow, varsort_program, verify)
from discover.measure import known_program
from discover.native import compiler, native_unavailable

REASON = native_unavailable()
needs_native = pytest.mark.skipif(REASON is not None, reason=REASON or "")
SHORT3 = Program.read(Path(__file__).parent.parent / "bench" / "programs" / "varsort3_21.asm")

# varsort3 with every conditional jump and a jmp, and label names C and asm cannot take
# as they are ('.', '$'): sort (m0, m1) when n >= 2, insert m2 when n > 2.
EVERY_JUMP3 = Program.parse("""
cmp n, 1
jle .done$
mov r0, m0
mov r1, m1
mov r3, r0
cmp r0, r1
cmovg r0, r1
cmovg r1, r3
cmp n, 3
jne two.x
cmp n, 3
jge three
jmp .done$          ; never taken: n == 3 here
three:
mov r2, m2
cmp r1, r2
jle two.x           ; already in order: r1 <= r2 (m2 is the max)
mov r3, r1
cmp r1, r2
cmovg r1, r2
cmovg r2, r3
mov m2, r2
mov r3, r0
cmp r0, r1
jl two.x
cmp r0, r1
jg swap
je two.x
swap:
mov r3, r0
mov r0, r1
mov r1, r3
two.x:
mov m0, r0
mov m1, r1
.done$:
""")


def _correct_programs():
    out = [(f"human{n}", varsort_program(n), Task.from_name(f"varsort{n}")) for n in (2, 3, 4, 5)]
    out.append(("short3", SHORT3, Task.from_name("varsort3")))
    out.append(("every_jump3", EVERY_JUMP3, Task.from_name("varsort3")))
    return out


CORRECT = _correct_programs()
IDS = [name for name, _, _ in CORRECT]


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("DISCOVER_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


def test_the_programs_are_correct():
    for name, program, task in CORRECT:
        assert verify(program, task).correct, name


def _inputs(task: Task):
    """(length, ranks list) of every test input: every weak ordering of 0..N items."""
    for column, m in zip(task.inputs.T, task.lengths):
        yield int(m), [int(v) for v in column[:m]]


def random_values(kind: str, m: int, rng: np.random.Generator) -> list:
    ints = rng.integers(-3, 4, size=m).tolist()  # few values: ties are common
    if kind == "int":
        return ints
    if kind == "float":
        return [v + 0.5 * float(rng.integers(0, 2)) for v in ints]
    if kind == "str":
        return ["".join(chr(97 + (v + 3)) * (1 + abs(v) % 2)) for v in ints]
    return [(v % 2, str(v)) for v in ints]  # tuples


# --- Python ------------------------------------------------------------------------------


@pytest.mark.parametrize("name, program, task", CORRECT, ids=IDS)
def test_python_export_sorts_every_length_and_weak_ordering(name, program, task):
    fn = to_function(program, task)
    assert fn.__name__ == task.name
    for m, values in _inputs(task):
        a = list(values)
        assert fn(a) is a and a == sorted(values), (m, values)
        array = np.array(values, dtype=np.int64)
        assert list(fn(array)) == sorted(values)


@pytest.mark.parametrize("kind", ["int", "float", "str", "tuple"])
@pytest.mark.parametrize("name, program, task", CORRECT, ids=IDS)
def test_python_export_sorts_random_values_with_ties(name, program, task, kind):
    fn = to_function(program, task)
    rng = np.random.default_rng(7)
    for _ in range(60):
        values = random_values(kind, int(rng.integers(0, task.n + 1)), rng)
        assert fn(list(values)) == sorted(values)


@pytest.mark.parametrize("name, program, task", CORRECT, ids=IDS)
def test_python_export_refuses_over_long_input(name, program, task):
    fn = to_function(program, task)
    for given in (task.n + 1, task.n + 5):
        a = list(range(given, 0, -1))
        with pytest.raises(ValueError) as error:
            fn(a)
        assert str(error.value) == f"{task.name} sorts at most {task.n} items, got {given}"
        assert a == list(range(given, 0, -1))  # untouched


def test_python_source_writes_jumps_as_nested_ifs():
    task = Task.from_name("varsort3")
    source = to_python_source(varsort_program(3), task)
    assert "goto " not in source and "verified: sorts all 18 inputs" in source
    assert "if n >= 2:" in source and "if n == 2:" in source  # jl end / je sort2
    compile(source, "varsort3.py", "exec")


def _diamonds(count: int) -> Program:
    """``count`` conditional jumps to the next instruction (each doubles the nested-if
    tree), then the human varsort3 routine: correct, and 2**count paths long."""
    rows = []
    for _ in range(count):
        rows += [(CMPN, 0, 1), (JL, len(rows) + 2, 0)]
    offset = len(rows)
    for op, dst, src in varsort_program(3):
        rows.append((op, dst + offset if op in JUMPS else dst, src))
    return Program.from_instructions(rows)


def test_too_many_paths_for_nested_ifs_is_refused_but_c_is_written():
    task = Task.from_name("varsort3")
    program = _diamonds(16)
    assert verify(program, task).correct
    for export in (to_python_source, to_numba_source):
        with pytest.raises(ExportError, match="nested if/else"):
            export(program, task)
    assert "goto" in to_c_source(program, task)
    fn = to_function(_diamonds(3), task)  # a few diamonds are fine
    assert fn([3, 1, 2]) == [1, 2, 3]


def test_too_deep_nesting_is_refused():
    # 200 jumps to the end, each nesting the rest one level deeper; then 2000 (deeper
    # than Python's recursion limit while the tree is built).
    task = Task.from_name("varsort3")
    for count in (200, 2000):
        rows = [(CMPN, 0, 3)]
        rows += [(JL, None, 0)] * count
        offset = len(rows)
        rows += [(op, dst + offset if op in JUMPS else dst, src)
                 for op, dst, src in varsort_program(3)]
        rows = [(op, len(rows) if dst is None else dst, src) for op, dst, src in rows]
        program = Program.from_instructions(rows)
        with pytest.raises(ExportError, match="nested if/else"):
            to_python_source(program, task, force=True)


# --- Random programs with jumps: the exports against the interpreter ---------------------


def random_flow_program(task: Task, length: int, rng: random.Random) -> Program:
    """A random well-formed varsort program: ``cmp n, 1; jl end``, every register loaded
    from m0, then random instructions, ``cmp n, K`` and forward jumps (loads and stores
    of any cell: it faults on some inputs)."""
    n, r = task.n, task.registers
    rows: list = [(CMPN, 0, 1), (JL, None, 0)] + [(LOAD, i, 0) for i in range(r)]
    for _ in range(length):
        choice = rng.random()
        if choice < 0.1:
            rows.append((CMPN, 0, rng.randrange(n + 1)))
        elif choice < 0.25:
            rows.append((rng.choice(JUMPS), None, 0))
        elif choice < 0.4:
            rows.append((LOAD, rng.randrange(r), rng.randrange(n)))
        elif choice < 0.55:
            rows.append((STORE, rng.randrange(n), rng.randrange(r)))
        elif choice < 0.65:
            rows.append((MOV, rng.randrange(r), rng.randrange(r)))
        elif choice < 0.8:
            rows.append((CMP, rng.randrange(r), rng.randrange(r)))
        else:
            rows.append((rng.choice(CMOVS), rng.randrange(r), rng.randrange(r)))
    size = len(rows)
    rows = [(op, rng.randrange(k + 1, min(k + 6, size) + 1) if dst is None else dst, src)
            for k, (op, dst, src) in enumerate(rows)]
    rows[1] = (JL, size, 0)
    program = Program.from_instructions(rows)
    program.check(n, r, True)
    return program


def mutant(program: Program, task: Task, rng: random.Random, changes: int = 3) -> Program:
    """A correct program with a few conditions changed (a jump's, a cmov's, a ``cmp n``
    constant, a cmp's operand order): many paths taken, few faults, mostly incorrect."""
    rows = list(program)
    for _ in range(changes):
        k = rng.randrange(len(rows))
        op, dst, src = rows[k]
        if op in JUMPS and op != JUMPS[0]:
            rows[k] = (rng.choice(JUMPS[1:]), dst, src)
        elif op in CMOVS:
            rows[k] = (rng.choice(CMOVS), dst, src)
        elif op == CMPN:
            rows[k] = (CMPN, 0, rng.randrange(task.n + 1))
        elif op == CMP:
            rows[k] = (CMP, src, dst)
    out = Program.from_instructions(rows)
    out.check(task.n, task.registers, True)
    return out


def _random_programs(count: int, seed: int):
    """Random programs with jumps, and mutants of the correct ones, alternately."""
    rng = random.Random(seed)
    for k in range(count):
        if k % 2:
            _, program, task = rng.choice(CORRECT)
            yield mutant(program, task, rng), task
            continue
        task = Task.from_name(f"varsort{rng.choice((2, 3, 4))}")
        yield random_flow_program(task, rng.randrange(8, 28), rng), task


def test_python_export_matches_the_interpreter_on_random_programs():
    for program, task in _random_programs(40, seed=3):
        fn = to_function(program, task, force=True)
        memory, fault, _, _ = run_flow(program.code, task.inputs, task.lengths,
                                       task.registers)
        for column, (m, values) in enumerate(_inputs(task)):
            a = list(values)
            if fault[column]:
                with pytest.raises(IndexError):  # a cell past the length
                    fn(a)
                continue
            assert fn(a) == [int(v) for v in memory[:m, column]], (program.text(), values)


def test_numba_export_matches_the_interpreter_on_random_programs():
    for program, task in _random_programs(6, seed=4):
        one, rows = to_numba_functions(program, task, force=True)
        memory, fault, _, _ = run_flow(program.code, task.inputs, task.lengths,
                                       task.registers)
        keep = np.flatnonzero(fault == 0)
        x = np.ascontiguousarray(task.inputs.T[keep].astype(np.int64))
        lengths = task.lengths[keep].astype(np.int64)
        rows(x, lengths)
        for k, column in enumerate(keep):
            m = int(task.lengths[column])
            expected = memory[:m, column].tolist()
            assert x[k, :m].tolist() == expected
            assert one(task.inputs[:m, column].astype(np.int64)).tolist() == expected


# --- Numba -------------------------------------------------------------------------------


@pytest.mark.parametrize("name, program, task", CORRECT, ids=IDS)
def test_numba_export_sorts_every_length(name, program, task):
    one, rows = to_numba_functions(program, task)
    for m, values in _inputs(task):
        for dtype in (np.int64, np.float64):
            a = np.array(values, dtype=dtype)
            assert one(a).tolist() == sorted(values)
    x = np.ascontiguousarray(task.inputs.T.astype(np.int64))  # PAD past each length
    rows(x, task.lengths.astype(np.int64))
    assert np.array_equal(x, task.expected.T)
    rng = np.random.default_rng(1)
    values = rng.integers(-3, 4, size=(300, task.n)) + 0.5 * rng.integers(0, 2, (300, task.n))
    lengths = rng.integers(0, task.n + 1, size=300)
    y = rows(values.copy(), lengths)
    for row, before, m in zip(y, values, lengths):
        assert row[:m].tolist() == sorted(before[:m]) and row[m:].tolist() == before[m:].tolist()


def test_numba_export_refuses_over_long_input():
    task = Task.from_name("varsort3")
    one, rows = to_numba_functions(SHORT3, task)
    with pytest.raises(ValueError, match=r"^varsort3 sorts at most 3 items, got 4$"):
        one(np.arange(4, dtype=np.int64))
    with pytest.raises(ValueError, match=r"^varsort3 sorts at most 3 items, got 5$"):
        rows(np.zeros((2, 3), dtype=np.int64), np.array([1, 5]))
    with pytest.raises(ValueError, match="varsort3_rows"):
        rows(np.zeros((2, 4), dtype=np.int64), np.array([1, 2]))


# --- C -----------------------------------------------------------------------------------


def test_c_source_has_the_exact_sequence_with_local_labels():
    task = Task.from_name("varsort3")
    source = to_c_source(EVERY_JUMP3, task)
    assert '"cmp $1, %[n]\\n\\t"' in source and '"cmp $3, %[n]\\n\\t"' in source
    assert '"jle .Ldiscover__done__%=\\n\\t"' in source
    assert '".Ldiscover_two_x_%=:\\n\\t"' in source
    assert '[n] "r" (n)' in source
    assert "goto two_x;" in source and "two_x:;" in source
    for mnemonic in ("jmp", "jl", "jg", "jle", "jge", "je", "jne"):
        assert f'"{mnemonic} .Ldiscover_' in source
    # Fixed-size C is untouched by the length: no n, no labels.
    assert "%=" not in to_c_source(baseline_program(Task(3)), Task(3))


def test_fixed_size_exports_are_byte_for_byte_unchanged():
    # The digest of the fixed-size exports as they were before varsort export existed
    # (commit 3504722): Python, Numba, C int64 and int32 of every network and two known
    # programs. Change it only on purpose.
    programs = [(baseline_program(Task(n)), Task(n)) for n in range(2, 9)]
    programs += [(known_program(Task(3)), Task(3)), (known_program(Task(5)), Task(5))]
    digest = hashlib.sha256()
    for program, task in programs:
        for source in (to_python_source(program, task), to_numba_source(program, task),
                       to_c_source(program, task), to_c_source(program, task, ctype="int32")):
            digest.update(source.encode())
    assert digest.hexdigest() == \
        "560e5958390ae68434e49e5f5b4569a2175e47bd0d3168960974de4fa128d549"


@needs_native
@pytest.mark.parametrize("ctype", ["int64", "int32"])
@pytest.mark.parametrize("name, program, task", CORRECT, ids=IDS)
def test_native_asm_and_portable_sort_every_length(name, program, task, ctype):
    from discover.native.varsort import VarBatch

    batch = VarBatch([program], task, ctype=ctype, force=False)
    assert batch.has_asm == [True]
    for portable in (False, True):
        x = np.ascontiguousarray(task.inputs.T.astype(ctype))
        batch.sort_rows(x, task.lengths, batch.routine(0, portable))
        assert np.array_equal(x, task.expected.T)  # cells past the length untouched


@needs_native
def test_native_matches_the_interpreter_on_random_programs():
    from discover.native.varsort import VarBatch

    programs = list(_random_programs(12, seed=5))
    for program, task in programs:
        batch = VarBatch([program], task)
        memory, fault, _, _ = run_flow(program.code, task.inputs, task.lengths,
                                       task.registers)
        keep = np.flatnonzero(fault == 0)
        for portable in (False, True):
            x = np.ascontiguousarray(task.inputs.T.astype(np.int64))
            batch.sort_rows(x, task.lengths, batch.routine(0, portable))
            assert np.array_equal(x[keep], memory.T[keep]), program.text()


@needs_native
def test_native_sort_rows_refuses_a_length_over_n():
    from discover.native.varsort import VarBatch

    task = Task.from_name("varsort3")
    batch = VarBatch([SHORT3], task)
    with pytest.raises(ValueError, match="at most 3 items, got a length of 4"):
        batch.sort_rows(np.zeros((1, 3), dtype=np.int64), [4], 1)


@pytest.mark.skipif(native_unavailable() is not None and "x86-64" not in (REASON or ""),
                    reason="no C compiler")
@pytest.mark.parametrize("defines", [[], ["-DDISCOVER_NO_ASM"]], ids=["asm", "portable"])
@pytest.mark.parametrize("program", [SHORT3, EVERY_JUMP3, varsort_program(3)],
                         ids=["short3", "every_jump3", "human3"])
def test_exported_c_builds_standalone_without_warnings(tmp_path, defines, program):
    # Two calls: two instances of the asm in one function, so its labels must be local
    # to each instance; a call with n = 4 returns -1 and leaves the array alone.
    task = Task.from_name("varsort3")
    main_c = tmp_path / "main.c"
    main_c.write_text(to_c_source(program, task, ctype="int32") + r"""
#include <stdio.h>
int main(void)
{
    int32_t a[3] = {5, -1, 4}, b[3] = {9, 2, 7}, c[4] = {4, 3, 2, 1};
    int ra = varsort3(a, 3), rb = varsort3(b, 2), rc = varsort3(c, 4);
    printf("%d %d %d %d | %d %d %d %d | %d %d %d %d %d %d\n", ra, a[0], a[1], a[2],
           rb, b[0], b[1], b[2], rc, c[0], c[1], c[2], c[3],
#ifdef DISCOVER_HAVE_ASM
           1
#else
           0
#endif
    );
    return 0;
}
""")
    exe = tmp_path / "main"
    subprocess.run([compiler(), "-O2", "-Wall", "-Wextra", "-Werror", *defines, "-o",
                    str(exe), str(main_c)], check=True, capture_output=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    assert out.split() == ["0", "-1", "4", "5", "|", "0", "2", "9", "7", "|", "-1", "4", "3",
                           "2", "1", "1" if not defines and REASON is None else "0"]


# --- The commands ------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path):
    paths = {"short3": tmp_path / "short3.asm", "human3": tmp_path / "human3.asm"}
    paths["short3"].write_text(SHORT3.text())
    paths["human3"].write_text(varsort_program(3).text())
    # Drops the n == 2 test: loads m2 on inputs of length 2 (a fault).
    paths["faults"] = tmp_path / "faults.asm"
    paths["faults"].write_text(SHORT3.text().replace("cmp n, 2\nje two\n", ""))
    paths["malformed"] = tmp_path / "malformed.asm"
    paths["malformed"].write_text("cmp n, 2\njl nowhere\nmov r0, m0\nmov m0, r0\n")
    return paths


@pytest.mark.parametrize("fmt", ["python", "numba", "c"])
def test_cli_export_varsort(files, fmt, capsys, tmp_path):
    assert main(["export", str(files["short3"]), "--task", "varsort3", "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert "verified: sorts all 18 inputs" in out and "varsort3" in out
    target = tmp_path / f"out.{fmt}"
    assert main(["export", str(files["short3"]), "--task", "varsort3", "--format", fmt,
                 "--out", str(target)]) == 0
    assert target.read_text() == out


def test_cli_export_c_int32(files, capsys):
    assert main(["export", str(files["human3"]), "--task", "varsort3", "--format", "c",
                 "--c-type", "int32"]) == 0
    assert "int varsort3(int32_t *a, size_t n)" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["export", "{faults}", "--task", "varsort3"], "incorrect program"),
    (["export", "{malformed}", "--task", "varsort3"], "label 'nowhere' is not defined"),
    (["export", "{short3}", "--task", "varsort9"], "unknown task"),
    (["export", "{short3}", "--task", "sort3"], "jumps and 'cmp n, K' need"),
    (["bench", "{faults}", "--task", "varsort3"], "incorrect program"),
    (["bench", "{malformed}", "--task", "varsort3"], "not defined"),
    (["bench", "--task", "varsort3", "--lengths", "0,4"], "sorts at most 3 items, got length 4"),
    (["bench", "--task", "varsort3", "--lengths", "two"], "is not a length"),
    (["bench", "--task", "sort3", "--lengths", "2"], "varsort tasks only"),
])
def test_cli_bad_input_exits_2_with_one_line(files, capsys, argv, message):
    argv = [a.format(**{k: str(v) for k, v in files.items()}) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and message in err, err


def test_cli_export_forced_faulting_program_is_marked(files, capsys):
    assert main(["export", str(files["faults"]), "--task", "varsort3", "--force"]) == 0
    captured = capsys.readouterr()
    assert "UNVERIFIED" in captured.out and "reads past the length" in captured.out


def test_cli_bench_varsort_small(files, capsys, tmp_path):
    out_json = tmp_path / "bench.json"
    code = main(["bench", str(files["short3"]), "--task", "varsort3", "--arrays", "30",
                 "--repeats", "1", "--inner", "16", "--no-numba", "--lengths", "3,2",
                 "--json", str(out_json)])
    assert code == 0
    table = capsys.readouterr().out
    assert "vs human" in table
    for routine in ("human", "sorted()", "list.sort", "numpy.sort"):
        assert routine in table
    payload = json.loads(out_json.read_text())
    assert payload["task"] == "varsort3" and payload["lengths"] == [3, 2]
    hows = {row["how"] for row in payload["rows"]}
    assert "python, per list, lengths 0..3 random" in hows
    if REASON is None:
        assert {"native asm, latency, lengths 0..3 random", "native asm, latency, length 3",
                "native asm, latency, length 2",
                "native asm, throughput, lengths 0..3 random"} <= hows
        human = [r for r in payload["rows"] if r["routine"] == "human"
                 and r["how"] == "native asm, latency, lengths 0..3 random"]
        assert human[0]["vs_network"] == 1.0  # the human routine over itself
        mine = [r for r in payload["rows"] if r["routine"] == str(files["short3"])
                and r["how"] == "native asm, latency, lengths 0..3 random"]
        assert mine[0]["vs_network_lo"] <= mine[0]["vs_network"] <= mine[0]["vs_network_hi"]
    assert all(row["samples"] >= 1 for row in payload["rows"])


def test_cli_bench_varsort_without_native(files, capsys):
    assert main(["bench", str(files["human3"]), "--task", "varsort2", "--no-native",
                 "--arrays", "20", "--repeats", "1", "--no-numba"]) == 2  # wrong task
    capsys.readouterr()
    assert main(["bench", "--task", "varsort2", "--no-native", "--arrays", "20",
                 "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "human exported" in out and "numba, batched rows" in out


def test_same_seed_same_lengths_and_arrays():
    from discover.native.varsort import random_lengths, varsort_arrays

    task = Task.from_name("varsort4")
    assert np.array_equal(random_lengths(task, 100, 3), random_lengths(task, 100, 3))
    assert not np.array_equal(random_lengths(task, 100, 3), random_lengths(task, 100, 4))
    lengths = random_lengths(task, 5000, 0)
    assert lengths.min() == 0 and lengths.max() == 4
    assert np.array_equal(varsort_arrays(task, 10, 1), varsort_arrays(task, 10, 1))
    assert np.array_equal(random_lengths(task, 7, 0, length=2), np.full(7, 2))


def _many_registers() -> tuple[Program, Task]:
    """The human varsort3 routine after loading r4..r15: 16 registers, too many for the
    asm beside the array and the length."""
    task = Task.from_name("varsort3", registers=16)
    pre = [(CMPN, 0, 1), (JL, None, 0)] + [(LOAD, r, 0) for r in range(4, 16)]
    rows = pre + [(op, dst + len(pre) if op in JUMPS else dst, src)
                  for op, dst, src in varsort_program(3)]
    rows[1] = (JL, len(rows), 0)
    return Program.from_instructions(rows), task


@pytest.mark.skipif(native_unavailable() is not None and "x86-64" not in (REASON or ""),
                    reason="no C compiler")
def test_too_many_registers_for_asm_exports_portable_c(tmp_path):
    program, task = _many_registers()
    source = to_c_source(program, task)
    assert "portable C only" in source and "__asm__" not in source
    main_c = tmp_path / "main.c"
    main_c.write_text(source + r"""
#include <stdio.h>
int main(void)
{
    int64_t a[3] = {3, 1, 2};
    int r = varsort3(a, 3);
    printf("%d %ld %ld %ld\n", r, (long)a[0], (long)a[1], (long)a[2]);
    return 0;
}
""")
    exe = tmp_path / "main"
    subprocess.run([compiler(), "-O2", "-Wall", "-Wextra", "-Werror", "-o", str(exe),
                    str(main_c)], check=True, capture_output=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    assert out.split() == ["0", "1", "2", "3"]
    if REASON is None:
        from discover.native.varsort import VarBatch

        batch = VarBatch([program], task)
        assert batch.has_asm == [False]
        x = np.ascontiguousarray(task.inputs.T.astype(np.int64))
        batch.sort_rows(x, task.lengths, batch.routine(0))
        assert np.array_equal(x, task.expected.T)
