"""The program contract (ISA v1): the opcode table, the `.asm` text form and well-formedness.

A program in memory is an ``int32[P, 3]`` array of ``(op, dst, src)`` rows, the form the
compiled interpreter takes as is. Operands are plain indices: ``mov r2, m1`` is
``(LOAD, 2, 1)`` and ``mov m1, r2`` is ``(STORE, 1, 2)``.

``OPCODES`` is the one description of every instruction: its text, its operand kinds,
what it reads and writes, its latency class, its cmov condition and how it prints in
Python, C and AT&T assembly. The parser, the printer, ``Program.check``, the cost model,
the exports, the game's masks, canonical form and the stochastic search's moves are
derived from it (plain tuples below, or the ``int8[N_OPCODES]`` arrays for compiled
code); only the compiled interpreter's loop (``interp._apply``) and the test oracle
(``reference.py``, written from ``ISA.md`` on purpose) say what each effect computes.
Adding an opcode: a constant and an entry here, and, for a new ``effect``, a branch in
``interp._apply`` and in ``reference.run_reference``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

# Opcodes: the row index of each instruction in OPCODES below.
MOV = 0  # mov rD, rS
LOAD = 1  # mov rD, mI
STORE = 2  # mov mI, rS
CMP = 3  # cmp rA, rB
CMOVL = 4
CMOVG = 5
CMOVLE = 6
CMOVGE = 7
CMOVE = 8
CMOVNE = 9

# Flags after a cmp are one of three bits; a cmov runs when flags & its condition != 0.
FLAG_LT = 1
FLAG_EQ = 2
FLAG_GT = 4
FLAG_UNSET = 0  # before any cmp: no cmov condition holds
ALL_FLAGS = FLAG_LT | FLAG_EQ | FLAG_GT

# Operand kinds (also their prefix in the text form).
REG = "r"  # a register rK
MEM = "m"  # a memory cell mK
NONE = ""  # no operand (its index is 0)

# Effects: what an instruction computes (interp._apply and the reference implement them).
COPY = 0  # dst = src
COMPARE = 1  # flags = comparison of dst with src
SELECT = 2  # dst = src if flags & cond else dst (a cmov)

# Latency classes (kernels/cost.py gives their cycles).
ALU = "alu"
LOAD_LATENCY = "load"
STORE_LATENCY = "store"

MAX_REGISTERS = 16
MAX_ITEMS = 8
MAX_OPERAND = 2**31 - 1  # an operand index must fit the int32 program array
MAX_SHOWN = 80  # characters of a bad line quoted in an error message


@dataclass(frozen=True)
class OpSpec:
    """One instruction of the ISA: text, operands, effects, cost class and exports.

    Export templates have the fields ``{dst}`` and ``{src}`` (the operands' text in that
    language: ``r3``, ``a[1]``, ``%[r3]``, ``8(%[a])``). A compare saves its operands
    in ``lhs`` and ``rhs`` (what the flags remember); a conditional instruction's
    template is its assignment when the condition ``lhs <compare> rhs`` holds (the
    exports wrap it in an ``if`` or a select).
    """

    mnemonic: str
    """Text mnemonic; several opcodes may share one (mov: copy, load, store)."""
    dst: str
    """Kind of the destination operand: REG, MEM or NONE."""
    src: str
    """Kind of the source operand: REG, MEM or NONE."""
    effect: int
    """What it computes: COPY, COMPARE or SELECT."""
    reads_dst: bool
    """Reads its destination (a cmp compares it; a cmov may keep it)."""
    reads_src: bool
    """Reads its source."""
    writes_dst: bool
    """Writes its destination (a cmov counts: it may)."""
    writes_flags: bool
    """Sets the flags."""
    cond: int
    """Flag bits under which it takes effect (a cmov); 0: unconditional, reads no flags."""
    latency: str
    """Latency class: ALU, LOAD_LATENCY or STORE_LATENCY."""
    compare: str
    """The relation ``lhs <compare> rhs`` its condition stands for (Python and C): '<'."""
    python: str
    """Python (and Numba) statement."""
    c: str
    """C statement."""
    att: str
    """x86-64 AT&T assembly (source first)."""

    @property
    def reads_flags(self) -> bool:
        return self.cond != 0

    @property
    def memory(self) -> bool:
        """Has a memory operand (a load or a store; not in the register-only length)."""
        return MEM in (self.dst, self.src)


def _cmov(suffix: str, compare: str, cond: int) -> OpSpec:
    return OpSpec(f"cmov{suffix}", REG, REG, SELECT, reads_dst=True, reads_src=True,
                  writes_dst=True, writes_flags=False, cond=cond, latency=ALU,
                  compare=compare, python="{dst} = {src}", c="{dst} = {src};",
                  att=f"cmov{suffix} {{src}}, {{dst}}")


def _mov(dst: str, src: str, latency: str) -> OpSpec:
    return OpSpec("mov", dst, src, COPY, reads_dst=False, reads_src=True, writes_dst=True,
                  writes_flags=False, cond=0, latency=latency, compare="",
                  python="{dst} = {src}", c="{dst} = {src};", att="mov {src}, {dst}")


OPCODES: tuple[OpSpec, ...] = (  # indexed by opcode
    _mov(REG, REG, ALU),  # MOV
    _mov(REG, MEM, LOAD_LATENCY),  # LOAD
    _mov(MEM, REG, STORE_LATENCY),  # STORE
    # CMP: Intel `cmp rA, rB` sets flags for A - B; AT&T writes the operands reversed.
    OpSpec("cmp", REG, REG, COMPARE, reads_dst=True, reads_src=True, writes_dst=False,
           writes_flags=True, cond=0, latency=ALU, compare="",
           python="lhs, rhs = {dst}, {src}", c="lhs = {dst}; rhs = {src};",
           att="cmp {src}, {dst}"),
    _cmov("l", "<", FLAG_LT),  # CMOVL
    _cmov("g", ">", FLAG_GT),  # CMOVG
    _cmov("le", "<=", FLAG_LT | FLAG_EQ),  # CMOVLE
    _cmov("ge", ">=", FLAG_GT | FLAG_EQ),  # CMOVGE
    _cmov("e", "==", FLAG_EQ),  # CMOVE
    _cmov("ne", "!=", FLAG_LT | FLAG_GT),  # CMOVNE
)
N_OPCODES = len(OPCODES)
"""The v1 opcodes (0..N_OPCODES-1): every fixed-size tool (game, searches, cost model,
exports of straight-line code) works on these."""

# ISA v2: control flow for the variable-length tasks (varsortN). These rows are
# ``(CMPN, 0, K)`` for ``cmp n, K`` and ``(Jcc, target, 0)`` for a jump, ``target`` the
# index of the instruction the label stands before (``len(code)``: the end). They are not
# in OPCODES, so the v1 tools and their opcode-indexed arrays never see them; the
# branch-aware interpreter (``kernels/flow.py``) runs both.
CONTROL_BASE = 16  # control opcodes start here, clear of the v1 table's (room to grow)
CMPN = CONTROL_BASE  # cmp n, K
JMP = CONTROL_BASE + 1
JL = CONTROL_BASE + 2
JG = CONTROL_BASE + 3
JLE = CONTROL_BASE + 4
JGE = CONTROL_BASE + 5
JE = CONTROL_BASE + 6
JNE = CONTROL_BASE + 7
LENGTH = "n"  # the length operand (operand kind and its text)
IMM = "k"  # a constant operand (cmp n, K)


@dataclass(frozen=True)
class ControlSpec:
    """One ISA v2 control instruction: its text, condition and x86-64 AT&T spelling."""

    mnemonic: str
    cond: int
    """Flag bits under which a jump is taken (ALL_FLAGS for jmp: always); 0 for cmp n."""
    reads_flags: bool
    compare: str
    """The relation ``lhs <compare> rhs`` a conditional jump tests ('' otherwise)."""


CONTROL: dict[int, ControlSpec] = {
    CMPN: ControlSpec("cmp", 0, False, ""),
    JMP: ControlSpec("jmp", ALL_FLAGS, False, ""),
    JL: ControlSpec("jl", FLAG_LT, True, "<"),
    JG: ControlSpec("jg", FLAG_GT, True, ">"),
    JLE: ControlSpec("jle", FLAG_LT | FLAG_EQ, True, "<="),
    JGE: ControlSpec("jge", FLAG_GT | FLAG_EQ, True, ">="),
    JE: ControlSpec("je", FLAG_EQ, True, "=="),
    JNE: ControlSpec("jne", FLAG_LT | FLAG_GT, True, "!="),
}
N_ALL_OPCODES = CONTROL_BASE + len(CONTROL)
JUMPS = tuple(op for op in CONTROL if op != CMPN)
JUMP_NAMES = {CONTROL[op].mnemonic: op for op in JUMPS}
# int8[N_ALL_OPCODES]: a jump's condition (0: not a jump), for compiled code.
JUMP_COND = np.zeros(N_ALL_OPCODES, dtype=np.int8)
for _op in JUMPS:
    JUMP_COND[_op] = CONTROL[_op].cond
JUMP_COND.setflags(write=False)

# Derived views of the table. Tuples of opcodes, in opcode order:
CMOVS = tuple(op for op, s in enumerate(OPCODES) if s.effect == SELECT)
MEMORY_OPS = tuple(op for op, s in enumerate(OPCODES) if s.memory)
CMOV_NAMES = {op: OPCODES[op].mnemonic for op in CMOVS}
MNEMONICS = {s.mnemonic for s in OPCODES}
FORMS = {(s.mnemonic, s.dst, s.src): op for op, s in enumerate(OPCODES)}  # text -> opcode
# The cmov that tests the swapped comparison (cmp rB, rA): l <-> g, le <-> ge, e, ne.
_BY_COND = {OPCODES[op].cond: op for op in CMOVS}
SWAPPED = {op: _BY_COND[(OPCODES[op].cond & FLAG_EQ) | ((OPCODES[op].cond & FLAG_LT) << 2)
                        | ((OPCODES[op].cond & FLAG_GT) >> 2)] for op in CMOVS}


def _array(values) -> np.ndarray:
    array = np.array(list(values), dtype=np.int8)
    array.setflags(write=False)
    return array


# int8[N_OPCODES] columns of the table, for compiled code (Numba freezes them as constants):
DST_MEM = _array(s.dst == MEM for s in OPCODES)  # 1: dst is a memory cell (row R + dst)
SRC_MEM = _array(s.src == MEM for s in OPCODES)  # 1: src is a memory cell
DST_REG = _array(s.dst == REG for s in OPCODES)  # 1: dst is a register
SRC_REG = _array(s.src == REG for s in OPCODES)  # 1: src is a register
READS_DST = _array(s.reads_dst for s in OPCODES)
READS_SRC = _array(s.reads_src for s in OPCODES)
WRITES_DST = _array(s.writes_dst for s in OPCODES)
READS_FLAGS = _array(s.reads_flags for s in OPCODES)
WRITES_FLAGS = _array(s.writes_flags for s in OPCODES)
EFFECT = _array(s.effect for s in OPCODES)
COND_MASK = _array(s.cond for s in OPCODES)  # 0 for an unconditional instruction
REGISTER_READS = _array((s.reads_dst and s.dst == REG) + (s.reads_src and s.src == REG)
                        for s in OPCODES)  # registers an instruction reads: 0, 1 or 2
# The opcode with the same mnemonic and the operand kinds swapped (load <-> store), or -1.
MIRROR = _array(FORMS.get((s.mnemonic, s.src, s.dst), -1) if s.src != s.dst else -1
                for s in OPCODES)


# Roles that the game's pruning rules, canonical form and the search moves know, derived
# from the columns above. An opcode of another shape gets ROLE_OTHER: those tools apply
# only well-formedness to it (no pruning rule, no special move).
ROLE_MOV = 0  # register copy
ROLE_LOAD = 1  # register <- memory copy
ROLE_STORE = 2  # memory <- register copy
ROLE_CMP = 3  # compare two registers
ROLE_CMOV = 4  # conditional register copy
ROLE_OTHER = 5


def _role(spec: OpSpec) -> int:
    kinds = (spec.dst, spec.src)
    if spec.effect == COPY and not spec.writes_flags:
        return {(REG, REG): ROLE_MOV, (REG, MEM): ROLE_LOAD,
                (MEM, REG): ROLE_STORE}.get(kinds, ROLE_OTHER)
    if spec.effect == COMPARE and kinds == (REG, REG):
        return ROLE_CMP
    if spec.effect == SELECT and kinds == (REG, REG):
        return ROLE_CMOV
    return ROLE_OTHER


ROLE = _array(_role(s) for s in OPCODES)  # int8[N_OPCODES]

_COMMENT = re.compile(r"[;#].*$")
_LABEL = re.compile(r"([A-Za-z_.$][A-Za-z0-9_.$]*)\s*:", re.ASCII)  # a label line
_CONSTANT = re.compile(r"[0-9]+", re.ASCII)
_OPERAND = re.compile(r"([rm])([0-9]+)", re.ASCII)  # ASCII digits only: no 'r٠'
_BOM = "\ufeff"


def operand_range(kind: str, n: int, registers: int) -> int:
    """How many values an operand of this kind takes: R registers, N cells, or 1 (none)."""
    return registers if kind == REG else n if kind == MEM else 1


def shorten(text: str, limit: int = MAX_SHOWN) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis (so a huge line is not echoed)."""
    return text if len(text) <= limit else text[:limit - 3] + "..."


