import re

import numpy as np
import pytest
from hypothesis import given, strategies as st

from discover import OPTIMAL_NETWORKS, Program, ProgramError, Task, baseline_program
from discover.export import to_function
from discover.kernels import (CMOVS, CMP, LOAD, MOV, N_OPCODES, OPCODES, STORE,
                              format_instruction, latency_estimate, mcmc, parse_instruction,
                              run, run_reference)
from discover.kernels.isa import operand_range
from discover.kernels.reference import SPEC_FORMS, reference_latency, reference_well_formed

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


# --- parser hardening ----------------------------------------------------------------------

@pytest.mark.parametrize("line", ["mov r\u0660, m\u0660", "mov r0, m\u0661", "cmp r\uff11, r0",
                                  "mov r\u00b2, m0"])
def test_operand_numbers_are_ascii_digits_only(line):
    # `\d` would read Arabic-Indic or full-width digits as 0 and 1
    with pytest.raises(ProgramError) as info:
        Program.parse(f"mov r0, m0\n{line}\n")
    assert info.value.line == 2 and "bad operand" in info.value.reason


@pytest.mark.parametrize("operand", ["r2147483648", "m2147483648", "r99999999999999999999",
                                     "r" + "9" * 5000])
def test_huge_operand_index_is_a_program_error(operand):
    line = f"mov r0, {operand}" if operand[0] == "m" else f"mov {operand}, m0"
    with pytest.raises(ProgramError) as info:  # not an OverflowError from the int32 array
        Program.parse(f"; header\nmov r0, m0\n{line}\n")
    assert info.value.line == 3
    assert "too large" in info.value.reason
    assert len(str(info.value)) < 250


def test_largest_operand_index_parses():
    program = Program.parse(f"mov r{2**31 - 1}, m0\nmov r0, m000\n")
    assert program.code[0, 1] == 2**31 - 1 and program.code[1, 2] == 0


def test_byte_order_mark_at_the_start_is_allowed(tmp_path):
    text = "mov r0, m0\nmov m0, r0\n"
    assert Program.parse("\ufeff" + text) == Program.parse(text)
    path = tmp_path / "bom.asm"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert Program.read(path) == Program.parse(text)
    with pytest.raises(ProgramError) as info:  # only at the start of the text
        Program.parse(text + "\ufeffmov r0, m0\n")
    assert info.value.line == 3


@pytest.mark.parametrize("line", ["mov r0, " + "x" * 10_000_000, "y" * 10_000_000,
                                  "mov r0, r1, " + "r2, " * 1_000_000])
def test_error_message_cuts_a_very_long_line(line):
    with pytest.raises(ProgramError) as info:
        Program.parse(line)
    message = str(info.value)
    assert message.startswith("line 1: ") and len(message) < 250
    assert "..." in message


# --- the opcode table ------------------------------------------------------------------------

def _form(spec):
    return " ".join([spec.mnemonic, ", ".join(f"{kind}X" for kind in (spec.dst, spec.src)
                                              if kind)]).strip()


def test_table_has_exactly_the_spec_instruction_forms():
    spec = {re.sub(r"\b([rm])[A-Z]\b", r"\1X", form) for form in SPEC_FORMS}
    assert {_form(s) for s in OPCODES} == spec and N_OPCODES == len(SPEC_FORMS)
    for form in SPEC_FORMS:  # every form parses, as the opcode of that form
        op, _, _ = parse_instruction(re.sub(r"\b([rm])[A-Z]\b", r"\g<1>1", form))
        assert _form(OPCODES[op]) == re.sub(r"\b([rm])[A-Z]\b", r"\1X", form)


def test_isa_does_not_import_the_interpreter():
    import discover.kernels.isa as isa
    source = open(isa.__file__, encoding="utf-8").read()
    assert "interp" not in "".join(line for line in source.splitlines() if "import" in line)


def _operand_values(op, n, registers, rng, slack=0):
    spec = OPCODES[op]
    return tuple(int(rng.integers(operand_range(kind, n, registers) + slack))
                 for kind in (spec.dst, spec.src))


@pytest.mark.parametrize("op", range(N_OPCODES), ids=[format_instruction(op, 1, 2)
                                                      for op in range(N_OPCODES)])
def test_every_opcode_formats_and_parses_back(op):
    rng = np.random.default_rng(op)
    for _ in range(50):
        dst, src = _operand_values(op, 8, 16, rng)
        text = format_instruction(op, dst, src)
        assert parse_instruction(text) == (op, dst, src)
        assert parse_instruction(text.upper().replace(",", " ,  ")) == (op, dst, src)


def _random_rows(rng, n, registers, length, slack=0):
    """Random rows over every opcode, operands in range + slack (well-formed or not)."""
    ops = rng.integers(N_OPCODES, size=length)
    return [(int(op), *_operand_values(int(op), n, registers, rng, slack)) for op in ops]


def test_check_agrees_with_the_reference_on_random_rows():
    """Program.check and the search's well_formed (derived from the table) accept exactly
    what the spec-written well-formedness accepts."""
    rng = np.random.default_rng(1)
    outcomes = set()
    for _ in range(3000):
        n, registers = int(rng.integers(1, 6)), int(rng.integers(1, 6))
        rows = _random_rows(rng, n, registers, int(rng.integers(1, 12)), int(rng.integers(2)))
        try:
            Program.from_instructions(rows).check(n, registers)
            ok = True
        except ProgramError:
            ok = False
        assert ok == reference_well_formed(rows, n, registers), rows
        assert ok == mcmc.well_formed(np.array(rows, dtype=np.int32), len(rows), n, registers)
        outcomes.add(ok)
    assert outcomes == {True, False}


def _well_formed_rows(rng, n, registers, length):
    while True:
        rows = [(LOAD, i % registers, i) for i in range(n)]
        rows += _random_rows(rng, n, registers, length)
        if reference_well_formed(rows, n, registers):
            return rows


def test_derived_tools_agree_with_the_reference_on_random_programs(tmp_path, monkeypatch):
    """Compiled interpreter, latency model, register-only length and Python export, all
    derived from the table, against spec-written oracles on programs using every opcode."""
    monkeypatch.setenv("DISCOVER_CACHE_DIR", str(tmp_path))  # exported modules go here
    rng = np.random.default_rng(2)
    task = Task(3)
    seen = set()
    for _ in range(40):
        rows = _well_formed_rows(rng, 3, task.registers, int(rng.integers(1, 25)))
        seen.update(op for op, _, _ in rows)
        program = Program.from_instructions(rows)
        program.check(3, task.registers)
        expected = np.array([run_reference(rows, column) for column in task.inputs.T.tolist()],
                            dtype=np.int8).T
        assert np.array_equal(run(program.code, task.inputs, task.registers), expected)
        assert latency_estimate(program.code, 3, task.registers) == reference_latency(
            rows, 3, task.registers)
        assert program.register_only_length == sum(
            re.search(r"\bm[0-9]", text) is None for text in program.instructions())
        exported = to_function(program, task, force=True)
        for column, want in zip(task.inputs.T.tolist(), expected.T.tolist()):
            assert exported(list(column)) == want
    assert seen == set(range(N_OPCODES))
