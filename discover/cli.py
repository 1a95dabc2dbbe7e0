"""The ``discover`` command line.

Each command lives in a module with ``register(subparsers)``, which adds its parser and
sets ``run=`` to a function of the parsed arguments returning the exit code. Command
modules import heavy dependencies (torch) inside ``run``, so `discover verify` starts fast.

Exit codes: 0 success, 1 a negative answer (an incorrect program), 2 bad input (one line
on stderr naming the problem, never a traceback), 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from discover.kernels import TASK_NAMES, ProgramError, TaskError

# Command modules, in the order `discover --help` lists them.
COMMAND_MODULES = ("discover.commands", "discover.export_commands", "discover.search.command",
                   "discover.agent.command")


class UsageError(Exception):
    """Bad input that is the user's to fix: reported in one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not argparse's usage block
        raise UsageError(f"{self.prog}: {message}")


def task_arguments(parser: argparse.ArgumentParser, default: str | None = None) -> None:
    """Add ``--task`` and ``--registers`` (every command that takes a task uses these)."""
    parser.add_argument("--task", required=default is None, default=default,
                        help=f"task name ({', '.join(TASK_NAMES)})"
                        + (f", default {default}" if default else ""))
    parser.add_argument("--registers", type=int, default=None,
                        help="register count R (default N + 1)")


def make_task(args):
    from discover.kernels import Task

    return Task.from_name(args.task, args.registers)


def read_program(path: str):
    """Read a .asm file; errors name the file (and the line, for parse errors)."""
    from discover.kernels import Program

    try:
        return Program.read(path)
    except ProgramError as error:
        raise UsageError(f"{path}: {error}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read {path}: {getattr(error, 'strerror', None) or error}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="discover", description="Discover short, fast, verified sort routines "
                     "(after AlphaDev).")
    from discover import __version__

    parser.add_argument("--version", action="version", version=f"discover {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return args.run(args)
    except (UsageError, ProgramError, TaskError) as error:
        print(f"discover: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("discover: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
