"""Exports of ISA v2 programs (the varsortN tasks): jumps, ``cmp n, K`` and a run-time length.

``discover.export`` calls these for a variable-length task; fixed-size exports never come
here. Each language gets the program with its control flow made explicit:

- **C** has ``goto``, so forward jumps map one to one: the portable C is the instruction
  sequence with ``if (lhs < rhs) goto L;`` for a conditional jump, and the inline
  assembly is the exact sequence, labels included. Its labels are assembler-local and
  unique per asm instance (``.Ldiscover_<name>_%=``: GCC and Clang replace ``%=`` with a
  number of that asm statement, so an inlined or duplicated copy gets its own), and
  ``cmp n, K`` is ``cmp $K, %[n]`` with the length in a register operand.
- **Python and Numba** have no ``goto``. Jumps go forward only, so the program's control
  flow is a DAG, and every path through it is a finite sequence: the export writes the
  DAG as a tree of nested ``if``/``else`` (a conditional jump's taken path in the
  ``if``, its fall-through in the ``else``; a ``jmp`` just continues at its label),
  duplicating the code after a join in every branch that reaches it. Programs are small
  (the human varsort8 routine writes about 500 lines); one whose tree would exceed
  ``MAX_TREE_STATEMENTS`` statements is refused (``FlowExportError``, which
  ``discover.export`` reports as its ExportError).

The exported functions check the length first: more items than the task's N is a
ValueError (Python, Numba) or a return value of -1 with the array untouched (C).
"""

from __future__ import annotations

import re

from discover.kernels import (CMPN, CONTROL, JMP, N_OPCODES, OPCODES, Program, Task,
                              format_instruction)
from discover.kernels.isa import MEM, REG

__all__ = ["FlowExportError", "MAX_TREE_DEPTH", "MAX_TREE_STATEMENTS", "c_source", "label_identifiers", "numba_source",
           "python_source", "tree_size"]

MAX_TREE_STATEMENTS = 20_000
"""Most statements the nested-if form of a program may have (Python and Numba exports)."""
MAX_TREE_DEPTH = 90
"""Most nested ``if`` levels (Python's tokenizer stops at 100 indentation levels)."""

# The relation that holds when a conditional jump is NOT taken ('<' -> '>=').
_NEGATED = {"<": ">=", ">=": "<", ">": "<=", "<=": ">", "==": "!=", "!=": "=="}

# Tree statements: ("op", op, dst, src) a v1 instruction; ("cmpn", K); ("note", text) a
# comment (a jmp followed, a label reached); ("branch", op, text, taken, fall) a
# conditional jump with the statements of its two continuations (lists, possibly shared
# between branches: the tree is a DAG in memory, a tree when written).


def _tree(program: Program):
    """The statements from each instruction index to the end, as a nested-if tree."""
    code = [tuple(int(v) for v in row) for row in program]
    names = {row: names[0] for row, names in program.label_names().items()}
    memo: dict[int, list] = {}

    def walk(pc: int) -> list:
        if pc in memo:
            return memo[pc]
        out: list = []
        start, k = pc, pc
        while k < len(code):
            if k != start and k in names:
                out.append(("note", f"{names[k]}:"))
            op, dst, src = code[k]
            text = format_instruction(op, dst, src, labels=names)
            if op == JMP:
                out.append(("note", text))
                if dst in names and dst < len(code):
                    out.append(("note", f"{names[dst]}:"))
                start = k = dst
                continue
            if op == CMPN:
                out.append(("cmpn", src, text))
            elif op in CONTROL:
                taken = ([("note", f"{names[dst]}:")] if dst < len(code) else []) + walk(dst)
                out.append(("branch", op, text, taken, walk(k + 1)))
                break
            else:
                out.append(("op", op, dst, src))
            k += 1
        memo[pc] = out
        return out

    return walk(0)


def tree_size(program: Program) -> int:
    """Statements of the program's nested-if form (every duplicate counted)."""
    sizes: dict[int, int] = {}

    def size(stmts) -> int:
        key = id(stmts)
        if key not in sizes:
            total = 0
            for s in stmts:
                total += 1
                if s[0] == "branch":
                    total += size(s[3]) + size(s[4])
            sizes[key] = total
        return sizes[key]

    return size(_tree(program))


