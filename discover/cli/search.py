"""``discover search``: run a search method, keep the best program in a run directory.

The run directory holds ``best.asm`` and ``result.json``, both rewritten atomically the
moment a new best program is found (``result.json`` then says ``"stopped": "running"``
and holds the program's text and the method's settings: the manifest a resume reads, so
a run killed even by SIGKILL loses nothing it found), and, for ``--method enum --all``,
``optimal.txt`` (every optimal program). A run directory is locked while a search uses
it: a second search into it is refused at once, and so is a fresh search into a
directory that already holds a run. ``--resume DIR`` continues a run with its saved
method and settings (options given on the command line override them): its best program
becomes the bar to beat, the stochastic search warm-starts from it, and a missing,
corrupt or incorrect ``best.asm`` is restored from the manifest.

The options are ``SearchRun``'s fields and those of the three method configs
(``EnumConfig``, ``StochasticConfig``, ``RandomConfig``); an option only some methods
have is refused for the others. Exit codes: 0 a correct program found, 1 none found,
2 bad input, 130 interrupted (the best program so far is kept and reported).
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, replace
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

HELP = "search for a short correct program (enum, stochastic, random or beam)"
DESCRIPTION = ("Search for a short correct program; writes DIR/best.asm and DIR/result.json. "
               "Ctrl-C stops and keeps the best program so far.")

METHODS = ("enum", "stochastic", "random", "beam")
DEFAULT_TIME_LIMIT = {"enum": None, "stochastic": 10.0, "random": 10.0, "beam": 60.0}  # s
UNITS = {"enum": "nodes", "stochastic": "proposals", "random": "programs", "beam": "nodes"}
PHASES = {"setting up": "setting up (JIT compilation or cache loading, tables)",
          "register": "register phase (loads first, stores last)",
          "proof": "proof (the whole ISA)", "enumerate": "enumerating the optimal programs",
          "search": "searching"}  # what the phase lines on stderr say
RUN_FILES = ("best.asm", "result.json", "optimal.txt", "candidates.json",
             "proof.json")  # a directory with one holds a run


@dataclass(frozen=True)
class SearchRun(TaskOptions):
    """One ``discover search`` run: task, method, time limit and run directory."""

    method: Literal["enum", "stochastic", "random", "beam"] | None = None
    """enum: best-first enumeration (proves optimality); stochastic: AlphaDev-S MCMC (finds
    sort3's 17 in well under a second); random: masked random programs (the floor); beam:
    sorting networks compiled with short compare-exchanges (sort6..sort8 past AlphaDev's
    lengths; sorts only). None: beam from sort6 on and for the varsort tasks (its skeleton
    search), stochastic below and for every kernel task (median5, merge2+2, ...)."""
    time_limit: float | None = None
    """Seconds of search before it stops, counted from its start: set-up (JIT compilation
    or cache loading, tables) included (None: no limit for enum, 10 for stochastic and
    random, 60 for beam)."""
    seed: int = 0
    """Random seed (also names the default run directory)."""
    out: str | None = None
    """Run directory (None: runs/search-TASK-METHOD-SEED, or the --resume directory)."""
    resume: str | None = None
    """Continue the run in this directory (its best.asm and result.json)."""

    def __post_init__(self):
        super().__post_init__()
        check_choice(self, "method", METHODS, optional=True)
        check_float(self, "time_limit", 0, lo_open=True, optional=True)
        check_seed(self, "seed")
        check_text(self, "out", optional=True)
        check_text(self, "resume", optional=True)

    @property
    def run_dir(self) -> Path:
        return Path(self.out or self.resume
                    or f"runs/search-{self.task.strip().lower()}-{self.method}-{self.seed}")

    def with_method(self, task) -> "SearchRun":
        """This run with its method named (``discover.search.default_method`` when None)."""
        if self.method is not None:
            return self
        from discover.search import default_method

        return replace(self, method=default_method(task))


def _method_configs():
    from discover.search import BeamConfig, RandomConfig, StochasticConfig
    from discover.search.enum import EnumConfig

    return {"enum": EnumConfig, "stochastic": StochasticConfig, "random": RandomConfig,
            "beam": BeamConfig}


def add_arguments(parser) -> None:
    options = Options(parser)
    options.add(SearchRun, metavars={"time_limit": "SECONDS", "out": "DIR", "resume": "DIR"})
    group = parser.add_argument_group("method options (EnumConfig, StochasticConfig, "
                                      "RandomConfig, BeamConfig)")
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
        names = ", ".join(methods[:-1]) + " or " + methods[-1] if len(methods) > 1 \
            else methods[0]
        raise UsageError(f"{shown} applies to --method {names} only")


def _config(args, run: SearchRun, configs, start, saved=None):
    """The method's frozen config: ``saved`` settings (a resumed run's), then the command
    line's, its defaults where neither gives a value."""
    cls = configs[run.method]
    fixed = {} if run.method == "enum" else {"seed": run.seed}
    if run.method == "stochastic":
        fixed["start"] = start
    config = cls(**{**(saved or {}), **args.options.values(args, cls), **fixed})
    if start is not None and getattr(config, "cold_start", False):
        config = replace(config, cold_start=False)  # a resumed run starts from its best
    return config


