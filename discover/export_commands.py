"""Commands ``discover export`` (Python / Numba / C source) and ``discover bench``."""

from __future__ import annotations

import sys

from discover.cli import UsageError, make_task, read_program, task_arguments


def register(sub) -> None:
    p = sub.add_parser("export", help="print a program as Python, Numba or C (inline asm)")
    p.add_argument("program", help="path of the .asm file")
    task_arguments(p)
    p.add_argument("--format", choices=("python", "numba", "c"), default="python",
                   help="output language (default python)")
    p.add_argument("--c-type", choices=("int64", "int32"), default="int64",
                   help="element type of the C export (default int64)")
    p.add_argument("--force", action="store_true",
                   help="export an incorrect program anyway (its header says unverified)")
    p.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")
    p.set_defaults(run=run_export)

    from discover.measure import BenchConfig

    d = BenchConfig()
    p = sub.add_parser("bench", help="time programs natively against sorted, numpy, numba")
    p.add_argument("programs", nargs="*", metavar="PROGRAM.asm",
                   help="programs to time (the network and the known program are added)")
    task_arguments(p)
    p.add_argument("--arrays", type=int, default=d.arrays,
                   help=f"random arrays M (default {d.arrays})")
    p.add_argument("--repeats", type=int, default=d.repeats,
                   help=f"repetitions K (default {d.repeats})")
    p.add_argument("--seed", type=int, default=d.seed, help=f"seed (default {d.seed})")
    p.add_argument("--no-native", action="store_true", help="skip native timing")
    p.add_argument("--no-numba", action="store_true", help="skip the Numba rows")
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    p.add_argument("--plot", metavar="FILE.png", help="also draw the figures (matplotlib)")
    p.set_defaults(run=run_bench)


def _checked(path: str, task, force: bool):
    """Read a program and check it can be exported; UsageError (exit 2) if not."""
    from discover.export import ExportError, check_exportable

    program = read_program(path)
    try:
        info = check_exportable(program, task, force)
    except ExportError as error:
        raise UsageError(f"{path}: {error}") from None
    return program, info


def run_export(args) -> int:
    from discover.export import ExportError, to_c_source, to_numba_source, to_python_source

    task = make_task(args)
    program, info = _checked(args.program, task, args.force)
    try:
        if args.format == "python":
            source = to_python_source(program, task, force=args.force)
        elif args.format == "numba":
            source = to_numba_source(program, task, force=args.force)
        else:
            source = to_c_source(program, task, force=args.force, ctype=args.c_type)
    except ExportError as error:
        raise UsageError(f"{args.program}: {error}") from None
    if not info.verified:
        print(f"discover: warning: {args.program} is incorrect for {task.name}; "
              "exported anyway (--force), marked UNVERIFIED", file=sys.stderr)
    if args.out:
        from discover.runs import write_atomic

        try:
            write_atomic(args.out, source)
        except OSError as error:
            raise UsageError(f"cannot write {args.out}: {error.strerror or error}") from None
    else:
        sys.stdout.write(source)
    return 0


def run_bench(args) -> int:
    from discover.measure import BenchConfig, bench_rows, format_table, rows_payload

    task = make_task(args)
    if args.arrays < 1 or args.repeats < 1:
        raise UsageError("--arrays and --repeats must be at least 1")
    if args.plot:
        try:
            import matplotlib  # noqa: F401  (checked before the timing, not after)
        except ImportError:
            raise UsageError("--plot needs matplotlib (pip install matplotlib)") from None
    programs = [(path, _checked(path, task, force=False)[0]) for path in args.programs]
    config = BenchConfig(arrays=args.arrays, repeats=args.repeats, seed=args.seed,
                         native=not args.no_native, numba=not args.no_numba)
    notes: list[str] = []
    from tqdm import tqdm

    from discover.measure import candidate_programs, expected_rows

    total = expected_rows(len(candidate_programs(programs, task)), config)
    with tqdm(total=total, desc=f"bench {task.name}", unit="row", file=sys.stderr,
              disable=not sys.stderr.isatty(), leave=False) as bar:
        rows = bench_rows(programs, task, config, notes, progress=bar.update)
    for note in notes:
        print(f"discover: {note}", file=sys.stderr)
    print(format_table(rows, task, config), end="")
    if args.json:
        from discover.runs import write_json

        try:
            write_json(args.json, rows_payload(rows, task, config, notes))
        except OSError as error:
            raise UsageError(f"cannot write {args.json}: {error.strerror or error}") from None
    if args.plot:
        from discover.measure import plot

        plot(rows, task, args.plot)
    from discover.measure import INTERRUPTED

    return 130 if INTERRUPTED in notes else 0
