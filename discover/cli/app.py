"""The top-level parser and the mapping of errors to exit codes."""

from __future__ import annotations

import argparse
import importlib
import sys

from discover.cli.common import UsageError
from discover.validation import ConfigError

# Command modules (discover.cli.NAME), in the order `discover --help` lists them.
COMMANDS = ("tasks", "verify", "baseline", "export", "bench", "search", "train")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not argparse's usage block
        raise UsageError(f"{self.prog}: {message}")


def _chosen(argv: list[str] | None) -> str | None:
    """The command named in ``argv`` (the first word that is not an option); None: all."""
    if argv is None:
        return None
    return next((word for word in argv if not word.startswith("-")), "")


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; with ``argv``, only the command it names gets its options (faster)."""
    parser = _Parser(prog="discover", description="Discover short, fast, verified sort "
                     "routines and comparison kernels (after AlphaDev).")
    from discover import __version__

    parser.add_argument("--version", action="version", version=f"discover {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    chosen = _chosen(argv)
    for name in COMMANDS:
        module = importlib.import_module(f"discover.cli.{name}")
        command = sub.add_parser(name, help=module.HELP,
                                 description=getattr(module, "DESCRIPTION", None))
        if chosen is None or chosen == name:
            module.add_arguments(command)
        command.set_defaults(run=module.run)
    return parser


def _fail(message: str) -> int:
    print(f"discover: error: {message}", file=sys.stderr)
    return 2


def run(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the command: its exit code, or 2 for bad input."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = None
    try:
        args = build_parser(argv).parse_args(argv)
        return args.run(args)
    except ConfigError as error:
        options = getattr(args, "options", None)
        return _fail(options.describe(error) if options is not None else str(error))
    except UsageError as error:
        return _fail(str(error))
    except SystemExit as stop:  # --help, --version
        return stop.code if isinstance(stop.code, int) else 0
    except Exception as error:
        kernels = sys.modules.get("discover.kernels")
        if kernels is not None and isinstance(error, (kernels.ProgramError, kernels.TaskError)):
            return _fail(str(error))
        raise
