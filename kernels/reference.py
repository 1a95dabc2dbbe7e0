"""Plain-Python oracles: the reference interpreter, well-formedness and the latency model.

Written for obviousness, not speed: one input at a time, the instruction table of
``/work/shared/spec/ISA.md`` read literally (and, for the latency, the model that
``cost.py``'s docstring describes). They are deliberately independent of the opcode
table in ``isa.py`` (they use only the opcode numbers, never a column of the table), so
the tests that compare them with everything derived from the table catch a wrong entry.
Adding an opcode means adding its text form, meaning, reads and latency here too, from
the spec.
"""

from __future__ import annotations

from .isa import (CMP, CMOVE, CMOVG, CMOVGE, CMOVL, CMOVLE, CMOVNE, CMPN, JE, JG, JGE, JL,
                  JLE, JMP, JNE, LOAD, MOV, STORE)

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
        elif _HOLDS[op](*last_cmp):
            registers[dst] = registers[src]
        else:
            registers[dst]  # a cmov reads its destination even when it keeps it
    return memory


def reference_well_formed(program, n: int, registers: int) -> bool:
    """ISA.md's well-formedness, one instruction form at a time: operands in range, no
    register read before it is written (a cmov reads both of its registers), no cmov
    before a cmp."""
    written, seen_cmp = set(), False
    for op, dst, src in program:
        if op == LOAD:
            ok, reads = 0 <= dst < registers and 0 <= src < n, ()
        elif op == STORE:
            ok, reads = 0 <= dst < n and 0 <= src < registers, (src,)
        elif op in (MOV, CMP, *_HOLDS):
            ok = 0 <= dst < registers and 0 <= src < registers
            reads = (src,) if op == MOV else (dst, src)
        else:
            return False
        if not ok or not written.issuperset(reads) or (op in _HOLDS and not seen_cmp):
            return False
        if op == CMP:
            seen_cmp = True
        elif op != STORE:
            written.add(dst)
    return True


def reference_latency(program, n: int, registers: int) -> int:
    """The latency model of ``cost.py``, one instruction form at a time: a load takes 4
    cycles from its cell's last store, everything else 1 from the values it reads (a cmov:
    both registers and the flags); at most 4 instructions issue per cycle."""
    reg, mem, flags, finish, count = [0] * registers, [0] * n, 0, 0, 0
    for op, dst, src in program:
        count += 1
        if op == LOAD:
            reg[dst] = end = mem[src] + 4
        elif op == STORE:
            mem[dst] = end = reg[src] + 1
        elif op == MOV:
            reg[dst] = end = reg[src] + 1
        elif op == CMP:
            flags = end = max(reg[dst], reg[src]) + 1
        else:
            reg[dst] = end = max(reg[dst], reg[src], flags) + 1
        finish = max(finish, end)
    return max(finish, -(-count // 4))


# ISA v2 (ISA.md, "ISA v2"): the jumps and the relation each one tests.
_JUMPS = {
    JMP: None,
    JL: lambda a, b: a < b,
    JG: lambda a, b: a > b,
    JLE: lambda a, b: a <= b,
    JGE: lambda a, b: a >= b,
    JE: lambda a, b: a == b,
    JNE: lambda a, b: a != b,
}


class Fault(Exception):
    """A load or store of a cell past the input's length (ISA v2)."""

    def __init__(self, index: int, cell: int):
        super().__init__(f"instruction {index} touches m{cell}, past the length")
        self.index = index
        self.cell = cell


def run_reference_v2(program, values, cells: int):
    """Run a v2 program (rows of (op, dst, src); a jump's dst is the index of the
    instruction its label stands before) on one input ``values`` of length n <= ``cells``.

    Returns ``(memory, executed)``: the final memory (its first n cells) and the indices
    of the instructions run, in order. Raises Fault for a cell at or past n; KeyError or
    TypeError when a register is read unwritten or a condition has no cmp before it.
    """
    rows = [tuple(int(v) for v in row) for row in program]
    memory = list(values)
    length = len(memory)
    registers: dict[int, object] = {}
    last_cmp = None
    executed = []
    k = 0
    while k < len(rows):
        op, dst, src = rows[k]
        executed.append(k)
        nxt = k + 1
        if op == MOV:
            registers[dst] = registers[src]
        elif op == LOAD:
            if src >= length:
                raise Fault(k, src)
            registers[dst] = memory[src]
        elif op == STORE:
            if dst >= length:
                raise Fault(k, dst)
            memory[dst] = registers[src]
        elif op == CMP:
            last_cmp = (registers[dst], registers[src])
        elif op == CMPN:
            last_cmp = (length, src)
        elif op in _JUMPS:
            if dst <= k:
                raise ValueError(f"instruction {k} jumps backward")
            if op == JMP or _JUMPS[op](*last_cmp):
                nxt = dst
        elif _HOLDS[op](*last_cmp):
            registers[dst] = registers[src]
        else:
            registers[dst]  # a cmov reads its destination even when it keeps it
        k = nxt
    assert len(memory) <= cells
    return memory, executed
