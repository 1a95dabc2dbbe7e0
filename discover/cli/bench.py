"""``discover bench [PROGRAM.asm ...] --task T``: time programs against the usual sorts.

A kernel task (``--task median5``) times the programs and the task's baseline against its
family's Python and NumPy references (``discover.measure_kernels``).

``discover bench --rank DIR``: re-time the candidates of a ``search --cost measured`` run
(``DIR/candidates.json``) and the task's network program together, on this machine, and
rank them again (the task comes from the file).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from discover.cli.common import TaskOptions, UsageError, check_output_file, make_task
from discover.cli.options import Options
from discover.validation import check_text

HELP = "time programs natively against sorted, numpy, numba (or, for a kernel, its family's references)"


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


@dataclass(frozen=True)
class BenchLengths:
    """The lengths a varsort bench times one by one (besides random lengths)."""

    lengths: str | None = None
    """varsortN only: the fixed lengths timed one by one, e.g. '0,2,3' (default: every
    length 0..N); lengths drawn uniformly from 0..N per call are always timed."""

    def __post_init__(self):
        check_text(self, "lengths", optional=True)


@dataclass(frozen=True)
class BenchRank:
    """``discover bench --rank DIR``: re-rank a measured search run's candidates here."""

    rank: str | None = None
    """Re-time the candidates of a 'search --cost measured' run (DIR/candidates.json) with
    the network program, all in the same rounds, and rank them on this machine (the task
    is the file's; --arrays, --repeats, --inner, --seed and --json apply)."""

    def __post_init__(self):
        check_text(self, "rank", optional=True)


def add_arguments(parser) -> None:
    from discover.measure import BenchConfig

    parser.add_argument("programs", nargs="*", metavar="PROGRAM.asm",
                        help="programs to time (the network and the known program are added)")
    options = Options(parser)
    options.add(TaskOptions)
    options.add(BenchConfig)
    options.add(BenchFiles, metavars={"json": "FILE", "plot": "FILE.png"})
    options.add(BenchLengths, metavars={"lengths": "K,K"})
    options.add(BenchRank, metavars={"rank": "DIR"})
    task = options.by_flag["--task"].action  # not required with --rank: checked in run()
    task.required = False
    task.help += " Required, except with --rank (the run's task)."


def _lengths(args, task):
    """The fixed lengths of a varsort bench (None for a fixed sort); UsageError if bad."""
    text = args.options.build(args, BenchLengths).lengths
    if not task.variable:
        if text is not None:
            raise UsageError(f"--lengths applies to the varsort tasks only, not {task.name}")
        return None
    from discover.measure_varsort import parse_lengths

    try:
        return parse_lengths(text, task)
    except ValueError as error:
        raise UsageError(str(error)) from None


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

    if args.options.build(args, BenchRank).rank is not None:
        return run_rank(args)
    if args.task is None:
        raise UsageError("discover bench: the following arguments are required: --task")
    task = make_task(args)
    config = args.options.build(args, BenchConfig)
    files = args.options.build(args, BenchFiles)
    lengths = _lengths(args, task)
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
    if task.kernel is not None:
        return _run_kernel(task, programs, config, files, notes)
    if task.variable:
        from discover import measure_varsort

        total = measure_varsort.expected_rows(
            len(measure_varsort.candidates(programs, task)), config, len(lengths))
    else:
        total = expected_rows(len(candidate_programs(programs, task)), config)
    with tqdm(total=total, desc=f"bench {task.name}", unit="row", file=sys.stderr,
              disable=not sys.stderr.isatty(), leave=False) as bar:
        if task.variable:
            rows = measure_varsort.bench_rows(programs, task, config, notes,
                                              progress=bar.update, lengths=lengths)
        else:
            rows = bench_rows(programs, task, config, notes, progress=bar.update)
    for note in notes:
        print(f"discover: {note}", file=sys.stderr)
    if task.variable:
        print(measure_varsort.format_table(rows, task, config), end="")
    else:
        print(format_table(rows, task, config), end="")
    if files.json is not None:
        from discover.runs import write_json

        payload = rows_payload(rows, task, config, notes)
        if task.variable:
            payload["lengths"] = list(lengths)
            payload["vs_network_is"] = ("the human routine (discover baseline --task "
                                        f"{task.name})")
        _write(files.json, write_json, payload)
    if files.plot is not None:
        from discover.measure import plot

        _write(files.plot, lambda path, rows: plot(rows, task, path), rows)
    return 130 if INTERRUPTED in notes else 0