class ProgramError(ValueError):
    """A program that cannot be parsed or is ill-formed; the message names the line."""

    def __init__(self, line: int, text: str, reason: str):
        super().__init__(f"line {line}: {shorten(text)!r}: {reason}")
        self.line = line
        self.text = text
        self.reason = reason


def label_name(target: int) -> str:
    """The name a label gets when its program has none from a text: ``L{target}``."""
    return f"L{target}"


def format_instruction(op: int, dst: int, src: int, labels=None) -> str:
    """The canonical text of one instruction, e.g. ``mov r0, m1``, ``cmp n, 2``, ``jl L7``
    (``labels``: names of jump targets by instruction index; default ``label_name``)."""
    if op in CONTROL:
        if op == CMPN:
            return f"cmp {LENGTH}, {src}"
        name = (labels or {}).get(dst) or label_name(dst)
        return f"{CONTROL[op].mnemonic} {name}"
    if not 0 <= op < N_OPCODES:
        raise ValueError(f"unknown opcode {op}")
    spec = OPCODES[op]
    operands = [f"{kind}{value}" for kind, value in ((spec.dst, dst), (spec.src, src))
                if kind != NONE]
    return " ".join([spec.mnemonic, ", ".join(operands)]) if operands else spec.mnemonic


def _operand(text: str) -> tuple[str, int]:
    match = _OPERAND.fullmatch(text)
    if match is None:
        raise ValueError(f"bad operand {shorten(text, 20)!r} (expected rK or mK)")
    digits = match.group(2).lstrip("0") or "0"
    if len(digits) > len(str(MAX_OPERAND)) or int(digits) > MAX_OPERAND:
        raise ValueError(f"operand {shorten(text, 20)!r} is too large "
                         f"(at most {match.group(1)}{MAX_OPERAND})")
    return match.group(1), int(digits)


