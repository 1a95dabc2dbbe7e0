"""Exports and native runs of kernel tasks (medians, min2max, top-k, merges, stable sorts,
a task of Task.from_function): the K outputs, any comparable values, refusals, bench."""

from __future__ import annotations

import hashlib
import json
import re
from operator import itemgetter

import numpy as np
import pytest

from discover.cli import main
from discover.export import (ExportError, function_name, to_c_source, to_function,
                             to_numba_functions, to_python_source)
from discover.kernels import Program, Task, baseline_program
from discover.kernels.tasks import KERNEL_TASK_NAMES
from discover.native import NativeRoutine, native_unavailable, random_arrays

REASON = native_unavailable()
needs_native = pytest.mark.skipif(REASON is not None, reason=REASON or "")

SECOND4 = Task.from_function("second4", 4, lambda a: sorted(a)[1:2])
SMALL = [name for name in KERNEL_TASK_NAMES if Task.from_name(name).n <= 6] + ["second4"]


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("DISCOVER_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


def reference(task: Task):
    """What the task computes, on a list, written plainly (independent of the exporter)."""
    n, name = task.n, task.name
    if name.startswith("median"):
        return lambda a: [sorted(a)[n // 2]]
    if name.startswith("min2max"):
        return lambda a: [min(a), max(a)]
    top = re.fullmatch(r"top(\d+)-of-\d+", name)
    if top:
        return lambda a: sorted(a)[:int(top[1])]
    if name.startswith("merge"):
        return sorted
    if name.startswith("stablesort"):
        keys = n // 2

        def stable(a):
            pairs = sorted(zip(a[:keys], a[keys:]), key=itemgetter(0))
            return [k for k, _ in pairs] + [p for _, p in pairs]

        return stable
    assert name == "second4"
    return lambda a: sorted(a)[1:2]


def random_inputs(task: Task, kind: str, rng: np.random.Generator, count: int = 60) -> list:
    """Random lists within the task's domain (merges: each half ascending), ties common."""
    out = []
    split = re.fullmatch(r"merge(\d+)\+\d+", task.name)
    for _ in range(count):
        ints = rng.integers(-4, 5, size=task.n).tolist()
        if kind == "float":
            values = [v + 0.5 * float(rng.random()) for v in ints]
        elif kind == "str":
            values = ["abcdefghi"[v + 4] * int(rng.integers(1, 3)) for v in ints]
        else:
            values = ints
        if split:
            a = int(split[1])
            values = sorted(values[:a]) + sorted(values[a:])
        out.append(values)
    return out


def test_generated_names_are_identifiers():
    assert function_name(Task.from_name("top2-of-5")) == "top2_of_5"
    assert function_name(Task.from_name("merge2+2")) == "merge2_2"
    assert function_name(Task.from_name("median5")) == "median5"
    assert function_name(Task(5)) == "sort5"
    third = Task.from_function("3rd-of.4", 4, lambda a: sorted(a)[2:3])
    assert function_name(third) == "_3rd_of_4"
    source = to_python_source(baseline_program(third), third)
    assert "def _3rd_of_4(a):" in source
    assert to_function(baseline_program(third), third)([4, 1, 3, 2]) == [3]


@pytest.mark.parametrize("name", SMALL)
def test_python_export_gives_the_k_outputs_of_every_test_input(name):
    task = Task.from_name(name)
    fn = to_function(baseline_program(task), task)
    assert fn.__name__ == function_name(task)
    assert task.summary in fn.__doc__
    for b in range(task.n_inputs):
        a = task.inputs[:, b].tolist()
        before = list(a)
        assert fn(a) == task.expected[:, b].tolist()
        assert a == before  # the input is left alone


@pytest.mark.parametrize("kind", ["int", "float", "str"])
@pytest.mark.parametrize("name", SMALL)
def test_python_export_matches_the_reference_on_random_values(name, kind):
    task = Task.from_name(name)
    fn, want = to_function(baseline_program(task), task), reference(task)
    rng = np.random.default_rng(7)
    for values in random_inputs(task, kind, rng):
        got = fn(values)
        assert got == want(values), values
        assert len(got) == task.n_outputs


@pytest.mark.parametrize("name", ["median5", "merge2+2", "stablesort2", "second4"])
def test_numba_export_gives_the_k_outputs(name):
    task = Task.from_name(name)
    one, rows = to_numba_functions(baseline_program(task), task)
    x = np.ascontiguousarray(task.inputs.T.astype(np.int64))  # int64[B, N]
    before = x.copy()
    assert np.array_equal(rows(x), task.expected.T)
    assert np.array_equal(x, before)
    for b in range(0, task.n_inputs, 7):
        assert list(one(x[b])) == task.expected[:, b].tolist()
    assert x.dtype == np.int64 and np.array_equal(x, before)


@needs_native
@pytest.mark.parametrize("name", SMALL)
def test_native_asm_and_portable_give_the_k_outputs(name):
    task = Task.from_name(name)
    routine = NativeRoutine(baseline_program(task), task)
    for ctype in ("int64",):
        x = np.ascontiguousarray(task.inputs.T.astype(ctype))
        for portable in (False, True):
            assert np.array_equal(routine.outputs(x, portable), task.expected.T)
    # Large random values in the domain against the plain reference.
    arrays = random_arrays(task, 200, seed=3) * 10**12
    want = [reference(task)(row) for row in arrays.tolist()]
    assert routine.outputs(arrays).tolist() == want


@needs_native
def test_native_harness_chains_on_the_k_outputs_and_sorts_are_unchanged():
    from discover.native.build import HARNESS_VERSION, batch_source
    from discover.known import known_program

    task = Task.from_name("top2-of-5")
    source = batch_source([baseline_program(task), baseline_program(task)], task)
    assert "#define DISCOVER_K 2" in source and "i < DISCOVER_K; i++) all |= buf[i]" in source
    assert "#define top2_of_5_out discover_c1_out" in source  # two programs: no clash
    # The sorts' libraries and arrays, byte for byte as before kernel tasks (24eba25).
    digest = hashlib.sha256()
    for n in range(2, 9):
        sort = Task(n)
        programs = [baseline_program(sort)] + ([known_program(sort)] if known_program(sort)
                                               else [])
        for ctype in ("int64", "int32"):
            digest.update(batch_source(programs, sort, ctype, portable=True).encode())
        digest.update(random_arrays(sort, 100, 3).tobytes())
    assert HARNESS_VERSION == "542813c63d57"
    assert digest.hexdigest() == \
        "92d52c1e63b46ff2405b9a177fd63e032a48707852634f20b89c64ac87d9b1ff"


def test_random_arrays_keep_to_the_domain():
    merge = Task.from_name("merge3+3")
    x = random_arrays(merge, 300, seed=1)
    assert np.all(np.diff(x[:, :3], axis=1) >= 0) and np.all(np.diff(x[:, 3:], axis=1) >= 0)
    assert np.array_equal(x, random_arrays(merge, 300, seed=1))
    ends = Task.from_function("ends_up4", 4, lambda a: [min(a)], where=lambda a: a[0] <= a[3])
    y = random_arrays(ends, 300, seed=2)
    assert np.all(y[:, 0] <= y[:, 3]) and len(np.unique(y, axis=0)) > 200
    median = Task.from_name("median5")  # every input: the sorts' arrays
    assert np.array_equal(random_arrays(median, 50, 4), random_arrays(Task(5), 50, 4))


@needs_native
@pytest.mark.skipif(REASON is not None and "x86-64" not in (REASON or ""), reason="no C compiler")
@pytest.mark.parametrize("defines", [[], ["-DDISCOVER_NO_ASM"]], ids=["asm", "portable"])
def test_exported_c_builds_standalone_and_writes_only_the_outputs(tmp_path, defines):
    import subprocess

    from discover.native import compiler

    task = Task.from_name("top2-of-5")
    main_c = tmp_path / "main.c"
    main_c.write_text(to_c_source(baseline_program(task), task, ctype="int32") + """
#include <stdio.h>
int main(void)
{
    const int32_t in[5] = {5, -1, 4, 4, 3};
    int32_t out[3] = {77, 77, 77};
    top2_of_5_out(in, out);
    printf("%d %d %d %d %d\\n", out[0], out[1], out[2], in[0], in[1]);
    return 0;
}
""")
    exe = tmp_path / "main"
    subprocess.run([compiler(), "-O2", "-Wall", "-Wextra", "-Werror", *defines, "-o", str(exe),
                    str(main_c)], check=True, capture_output=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.split()
    assert out == ["-1", "3", "77", "5", "-1"]


def test_export_refuses_a_program_wrong_for_the_task():
    median = Task.from_name("median5")
    sort5 = baseline_program(Task(5))  # sorts: the median lands in m2, not m0
    with pytest.raises(ExportError, match="incorrect program: .* inputs wrong .*expected"):
        to_python_source(sort5, median)
    forced = to_python_source(sort5, median, force=True)
    assert "UNVERIFIED" in forced


@pytest.fixture
def files(tmp_path):
    paths = {}
    for name, program in (("sort5", baseline_program(Task(5))),
                          ("median5", baseline_program(Task.from_name("median5")))):
        paths[name] = tmp_path / f"{name}.asm"
        paths[name].write_text(program.text())
    paths["task"] = tmp_path / "third.py"
    paths["task"].write_text("from discover.kernels import Task\n"
                             "task = Task.from_function('third5', 5, lambda a: sorted(a)[2:3])\n")
    return paths


@pytest.mark.parametrize("fmt", ["python", "numba", "c"])
def test_cli_export_kernel(files, fmt, capsys, tmp_path):
    assert main(["export", str(files["median5"]), "--task", "median5", "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert "the median of 5 items" in out and "verified" in out
    target = tmp_path / f"median5.{fmt}"
    assert main(["export", str(files["median5"]), "--task", "median5", "--format", fmt,
                 "--out", str(target)]) == 0
    assert target.read_text() == out


def test_cli_export_refuses_a_wrong_program_with_one_line(files, capsys):
    assert main(["export", str(files["sort5"]), "--task", "median5"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "incorrect" in err and "--force" in err
    assert main(["bench", str(files["sort5"]), "--task", "median5"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "incorrect" in err


def test_cli_export_task_file(files, capsys):
    # median5's baseline is the median of 5: a task file's "third of 5" is the same task.
    assert main(["export", str(files["median5"]), "--task", str(files["task"])]) == 0
    assert "def third5(a):" in capsys.readouterr().out


def test_references_give_the_task_outputs():
    from discover.measure_kernels import numpy_references, python_references

    for name in SMALL + ["median7", "min2max8", "top4-of-8", "merge4+4", "stablesort4"]:
        task = Task.from_name(name)
        arrays = random_arrays(task, 100, seed=5)  # int64[M, N]
        want = np.array([reference(task)(row) for row in arrays.tolist()])  # int64[M, K]
        for ref in python_references(task):
            if ref.outputs is not None:
                got = [ref.outputs(ref.call(row)) for row in arrays.tolist()]
                assert got == want.tolist(), (name, ref.label)
        for ref in numpy_references(task):
            if ref.outputs is not None:
                assert np.array_equal(ref.outputs(ref.rows(arrays)), want), (name, ref.label)
                one = ref.outputs(ref.rows(arrays[:1]))
                assert np.array_equal(np.ravel(ref.one(arrays[0])), np.ravel(one)), ref.label


def test_cli_bench_kernel_small(files, capsys, tmp_path, monkeypatch):
    out_json = tmp_path / "bench.json"
    code = main(["bench", str(files["median5"]), "--task", "median5", "--arrays", "30",
                 "--repeats", "1", "--inner", "16", "--no-numba", "--json", str(out_json)])
    assert code == 0
    table = capsys.readouterr().out
    for routine in ("baseline", "statistics.median_low(a)", "sorted(a)[2]",
                    "numpy.partition(x, 2)[2]", "baseline exported"):
        assert routine in table, routine
    payload = json.loads(out_json.read_text())
    assert payload["task"] == "median5" and "baseline" in payload["vs_network_is"]
    assert all(row["samples"] >= 1 for row in payload["rows"])
    # The given program is the baseline: timed once, under both labels; the shipped
    # known/median5.asm (a different 26) is timed beside it.
    python_rows = [row["routine"] for row in payload["rows"] if row["how"] == "python, per list"]
    assert sum(str(files["median5"]) in r and "baseline" in r for r in python_rows) == 1
    assert sum("known/median5.asm" in r for r in python_rows) == 1


def test_cli_bench_kernel_without_native(files, capsys):
    code = main(["bench", "--task", "min2max4", "--arrays", "20", "--repeats", "1",
                 "--no-native", "--no-numba"])
    assert code == 0
    captured = capsys.readouterr()
    assert "native timing skipped" in captured.err
    assert "min(a), max(a)" in captured.out and "x.min(), x.max()" in captured.out


def test_bench_of_a_user_task_uses_a_full_sort_as_its_reference(files, capsys):
    code = main(["bench", "--task", str(files["task"]), "--arrays", "20", "--repeats", "1",
                 "--no-native", "--no-numba"])
    assert code == 0
    out = capsys.readouterr().out
    assert "third5" in out and "sorted(a) (a full sort" in out


def test_forced_kernel_export_runs_the_program_faithfully():
    median = Task.from_name("median5")
    sort5 = baseline_program(Task(5))
    fn = to_function(sort5, median, force=True)
    assert fn([5, 4, 3, 2, 1]) == [1]  # the program's m0: the minimum


def test_one_input_one_output_and_untouched_outputs():
    # A one-item task (no baseline: a hand program), and a program that never stores to
    # its output cell m0: the export returns m0 as it came in.
    one = Task.from_function("same1", 1, lambda a: a)
    program = Program.parse("mov r0, m0\nmov m0, r0\n")
    assert to_function(program, one)([2.5]) == [2.5]
    _, rows = to_numba_functions(program, one)
    assert rows(np.array([[3], [-1]])).tolist() == [[3], [-1]]
    first = Task.from_function("first2", 2, lambda a: a[:1])
    untouched = Program.parse("mov r0, m1\nmov m1, r0\n")
    assert to_function(untouched, first)(["b", "a"]) == ["b"]


def test_measurement_cache_keys_tell_user_tasks_of_one_name_apart():
    from discover.native.sampling import SamplingConfig, _context

    low = Task.from_function("pick4", 4, lambda a: sorted(a)[:1])
    high = Task.from_function("pick4", 4, lambda a: sorted(a)[3:])
    program, config = baseline_program(low), SamplingConfig()
    assert _context(program, low, config, {}) != _context(program, high, config, {})
    sort = _context(baseline_program(Task(4)), Task(4), config, {})
    assert "kernel" not in sort and "harness" not in sort  # the sorts' keys as before
