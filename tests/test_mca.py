"""``--cost mca``: llvm-mca's estimate (discover/native/mca.py).

Checked: the assembly text handed to llvm-mca, the parsing of its report, what a missing
llvm-mca says, and (where llvm-mca is installed) that a real run gives one positive
figure per program, in order. Never the figures themselves.
"""

import math
import re
import shutil

import pytest

import discover.native.mca as mca
from discover.candidates import rank
from discover.cli import main
from discover.kernels import Program, Task, baseline_program, verify
from discover.native.toolchain import NativeError

SORT3 = Task.from_name("sort3")
KNOWN = Program.parse("""\
mov r0, m0
mov r1, m1
mov r2, m2
mov r3, r2
cmp r0, r2
cmovl r3, r0
cmovg r2, r0
cmp r1, r2
mov r0, r2
cmovg r2, r1
cmovl r0, r1
cmp r3, r0
cmovg r0, r3
cmovg r3, r1
mov m0, r3
mov m1, r0
mov m2, r2
""")
needs_mca = pytest.mark.skipif(bool(mca.mca_unavailable()), reason="llvm-mca unavailable")

CANNED = """\

[0] Code Region - p0

Iterations:        100
Instructions:      1800
Total Cycles:      464
Total uOps:        1800

Dispatch Width:    4
uOps Per Cycle:    3.88

[1] Code Region - p1

Iterations:        100
Instructions:      1700
Total Cycles:      440
Total uOps:        1700
"""


def test_asm_text_uses_concrete_distinct_registers():
    program = baseline_program(SORT3)
    lines = mca.mca_text(program, SORT3.registers).splitlines()
    assert len(lines) == len(program)
    assert not any("%[" in line for line in lines)  # no placeholder left
    assert lines[0] == "mov 0(%rdi), %rax"
    assert lines[-1] == "mov %rdx, 16(%rdi)"
    # Program register rK is always REGISTERS[K] (AT&T order: source first).
    for line, instruction in zip(lines, program.text().splitlines()):
        registers = [r for r in re.findall(r"%\w+", line) if r != mca.POINTER]
        named = re.findall(r"\br(\d+)", instruction)
        assert registers == [mca.REGISTERS[int(k)] for k in reversed(named)], line
    used = {r for line in lines for r in re.findall(r"%r\w+", line)} - {"%rdi"}
    assert used == set(mca.REGISTERS[:SORT3.registers])
    assert len(set(mca.REGISTERS)) == len(mca.REGISTERS) and mca.POINTER not in mca.REGISTERS
    assert "%rsp" not in mca.REGISTERS


def test_asm_text_refuses_a_register_it_cannot_map():
    wide = Task.from_name("sort3", 16)
    program = Program.parse("mov r15, m0\nmov m0, r15\n")
    with pytest.raises(NativeError, match="r15"):
        mca.mca_text(program, wide.registers)


def test_region_parsing_of_a_canned_report():
    assert mca.parse_regions(CANNED) == {"p0": (100, 464), "p1": (100, 440)}
    broken = CANNED.replace("Total Cycles:      440\n", "")
    with pytest.raises(NativeError, match="p1"):
        mca.parse_regions(broken)
    assert mca.parse_regions("no regions here") == {}


def test_unavailable_without_llvm_mca(monkeypatch):
    monkeypatch.delenv("LLVM_MCA", raising=False)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(mca.platform, "machine", lambda: "x86_64")
    assert mca.mca_path() is None
    reason = mca.mca_unavailable()
    assert "llvm-mca" in reason and "\n" not in reason
    with pytest.raises(NativeError, match="llvm-mca"):
        mca.mca_cycles([baseline_program(SORT3)], SORT3)


def test_unavailable_with_llvm_mca_naming_a_missing_file(monkeypatch, tmp_path):
    monkeypatch.setenv("LLVM_MCA", str(tmp_path / "no-such-llvm-mca"))
    monkeypatch.setattr(mca.platform, "machine", lambda: "x86_64")
    assert mca.mca_path() is None
    reason = mca.mca_unavailable()
    assert "llvm-mca" in reason and "LLVM_MCA" in reason


def test_unavailable_off_x86_64(monkeypatch):
    monkeypatch.setattr(mca.platform, "machine", lambda: "aarch64")
    assert "x86-64" in mca.mca_unavailable()


def test_cost_mca_without_llvm_mca_exits_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(mca, "mca_unavailable", lambda: mca.MISSING)
    code = main(["search", "--task", "sort3", "--cost", "mca", "--out", str(tmp_path / "run")])
    assert code == 2
    assert capsys.readouterr().err.strip().splitlines() == [f"discover: error: {mca.MISSING}"]
    assert not (tmp_path / "run").exists()


@needs_mca
def test_mca_cycles_one_positive_figure_per_program_in_order():
    network = baseline_program(SORT3)
    longer = Program.parse(KNOWN.text().replace("mov m0, r3\n", "cmovg r0, r1\nmov m0, r3\n"))
    programs = [network, KNOWN, longer]
    figures = mca.mca_cycles(programs, SORT3)
    assert len(figures) == 3
    assert all(math.isfinite(x) and x > 0 for x in figures)
    # In input order: each alone gives the same figure (no ordering between them asserted).
    assert [mca.mca_cycles([p], SORT3)[0] for p in reversed(programs)] == figures[::-1]
    assert mca.mca_cpu()


@needs_mca
def test_mca_cycles_fails_in_one_line_for_an_unknown_cpu():
    with pytest.raises(NativeError, match="llvm-mca") as error:
        mca.mca_cycles([KNOWN], SORT3, mcpu="no-such-cpu")
    assert "\n" not in str(error.value)


@needs_mca
def test_rank_by_mca_fills_the_figure():
    ranked = rank([baseline_program(SORT3), KNOWN], SORT3, "mca")
    assert len(ranked) == 2 and all(c.mca_cycles > 0 for c in ranked)
    assert ranked[0].mca_cycles <= ranked[1].mca_cycles


@needs_mca
def test_search_cost_mca_writes_the_table(tmp_path, capsys):
    from discover.candidates import read_candidates

    out = tmp_path / "run"
    code = main(["search", "--task", "sort3", "--cost", "mca", "--steps", "20000",
                 "--max-length", "19", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0 and "mca cycles" in printed
    header, ranked = read_candidates(out / "candidates.json")
    assert header["cost"] == "mca" and len(ranked) >= 1
    assert all(verify(c.program, SORT3).correct and c.mca_cycles > 0 for c in ranked)
    assert ranked[0].program.text() in (out / "best.asm").read_text()
