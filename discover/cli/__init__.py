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
Ctrl-C while NumPy and Numba load is caught in ``main`` like any other. A Ctrl-C that
lands inside a C extension's import can come out as another error (NumPy turns it into an
ImportError): ``main`` notes every SIGINT, and any failure after one is an interruption.
"""

import signal
import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run ``discover`` with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    interrupted = []

    def on_sigint(signum, frame):  # Python's default handler, remembering the signal
        interrupted.append(signum)
        raise KeyboardInterrupt

    previous = None
    try:
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            previous = signal.signal(signal.SIGINT, on_sigint)
    except ValueError:  # not the main thread: signals are not ours to handle
        pass
    try:
        from discover.cli.app import run

        return run(argv)
    except KeyboardInterrupt:
        print("discover: interrupted", file=sys.stderr)
        return 130
    except Exception:
        if interrupted:  # a Ctrl-C that an import turned into another error
            print("discover: interrupted", file=sys.stderr)
            return 130
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
