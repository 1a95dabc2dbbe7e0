import numpy as np
import pytest

from discover.kernels import (CMOVG, CMOVL, OPTIMAL_NETWORKS, Program, ProgramError, Task,
                              baseline_program, run_reference, verify)

KNOWN_SORT3 = "discover/known/sort3.asm"


@pytest.mark.parametrize("n", sorted(OPTIMAL_NETWORKS))
def test_network_programs_are_correct(n):
    task = Task(n)
    result = verify(baseline_program(task), task)
    assert result.correct and result.n_solved == task.n_inputs
    assert result.counterexample is None and result.output is None
    assert (result.placed == n).all()
    assert result.length == 2 * n + 4 * len(OPTIMAL_NETWORKS[n])


def test_baseline_lengths_match_the_human_figures():
    assert [len(baseline_program(Task(n))) for n in (3, 4, 5)] == [18, 28, 46]


def test_hand_written_17_instruction_sort3():
    result = verify(Program.read(KNOWN_SORT3), Task(3))
    assert result.correct
    assert (result.length, result.register_only_length) == (17, 11)


def broken_variants(program):
    """Every program that flips one cmovg/cmovl of the given one."""
    for k, (op, dst, src) in enumerate(program):
        if op in (CMOVG, CMOVL):
            code = program.code.copy()
            code[k, 0] = CMOVL if op == CMOVG else CMOVG
            yield Program(code)


@pytest.mark.parametrize("source", ["network3", "network4", "known3"])
def test_broken_programs_give_a_true_counterexample(source):
    n = int(source[-1])
    program = Program.read(KNOWN_SORT3) if source == "known3" else baseline_program(Task(n))
    task = Task(n)
    for broken in broken_variants(program):
        result = verify(broken, task)
        assert not result.correct
        values = list(result.counterexample)
        output = run_reference(broken, values)
        assert tuple(output) == result.output
        assert output != sorted(values)
        # the counterexample is one of the task's inputs, and its placed count is < N
        column = np.flatnonzero((task.inputs.T == values).all(axis=1))[0]
        assert result.placed[column] < n


def test_missing_store_is_incorrect():
    program = Program.from_instructions(baseline_program(Task(3)).instructions()[:-1])
    result = verify(program, Task(3))
    assert not result.correct
    # m2 keeps its input: right exactly when the input's last item is already the maximum
    inputs = Task(3).inputs
    assert np.array_equal(result.placed == 3, inputs[2] == inputs.max(axis=0))


def test_verify_rejects_ill_formed_programs():
    with pytest.raises(ProgramError, match="before any cmp"):
        verify(Program.parse("mov r0, m0\ncmovl r0, r0\n"), Task(2))


def test_summary_lines():
    text = verify(Program.read(KNOWN_SORT3), Task(3)).summary()
    assert "correct: sorts all 13 weak orderings" in text
    assert "length: 17" in text and "register-only length: 11" in text