def _expected_forms(mnemonic: str) -> str:
    forms = [(dst, src) for (name, dst, src) in FORMS if name == mnemonic]
    if all(kinds == (REG, REG) for kinds in forms):
        return f"'{mnemonic}' takes registers only"
    if (MEM, MEM) not in forms and all(NONE not in kinds for kinds in forms):
        return f"no memory-to-memory {mnemonic}"
    return f"'{mnemonic}' takes " + " or ".join(
        ", ".join(f"{kind}K" for kind in kinds if kind != NONE) or "no operand"
        for kinds in forms)


def parse_instruction(text: str) -> tuple[int, int, int]:
    """Parse one instruction (no comment) into ``(op, dst, src)``; ValueError says why."""
    parts = text.strip().split(None, 1)
    mnemonic = parts[0].lower()
    if mnemonic in JUMP_NAMES:
        raise ValueError(f"'{mnemonic}' jumps to a label: parse the whole program "
                         f"(Program.parse)")
    if mnemonic.endswith(":"):
        raise ValueError("a label stands alone on its line")
    if mnemonic not in MNEMONICS:
        raise ValueError(f"unknown instruction {shorten(parts[0], 20)!r}")
    operands = [o.strip().lower() for o in parts[1].split(",")] if len(parts) > 1 else []
    if mnemonic == "cmp" and operands and operands[0] == LENGTH:
        if len(operands) != 2 or not _CONSTANT.fullmatch(operands[1]):
            raise ValueError(f"'cmp {LENGTH}' compares the length with a constant: "
                             f"cmp {LENGTH}, K")
        digits = operands[1].lstrip("0") or "0"
        if len(digits) > 3:
            raise ValueError(f"constant {shorten(operands[1], 20)!r} is too large")
        return CMPN, 0, int(digits)
    counts = {sum(kind != NONE for kind in kinds)
              for (name, *kinds) in FORMS if name == mnemonic}
    if len(operands) not in counts or not all(operands):
        wanted = " or ".join(("no", "one", "two")[c] for c in sorted(counts))
        raise ValueError(f"'{mnemonic}' takes {wanted} operand{'s' * (max(counts) > 1)}"
                         + " separated by a comma" * (max(counts) > 1))
    parsed = [_operand(o) for o in operands]
    kinds = tuple(kind for kind, _ in parsed) + (NONE,) * (2 - len(parsed))
    values = [value for _, value in parsed] + [0] * (2 - len(parsed))
    op = FORMS.get((mnemonic, *kinds))
    if op is None:
        raise ValueError(_expected_forms(mnemonic))
    return op, values[0], values[1]


