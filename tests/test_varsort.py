"""ISA v2 (varsortN): text form, well-formedness on every path, the branch-aware
interpreter against the reference, verification with faults, costs, the human routine."""

import numpy as np
import pytest

from discover.kernels import (CMPN, JE, JL, JLE, JMP, LOAD, MOV, STORE, CMP, CMOVG, Program,
                              ProgramError, Task, TaskError, flow_cost, run_flow, verify,
                              varsort_program)
from discover.kernels.reference import Fault, run_reference_v2

VARSORT3 = """\
cmp n, 2
jl end
mov r0, m0
mov r1, m1
jle two       ; n == 2: the flags of cmp n, 2 still hold
mov r2, m2
mov r3, r2
cmp r0, r2
cmovg r2, r0
cmovg r0, r3
mov r3, r1
cmp r1, r2
cmovg r1, r2
cmovg r2, r3
mov m2, r2
two:
mov r3, r1
cmp r0, r1
cmovg r1, r0
cmovg r0, r3
mov m0, r0
mov m1, r1
end:
"""


def varsort3():
    return Program.parse(VARSORT3)


def test_tasks_count_every_length():
    counts = [Task.from_name(f"varsort{n}").n_inputs for n in range(2, 6)]
    assert counts == [5, 18, 93, 634]  # ISA.md: 1 + 1 + 3 + 13 + ... summed
    task = Task.from_name("VarSort3")
    assert task.variable and task.name == "varsort3" and task.registers == 4
    assert sorted(set(task.lengths.tolist())) == [0, 1, 2, 3]
    with pytest.raises(TaskError, match="unknown task"):
        Task.from_name("varsort9")


def test_text_round_trip_keeps_labels():
    program = varsort3()
    assert len(program) == 21 and program.branches
    assert Program.parse(program.text()) == program
    assert "two:" in program.text() and "jle two" in program.text()
    # without names (built from code) the labels are named by their index
    bare = Program(program.code)
    assert "jl L21" in bare.text() and bare.text().rstrip().endswith("L21:")
    assert Program.parse(bare.text()) == program


def test_v1_programs_have_no_branches():
    assert not Program.parse("mov r0, m0\nmov m0, r0\n").branches


@pytest.mark.parametrize("text, message", [
    ("jmp nowhere\n", "label 'nowhere' is not defined"),
    ("a:\nmov r0, m0\na:\nmov m0, r0\n", "label 'a' is already defined at line 1"),
    ("a:\nmov r0, m0\njmp a\n", "jump back to label 'a' at line 1"),
    ("start: mov r0, m0\n", "a label stands alone on its line"),
    ("jl\n", "'jl' takes one label"),
    ("cmp n, r1\n", "compares the length with a constant"),
    ("cmp n\n", "compares the length with a constant"),
    ("cmp n, 99999\n", "too large"),
])
def test_malformed_text_names_the_line(text, message):
    with pytest.raises(ProgramError, match=message) as error:
        Program.parse(text)
    assert str(error.value).startswith("line ")


def test_branches_need_a_varsort_task():
    with pytest.raises(ProgramError, match="need a variable-length task"):
        verify(varsort3(), Task.from_name("sort3"))


def test_constant_out_of_range():
    with pytest.raises(ProgramError, match=r"line 1: 'cmp n, 4': constant 4 out of range"):
        verify(Program.parse("cmp n, 4\njl e\ne:\n"), Task.from_name("varsort3"))


def test_read_unset_on_one_path_names_line_and_input():
    # the length-2 path jumps past the loads into code that reads them
    text = VARSORT3.replace("two:\nmov r3, r1\n", "two:\nmov r3, r2\n")
    with pytest.raises(ProgramError) as error:
        verify(Program.parse(text), Task.from_name("varsort3"))
    message = str(error.value)
    assert message.startswith("line 17: 'mov r3, r2': r2 is read before it is written "
                              "on a path of length 2")
    assert "input [0, 0] (length 2) takes it" in message


