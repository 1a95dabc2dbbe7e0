"""``discover search``: run a search method, keep the best program in a run directory.

The run directory holds ``best.asm`` (rewritten atomically the moment a new best program
is found, so a killed run still leaves its best), ``result.json`` (written at the end) and,
for ``--method enum --all``, ``optimal.txt`` (every optimal program). ``--resume DIR`` continues a run: its best program becomes the bar to beat, and the
stochastic search warm-starts from it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from discover.cli import UsageError, make_task, task_arguments

METHODS = ("enum", "stochastic", "random")
DEFAULT_METHOD = "stochastic"  # finds sort3's 17 in well under a second
DEFAULT_TIME_LIMIT = {"enum": None, "stochastic": 10.0, "random": 10.0}  # seconds
UNITS = {"enum": "nodes", "stochastic": "proposals", "random": "programs"}

# Options that only some methods take: option -> (attribute, methods).
_METHOD_OPTIONS = {
    "--all": ("all", ("enum",)),
    "--alpha": ("alpha", ("stochastic",)),
    "--beta": ("beta", ("stochastic",)),
    "--beta-ratio": ("beta_ratio", ("stochastic",)),
    "--chains": ("chains", ("stochastic",)),
    "--cold-start": ("cold_start", ("stochastic",)),
    "--restart-every": ("restart_every", ("stochastic",)),
    "--steps": ("steps", ("stochastic", "random")),
    "--min-length": ("min_length", ("random",)),
    "--memory-limit": ("memory_limit", ("enum", "stochastic")),
}


def register(sub) -> None:
    p = sub.add_parser(
        "search", help="search for a short correct program (enum, stochastic or random)",
        description="Search for a short correct program; writes DIR/best.asm and "
                    "DIR/result.json. Ctrl-C stops and keeps the best program so far.")
    task_arguments(p)
    p.add_argument("--method", default=DEFAULT_METHOD, choices=METHODS,
                   help="enum: best-first enumeration (proves optimality); stochastic "
                        "(default): AlphaDev-S MCMC; random: masked random programs (the floor)")
    p.add_argument("--time-limit", type=float, default=None, metavar="SECONDS",
                   help="stop after this many seconds of search (default: none for enum, "
                        "10 for stochastic and random)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="run directory (default runs/search-TASK-METHOD-SEED, or the "
                        "--resume directory)")
    p.add_argument("--resume", default=None, metavar="DIR",
                   help="continue from DIR/best.asm and DIR/result.json")
    p.add_argument("--cost", choices=("length", "latency"), default="length",
                   help="what 'best' means: fewest instructions, or lowest latency estimate "
                        "(enum: break ties between shortest programs by latency)")
    p.add_argument("--max-length", type=int, default=None,
                   help="longest program considered")
    p.add_argument("--all", action="store_true", default=None,
                   help="enum: enumerate every optimal program")
    p.add_argument("--memory-limit", type=float, default=None, metavar="GB",
                   help="enum, stochastic: memory budget (default 8)")
    p.add_argument("--alpha", type=float, default=None,
                   help="stochastic: cost of one instruction (or cycle) against one "
                        "misplaced item (default: by task, see DEFAULT_ALPHA_BETA)")
    p.add_argument("--beta", type=float, default=None,
                   help="stochastic: inverse temperature (default: by task)")
    p.add_argument("--beta-ratio", type=float, default=None,
                   help="stochastic: chain c runs at beta x ratio**c (default 1)")
    p.add_argument("--chains", type=int, default=None,
                   help="stochastic: parallel chains (default 2, one per core)")
    p.add_argument("--cold-start", action="store_true", default=None,
                   help="stochastic: start from the empty program, not the network baseline")
    p.add_argument("--restart-every", type=int, default=None, metavar="STEPS",
                   help="stochastic: steps between restarts of lagging chains from the best")
    p.add_argument("--steps", type=int, default=None,
                   help="stochastic: proposals per chain; random: programs (then stop)")
    p.add_argument("--min-length", type=int, default=None,
                   help="random: shortest program drawn (default 2N)")
    p.set_defaults(run=run_search)


def _check_options(args) -> None:
    for option, (attribute, methods) in _METHOD_OPTIONS.items():
        if getattr(args, attribute) is not None and args.method not in methods:
            raise UsageError(f"{option} applies to --method {' or '.join(methods)} only")
    if args.cost == "latency" and args.method == "random":
        raise UsageError("--cost latency applies to --method enum or stochastic only")
    if args.time_limit is not None and not args.time_limit > 0:
        raise UsageError(f"--time-limit must be positive, got {args.time_limit:g}")
    for option in ("max_length", "chains", "steps", "min_length"):
        value = getattr(args, option)
        if value is not None and value < (0 if option == "steps" else 1):
            raise UsageError(f"--{option.replace('_', '-')} must be at least "
                             f"{0 if option == 'steps' else 1}, got {value}")
    for option in ("alpha", "beta", "beta_ratio", "memory_limit"):
        value = getattr(args, option)
        if value is not None and not value > 0:
            raise UsageError(f"--{option.replace('_', '-')} must be positive, got {value:g}")


def _config(args, task, start):
    """The method's frozen config from the command line (its defaults where not given)."""
    from dataclasses import replace

    from discover.search import RandomConfig, StochasticConfig

    if args.method == "enum":
        from discover.search.enum import EnumConfig

        fields = {"all": bool(args.all), "tie_break": args.cost, "max_length": args.max_length}
        if args.memory_limit is not None:
            fields["memory_limit_gb"] = args.memory_limit
        return EnumConfig(**fields)
    if args.method == "random":
        return RandomConfig(seed=args.seed, min_length=args.min_length,
                            max_length=args.max_length, programs=args.steps)
    config = StochasticConfig(seed=args.seed, cost=args.cost, start=start,
                              max_length=args.max_length, steps=args.steps,
                              cold_start=bool(args.cold_start) and start is None)
    overrides = {name: getattr(args, name) for name in ("alpha", "beta", "beta_ratio",
                                                          "chains", "restart_every")
                 if getattr(args, name) is not None}
    if args.memory_limit is not None:
        overrides["memory_limit_gb"] = args.memory_limit
    return replace(config, **overrides)