def _depth(stmts, memo: dict) -> int:
    key = id(stmts)
    if key not in memo:
        memo[key] = max([1 + max(_depth(s[3], memo), _depth(s[4], memo))
                         for s in stmts if s[0] == "branch"], default=0)
    return memo[key]


class FlowExportError(ValueError):
    """A program this module cannot write (its nested-if form is too large or too deep)."""


def _check_tree(program: Program) -> list:
    try:
        tree = _tree(program)
        count = tree_size(program)
        depth = _depth(tree, {})
    except RecursionError:
        count = depth = None
    if count is None or count > MAX_TREE_STATEMENTS:
        raise FlowExportError("the program's paths written as nested if/else take "
                          f"{'too many' if count is None else count} statements, over the "
                          f"{MAX_TREE_STATEMENTS} this export writes (Python has no goto); "
                          "export it as C")
    if depth > MAX_TREE_DEPTH:
        raise FlowExportError(f"the program's jumps written as nested if/else are {depth} levels "
                          f"deep, over the {MAX_TREE_DEPTH} this export writes (Python has no "
                          "goto); export it as C")
    return tree


def _reads_flags(s) -> bool:
    if s[0] == "op":
        return OPCODES[s[1]].reads_flags
    return s[0] == "branch" and CONTROL[s[1]].reads_flags


def _writes_flags(s) -> bool:
    return s[0] == "cmpn" or (s[0] == "op" and OPCODES[s[1]].writes_flags)


def _live_ok(stmts: list, start: int, regs: set[int], dirty: bool = False) -> bool:
    """Can the flag readers after a ``cmp rA, rB`` (before ``stmts[start]``) read A and B
    live? Not if, on some path, A or B is written before a reader of these flags. A run of
    cmovs on one condition is one ``if`` (it reads the flags once, at its start)."""
    previous = None
    for s in stmts[start:]:
        if _writes_flags(s):
            return True
        if s[0] == "op" and _reads_flags(s):
            same_run = previous is not None and previous[0] == "op" and previous[1] == s[1]
            if dirty and not same_run:
                return False
        if s[0] == "branch":
            if dirty and _reads_flags(s):
                return False
            return _live_ok(s[3], 0, regs, dirty) and _live_ok(s[4], 0, regs, dirty)
        if s[0] == "op":
            spec = OPCODES[s[1]]
            if spec.writes_dst and spec.dst == REG and s[2] in regs:
                dirty = True
        previous = s
    return True


def _operand_text(op: int, dst: int, src: int, template: str, memory,
                  register=lambda i: f"r{i}") -> str:
    """A table template with its operands written as ``register(i)`` / ``memory(i)``."""
    spec = OPCODES[op]

    def operand(kind, value):
        return register(value) if kind == REG else memory(value) if kind == MEM else ""

    return template.format(dst=operand(spec.dst, dst), src=operand(spec.src, src))


def _too_long(name: str, n: int, given: str) -> str:
    """The Python expression of the error message for an over-long input."""
    return f'"{name} sorts at most {n} items, got " + str({given})'


# ---------------------------------------------------------------------------------------
# Python and Numba: the tree as nested if/else


