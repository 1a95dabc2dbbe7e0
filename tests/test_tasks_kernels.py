"""Kernel tasks as data: the built-in families, Task.from_function and its order-only check,
task files, the baselines, and verify on K outputs (issue 14)."""

import pickle
import statistics

import numpy as np
import pytest

from discover import Program, Task, verify
from discover.cli import main
from discover.kernels import KERNEL_TASK_NAMES, TaskError, baseline_program, weak_orderings


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def reference(task: Task, values: list) -> list:
    """What a built-in kernel computes, written from its definition with Python's own
    functions (not from the task's tables)."""
    name, n = task.name, task.n
    if name.startswith("median"):
        return [statistics.median_low(values)]
    if name.startswith("min2max"):
        return [min(values), max(values)]
    if name.startswith("top"):
        return sorted(values)[:task.n_outputs]
    if name.startswith("merge"):
        return sorted(values)
    if name.startswith("stablesort"):
        keys, payloads = values[:n // 2], values[n // 2:]
        pairs = sorted(zip(keys, payloads), key=lambda pair: pair[0])  # stable
        return [k for k, _ in pairs] + [p for _, p in pairs]
    raise AssertionError(name)


@pytest.mark.parametrize("name", [n for n in KERNEL_TASK_NAMES if Task.from_name(n).n <= 6])
def test_builtin_tables_match_their_definition(name):
    task = Task.from_name(name)
    assert task.expected.shape == (task.n_outputs, task.n_inputs)
    assert task.inputs.shape == (task.n, task.n_inputs)
    assert not task.is_sort and not task.variable
    for b in range(task.n_inputs):
        values = task.inputs[:, b].tolist()
        assert task.expected[:, b].tolist() == reference(task, values), (name, values)


def test_domains_and_symmetry():
    assert Task.from_name("merge2+2").n_inputs == 26  # both halves ascending
    assert all(Task.from_name(n).n_inputs == weak_orderings(Task.from_name(n).n).shape[1]
               for n in ("median5", "min2max4", "top2-of-5", "stablesort2"))
    assert Task.from_name("median5").symmetric and Task.from_name("top2-of-5").symmetric
    assert not Task.from_name("merge2+2").symmetric
    assert not Task.from_name("stablesort2").symmetric


def test_stable_sort_keeps_tied_payloads_in_order():
    task = Task.from_name("stablesort2")
    column = np.flatnonzero((task.inputs.T == [0, 0, 1, 0]).all(1))[0]  # equal keys
    assert task.expected[:, column].tolist() == [0, 0, 1, 0]  # not swapped to [.., 0, 1]


@pytest.mark.parametrize("name", ["median4", "median9", "min2max9", "top5-of-5", "top0-of-3",
                                  "merge0+2", "merge5+4", "stablesort5", "sort9", "nosuch"])
def test_unknown_or_out_of_range_names_are_refused(name):
    with pytest.raises(TaskError, match=name.split("+")[0]):
        Task.from_name(name)


def test_from_function_builds_the_same_table_as_the_builtin():
    second = Task.from_function("second-of-4", 4, lambda a: sorted(a)[1:2])
    assert second.n_outputs == 1 and second.symmetric
    assert np.array_equal(second.expected, Task.from_name("top2-of-4").expected[1:])
    assert Task.from_name("second-of-4") == second  # known by name in this process
    merge = Task.from_function("mymerge", 4, sorted, where=lambda a: a[0] <= a[1] and a[2] <= a[3])
    builtin = Task.from_name("merge2+2")
    assert np.array_equal(merge.inputs, builtin.inputs)
    assert np.array_equal(merge.expected, builtin.expected)


@pytest.mark.parametrize("fn, words", [
    (lambda a: [a[0] + a[1]], "not one of its input items"),
    (lambda a: [a[0]] if a[0] > 0 else [a[1]], "depends on more than the inputs' order"),
    (lambda a: a[0], "not a list of input items"),
    (lambda a: [a[0]] if a[0] < a[1] else [a[0], a[1]], "the output count must be fixed"),
    (lambda a: [a[5]], "raised IndexError"),
    (lambda a: [], "1..2 outputs"),
])
def test_non_comparison_functions_are_refused_in_one_line(fn, words):
    with pytest.raises(TaskError) as error:
        Task.from_function("bad", 2, fn)
    assert words in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("kwargs, words", [
    (dict(name="median5", n_inputs=5, fn=sorted), "built-in"),
    (dict(name="my task", n_inputs=2, fn=sorted), "no spaces"),
    (dict(name="big", n_inputs=9, fn=sorted), "n_inputs must be 1..8"),
    (dict(name="k", n_inputs=3, fn=sorted, n_outputs=2), "n_outputs says 2"),
    (dict(name="w", n_inputs=2, fn=sorted, where=lambda a: a[0] + a[1] > 0), "where("),
])
def test_bad_from_function_arguments(kwargs, words):
    with pytest.raises(TaskError, match=None) as error:
        Task.from_function(**kwargs)
    assert words in str(error.value)


def test_kernel_tasks_pickle_with_their_tables():
    task = Task.from_function("pickled", 3, lambda a: [max(a)])
    copy = pickle.loads(pickle.dumps(task))
    assert copy == task and hash(copy) == hash(task)
    assert np.array_equal(copy.expected, task.expected)
    assert copy != Task.from_name("median3")


@pytest.mark.parametrize("name", KERNEL_TASK_NAMES + ("merge1+3", "merge3+2", "top1-of-7"))
def test_every_baseline_verifies(name):
    task = Task.from_name(name)
    assert verify(baseline_program(task), task).correct


def test_baselines_know_their_constructions():
    assert len(baseline_program(Task.from_name("median3"))) == 12  # sort3 pruned to m1
    assert len(baseline_program(Task.from_name("median5"))) == 26  # Devillard's 7, pruned
    assert len(baseline_program(Task.from_name("median7"))) == 48  # Devillard's 13, pruned
    assert len(baseline_program(Task.from_name("min2max4"))) == 18  # 2 full + 2 half
    assert len(baseline_program(Task.from_name("merge2+2"))) == 20  # Batcher: 3 comparators
    assert len(baseline_program(Task.from_name("stablesort3"))) == 33  # 3 x 7 + 12


def test_a_user_task_without_construction_has_no_baseline(capsys, tmp_path):
    path = tmp_path / "swap.py"
    path.write_text("from discover import Task\n"
                    "task = Task.from_function('lastfirst', 3, lambda a: [a[2], a[0]])\n")
    code, _, err = run(capsys, "baseline", "--task", str(path))
    assert code == 2 and "no baseline construction" in err and "Traceback" not in err


def test_verify_names_input_expected_and_actual_output(capsys, tmp_path):
    path = tmp_path / "m0.asm"
    path.write_text("mov r0, m0\nmov m0, r0\n")
    result = verify(Program.read(path), Task.from_name("median3"))
    assert not result.correct
    line = result.summary().splitlines()[0]
    assert "counterexample input [0, 1, 1]" in line and "-> output [0] (expected [1])" in line
    code, out, _ = run(capsys, "verify", str(path), "--task", "median3")
    assert code == 1 and out.startswith("incorrect:") and "(expected [" in out


def test_scratch_cells_past_the_outputs_are_free(tmp_path):
    program = baseline_program(Task.from_name("median3"))
    # the same program, then garbage stored in m1 and m2: still correct
    text = program.text() + "mov m1, r0\nmov m2, r0\n"
    path = tmp_path / "scratch.asm"
    path.write_text(text)
    assert verify(Program.read(path), Task.from_name("median3")).correct


def test_cli_verify_and_baseline_on_every_family(capsys, tmp_path):
    for name in ("median5", "min2max4", "top2-of-5", "merge2+2", "stablesort3"):
        code, out, _ = run(capsys, "baseline", "--task", name)
        assert code == 0
        path = tmp_path / f"{name}.asm"
        path.write_text(out)
        code, out, _ = run(capsys, "verify", str(path), "--task", name)
        assert code == 0 and out.startswith("correct:"), out


def test_task_files(capsys, tmp_path):
    good = tmp_path / "second.py"
    good.write_text("from discover import Task\n"
                    "task = Task.from_function('second4', 4, lambda a: sorted(a)[1:2])\n")
    code, out, _ = run(capsys, "baseline", "--task", str(good))
    assert code == 0
    program = tmp_path / "second.asm"
    program.write_text(out)
    code, out, _ = run(capsys, "verify", str(program), "--task", str(good))
    assert code == 0 and out.startswith("correct:")
    for text, words in [("task = 3\n", "defines no 'task'"),
                        ("import nosuchmodule\n", "ModuleNotFoundError"),
                        ("from discover import Task\n"
                         "task = Task.from_function('s', 2, lambda a: [a[0] + a[1]])\n",
                         "not one of its input items")]:
        bad = tmp_path / "bad.py"
        bad.write_text(text)
        code, _, err = run(capsys, "verify", str(program), "--task", str(bad))
        assert code == 2 and words in err and len(err.strip().splitlines()) == 1, err
    code, _, err = run(capsys, "verify", str(program), "--task", str(tmp_path / "none.py"))
    assert code == 2 and "no such file" in err


def test_tasks_lists_the_kernels(capsys):
    code, out, _ = run(capsys, "tasks")
    assert code == 0
    for name in ("median5", "min2max8", "top2-of-5", "merge2+2", "stablesort3"):
        assert any(line.split()[0] == name for line in out.splitlines())