def _run_kernel(task, programs, config, files, notes) -> int:
    """``discover bench --task KERNEL``: the programs, the baseline and the references."""
    from tqdm import tqdm

    from discover import measure_kernels
    from discover.measure import INTERRUPTED, rows_payload

    total = measure_kernels.expected_rows(len(measure_kernels.candidates(programs, task)),
                                          config, task)
    with tqdm(total=total, desc=f"bench {task.name}", unit="row", file=sys.stderr,
              disable=not sys.stderr.isatty(), leave=False) as bar:
        rows = measure_kernels.bench_rows(programs, task, config, notes, progress=bar.update)
    for note in notes:
        print(f"discover: {note}", file=sys.stderr)
    print(measure_kernels.format_table(rows, task, config), end="")
    if files.json is not None:
        from discover.runs import write_json

        payload = rows_payload(rows, task, config, notes)
        payload["summary"] = task.summary
        payload["vs_network_is"] = f"the baseline (discover baseline --task {task.name})"
        _write(files.json, write_json, payload)
    if files.plot is not None:
        from discover.measure import plot

        _write(files.plot, lambda path, rows: plot(rows, task, path), rows)
    return 130 if INTERRUPTED in notes else 0


def _write(path: str, write, content) -> None:
    """``write(path, content)``; an OSError becomes the one-line UsageError naming the file
    (the file was tried before any timing: this is a disk that filled or a directory that
    went away since)."""
    try:
        write(path, content)
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror or error}") from None


# --- bench --rank DIR ------------------------------------------------------------------


def run_rank(args) -> int:
    """``discover bench --rank DIR``: the exit code (0; 2 bad input; 130 Ctrl-C)."""
    from discover.measure import BenchConfig

    source = args.options.build(args, BenchRank).rank
    config = args.options.build(args, BenchConfig)
    files = args.options.build(args, BenchFiles)
    if args.programs:
        raise UsageError("--rank times the run's candidates and the network program: "
                         "give no PROGRAM.asm files with it")
    if files.plot is not None:
        raise UsageError("--plot does not apply with --rank (use --json)")
    if files.json is not None:
        check_output_file(files.json, "--json")
    path, header, ranked_there = _read_run(source)
    task = header["task"]
    _check_task(args, task, path)
    mode = header.get("mode") or "latency"
    from discover.native.sampling import MODES

    if mode not in MODES:
        raise UsageError(f"{path}: field 'mode' must be one of {', '.join(MODES)}, "
                         f"not {mode!r}")
    from discover.native import native_unavailable

    reason = native_unavailable() if config.native else "turned off by --no-native"
    if reason:
        raise UsageError(f"--rank needs native timing: {reason}")

    from discover.native import NativeError, SamplingConfig

    # As `discover bench` times its latency rows, in the mode the run ranked by.
    sampling = SamplingConfig(mode=mode, rounds=max(20 * config.repeats, 21),
                              inner=config.inner, arrays=config.arrays, seed=config.seed)
    network = _network(task)
    try:
        rows = rank_rows(ranked_there, network, task, sampling)
    except KeyboardInterrupt:
        print("discover: interrupted before the timing finished: no table", file=sys.stderr)
        return 130
    except NativeError as error:
        raise UsageError(f"native timing failed: {error}") from None
    summary = rank_summary(rows, len(ranked_there))
    print(format_rank_table(rows, task, path, header, sampling), end="")
    print(summary)
    if files.json is not None:
        from discover.measure import machine_info
        from discover.runs import write_json

        payload = {"task": task.name, "registers": task.registers, "source": str(path),
                   "mode": mode, "rounds": sampling.rounds, "inner": sampling.inner,
                   "arrays": sampling.arrays, "seed": sampling.seed,
                   "machine": machine_info(), "file_machine": header.get("machine"),
                   "candidates": len(ranked_there), "summary": summary,
                   "file_fastest_still_fastest": _fastest_kept(rows), "rows": rows}
        _write(files.json, write_json, payload)
    return 0


def _read_run(source: str):
    """(path, header, candidates in the file's order) of DIR/candidates.json; UsageError."""
    from pathlib import Path

    from discover.candidates import CANDIDATES_FILE, read_candidates

    directory = Path(source)
    if not directory.is_dir():
        raise UsageError(f"--rank {source}: no such directory" if not directory.exists()
                         else f"--rank {source}: not a directory (give the run directory)")
    path = directory / CANDIDATES_FILE
    if not path.exists():
        raise UsageError(f"--rank {source}: no {CANDIDATES_FILE} (written by 'discover "
                         "search --cost measured')")
    try:
        header, ranked = read_candidates(path)
    except ValueError as error:
        raise UsageError(str(error)) from None
    if not ranked:
        raise UsageError(f"{path}: field 'candidates' is empty")
    return path, header, ranked


def _check_task(args, task, path) -> None:
    """UsageError if --task (or --registers) is given and is not the file's task."""
    given = args.options.values(args, TaskOptions)
    if not given:
        return
    if "task" not in given:
        given["task"] = task.name
    named = TaskOptions(**given).make()
    if named.name != task.name or ("registers" in given and named.registers != task.registers):
        raise UsageError(f"--task {named.name} (R={named.registers}) is not the task of "
                         f"{path}, {task.name} (R={task.registers}): leave --task out")