def _render(stmts: list, indent: str, memory, select: bool, flags=None) -> list:
    """Lines ``(code or None, comment or None)`` of a statement list.

    ``select``: every cmov is a conditional expression on saved compared values (Numba:
    LLVM turns them into selects); else cmovs on one condition share one ``if``, reading
    the compared registers live where that is safe (Python).
    """
    lines: list = []
    lhs, rhs = flags if flags is not None else ("lhs", "rhs")
    k = 0
    while k < len(stmts):
        s = stmts[k]
        kind = s[0]
        if kind == "note":
            lines.append((indent, None, s[1]))
        elif kind == "cmpn":
            lhs, rhs = "n", str(s[1])
            lines.append((indent, None, s[2]))
        elif kind == "op":
            op, dst, src = s[1:]
            spec = OPCODES[op]
            text = format_instruction(op, dst, src)
            if spec.writes_flags:
                if not select and _live_ok(stmts, k + 1, {dst, src}):
                    lhs, rhs = f"r{dst}", f"r{src}"
                    lines.append((indent, None, text))
                else:
                    lhs, rhs = "lhs", "rhs"
                    lines.append((indent, _operand_text(op, dst, src, spec.python, memory),
                                  text))
            elif spec.reads_flags and select:
                target, value = _operand_text(op, dst, src, spec.python, memory).split(" = ")
                cond = f"{lhs} {spec.compare} {rhs}"
                lines.append((indent, f"{target} = {value} if {cond} else {target}", text))
            elif spec.reads_flags:
                lines.append((indent, f"if {lhs} {spec.compare} {rhs}:", None))
                while k < len(stmts) and stmts[k][0] == "op" and stmts[k][1] == op:
                    _, _, d, r = stmts[k]
                    lines.append((indent + "    ",
                                  _operand_text(op, d, r, spec.python, memory),
                                  format_instruction(op, d, r)))
                    k += 1
                continue
            else:
                lines.append((indent, _operand_text(op, dst, src, spec.python, memory), text))
        else:  # a conditional jump
            op, text, taken, fall = s[1:]
            relation = CONTROL[op].compare
            inner = indent + "    "
            then = _render(taken, inner, memory, select, (lhs, rhs))
            other = _render(fall, inner, memory, select, (lhs, rhs))
            has = [any(code for _, code, _ in block) for block in (then, other)]
            if not has[0] and not has[1]:
                lines.append((indent, None, f"{text} (both ways do nothing more)"))
            elif not has[0]:
                lines.append((indent, f"if {lhs} {_NEGATED[relation]} {rhs}:",
                              f"{text} (not taken)"))
                lines += other
            else:
                lines.append((indent, f"if {lhs} {relation} {rhs}:", f"{text} (taken)"))
                lines += then
                if has[1]:
                    chained = _elif(fall, indent, memory, select, (lhs, rhs))
                    if chained is not None:
                        lines += chained
                    else:
                        lines.append((indent, "else:", None))
                        lines += other
        k += 1
    return lines


def _elif(fall: list, indent: str, memory, select: bool, flags) -> list | None:
    """The fall-through of a jump as ``elif``, where it is only comments and ``cmp n, K``
    then one conditional jump (``else: if c: ...`` is ``elif c: ...``); else None."""
    comments = []
    for j, s in enumerate(fall):
        if s[0] == "note":
            comments.append(s[1])
        elif s[0] == "cmpn":
            comments.append(s[2])
            flags = ("n", str(s[1]))
        elif s[0] == "branch" and j == len(fall) - 1:
            lines = _render(fall[j:], indent, memory, select, flags)
            first_indent, code, comment = lines[0]
            if code is None or not code.startswith("if "):
                return None
            lines[0] = (first_indent, "el" + code, "; ".join(comments + [comment]))
            return lines
        else:
            return None
    return None


def _format_lines(lines: list) -> list[str]:
    width = max((len(indent) + len(code) for indent, code, _ in lines if code), default=0) + 2
    out = []
    for indent, code, comment in lines:
        if code is None:
            out.append(f"{indent}# {comment}")
        elif comment is None:
            out.append(f"{indent}{code}")
        else:
            out.append(f"{indent + code:<{width}}# {comment}")
    return out


def python_source(program: Program, task: Task, header: str) -> str:
    """A dependency-free module with ``varsortN(a)``: sorts a list (or array) of 0..N
    items in place and returns it; ValueError for more than N items."""
    tree = _check_tree(program)
    name, n = task.name, task.n
    body = _format_lines(_render(tree, "    ", lambda i: f"a[{i}]", select=False))
    return (header
            + "\n\n"
            + f"def {name}(a):\n"
            + f'    """Sort the 0..{n} items of a (a list or 1-D array) in place and return a.\n\n'
            + "    Works for any mutually comparable values (ints, floats, strings, tuples).\n"
            + "    The program's forward jumps are written as nested if/else (Python has no\n"
            + "    goto): code after a join is repeated in each branch that reaches it.\n"
            + f'    ValueError for more than {n} items.\n    """\n'
            + "    n = len(a)\n"
            + f"    if n > {n}:\n"
            + f"        raise ValueError({_too_long(name, n, 'n')})\n"
            + "\n".join(body) + "\n"
            + "    return a\n")