def _resume(directory: str, task):
    """(best program or None, manifest dict or None) of a run directory; UsageError if bad.

    The manifest (``result.json``) holds the truth; ``best.asm`` is derived from it and may
    be one improvement ahead (a kill between the two writes). The better of the two
    correct programs is the bar to beat; a missing ``best.asm`` is rewritten from the
    manifest, a damaged one (unreadable, ill-formed, incorrect: never left by a kill, since
    every write is atomic) is refused. A directory with neither file (a run killed before
    its first write) starts afresh.
    """
    from discover.kernels import Program, ProgramError, verify
    from discover.runs import read_json, require, write_atomic

    path = Path(directory)
    if not path.is_dir():
        raise UsageError(f"--resume: {directory} is not a directory")
    manifest, best_file = path / "result.json", path / "best.asm"
    if not manifest.exists() and not best_file.exists():
        return None, None
    previous, recorded = {}, None
    if manifest.exists():
        try:
            previous = read_json(manifest)
            require(previous, "task", str, manifest)
            require(previous, "registers", int, manifest, minimum=1)
            require(previous, "explored", int, manifest, minimum=0)
            require(previous, "seed", int, manifest, minimum=0)
            require(previous, "method", str, manifest)
            require(previous, "length", int, manifest, minimum=1, optional=True)
            require(previous, "search_time", float, manifest, minimum=0, optional=True)
            require(previous, "config", dict, manifest, optional=True)
            text = require(previous, "program", str, manifest, optional=True)
        except ValueError as error:
            raise UsageError(f"--resume: {error}") from None
        if previous["task"] != task.name or previous["registers"] != task.registers:
            raise UsageError(f"--resume: {manifest} is a run of {previous['task']!r} with "
                             f"{previous['registers']} registers, not {task.name} with "
                             f"{task.registers}")
        if text is not None:
            try:
                recorded = Program.parse(text)
                if not verify(recorded, task).correct:
                    raise ProgramError(1, "program", "not a correct program")
            except ProgramError as error:
                raise UsageError(f"--resume: {manifest}: field 'program': {error}") from None
        elif previous.get("length") is not None:
            raise UsageError(f"--resume: {manifest} records a program of "
                             f"{previous['length']} instructions but not its text")
    # A damaged best.asm (never left by a kill: every write is atomic) is refused.
    on_disk = _correct_file(best_file, task, f" (delete it to restore it from {manifest.name})"
                            if recorded else "")
    candidates = [p for p in (on_disk, recorded) if p is not None]
    if not candidates:
        return None, previous
    best = min(candidates, key=len)
    if on_disk is None or len(on_disk) > len(best):
        write_atomic(best_file, best.text())
        print(f"restored {best_file} from {manifest}", file=sys.stderr)
    return best, previous


def _correct_file(path: Path, task, hint: str = ""):
    """The program in ``path`` (None if there is none); UsageError unless it is correct."""
    from discover.cli.common import read_program
    from discover.kernels import ProgramError, verify

    if not path.exists():
        return None
    try:
        program = read_program(str(path))
        correct = verify(program, task).correct
    except (UsageError, ProgramError) as error:
        raise UsageError(f"--resume: {error}{hint}") from None
    if not correct:
        raise UsageError(f"--resume: {path} is not a correct {task.name} program{hint}")
    return program


def _saved_settings(args, run: SearchRun, previous: dict):
    """The run's saved method and seed where the command line does not give them."""
    given = args.options.values(args, SearchRun)
    if "method" not in given and previous.get("method") in METHODS:
        run = replace(run, method=previous["method"])
    if "seed" not in given and "seed" in previous:
        run = replace(run, seed=previous["seed"])
    return run


