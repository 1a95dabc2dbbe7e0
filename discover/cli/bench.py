"""``discover bench [PROGRAM.asm ...] --task T``: time programs against the usual sorts."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from discover.cli.common import TaskOptions, UsageError, check_output_file, make_task
from discover.cli.options import Options
from discover.validation import check_text

HELP = "time programs natively against sorted, numpy, numba"


@dataclass(frozen=True)
class BenchFiles:
    """Where ``discover bench`` writes its figures besides the table."""

    json: str | None = None
    """Also write the figures as JSON to this file."""
    plot: str | None = None
    """Also draw the figures to this image file (matplotlib; PNG, SVG, PDF, ...)."""

    def __post_init__(self):
        check_text(self, "json", optional=True)
        check_text(self, "plot", optional=True)


def add_arguments(parser) -> None:
    from discover.measure import BenchConfig

    parser.add_argument("programs", nargs="*", metavar="PROGRAM.asm",
                        help="programs to time (the network and the known program are added)")
    options = Options(parser)
    options.add(TaskOptions)
    options.add(BenchConfig)
    options.add(BenchFiles, metavars={"json": "FILE", "plot": "FILE.png"})


def _plot_formats() -> set[str]:
    """File extensions matplotlib can write; UsageError without matplotlib."""
    try:
        import matplotlib  # noqa: F401  (first: a loaded submodule would hide its absence)
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError:
        raise UsageError("--plot needs matplotlib (pip install matplotlib)") from None
    return set(FigureCanvasBase.get_supported_filetypes())


def run(args) -> int:
    from discover.cli.export import checked
    from discover.measure import BenchConfig

    task = make_task(args)
    config = args.options.build(args, BenchConfig)
    files = args.options.build(args, BenchFiles)
    # Every output is checked before the timing starts, not after it.
    if files.json is not None:
        check_output_file(files.json, "--json")
    if files.plot is not None:
        check_output_file(files.plot, "--plot", suffixes=_plot_formats())
    programs = [(path, checked(path, task, force=False)[0]) for path in args.programs]

    from tqdm import tqdm

    from discover.measure import (
        INTERRUPTED,
        bench_rows,
        candidate_programs,
        expected_rows,
        format_table,
        rows_payload,
    )

    notes: list[str] = []
    total = expected_rows(len(candidate_programs(programs, task)), config)
    with tqdm(total=total, desc=f"bench {task.name}", unit="row", file=sys.stderr,
              disable=not sys.stderr.isatty(), leave=False) as bar:
        rows = bench_rows(programs, task, config, notes, progress=bar.update)
    for note in notes:
        print(f"discover: {note}", file=sys.stderr)
    print(format_table(rows, task, config), end="")
    if files.json is not None:
        from discover.runs import write_json

        try:
            write_json(files.json, rows_payload(rows, task, config, notes))
        except OSError as error:
            raise UsageError(f"cannot write {files.json}: {error.strerror or error}") from None
    if files.plot is not None:
        from discover.measure import plot

        try:
            plot(rows, task, files.plot)
        except OSError as error:
            raise UsageError(f"cannot write {files.plot}: {error.strerror or error}") from None
    return 130 if INTERRUPTED in notes else 0