def _network(task):
    """The task's network program; None where it needs more registers than R."""
    from discover.kernels import baseline_program

    return baseline_program(task) if task.registers >= task.n + 1 else None


def rank_rows(ranked_there, network, task, sampling) -> list[dict]:
    """Time the file's candidates and ``network`` (None: left out) in one batch; the rows,
    fastest first, with their rank in the file and their paired ratio to the network."""
    from discover.candidates import rank
    from discover.native import ratio

    programs = [c.program for c in ranked_there] + ([network] if network is not None else [])
    file_rank = {}
    for k, c in enumerate(ranked_there):
        file_rank.setdefault(c.program.text(), (k + 1, c.median_ns))
    here = rank(programs, task, "measured", sampling)
    base = next((c for c in here if network is not None and c.program == network), None)
    best_there = next(c for c in here if c.program == ranked_there[0].program)
    rows = []
    for k, c in enumerate(here):
        there, there_ns = file_rank.get(c.program.text(), (None, None))
        vs = ratio(c.measurement, base.measurement) if base is not None else None
        vs_best = ratio(c.measurement, best_there.measurement)
        rows.append({"rank": k + 1, "file_rank": there, "network": c is base,
                     "program": c.program.text(), "length": c.length,
                     "model_cycles": c.model_cycles, "median_ns": c.median_ns,
                     "p5_ns": c.p5_ns, "ci_lo": c.ci_lo, "ci_hi": c.ci_hi,
                     "median_cycles": c.median_cycles, "file_median_ns": there_ns,
                     "vs_network": None if vs is None else vs.ratio,
                     "vs_network_lo": None if vs is None else vs.lo,
                     "vs_network_hi": None if vs is None else vs.hi,
                     "significant": None if vs is None else vs.significant,
                     "vs_file_fastest": vs_best.ratio, "vs_file_fastest_lo": vs_best.lo,
                     "vs_file_fastest_hi": vs_best.hi})
    return rows


def _fastest_kept(rows) -> bool:
    return rows[0]["file_rank"] == 1


def rank_summary(rows: list[dict], count: int) -> str:
    """One line: how many candidates; whether the file's fastest is still the fastest."""
    head = f"{count} candidate{'s' if count != 1 else ''}"
    first = next(r for r in rows if r["file_rank"] == 1)
    if _fastest_kept(rows):
        return f"{head}: the file's fastest is still the fastest here"
    top = rows[0]
    who = "the network program" if top["file_rank"] is None else \
        f"the file's rank {top['file_rank']}"
    clear = "" if top["vs_file_fastest_hi"] < 1.0 else "; the interval includes 1: no clear win"
    return (f"{head}: the file's fastest is rank {first['rank']} here; the fastest here is "
            f"{who}, at {top['vs_file_fastest']:.3f} [{top['vs_file_fastest_lo']:.3f}, "
            f"{top['vs_file_fastest_hi']:.3f}] of its time{clear}")


def format_rank_table(rows: list[dict], task, path, header, sampling) -> str:
    """The rows as text, fastest here first; the network row marked."""
    machine = header.get("machine")
    there = machine.get("cpu") if isinstance(machine, dict) else None
    from discover.native.cache import machine_context

    lines = [f"{task.name} (R={task.registers}): the candidates of {path}"
             + (f" (timed on {there})" if there else "")
             + f" and the network program, timed together on {machine_context()['cpu']}",
             f"{sampling.mode} mode, {sampling.rounds} rounds x {sampling.inner} sorts, "
             "ns per sort (median and its 95% interval)",
             f"{'here':>4}  {'file':>4}  {'len':>3}  {'model':>5}  {'median ns':>9}  "
             f"{'95% interval':<17}  vs network [95% interval]"]
    for r in rows:
        there_rank = "-" if r["file_rank"] is None else str(r["file_rank"])
        interval = "" if r["ci_lo"] is None else f"[{r['ci_lo']:.2f}, {r['ci_hi']:.2f}]"
        vs = "" if r["vs_network"] is None else \
            (f"{r['vs_network']:.3f} [{r['vs_network_lo']:.3f}, {r['vs_network_hi']:.3f}]"
             + (" *" if r["significant"] else "  "))
        mark = "  network" if r["network"] else ""
        lines.append(f"{r['rank']:>4}  {there_rank:>4}  {r['length']:>3}  "
                     f"{r['model_cycles']:>5}  {r['median_ns']:>9.2f}  {interval:<17}  "
                     f"{vs}{mark}".rstrip())
    if any(r["network"] for r in rows):
        lines.append("vs network: median of per-round time ratios to the network program "
                     "(same rounds); * = the interval excludes 1; file: rank in the file "
                     "(- = not in it)")
    else:
        lines.append(f"no network row: it needs R >= {task.n + 1}; file: rank in the file")
    return "\n".join(lines) + "\n"