@dataclass(frozen=True, eq=False)
class Program:
    """A program: ``code: int32[P, 3]  # (op, dst, src)``, straight-line (v1) or with
    jumps (v2: a jump row's ``dst`` is the index of the instruction its label stands
    before, ``P`` for the end).

    ``lines`` holds each instruction's line number in the text it was parsed from, so
    that errors found later (well-formedness against a task) still name the right line.
    ``labels`` holds ``(index, name)`` for each label of that text (several may share an
    index); a program built from code alone names its jump targets ``L{index}``. Labels
    are not instructions: they neither count nor take part in equality.
    """

    code: np.ndarray
    lines: tuple[int, ...] = field(default=())
    labels: tuple[tuple[int, str], ...] = field(default=())

    def __post_init__(self):
        code = np.ascontiguousarray(self.code, dtype=np.int32).reshape(-1, 3)
        code.setflags(write=False)
        object.__setattr__(self, "code", code)
        if len(self.lines) != len(code):
            object.__setattr__(self, "lines", tuple(range(1, len(code) + 1)))

    @classmethod
    def parse(cls, text: str) -> "Program":
        """Parse the ``.asm`` text form; raises ProgramError naming the line.

        A UTF-8 byte-order mark at the start of the text is skipped. A label line
        (``name:``) names the next instruction; a jump must go forward to a label defined
        once.
        """
        text = text.removeprefix(_BOM)
        rows, lines, labels, defined, jumps = [], [], [], {}, []
        for number, raw in enumerate(text.splitlines(), start=1):
            body = _COMMENT.sub("", raw).strip()
            if not body:
                continue
            label = _LABEL.fullmatch(body)
            if label is not None:
                name = label.group(1)
                if name in defined:
                    raise ProgramError(number, raw.strip(), f"label {name!r} is already "
                                       f"defined at line {defined[name][1]}")
                defined[name] = (len(rows), number)
                labels.append((len(rows), name))
                continue
            parts = body.split(None, 1)
            mnemonic = parts[0].lower()
            if mnemonic in JUMP_NAMES:
                target = parts[1].strip() if len(parts) > 1 else ""
                if not _LABEL.fullmatch(target + ":"):
                    raise ProgramError(number, raw.strip(), f"'{mnemonic}' takes one label "
                                       f"(an identifier), got {shorten(target, 20)!r}")
                jumps.append((len(rows), target, number, raw.strip()))
                rows.append((JUMP_NAMES[mnemonic], 0, 0))
            else:
                try:
                    rows.append(parse_instruction(body))
                except ValueError as error:
                    raise ProgramError(number, raw.strip(), str(error)) from None
            lines.append(number)
        for index, target, number, raw in jumps:
            if target not in defined:
                raise ProgramError(number, raw, f"label {target!r} is not defined")
            row, where = defined[target]
            if row <= index:
                raise ProgramError(number, raw, f"jump back to label {target!r} at line "
                                   f"{where} (jumps go forward only)")
            rows[index] = (rows[index][0], row, 0)
        return cls(np.array(rows, dtype=np.int32).reshape(-1, 3), tuple(lines), tuple(labels))

    @classmethod
    def read(cls, path) -> "Program":
        """Read a ``.asm`` file; OSError if unreadable, ProgramError if malformed."""
        with open(path, encoding="utf-8") as handle:
            return cls.parse(handle.read())

    @classmethod
    def from_instructions(cls, instructions) -> "Program":
        """Build from ``(op, dst, src)`` tuples or instruction strings (strings may hold
        labels and jumps: they are parsed as one text)."""
        instructions = list(instructions)
        if instructions and all(isinstance(i, str) for i in instructions):
            return cls.parse("\n".join(instructions))
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

    @property
    def branches(self) -> bool:
        """Has ISA v2 control flow (a jump or a ``cmp n, K``)."""
        return bool(np.any(self.code[:, 0] >= N_OPCODES))

    def label_names(self) -> dict[int, list[str]]:
        """Names of the labels before each instruction index (jump targets always named)."""
        names: dict[int, list[str]] = {}
        for row, name in self.labels:
            names.setdefault(row, []).append(name)
        taken = {name for _, name in self.labels}
        for op, dst, _ in self:
            if op in JUMP_NAMES.values() and dst not in names:
                name = label_name(dst)
                while name in taken:
                    name += "_"
                taken.add(name)
                names[dst] = [name]
        return names

    def instructions(self) -> list[str]:
        targets = {row: names[0] for row, names in self.label_names().items()}
        return [format_instruction(*row, labels=targets) for row in self]

    def text(self) -> str:
        """The canonical ``.asm`` text, one instruction (or label) a line."""
        names = self.label_names()
        out = []
        for k, line in enumerate(self.instructions()):
            out.extend(f"{name}:\n" for name in names.get(k, ()))
            out.append(line + "\n")
        out.extend(f"{name}:\n" for name in names.get(len(self), ()))
        return "".join(out)

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return f"Program({len(self)} instructions)"

    @property
    def register_only_length(self) -> int:
        """Length without loads and stores (the enumerative-synthesis convention)."""
        return int(np.count_nonzero(~np.isin(self.code[:, 0], MEMORY_OPS)))

    def check(self, n: int, registers: int, variable: bool = False) -> None:
        """Raise ProgramError unless the program is well-formed for N items and R registers.

        Well-formed: operands in range, no register read before it is written (a cmov
        reads its destination too, since it may keep it), no cmov before the first cmp.
        With ``variable`` (a varsort task, ISA v2) jumps and ``cmp n, K`` are allowed:
        jumps go forward, and the rules hold on every path, for every length n = 0..N: a
        register is written, and a cmp made, on every path that reaches the instruction
        that needs it. The length decides each jump that follows a ``cmp n, K``; after a
        cmp of registers both ways count (the data decides).
        """
        targets = {row: names[0] for row, names in self.label_names().items()}
        size = len(self)
        for k, (row, line) in enumerate(zip(self, self.lines)):
            op, dst, src = row
            text = format_instruction(*row, labels=targets)
            if op in CONTROL:
                if not variable:
                    raise ProgramError(line, text, f"jumps and 'cmp {LENGTH}, K' need a "
                                       f"variable-length task (varsort{n}, ISA v2)")
                if op == CMPN and (not 0 <= src <= n or dst != 0):
                    raise ProgramError(line, text, f"constant {src} out of range "
                                       f"(0..{n} for this task)")
                if op != CMPN and (not k < dst <= size or src != 0):
                    raise ProgramError(line, text, f"jump target {dst} is not an "
                                       f"instruction after this one (jumps go forward only)")
                continue
            if not 0 <= op < N_OPCODES:
                raise ProgramError(line, f"opcode {op}", f"unknown opcode {op}")
            spec = OPCODES[op]
            for value, kind in ((dst, spec.dst), (src, spec.src)):
                limit = operand_range(kind, n, registers)
                if not 0 <= value < limit:
                    raise ProgramError(line, text, f"{kind}{value} out of range "
                                       f"({kind}0..{kind}{limit - 1} for this task)"
                                       if kind != NONE else
                                       f"operand {value} of {spec.mnemonic} is not 0")
        for length in (range(n + 1) if variable else (None,)):
            self._check_paths(length, targets)

    def _check_paths(self, length: int | None, targets) -> None:
        """The read-before-write and cmp-before-use rules on every path an input of this
        length can take (None: straight-line code, one path)."""
        size = len(self)
        # Per instruction, what every path into it has done: (registers written as bits,
        # flags: None before any cmp, else the length comparison they hold, or DATA).
        # None: no path of this length reaches it.
        data = object()
        reach: list = [None] * (size + 1)
        reach[0] = (0, None)

        def merge(k, state):
            old = reach[k]
            if old is None:
                reach[k] = state
            else:
                flags = old[1] if old[1] == state[1] else (
                    None if old[1] is None or state[1] is None else data)
                reach[k] = (old[0] & state[0], flags)

        on_path = "" if length is None else f" on a path of length {length}"
        for k, (row, line) in enumerate(zip(self, self.lines)):
            if reach[k] is None:
                continue
            written, flags = reach[k]
            op, dst, src = row
            text = format_instruction(*row, labels=targets)
            if op in CONTROL:
                if op == CMPN:
                    merge(k + 1, (written, (FLAG_LT if length < src else FLAG_EQ
                                            if length == src else FLAG_GT)))
                    continue
                spec = CONTROL[op]
                if spec.reads_flags and flags is None:
                    raise ProgramError(line, text, f"{spec.mnemonic} before any cmp{on_path}")
                if op == JMP:
                    taken, falls = True, False
                elif flags is data:
                    taken = falls = True
                else:
                    taken = bool(flags & spec.cond)
                    falls = not taken
                if taken:
                    merge(dst, (written, flags))
                if falls:
                    merge(k + 1, (written, flags))
                continue
            spec = OPCODES[op]
            for value, kind, read in ((dst, spec.dst, spec.reads_dst),
                                      (src, spec.src, spec.reads_src)):
                if read and kind == REG and not written >> value & 1:
                    raise ProgramError(line, text,
                                       f"r{value} is read before it is written{on_path}")
            if spec.reads_flags and flags is None:
                raise ProgramError(line, text, f"{spec.mnemonic} before any cmp{on_path}")
            if spec.writes_flags:
                flags = data
            if spec.writes_dst and spec.dst == REG:
                written |= 1 << dst
            merge(k + 1, (written, flags))