def _resume(directory: str, task):
    """(best program or None, previous result.json) of a run directory; UsageError if bad."""
    from discover.kernels import ProgramError, verify
    from discover.runs import read_json

    from discover.cli import read_program

    path = Path(directory)
    if not path.is_dir():
        raise UsageError(f"--resume: {directory} is not a directory")
    try:
        previous = read_json(path / "result.json")
    except ValueError as error:
        raise UsageError(f"--resume: {error}") from None
    if previous.get("task") != task.name or previous.get("registers", task.registers) \
            != task.registers:
        raise UsageError(f"--resume: {path / 'result.json'} is a run of "
                         f"{previous.get('task')!r} with {previous.get('registers')} registers,"
                         f" not {task.name} with {task.registers}")
    if not isinstance(previous.get("explored", 0), int):
        raise UsageError(f"--resume: {path / 'result.json'}: 'explored' is not an integer")
    best = path / "best.asm"
    if not best.exists():
        if previous.get("length") is not None:
            raise UsageError(f"--resume: {best} is missing but result.json records a program")
        return None, previous
    program = read_program(str(best))
    try:
        correct = verify(program, task).correct
    except ProgramError as error:
        raise UsageError(f"--resume: {best}: {error}") from None
    if not correct:
        raise UsageError(f"--resume: {best} is not a correct {task.name} program")
    return program, previous


def _best_text(program, task, method, seed, elapsed) -> str:
    from discover.kernels import verify

    check = verify(program, task)
    return (f"; {task.name} (registers: {task.registers}): {check.length} instructions "
            f"({check.register_only_length} register-only), latency estimate "
            f"{check.latency} cycles\n"
            f"; found by discover search --method {method} --seed {seed} after "
            f"{elapsed:.2f} s; verified on all {check.n_inputs} weak orderings\n"
            + program.text())


