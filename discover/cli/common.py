"""What the commands share: the usage error, the task options, program files, output paths."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from discover.validation import check_task

MAX_PROGRAM_BYTES = 1 << 20
"""Largest program file read (1 MB; sort8's network program is under 1 kB)."""


class UsageError(Exception):
    """Bad input that is the user's to fix: reported in one line, exit code 2."""


@dataclass(frozen=True)
class TaskOptions:
    """The task of a command that takes one (``discover verify | baseline | export | bench``)."""

    task: str
    """Task: sort2..sort8, varsort2..varsort8 (any length up to N, ISA v2), a kernel
    (median3/5/7, min2maxN, topK-of-N, mergeA+B, stablesortN), or a task file (.py)."""
    registers: int | None = None
    """Register count R (None: N + 1)."""

    def __post_init__(self):
        from discover.kernels import MAX_REGISTERS
        from discover.validation import check_int

        check_task(self, "task")
        check_int(self, "registers", 1, MAX_REGISTERS, optional=True)

    def make(self):
        """The ``Task``."""
        from discover.kernels import Task

        return Task.from_name(self.task, self.registers)


def make_task(args):
    """The Task of a command whose parser has TaskOptions."""
    return args.options.build(args, TaskOptions).make()


def read_program(path: str):
    """Read a .asm file; errors name the file (and the line, for parse errors).

    Only a regular file of at most MAX_PROGRAM_BYTES is opened: a FIFO or a device would
    block or never end.
    """
    from discover.kernels import Program, ProgramError

    try:
        info = os.stat(path)
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror or error}") from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a directory" if stat.S_ISDIR(info.st_mode) else \
            "a FIFO" if stat.S_ISFIFO(info.st_mode) else "a device or socket"
        raise UsageError(f"cannot read {path}: not a regular file ({kind})")
    if info.st_size > MAX_PROGRAM_BYTES:
        raise UsageError(f"cannot read {path}: {info.st_size} bytes, over the "
                         f"{MAX_PROGRAM_BYTES >> 20} MB a program file may hold")
    try:
        return Program.read(path)
    except ProgramError as error:
        raise UsageError(f"{path}: {error}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read {path}: {getattr(error, 'strerror', None) or error}") from None


def check_output_dir(path: str, option: str, shown: str | None = None) -> None:
    """UsageError unless ``path`` is, or can be made, a writable directory (tried, not
    guessed: see ``discover.runs.check_out_dir``)."""
    from discover.runs import RunDirError, check_out_dir

    try:
        check_out_dir(path, option, shown)
    except RunDirError as error:
        raise UsageError(str(error)) from None


def check_output_file(path: str, option: str, suffixes=None) -> None:
    """UsageError unless ``path`` can be written as a file (and has one of ``suffixes``)."""
    if not path:
        raise UsageError(f"{option}: the file name is empty")
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"{option} {path}: is a directory, not a file")
    if suffixes is not None and target.suffix and target.suffix[1:].lower() not in suffixes:
        raise UsageError(f"{option} {path}: cannot write a {target.suffix!r} file "
                         f"(known: {', '.join(sorted(suffixes))})")
    check_output_dir(str(target.parent), option, shown=path)