__all__ = [
    "ALL_FLAGS", "ALU", "CMOVE", "CMOVG", "CMOVGE", "CMOVL", "CMOVLE", "CMOVNE",
    "CMOVS", "CMOV_NAMES", "CMP", "COMPARE", "COND_MASK", "COPY", "DST_MEM", "DST_REG",
    "EFFECT", "FLAG_EQ", "FLAG_GT", "FLAG_LT", "FLAG_UNSET", "FORMS", "LOAD",
    "LOAD_LATENCY", "MAX_ITEMS", "MAX_OPERAND", "MAX_REGISTERS", "MAX_SHOWN", "MEM",
    "MEMORY_OPS", "MIRROR", "MNEMONICS", "MOV", "NONE", "N_OPCODES", "OPCODES",
    "OpSpec", "Program", "ProgramError", "READS_DST", "READS_FLAGS", "READS_SRC", "REG",
    "REGISTER_READS", "ROLE", "ROLE_CMOV", "ROLE_CMP", "ROLE_LOAD", "ROLE_MOV",
    "ROLE_OTHER", "ROLE_STORE", "SELECT", "SRC_MEM", "SRC_REG", "STORE",
    "STORE_LATENCY", "SWAPPED", "WRITES_DST", "WRITES_FLAGS", "format_instruction",
    "operand_range", "parse_instruction", "shorten",
    "CMPN", "CONTROL", "ControlSpec", "IMM", "JE", "JG", "JGE", "JL", "JLE", "JMP", "JNE",
    "JUMPS", "JUMP_COND", "JUMP_NAMES", "LENGTH", "N_ALL_OPCODES", "label_name",
]