def test_cmov_without_cmp_on_one_path():
    text = "cmp n, 2\njl e\nmov r0, m0\nmov r1, m1\ncmovg r0, r1\nmov m0, r0\ne:\n"
    # the length-2+ path has the flags of cmp n, 2: well-formed (the flags are set)
    verify(Program.parse(text), Task.from_name("varsort2"))
    text = "cmp n, 2\njl e\nmov r0, m0\nmov r1, m1\njmp f\ne:\nf:\ncmovg r0, r1\n"
    with pytest.raises(ProgramError, match="read before it is written on a path of length 0"):
        verify(Program.parse(text), Task.from_name("varsort2"))


def test_paths_infeasible_for_every_length_are_not_checked():
    # after cmp n, 2 / jl, a second jl on the same flags is never taken by length >= 2
    text = ("cmp n, 2\njl e\nmov r0, m0\nmov r1, m1\njl e\nmov r2, r0\ncmp r0, r1\n"
            "cmovg r0, r1\ncmovg r1, r2\nmov m0, r0\nmov m1, r1\ne:\n")
    assert verify(Program.parse(text), Task.from_name("varsort2")).correct


def test_fault_names_input_length_and_line():
    text = VARSORT3.replace("jl end\n", "")  # lengths 0 and 1 now load m0, m1
    result = verify(Program.parse(text), Task.from_name("varsort3"))
    assert not result.correct and result.n_faults == 2
    assert result.fault == ("input [] (length 0) at line 2 'mov r0, m0': m0 is past the "
                            "length")
    assert "faulted" in result.summary()


def test_reads_past_the_length_on_one_input_only():
    # a straight-line sort3 program faults on every input shorter than 3
    result = verify(Program.parse(
        "mov r0, m0\nmov r1, m1\nmov r2, m2\nmov m0, r0\nmov m1, r1\nmov m2, r2\n"),
        Task.from_name("varsort3"))
    assert not result.correct and result.n_faults == 5


def test_wrong_output_names_the_counterexample_length():
    text = VARSORT3.replace("cmovg r1, r0\n", "")
    result = verify(Program.parse(text), Task.from_name("varsort3"))
    assert not result.correct and result.n_faults == 0
    assert result.counterexample_length == 2
    assert "(length 2)" in result.summary()


def test_varsort3_is_correct_and_costed():
    result = verify(varsort3(), Task.from_name("varsort3"))
    assert result.correct and result.length == 21
    cost = result.cost
    assert cost.paths == 3  # lengths 0-1, 2, 3
    assert cost.executed_max == 21  # length 3 runs everything (jl, jle not taken)
    by_length = {m: e for m, e, _ in cost.by_length}
    assert by_length == {0: 2, 1: 2, 2: 11, 3: 21}
    assert cost.executed_mean == pytest.approx((2 + 2 + 11 + 21) / 4)
    assert cost.latency_max >= cost.latency_mean > 0
    assert "paths: 3" in result.summary()


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6])
def test_human_routine_is_correct(n):
    task = Task.from_name(f"varsort{n}")
    program = varsort_program(n)
    assert verify(program, task).correct
    assert Program.parse(program.text()) == program


def test_human_routine_lengths():
    assert [len(varsort_program(n)) for n in (2, 3, 4, 5)] == [10, 30, 61, 110]


def _random_program(rng, n, registers, size):
    rows = []
    for k in range(size):
        kind = rng.integers(6)
        if kind == 0:
            rows.append((CMPN, 0, int(rng.integers(n + 1))))
        elif kind == 1:
            op = int(rng.choice([JMP, JL, JE, JLE, JL + 1, JE + 1]))
            rows.append((op, int(rng.integers(k + 1, size + 1)), 0))
        elif kind == 2:
            rows.append((LOAD, int(rng.integers(registers)), int(rng.integers(n))))
        elif kind == 3:
            rows.append((STORE, int(rng.integers(n)), int(rng.integers(registers))))
        else:
            op = int(rng.choice([MOV, CMP, CMOVG, CMOVG - 1, CMOVG + 3]))
            rows.append((op, int(rng.integers(registers)), int(rng.integers(registers))))
    return Program(np.array(rows, dtype=np.int32))


