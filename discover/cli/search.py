"""``discover search``: run a search method, keep the best program in a run directory.

The run directory holds ``best.asm`` (rewritten atomically the moment a new best program
is found, so a killed run still leaves its best), ``result.json`` (written at the end) and,
for ``--method enum --all``, ``optimal.txt`` (every optimal program). ``--resume DIR``
continues a run: its best program becomes the bar to beat, and the stochastic search
warm-starts from it.

The options are ``SearchRun``'s fields and those of the three method configs
(``EnumConfig``, ``StochasticConfig``, ``RandomConfig``); an option only some methods
have is refused for the others. Exit codes: 0 a correct program found, 1 none found,
2 bad input, 130 interrupted (the best program so far is kept and reported).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from discover.cli.common import TaskOptions, UsageError, check_output_dir
from discover.cli.options import Options
from discover.validation import (
    ConfigError,
    check_choice,
    check_float,
    check_seed,
    check_text,
)

HELP = "search for a short correct program (enum, stochastic or random)"
DESCRIPTION = ("Search for a short correct program; writes DIR/best.asm and DIR/result.json. "
               "Ctrl-C stops and keeps the best program so far.")

METHODS = ("enum", "stochastic", "random")
DEFAULT_TIME_LIMIT = {"enum": None, "stochastic": 10.0, "random": 10.0}  # seconds
UNITS = {"enum": "nodes", "stochastic": "proposals", "random": "programs"}


@dataclass(frozen=True)
class SearchRun(TaskOptions):
    """One ``discover search`` run: task, method, time limit and run directory."""

    method: Literal["enum", "stochastic", "random"] = "stochastic"
    """enum: best-first enumeration (proves optimality); stochastic: AlphaDev-S MCMC (finds
    sort3's 17 in well under a second); random: masked random programs (the floor)."""
    time_limit: float | None = None
    """Seconds of search before it stops (None: no limit for enum, 10 for stochastic and
    random)."""
    seed: int = 0
    """Random seed (also names the default run directory)."""
    out: str | None = None
    """Run directory (None: runs/search-TASK-METHOD-SEED, or the --resume directory)."""
    resume: str | None = None
    """Continue the run in this directory (its best.asm and result.json)."""

    def __post_init__(self):
        super().__post_init__()
        check_choice(self, "method", METHODS)
        check_float(self, "time_limit", 0, lo_open=True, optional=True)
        check_seed(self, "seed")
        check_text(self, "out", optional=True)
        check_text(self, "resume", optional=True)

    @property
    def run_dir(self) -> Path:
        return Path(self.out or self.resume
                    or f"runs/search-{self.task.strip().lower()}-{self.method}-{self.seed}")


def _method_configs():
    from discover.search import RandomConfig, StochasticConfig
    from discover.search.enum import EnumConfig

    return {"enum": EnumConfig, "stochastic": StochasticConfig, "random": RandomConfig}


def add_arguments(parser) -> None:
    options = Options(parser)
    options.add(SearchRun, metavars={"time_limit": "SECONDS", "out": "DIR", "resume": "DIR"})
    group = parser.add_argument_group("method options (EnumConfig, StochasticConfig, "
                                      "RandomConfig)")
    for method, cls in _method_configs().items():
        # One option per name: --seed, --max-length, --steps (random: programs), --cost
        # (enum: tie_break) and --memory-limit set the field of whichever method runs.
        options.add(cls, group=group, label=method,
                    rename={"tie_break": "cost", "memory_limit_gb": "memory_limit",
                            "programs": "steps"},
                    metavars={"memory_limit_gb": "GB"})


def _check_methods(args, run: SearchRun, configs) -> None:
    """UsageError for an option the chosen method does not have."""
    options = args.options
    for option in options.given(args):
        owners = {cls for cls, _ in option.fields}
        if SearchRun in owners or configs[run.method] in owners:
            continue
        methods = [m for m in METHODS if configs[m] in owners]
        value = getattr(args, option.dest)
        shown = (option.flag if value else "--no-" + option.flag[2:]) if option.kind is bool \
            else f"{option.flag} {value:g}" if isinstance(value, float) else f"{option.flag} {value}"
        raise UsageError(f"{shown} applies to --method {' or '.join(methods)} only")


def _config(args, run: SearchRun, configs, start):
    """The method's frozen config from the command line (its defaults where not given)."""
    cls = configs[run.method]
    if run.method == "enum":
        return args.options.build(args, cls)
    if run.method == "random":
        return args.options.build(args, cls, seed=run.seed)
    config = args.options.build(args, cls, seed=run.seed, start=start)
    if start is not None and config.cold_start:  # a resumed run starts from its best
        from dataclasses import replace

        config = replace(config, cold_start=False)
    return config


def _resume(directory: str, task):
    """(best program or None, previous result.json) of a run directory; UsageError if bad."""
    from discover.cli.common import read_program
    from discover.kernels import ProgramError, verify
    from discover.runs import read_json

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


def run(args) -> int:
    options = args.options
    run = options.build(args, SearchRun)
    configs = _method_configs()
    _check_methods(args, run, configs)
    config = _config(args, run, configs, None)  # every value checked before any work
    task = run.make()
    if run.method == "enum":
        config.check(task)
    elif run.method == "random":
        config.lengths(task)
    start, previous = (None, None)
    if run.resume is not None:
        start, previous = _resume(run.resume, task)
        if run.method == "stochastic":
            config = _config(args, run, configs, start)
    out = run.run_dir
    check_output_dir(str(out), "--out" if run.out else "--resume" if run.resume else "--out")

    from discover.kernels import verify
    from discover.runs import write_atomic, write_json
    from discover.search import CostMonitor, search

    time_limit = run.time_limit if run.time_limit is not None \
        else DEFAULT_TIME_LIMIT[run.method]
    bar = _progress_bar(run.method)

    def on_best(program):
        write_atomic(out / "best.asm", _best_text(program, task, run.method, run.seed,
                                                  monitor.elapsed))
        bar.write(f"new best: {len(program)} instructions after {monitor.elapsed:.2f} s",
                  file=sys.stderr)

    def on_progress(explored, best, elapsed, **stats):
        bar.update(explored - bar.n)
        bar.set_postfix(best=best, refresh=False)

    objective = "length"
    if getattr(config, "cost", getattr(config, "tie_break", "length")) == "latency":
        objective = "length_latency" if run.method == "enum" else "latency"
    monitor = CostMonitor(time_limit=time_limit, on_best=on_best, on_progress=on_progress,
                          objective=objective)
    out.mkdir(parents=True, exist_ok=True)
    if start is not None:
        monitor.best = start  # the bar to beat
        if not (out / "best.asm").exists():  # --out elsewhere: the run starts with it
            write_atomic(out / "best.asm", (Path(run.resume) / "best.asm").read_text())
    try:
        # Ctrl-C from here on (JIT compilation included) asks the search to stop and keep
        # its best; the methods catch it again around their loops.
        with monitor.catch_sigint():
            result = search(task, run.method, config, monitor=monitor)
    except ConfigError:
        raise  # written with its option by the caller
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
            "directory": str(run.resume), "length": previous.get("length"),
            "explored": previous.get("explored"), "search_time": previous.get("search_time")}
    if result.programs:  # enum --all: every optimal program
        write_atomic(out / "optimal.txt", programs_text(result.programs))
    write_json(out / "result.json", result.to_json())

    interrupted = result.stopped == "interrupted"
    if result.program is None:
        print(f"no correct {task.name} program found ({result.stopped} after "
              f"{result.search_time:.1f} s, {result.explored} {UNITS[run.method]})")
        print(f"run directory: {out}")
        return 130 if interrupted else 1
    check = verify(result.program, task)
    print(f"; best {task.name} program ({run.method} search, seed {run.seed})")
    print(result.program.text(), end="")
    print(check.summary(), end="")
    print(f"optimal: {'proved' if result.optimal else 'not proved'}")
    print(f"search: {result.stopped} after {result.search_time:.2f} s "
          f"(+ {result.compile_time:.2f} s JIT), {result.explored} {UNITS[run.method]}, "
          f"best after {result.time_to_best:.2f} s" if result.time_to_best is not None
          else f"search: {result.stopped} after {result.search_time:.2f} s")
    print(f"run directory: {out}")
    if not check.correct:  # a method returned an unverified program: a bug, say so
        return 1
    return 130 if interrupted else 0


def programs_text(programs) -> str:
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