def run_search(args) -> int:
    from discover.kernels import verify
    from discover.runs import write_atomic, write_json
    from discover.search import search
    from discover.search.stochastic import CostMonitor

    _check_options(args)
    task = make_task(args)
    start, previous = (None, None)
    if args.resume is not None:
        start, previous = _resume(args.resume, task)
    out = Path(args.out or args.resume or f"runs/search-{task.name}-{args.method}-{args.seed}")
    try:
        config = _config(args, task, start if args.method == "stochastic" else None)
    except ImportError as error:
        raise UsageError(f"--method {args.method} is not available: {error}") from None
    time_limit = args.time_limit if args.time_limit is not None \
        else DEFAULT_TIME_LIMIT[args.method]

    bar = _progress_bar(args.method)

    def on_best(program):
        write_atomic(out / "best.asm", _best_text(program, task, args.method, args.seed,
                                                  monitor.elapsed))
        bar.write(f"new best: {len(program)} instructions after {monitor.elapsed:.2f} s",
                  file=sys.stderr)

    def on_progress(explored, best, elapsed, **stats):
        bar.update(explored - bar.n)
        bar.set_postfix(best=best, refresh=False)

    objective = "length"
    if args.cost == "latency":
        objective = "length_latency" if args.method == "enum" else "latency"
    monitor = CostMonitor(time_limit=time_limit, on_best=on_best, on_progress=on_progress,
                          objective=objective)
    out.mkdir(parents=True, exist_ok=True)
    if start is not None:
        monitor.best = start  # the bar to beat
        if not (out / "best.asm").exists():  # --out elsewhere: the run starts with it
            write_atomic(out / "best.asm", (Path(args.resume) / "best.asm").read_text())
    try:
        # Ctrl-C from here on (JIT compilation included) asks the search to stop and keep
        # its best; the methods catch it again around their loops.
        with monitor.catch_sigint():
            result = search(task, args.method, config, monitor=monitor)
    except (ValueError, MemoryError) as error:
        raise UsageError(str(error)) from None
    finally:
        bar.close()

    if monitor.best is not None and (result.program is None
                                     or monitor.key(monitor.best, task)
                                     < monitor.key(result.program, task)):
        if result.program is None or len(monitor.best) < len(result.program):
            result.optimal = False
        result.program = monitor.best
    if previous is not None:
        result.explored += int(previous.get("explored") or 0)
        result.notes["resumed_from"] = {
            "directory": str(args.resume), "length": previous.get("length"),
            "explored": previous.get("explored"), "search_time": previous.get("search_time")}
    if result.programs:  # enum --all: every optimal program
        write_atomic(out / "optimal.txt", _programs_text(result.programs))
    write_json(out / "result.json", result.to_json())

    if result.program is None:
        print(f"no correct {task.name} program found ({result.stopped} after "
              f"{result.search_time:.1f} s, {result.explored} {UNITS[args.method]})")
        print(f"run directory: {out}")
        return 1
    check = verify(result.program, task)
    print(f"; best {task.name} program ({args.method} search, seed {args.seed})")
    print(result.program.text(), end="")
    print(check.summary(), end="")
    print(f"optimal: {'proved' if result.optimal else 'not proved'}")
    print(f"search: {result.stopped} after {result.search_time:.2f} s "
          f"(+ {result.compile_time:.2f} s JIT), {result.explored} {UNITS[args.method]}, "
          f"best after {result.time_to_best:.2f} s" if result.time_to_best is not None
          else f"search: {result.stopped} after {result.search_time:.2f} s")
    print(f"run directory: {out}")
    if not check.correct:  # a method returned an unverified program: a bug, say so
        return 1
    return 0


def _programs_text(programs) -> str:
    """Every program in one text: a '; program K of M' comment line before each.

    One file, written atomically: thousands of small files (sort3 has 5,602 optimal
    programs) took seconds on a busy disk.
    """
    total = len(programs)
    return "\n".join(f"; program {number + 1} of {total}\n{program.text()}"
                     for number, program in enumerate(programs))


def _progress_bar(method: str):
    from tqdm import tqdm

    # disable=None: shown on a terminal only, so logs and tests stay clean.
    return tqdm(total=None, unit=f" {UNITS[method]}", unit_scale=True, file=sys.stderr,
                disable=None, desc=f"search {method}", dynamic_ncols=True)