@pytest.mark.parametrize("n", [2, 3, 4])
def test_interpreter_matches_the_reference(n):
    """Random well-formed v2 programs: final memory, faults and instructions run agree
    with the plain-Python reference on every test input."""
    task = Task.from_name(f"varsort{n}")
    rng = np.random.default_rng(n)
    checked = 0
    for _ in range(4000):
        program = _random_program(rng, n, task.registers, int(rng.integers(4, 16)))
        if rng.random() < 0.5:  # most random programs read a register unwritten
            loads = [(LOAD, r, min(r, n - 1)) for r in range(task.registers)]
            program = Program(np.concatenate([np.array(loads, dtype=np.int32),
                                              program.code + [[0, len(loads), 0]] * (
                                                  program.code[:, :1] >= JMP)]))
        try:
            program.check(n, task.registers, variable=True)
        except ProgramError:
            continue
        checked += 1
        memory, fault, executed, _ = run_flow(program.code, task.inputs, task.lengths,
                                              task.registers)
        for column in range(task.n_inputs):
            m = int(task.lengths[column])
            values = [int(v) for v in task.inputs[:m, column]]
            try:
                out, ran = run_reference_v2(program.code, values, n)
            except Fault as error:
                assert fault[column] == error.index + 1
                continue
            assert fault[column] == 0
            assert [int(v) for v in memory[:m, column]] == out
            assert executed[column] == len(ran)
    assert checked > 200


def test_flow_interpreter_runs_v1_programs_like_run():
    from discover.kernels import baseline_program, run

    task = Task.from_name("sort4")
    program = baseline_program(task)
    lengths = np.full(task.n_inputs, 4, dtype=np.int8)
    memory, fault, executed, _ = run_flow(program.code, task.inputs, lengths, task.registers)
    assert np.array_equal(memory, run(program.code, task.inputs, task.registers))
    assert not fault.any() and (executed == len(program)).all()


def test_flow_cost_of_a_straight_program_matches_its_latency():
    from discover.kernels import latency_estimate

    task = Task.from_name("varsort2")
    program = Program.parse("cmp n, 2\njl e\nmov r0, m0\nmov r1, m1\nmov r2, r0\n"
                            "cmp r0, r1\ncmovg r0, r1\ncmovg r1, r2\nmov m0, r0\n"
                            "mov m1, r1\ne:\n")
    cost = flow_cost(program, task)
    straight = Program(program.code[2:])
    assert cost.latency_max == latency_estimate(straight.code, 2, 3)


@pytest.mark.parametrize("text, code, message", [
    (VARSORT3.replace("jl end\n", ""), 1, "first fault: input [] (length 0) at line 2"),
    (VARSORT3 + "jmp end\n", 2, "jump back to label 'end'"),
    (VARSORT3.replace("two:\n", "end:\n"), 2, "label 'end' is already defined"),
    (VARSORT3.replace("two:\nmov r3, r1\n", "two:\nmov r3, r2\n"), 2,
     "on a path of length 2: input [0, 0] (length 2) takes it"),
])
def test_cli_hidden_cases(tmp_path, capsys, text, code, message):
    from discover.cli import main

    path = tmp_path / "p.asm"
    path.write_text(text)
    assert main(["verify", str(path), "--task", "varsort3"]) == code
    captured = capsys.readouterr()
    shown = captured.out if code == 1 else captured.err
    assert message in shown
    if code == 2:
        assert len(captured.err.strip().splitlines()) == 1 and "Traceback" not in captured.err


def test_cli_branches_on_a_fixed_task(tmp_path, capsys):
    from discover.cli import main

    path = tmp_path / "p.asm"
    path.write_text(VARSORT3)
    assert main(["verify", str(path), "--task", "sort3"]) == 2
    assert "need a variable-length task (varsort3, ISA v2)" in capsys.readouterr().err


@pytest.mark.parametrize("n", [3, 4, 5])
def test_known_varsort_programs(n):
    from discover.known import known_program

    task = Task.from_name(f"varsort{n}")
    program = known_program(task)
    assert verify(program, task).correct
    assert len(program) <= {3: 21, 4: 37, 5: 63}[n]  # AlphaDev's VarSort lengths


def test_flow_cost_under_a_length_distribution():
    task = Task.from_name("varsort3")
    only3 = flow_cost(varsort3(), task, weights=[0, 0, 0, 1])
    assert only3.executed_mean == 21
    with pytest.raises(ValueError, match="one non-negative weight per length 0..3"):
        flow_cost(varsort3(), task, weights=[1, 1])