def numba_source(program: Program, task: Task, header: str, options: str) -> str:
    """A module with ``varsortN(a)`` (a 1-D array of 0..N items, in place) and
    ``varsortN_rows(x, lengths)`` (row i of an (M, N) array holds ``lengths[i]`` items)."""
    tree = _check_tree(program)
    name, n = task.name, task.n
    one = _format_lines(_render(tree, "    ", lambda i: f"a[{i}]", select=True))
    rows = _format_lines(_render(tree, "        ", lambda i: f"x[i, {i}]", select=True))
    return (header
            + "import numba\n\n\n"
            + f"@numba.njit({options})\n"
            + f"def {name}(a):\n"
            + f'    """Sort the 0..{n} items of a 1-D array in place and return it '
              f'(ValueError for more)."""\n'
            + "    n = len(a)\n"
            + f"    if n > {n}:\n"
            + f"        raise ValueError({_too_long(name, n, 'n')})\n"
            + "\n".join(one) + "\n"
            + "    return a\n\n\n"
            + f"@numba.njit({options})\n"
            + f"def {name}_rows(x, lengths):\n"
            + f'    """Sort x[i, :lengths[i]] of an (M, {n}) array in place, for every row i; '
              f'return x."""\n'
            + f"    if x.shape[1] != {n} or lengths.shape[0] != x.shape[0]:\n"
            + f'        raise ValueError("{name}_rows: x must be (M, {n}) and lengths (M,)")\n'
            + "    for i in range(x.shape[0]):\n"
            + "        n = lengths[i]\n"
            + f"        if n < 0 or n > {n}:\n"
            + f"            raise ValueError({_too_long(name, n, 'n')})\n"
            + "\n".join(rows) + "\n"
            + "    return x\n")


# ---------------------------------------------------------------------------------------
# C: goto and asm labels


def label_identifiers(program: Program) -> dict[int, str]:
    """A C identifier for each jump target (by instruction index), from its label name:
    characters other than letters, digits and '_' become '_'; made unique."""
    out: dict[int, str] = {}
    taken: set[str] = set()
    for row, names in sorted(program.label_names().items()):
        base = re.sub(r"[^A-Za-z0-9_]", "_", names[0])
        ident = base
        if ident in taken:
            ident = f"{base}_{row}"
        while ident in taken:
            ident += "_"
        taken.add(ident)
        out[row] = ident
    return out


def _used_registers(program: Program) -> list[int]:
    used = set()
    for op, dst, src in program:
        if op < N_OPCODES:
            spec = OPCODES[op]
            used.update(v for v, kind in ((dst, spec.dst), (src, spec.src)) if kind == REG)
    return sorted(used)


def _targets(program: Program) -> set[int]:
    return {dst for op, dst, _ in program if op in CONTROL and op != CMPN}


def _portable_lines(program: Program, ty: str) -> list[str]:
    names = {row: names[0] for row, names in program.label_names().items()}
    idents = label_identifiers(program)
    targets = _targets(program)
    out = []
    for k, (op, dst, src) in enumerate(program):
        if k in targets:
            out.append(f"{idents[k]}:;")
        text = format_instruction(op, dst, src, labels=names)
        if op == CMPN:
            code = f"lhs = ({ty})n; rhs = {src};"
        elif op == JMP:
            code = f"goto {idents[dst]};"
        elif op in CONTROL:
            code = f"if (lhs {CONTROL[op].compare} rhs) goto {idents[dst]};"
        else:
            spec = OPCODES[op]
            code = _operand_text(op, dst, src, spec.c, lambda i: f"a[{i}]")
            if spec.reads_flags:
                target, value = code.rstrip(";").split(" = ", 1)
                code = f"{target} = (lhs {spec.compare} rhs) ? {value} : {target};"
        out.append(f"    {code:<34}/* {text} */")
    if len(program) in targets:
        out.append(f"{idents[len(program)]}:;")
    return out


def _asm_label(ident: str) -> str:
    return f".Ldiscover_{ident}_%="