def _saved_config(run: SearchRun, configs, previous) -> dict:
    """The scalar settings a resumed run was started with (``result.json``'s ``config``)."""
    saved = (previous or {}).get("config") or {}
    cls = configs[run.method]
    kept = {f.name: saved[f.name] for f in dataclasses.fields(cls)
            if f.name in saved and f.name not in ("seed", "start")
            and isinstance(saved[f.name], (int, float, str, bool, type(None)))}
    try:
        cls(**kept)  # checked on their own, so that an error names the file, not an option
    except ConfigError as error:
        raise UsageError(f"--resume: {Path(run.resume) / 'result.json'}: field 'config': "
                         f"{error}") from None
    return kept


def _beam_restarts_done(run: SearchRun, previous: dict) -> int:
    """The restarts a beam run made, counted from 0 (its manifest's notes: first_restart
    + restarts; 0 when a kill left none), where a resume goes on."""
    from discover.runs import require

    notes = previous.get("notes") or {}
    if not isinstance(notes, dict):
        notes = {}
    path = Path(run.resume) / "result.json"
    try:
        done = require(notes, "restarts", int, f"{path}: notes", minimum=0, optional=True)
        first = require(notes, "first_restart", int, f"{path}: notes", minimum=0,
                        optional=True)
    except ValueError as error:
        raise UsageError(f"--resume: {error}") from None
    return (first or 0) + (done or 0)


def _best_text(program, task, method, seed, elapsed) -> str:
    from discover.kernels import verify

    check = verify(program, task)
    return (f"; {task.name} (registers: {task.registers}): {check.length} instructions "
            f"({check.register_only_length} register-only), latency estimate "
            f"{check.latency} cycles\n"
            f"; found by discover search --method {method} --seed {seed} after "
            f"{elapsed:.2f} s; verified on all {check.n_inputs} "
            f"{'inputs of every length' if task.variable else 'weak orderings'}\n"
            + program.text())


def run(args) -> int:
    run = args.options.build(args, SearchRun)
    configs = _method_configs()
    task = run.make()
    start, previous = None, None
    if run.resume is not None:
        start, previous = _resume(run.resume, task)
        run = _saved_settings(args, run, previous or {})
    run = run.with_method(task)
    _check_methods(args, run, configs)
    config = _config(args, run, configs, start, _saved_config(run, configs, previous))
    if run.method == "beam" and previous and "first_restart" not in \
            args.options.values(args, configs["beam"]):
        config = replace(config, first_restart=_beam_restarts_done(run, previous))
    if run.method == "enum":
        config.check(task)
    elif run.method == "random":
        config.lengths(task)
    elif run.method == "beam":
        try:
            config.check(task)
        except ValueError as error:
            raise UsageError(str(error)) from None
    from discover.search import config_cost

    cost = config_cost(config)
    if cost == "measured":
        from discover.native import native_unavailable

        reason = native_unavailable()
        if reason:
            raise UsageError(f"--cost measured needs native timing: {reason}")
    elif cost == "mca":
        from discover.native.mca import mca_unavailable

        reason = mca_unavailable()
        if reason:
            raise UsageError(reason)
    out = run.run_dir
    option = "--out" if run.out or run.resume is None else "--resume"
    check_output_dir(str(out), option)
    if getattr(config, "backend", "local") == "ray":  # before the run directory is made
        from discover.cluster import connect

        try:
            connect(config.address)
        except ValueError as error:
            raise UsageError(str(error)) from None

    from discover.runs import RunDir, RunDirError

    try:
        with RunDir(out, option) as directory:
            if run.resume is None or Path(run.resume).resolve() != out.resolve():
                directory.fresh(RUN_FILES)  # never overwrite another run's best
            return _search(run, task, config, start, previous, out)
    except RunDirError as error:
        raise UsageError(str(error)) from None


def _settings(config) -> dict:
    """The config's scalar fields (what ``result.json`` keeps for a resume)."""
    return {f.name: getattr(config, f.name) for f in dataclasses.fields(config)
            if isinstance(getattr(config, f.name), (int, float, str, bool, type(None)))}


