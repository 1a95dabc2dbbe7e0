"""``discover verify PROGRAM --task T``: exit 0 if the program is correct, 1 if not."""

from __future__ import annotations

from discover.cli.common import TaskOptions, UsageError, make_task, read_program
from discover.cli.options import Options

HELP = "verify a .asm program exhaustively and report its cost"


def add_arguments(parser) -> None:
    parser.add_argument("program", help="path of the .asm file")
    Options(parser).add(TaskOptions)


def run(args) -> int:
    from discover.kernels import ProgramError, verify

    task = make_task(args)
    program = read_program(args.program)
    try:
        result = verify(program, task)
    except ProgramError as error:
        raise UsageError(f"{args.program}: {error}") from None
    print(result.summary(), end="")
    return 0 if result.correct else 1