def _asm_lines(program: Program, size: int) -> list[tuple[str, str]]:
    """(AT&T text, comment) per instruction and label, over named operands."""
    names = {row: names[0] for row, names in program.label_names().items()}
    idents = label_identifiers(program)
    targets = _targets(program)
    out = []
    for k, (op, dst, src) in enumerate(program):
        if k in targets:
            out.append((f"{_asm_label(idents[k])}:", f"{names[k]}:"))
        text = format_instruction(op, dst, src, labels=names)
        if op == CMPN:
            att = f"cmp ${src}, %[n]"
        elif op in CONTROL:
            att = f"{CONTROL[op].mnemonic} {_asm_label(idents[dst])}"
        else:
            att = _att(op, dst, src, size)
        out.append((att, text))
    if len(program) in targets:
        out.append((f"{_asm_label(idents[len(program)])}:", f"{names[len(program)]}:"))
    return out


def _att(op: int, dst: int, src: int, size: int) -> str:
    return _operand_text(op, dst, src, OPCODES[op].att, lambda i: f"{size * i}(%[a])",
                         lambda i: f"%[r{i}]")


def c_source(program: Program, task: Task, header: str, ty: str, size: int,
             max_registers: int) -> str:
    """C with ``int varsortN(T *a, size_t n)``: sorts a[0..n-1] (n <= N) in place and
    returns 0, or returns -1 for n > N and leaves a alone; inline assembly on GCC/Clang
    x86-64 (``varsortN_asm``), else the portable C with goto (``varsortN_portable``).
    The two routines take ``long n`` and do not check it."""
    name, n = task.name, task.n
    used = _used_registers(program)
    declare = "".join(f"r{r}, " for r in used)
    lines = ["/*", header.rstrip("\n"), " */", "#include <stddef.h>",
             "#include <stdint.h>", ""]
    lines += ["/* Portable C: the same instruction sequence, one statement each; a jump is",
              "   a goto. The length n must be 0..N: not checked here. */",
              f"static inline void {name}_portable({ty} *a, long n)", "{",
              f"    {ty} {declare}lhs = 0, rhs = 0;"]
    lines += _portable_lines(program, ty)
    unused = "".join(f" (void)r{r};" for r in used)  # a register only written: no warning
    lines += [f"    (void)a; (void)n; (void)lhs; (void)rhs;{unused}", "}", ""]
    if len(used) <= max_registers:
        asm = _asm_lines(program, size)
        width = max(len(text) for text, _ in asm) + 8
        body = [f'        "{text}\\n\\t"'.ljust(width + 14) + f"/* {intel} */"
                for text, intel in asm]
        outputs = ", ".join(f'[r{r}] "=&r" (r{r})' for r in used)
        lines += ["/* Define DISCOVER_NO_ASM to use the portable C on x86-64 too. */",
                  "#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) \\",
                  "    && !defined(DISCOVER_NO_ASM)",
                  "#define DISCOVER_HAVE_ASM 1",
                  "/* The exact instruction sequence (AT&T order: source first), jumps and",
                  "   labels included; the labels are local to each asm instance (%=). The",
                  "   compiler picks the registers; early-clobber outputs keep them distinct.",
                  "   The length n must be 0..N: not checked here. */",
                  f"static inline void {name}_asm({ty} *a, long n)", "{"]
        if used:
            lines.append(f"    {ty} {', '.join(f'r{r}' for r in used)};")
        lines += ["    __asm__ volatile("]
        lines += body
        lines += [f"        : {outputs}",
                  "        : [a] \"r\" (a), [n] \"r\" (n)",
                  "        : \"cc\", \"memory\");",
                  "}"] + _checked(name, n, ty, "asm") + ["#else"]
    else:
        lines += [f"/* {len(used)} registers do not fit x86-64 inline assembly "
                  f"(at most {max_registers} with the length): portable C only. */", "#if 1"]
    lines += _checked(name, n, ty, "portable") + ["#endif", ""]
    return "\n".join(lines)


def _checked(name: str, n: int, ty: str, routine: str) -> list[str]:
    return [f"/* Sort a[0..n-1] in place and return 0; for n > {n} return -1 and leave a "
            "alone. */",
            f"static inline int {name}({ty} *a, size_t n)",
            f"{{ if (n > {n}) return -1; {name}_{routine}(a, (long)n); return 0; }}"]