def _search(run: SearchRun, task, config, start, previous, out: Path) -> int:
    """Run the search in the locked directory ``out``; the command's exit code."""
    from discover.candidates import MEASURED_COSTS
    from discover.kernels import verify
    from discover.runs import write_atomic, write_json
    from discover.search import CostMonitor, config_cost, monitor_objective, search

    time_limit = run.time_limit if run.time_limit is not None \
        else DEFAULT_TIME_LIMIT[run.method]
    bar = _progress_bar(run.method)
    seen = [0]  # units explored at the last progress report, for the manifest

    def manifest(result) -> dict:
        payload = result.to_json()
        payload["config"] = _settings(config)
        if previous:
            payload["explored"] += int(previous.get("explored") or 0)
            payload["notes"]["resumed_from"] = {
                "directory": str(run.resume), "length": previous.get("length"),
                "explored": previous.get("explored"),
                "search_time": previous.get("search_time")}
        return payload

    def save_running():
        partial = monitor.result(task, run.method, run.seed, seen[0], 0.0, {})
        partial.stopped = "running"
        write_json(out / "result.json", manifest(partial))

    def on_best(program):
        write_atomic(out / "best.asm", _best_text(program, task, run.method, run.seed,
                                                  monitor.elapsed))
        save_running()
        bar.write(f"new best: {len(program)} instructions after {monitor.elapsed:.2f} s",
                  file=sys.stderr)

    shown = [None]  # the phase last announced

    def on_progress(explored, best, elapsed, **stats):
        phase = stats.get("phase")
        if phase and phase != shown[0]:  # set-up included: a line as each phase begins
            shown[0] = phase
            bar.set_description(f"search {run.method} [{phase}]", refresh=False)
            bar.write(f"{PHASES.get(phase, phase)} at {monitor.elapsed:.2f} s", file=sys.stderr)
        seen[0] = explored
        bar.update(explored - bar.n)
        bar.set_postfix(best=best, refresh=False)

    objective = monitor_objective(run.method, config)
    monitor = CostMonitor(time_limit=time_limit, on_best=on_best, on_progress=on_progress,
                          objective=objective)
    if start is not None:
        monitor.best = start  # the bar to beat
        if not (out / "best.asm").exists():  # --out elsewhere: the run starts with it
            write_atomic(out / "best.asm", start.text())
    save_running()  # the settings are on disk before any work: a kill loses none of them
    try:
        # Ctrl-C from here on (JIT compilation included) asks the search to stop and keep
        # its best; the methods catch it again around their loops.
        with monitor.catch_sigint():
            result = search(task, run.method, config, monitor=monitor, run_dir=out)
    except ConfigError:
        raise  # written with its option by the caller
    except (ValueError, MemoryError) as error:
        raise UsageError(str(error)) from None
    finally:
        bar.close()

    if monitor.best is not None and not result.ranked and (result.program is None
                                     or monitor.key(monitor.best, task)
                                     < monitor.key(result.program, task)):
        if result.program is None or len(monitor.best) < len(result.program):
            result.optimal = False
        result.program = monitor.best
    if result.programs:  # enum --all: every optimal program
        write_atomic(out / "optimal.txt", programs_text(result.programs))
    if result.ranked:  # a measured cost (or mca): the table of candidates
        from discover.candidates import CANDIDATES_FILE, write_candidates

        write_candidates(out / CANDIDATES_FILE, result.ranked, task, config_cost(config))
        write_atomic(out / "best.asm", _best_text(result.program, task, run.method, run.seed,
                                                  monitor.elapsed))
    payload = manifest(result)
    write_json(out / "result.json", payload)
    result.explored = payload["explored"]

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
    if run.method != "enum" and config_cost(config) in ("fitted", *MEASURED_COSTS):
        from discover.search.base import fitted_cycles

        print(f"fitted model: {fitted_cycles(result.program, task):.2f} cycles (the reference "
              "machine's, discover/known/model.json)")
    print(f"optimal: {'proved' if result.optimal else 'not proved'}")
    print(f"search: {result.stopped} after {result.search_time:.2f} s "
          f"(+ {result.compile_time:.2f} s JIT), {result.explored} {UNITS[run.method]}, "
          f"best after {result.time_to_best:.2f} s" if result.time_to_best is not None
          else f"search: {result.stopped} after {result.search_time:.2f} s")
    if result.ranked and config_cost(config) == "mca":
        from discover.native.mca import ITERATIONS, mca_cpu

        spread = result.notes["mca"]["spread_cycles"]
        print(f"mca: {len(result.ranked)} candidates estimated by llvm-mca (-mcpu={mca_cpu()}, "
              f"cycles per iteration of {ITERATIONS}), {spread[0]:.2f}-{spread[1]:.2f} mca "
              f"cycles; best {result.ranked[0].mca_cycles:.2f} mca cycles "
              f"(table: {out / 'candidates.json'})")
    elif result.ranked:
        spread = result.notes["measured"]["spread_ns"]
        print(f"measured: {len(result.ranked)} candidates timed (latency mode), medians "
              f"{spread[0]:.2f}-{spread[1]:.2f} ns; fastest {result.ranked[0].median_ns:.2f} "
              f"ns (table: {out / 'candidates.json'})")
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
