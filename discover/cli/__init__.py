"""The ``discover`` command line: ``discover COMMAND [options]``.

One thin module per command (``tasks``, ``verify``, ``baseline``, ``export``, ``bench``,
``search``, ``train``), each with ``HELP``, ``add_arguments(parser)`` and ``run(args)``
returning the exit code. Their options are generated from the frozen config dataclasses
by ``discover.cli.options``; the configs' ``__post_init__`` is the only place values are
checked. Commands import heavy dependencies (torch, matplotlib) inside ``run``, and only
the chosen command builds its options, so ``discover verify`` starts fast.

Exit codes: 0 success; 1 a negative answer (``verify`` of an incorrect program, a
``search`` or ``train`` run that finds no correct program); 2 bad input (one line on
stderr, ``discover: error: ...``, never a traceback); 130 interrupted by Ctrl-C, at any
moment (a search or training run keeps what it found).

This module imports nothing else at import time: the console script imports it, so a
Ctrl-C while NumPy and Numba load is caught in ``main`` like any other.
"""

import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run ``discover`` with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    try:
        from discover.cli.app import run

        return run(argv)
    except KeyboardInterrupt:
        print("discover: interrupted", file=sys.stderr)
        return 130
