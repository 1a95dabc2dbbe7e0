"""The program contract (ISA v1): opcodes, the `.asm` text form and well-formedness.

A program in memory is an ``int32[P, 3]`` array of ``(op, dst, src)`` rows, the form the
compiled interpreter takes as is. Operands are plain indices: ``mov r2, m1`` is
``(LOAD, 2, 1)`` and ``mov m1, r2`` is ``(STORE, 1, 2)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

# Opcodes and flag bits live beside the interpreter loop that switches on them (a
# Numba cache entry is invalidated only by edits to its own file).
from .interp import (CMOVE, CMOVG, CMOVGE, CMOVL, CMOVLE, CMOVNE, CMOVS, CMP, COND_MASK,
                     FLAG_EQ, FLAG_GT, FLAG_LT, FLAG_UNSET, LOAD, MOV, N_OPCODES, STORE)

CMOV_NAMES = {CMOVL: "cmovl", CMOVG: "cmovg", CMOVLE: "cmovle",
              CMOVGE: "cmovge", CMOVE: "cmove", CMOVNE: "cmovne"}
MNEMONICS = {"mov": MOV, "cmp": CMP, **{name: op for op, name in CMOV_NAMES.items()}}

MAX_REGISTERS = 16
MAX_ITEMS = 8

_COMMENT = re.compile(r"[;#].*$")
_OPERAND = re.compile(r"^([rm])(\d+)$")


class ProgramError(ValueError):
    """A program that cannot be parsed or is ill-formed; the message names the line."""

    def __init__(self, line: int, text: str, reason: str):
        super().__init__(f"line {line}: {text!r}: {reason}")
        self.line = line
        self.text = text
        self.reason = reason


def format_instruction(op: int, dst: int, src: int) -> str:
    """The canonical text of one instruction, e.g. ``mov r0, m1``."""
    if op == MOV:
        return f"mov r{dst}, r{src}"
    if op == LOAD:
        return f"mov r{dst}, m{src}"
    if op == STORE:
        return f"mov m{dst}, r{src}"
    if op == CMP:
        return f"cmp r{dst}, r{src}"
    if op in CMOV_NAMES:
        return f"{CMOV_NAMES[op]} r{dst}, r{src}"
    raise ValueError(f"unknown opcode {op}")


def parse_instruction(text: str) -> tuple[int, int, int]:
    """Parse one instruction (no comment) into ``(op, dst, src)``; ValueError says why."""
    parts = text.strip().split(None, 1)
    mnemonic = parts[0].lower()
    if mnemonic not in MNEMONICS:
        raise ValueError(f"unknown instruction {parts[0]!r}")
    operands = [o.strip().lower() for o in parts[1].split(",")] if len(parts) > 1 else []
    if len(operands) != 2 or not all(operands):
        raise ValueError(f"'{mnemonic}' takes two operands separated by a comma")
    kinds = []
    for operand in operands:
        match = _OPERAND.match(operand)
        if match is None:
            raise ValueError(f"bad operand {operand!r} (expected rK or mK)")
        kinds.append((match.group(1), int(match.group(2))))
    (dk, dst), (sk, src) = kinds
    op = MNEMONICS[mnemonic]
    if op == MOV:
        if dk == "r" and sk == "r":
            return MOV, dst, src
        if dk == "r" and sk == "m":
            return LOAD, dst, src
        if dk == "m" and sk == "r":
            return STORE, dst, src
        raise ValueError("no memory-to-memory mov")
    if dk != "r" or sk != "r":
        raise ValueError(f"'{mnemonic}' takes registers only")
    return op, dst, src


@dataclass(frozen=True, eq=False)
class Program:
    """A straight-line program: ``code: int32[P, 3]  # (op, dst, src)``.

    ``lines`` holds each instruction's line number in the text it was parsed from, so
    that errors found later (well-formedness against a task) still name the right line.
    """

    code: np.ndarray
    lines: tuple[int, ...] = field(default=())

    def __post_init__(self):
        code = np.ascontiguousarray(self.code, dtype=np.int32).reshape(-1, 3)
        code.setflags(write=False)
        object.__setattr__(self, "code", code)
        if len(self.lines) != len(code):
            object.__setattr__(self, "lines", tuple(range(1, len(code) + 1)))

    @classmethod
    def parse(cls, text: str) -> "Program":
        """Parse the ``.asm`` text form; raises ProgramError naming the line."""
        rows, lines = [], []
        for number, raw in enumerate(text.splitlines(), start=1):
            body = _COMMENT.sub("", raw).strip()
            if not body:
                continue
            try:
                rows.append(parse_instruction(body))
            except ValueError as error:
                raise ProgramError(number, raw.strip(), str(error)) from None
            lines.append(number)
        return cls(np.array(rows, dtype=np.int32).reshape(-1, 3), tuple(lines))

    @classmethod
    def read(cls, path) -> "Program":
        """Read a ``.asm`` file; OSError if unreadable, ProgramError if malformed."""
        with open(path, encoding="utf-8") as handle:
            return cls.parse(handle.read())

    @classmethod
    def from_instructions(cls, instructions) -> "Program":
        """Build from ``(op, dst, src)`` tuples or instruction strings."""
        rows = [parse_instruction(i) if isinstance(i, str) else tuple(i) for i in instructions]
        return cls(np.array(rows, dtype=np.int32).reshape(-1, 3))

    def __len__(self) -> int:
        return len(self.code)

    def __iter__(self):
        return (tuple(int(v) for v in row) for row in self.code)

    def __eq__(self, other) -> bool:
        return isinstance(other, Program) and np.array_equal(self.code, other.code)

    def __hash__(self) -> int:
        return hash(self.code.tobytes())

    def instructions(self) -> list[str]:
        return [format_instruction(*row) for row in self]

    def text(self) -> str:
        """The canonical ``.asm`` text, one instruction a line."""
        return "".join(line + "\n" for line in self.instructions())

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return f"Program({len(self)} instructions)"

    @property
    def register_only_length(self) -> int:
        """Length without loads and stores (the enumerative-synthesis convention)."""
        ops = self.code[:, 0]
        return int(np.count_nonzero((ops != LOAD) & (ops != STORE)))

    def check(self, n: int, registers: int) -> None:
        """Raise ProgramError unless the program is well-formed for N items and R registers.

        Well-formed: operands in range, no register read before it is written (a cmov
        reads its destination too, since it may keep it), no cmov before the first cmp.
        """
        written = [False] * registers
        seen_cmp = False
        for row, line in zip(self, self.lines):
            op, dst, src = row
            text = format_instruction(*row)

            def fail(reason, line=line, text=text):
                raise ProgramError(line, text, reason)

            dst_is_mem = op == STORE
            src_is_mem = op == LOAD
            for value, is_mem in ((dst, dst_is_mem), (src, src_is_mem)):
                limit, kind = (n, "m") if is_mem else (registers, "r")
                if not 0 <= value < limit:
                    fail(f"{kind}{value} out of range ({kind}0..{kind}{limit - 1} for this task)")
            reads = {MOV: (src,), LOAD: (), STORE: (src,), CMP: (dst, src)}.get(op, (dst, src))
            for reg in reads:
                if not written[reg]:
                    fail(f"r{reg} is read before it is written")
            if op in CMOV_NAMES and not seen_cmp:
                fail(f"{CMOV_NAMES[op]} before any cmp")
            if op == CMP:
                seen_cmp = True
            elif op != STORE:
                written[dst] = True
