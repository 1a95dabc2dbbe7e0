import numpy as np
import pytest
from hypothesis import given, strategies as st

from discover import OPTIMAL_NETWORKS, Program, ProgramError, Task, baseline_program
from discover.kernels import CMOVS, CMP, LOAD, MOV, N_OPCODES, STORE, format_instruction

KNOWN_SORT3 = "discover/known/sort3.asm"


@pytest.mark.parametrize("n", sorted(OPTIMAL_NETWORKS))
def test_text_array_text_round_trip(n):
    program = baseline_program(Task(n))
    again = Program.parse(program.text())
    assert again == program
    assert again.text() == program.text()
    assert again.code.dtype == np.int32 and again.code.shape == (len(program), 3)


def test_parse_accepts_comments_case_and_spacing():
    text = """
    ; a comment line
    MOV R0, M0      # loads
    mov r1,m1
      Cmp r0 ,  r1
    cmovG r0, r1 ; min
    """
    program = Program.parse(text)
    assert program.instructions() == ["mov r0, m0", "mov r1, m1", "cmp r0, r1", "cmovg r0, r1"]
    assert program.lines == (3, 4, 5, 6)


@given(st.lists(st.tuples(st.integers(0, N_OPCODES - 1), st.integers(0, 15),
                          st.integers(0, 15)), max_size=40))
def test_any_instruction_round_trips(rows):
    program = Program.from_instructions(rows)
    assert Program.parse(program.text()) == program


@pytest.mark.parametrize("line, reason", [
    ("cmovx r1, r2", "unknown instruction 'cmovx'"),
    ("mov r1", "takes two operands"),
    ("mov r1, r2, r3", "takes two operands"),
    ("mov m0, m1", "no memory-to-memory mov"),
    ("cmp r0, m1", "registers only"),
    ("cmovl m0, r1", "registers only"),
    ("mov x0, r1", "bad operand 'x0'"),
    ("mov r0, r-1", "bad operand 'r-1'"),
])
def test_parse_errors_name_line_text_and_reason(line, reason):
    with pytest.raises(ProgramError) as info:
        Program.parse(f"mov r0, m0\n\n{line}\n")
    assert info.value.line == 3
    assert str(info.value).startswith(f"line 3: {line!r}: ")
    assert reason in str(info.value)


@pytest.mark.parametrize("text, line, reason", [
    ("mov r0, m0\nmov r1, r2\n", 2, "r2 is read before it is written"),
    ("mov r0, m0\ncmp r0, r1\n", 2, "r1 is read before it is written"),
    ("mov r0, m0\nmov m1, r3\n", 2, "r3 is read before it is written"),
    ("mov r0, m0\nmov r1, m1\ncmovl r0, r1\n", 3, "cmovl before any cmp"),
    ("mov r0, m0\nmov r1, m0\ncmp r0, r1\ncmovg r2, r1\n", 4, "r2 is read before"),
    ("mov r4, m0\n", 1, "r4 out of range (r0..r3"),
    ("mov r0, m3\n", 1, "m3 out of range (m0..m2"),
    ("mov r0, m0\nmov m5, r0\n", 2, "m5 out of range"),
])
def test_ill_formed_programs_are_rejected_before_running(text, line, reason):
    program = Program.parse("; header\n" + text)
    with pytest.raises(ProgramError) as info:
        program.check(3, 4)
    assert info.value.line == line + 1  # the header comment shifts every line by one
    assert reason in info.value.reason


def test_well_formed_programs_pass_check():
    Program.read(KNOWN_SORT3).check(3, 4)
    for n in OPTIMAL_NETWORKS:
        baseline_program(Task(n)).check(n, n + 1)


def test_register_only_length():
    program = Program.read(KNOWN_SORT3)
    assert len(program) == 17
    assert program.register_only_length == 11


def test_format_covers_every_opcode():
    assert format_instruction(MOV, 1, 2) == "mov r1, r2"
    assert format_instruction(LOAD, 1, 2) == "mov r1, m2"
    assert format_instruction(STORE, 1, 2) == "mov m1, r2"
    assert format_instruction(CMP, 1, 2) == "cmp r1, r2"
    names = [format_instruction(op, 0, 1).split()[0] for op in CMOVS]
    assert names == ["cmovl", "cmovg", "cmovle", "cmovge", "cmove", "cmovne"]
    with pytest.raises(ValueError):
        format_instruction(N_OPCODES, 0, 0)


def test_program_is_immutable():
    program = Program.read(KNOWN_SORT3)
    with pytest.raises(ValueError):
        program.code[0, 0] = 3
