"""``discover export PROGRAM --task T``: the program as Python, Numba or C source.

A varsortN task (``--task varsort3``) exports ``varsort3(a)``, which sorts 0..N items
(``discover.export_flow``); every format works for it as for the fixed sorts.

A kernel task (``--task median5``, ``top2-of-5``, a task file) exports a function named
after the task as an identifier (``top2_of_5``): in Python it returns the K outputs as a
list and leaves its input alone, in Numba as a tuple (``NAME_rows``: an (M, K) array); in
C, ``NAME(a)`` leaves them in a[0..K-1] (the cells past K scratch) and ``NAME_out(in,
out)`` writes out[0..K-1] only. A program that is not correct for the task is refused
(exit 2) unless ``--force``."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Literal

from discover.cli.common import (
    TaskOptions,
    UsageError,
    check_output_file,
    make_task,
    read_program,
)
from discover.cli.options import Options
from discover.validation import check_choice, check_text

HELP = "print a program as Python, Numba or C (inline asm)"


@dataclass(frozen=True)
class ExportOptions:
    """What ``discover export`` writes, and where."""

    format: Literal["python", "numba", "c"] = "python"
    """Output language."""
    c_type: Literal["int64", "int32"] = "int64"
    """Element type of the C export."""
    force: bool = False
    """Export an incorrect program anyway (its header says UNVERIFIED)."""
    out: str | None = None
    """Write to this file instead of standard output."""

    def __post_init__(self):
        check_choice(self, "format", ("python", "numba", "c"))
        check_choice(self, "c_type", ("int64", "int32"))
        check_text(self, "out", optional=True)


def add_arguments(parser) -> None:
    parser.add_argument("program", help="path of the .asm file")
    options = Options(parser)
    options.add(TaskOptions)
    options.add(ExportOptions, metavars={"out": "FILE"})


def checked(path: str, task, force: bool):
    """Read a program and check it can be exported; UsageError (exit 2) if not."""
    from discover.export import ExportError, check_exportable

    program = read_program(path)
    try:
        info = check_exportable(program, task, force)
    except ExportError as error:
        raise UsageError(f"{path}: {error}") from None
    return program, info


def run(args) -> int:
    from discover.export import (
        ExportError,
        to_c_source,
        to_numba_source,
        to_python_source,
    )

    task = make_task(args)
    export = args.options.build(args, ExportOptions)
    if export.out is not None:
        check_output_file(export.out, "--out")
    program, info = checked(args.program, task, export.force)
    try:
        if export.format == "python":
            source = to_python_source(program, task, force=export.force)
        elif export.format == "numba":
            source = to_numba_source(program, task, force=export.force)
        else:
            source = to_c_source(program, task, force=export.force, ctype=export.c_type)
    except ExportError as error:
        raise UsageError(f"{args.program}: {error}") from None
    if not info.verified:
        print(f"discover: warning: {args.program} is incorrect for {task.name}; "
              "exported anyway (--force), marked UNVERIFIED", file=sys.stderr)
    if export.out is not None:
        from discover.runs import write_atomic

        try:
            write_atomic(export.out, source)
        except OSError as error:
            raise UsageError(f"cannot write {export.out}: {error.strerror or error}") from None
    else:
        sys.stdout.write(source)
    return 0
