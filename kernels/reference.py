"""The plain-Python reference interpreter: the oracle the compiled one is tested against.

Written for obviousness, not speed: one input at a time, the instruction table of
``/work/shared/spec/ISA.md`` read literally. It is deliberately independent of the opcode
table in ``isa.py`` (it uses only the opcode numbers, never a column of the table), so
the tests that compare it with everything derived from that table can catch a wrong
entry. Adding an opcode means adding its meaning here too, from the spec.
"""

from __future__ import annotations

from .isa import CMP, CMOVE, CMOVG, CMOVGE, CMOVL, CMOVLE, CMOVNE, LOAD, MOV, STORE

# The instruction forms of ISA.md's table (v1, Intel operand order); the tests check that
# the opcode table has exactly these.
SPEC_FORMS = ("mov rD, rS", "mov rD, mI", "mov mI, rS", "cmp rA, rB", "cmovl rD, rS",
              "cmovg rD, rS", "cmovle rD, rS", "cmovge rD, rS", "cmove rD, rS", "cmovne rD, rS")
_HOLDS = {
    CMOVL: lambda a, b: a < b,
    CMOVG: lambda a, b: a > b,
    CMOVLE: lambda a, b: a <= b,
    CMOVGE: lambda a, b: a >= b,
    CMOVE: lambda a, b: a == b,
    CMOVNE: lambda a, b: a != b,
}


def run_reference(program, values) -> list:
    """Run ``program`` (rows of (op, dst, src)) on one input; returns the final memory.

    ``values`` may hold any mutually comparable items. Reading an unwritten register or
    using a cmov before any cmp raises KeyError/TypeError: well-formed programs never do.
    """
    memory = list(values)
    registers: dict[int, object] = {}
    last_cmp = None
    for op, dst, src in program:
        if op == MOV:
            registers[dst] = registers[src]
        elif op == LOAD:
            registers[dst] = memory[src]
        elif op == STORE:
            memory[dst] = registers[src]
        elif op == CMP:
            last_cmp = (registers[dst], registers[src])
        else:
            # a cmov reads both registers, whether it fires or not
            kept, moved = registers[dst], registers[src]
            registers[dst] = moved if _HOLDS[op](*last_cmp) else kept
    return memory
