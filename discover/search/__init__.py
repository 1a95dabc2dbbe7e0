"""Search engines: enumeration (provably shortest), AlphaDev-S (stochastic), random (floor),
and the network beam search (sorting networks compiled with short compare-exchanges, the
default from sort6 on).

>>> from discover.kernels import Task
>>> from discover.search import search, StochasticConfig
>>> result = search(Task.from_name("sort3"), "stochastic", StochasticConfig(seed=1),
...                 time_limit=5)
>>> len(result.program), result.optimal
(17, False)

Every method returns a ``SearchResult`` whose program (if any) is verified correct; only
the enumerative search can prove a program optimal.
"""

from __future__ import annotations

from discover.candidates import MEASURED_COSTS
from discover.kernels import Task

from .base import CostMonitor, Monitor, SearchResult, SearchStopped
from .beam import BeamConfig, network_variants, search_beam
from .bound import StateBound
from .random_search import RandomConfig, search_random
from .stochastic import StochasticConfig, search_stochastic

METHODS = ("enum", "stochastic", "random", "beam")

__all__ = [
    "METHODS", "BeamConfig", "CostMonitor", "EnumConfig", "Monitor", "RandomConfig",
    "SearchResult", "SearchStopped", "StateBound", "StochasticConfig", "default_config",
    "default_method", "network_variants", "rank_measured", "search", "search_beam",
    "search_enum", "search_random", "search_stochastic",
]


def __getattr__(name):
    # The enumerative search loads on first use (and keeps this package importable
    # without it).
    if name in ("EnumConfig", "search_enum"):
        from . import enum

        return getattr(enum, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


BEAM_FROM = 6  # the network beam search is the default from sort6 on


def default_method(task: Task) -> str:
    """The method a search of ``task`` uses when none is named: the network beam search for
    sort6..sort8 (with a spare register), where it reaches AlphaDev's lengths and past them
    in seconds while the stochastic chains stall above them; the stochastic search below;
    for the varsort tasks the beam's skeleton search (``varsort.py``). A kernel task
    (median5, merge2+2, ...): the stochastic search, warm-started from its baseline (the
    beam compiles sorting networks only; ``--method enum`` proves the small ones)."""
    if not task.is_sort:
        return "stochastic"
    if task.variable:
        return "beam"
    if task.n >= BEAM_FROM and task.registers >= task.n + 1:
        return "beam"
    return "stochastic"


def default_config(method: str):
    """The default configuration of a method; ValueError for an unknown method."""
    if method == "stochastic":
        return StochasticConfig()
    if method == "beam":
        return BeamConfig()
    if method == "random":
        return RandomConfig()
    if method == "enum":
        from .enum import EnumConfig

        return EnumConfig()
    raise ValueError(f"unknown search method {method!r} (known: {', '.join(METHODS)})")


def config_cost(config) -> str:
    """What a config minimises beside correctness: its ``cost`` (enum: ``tie_break``)."""
    return getattr(config, "cost", getattr(config, "tie_break", "length"))


def monitor_objective(method: str, config) -> str:
    """The ``CostMonitor`` objective of a method and config: enum's latency, measured and
    mca tie-breaks rank the shortest by latency; the stochastic chains of ``fitted``,
    ``measured`` and ``mca`` run on the fitted model; ``latency`` ranks by the estimate."""
    cost = config_cost(config)
    if method == "enum" and cost in ("latency", *MEASURED_COSTS):
        return "length_latency"
    if cost in ("fitted", *MEASURED_COSTS):
        return "fitted"
    return "latency" if cost == "latency" else "length"


def search(task: Task, method: str | None = None, config=None, *,
           time_limit: float | None = None, monitor: Monitor | None = None,
           sampling=None, run_dir=None) -> SearchResult:
    """Run one search method on a task; returns its ``SearchResult``.

    ``method``: enum, stochastic, random or beam; None: ``default_method(task)``.
    ``config`` is the method's config (EnumConfig, StochasticConfig, RandomConfig,
    BeamConfig; None: defaults). ``monitor`` (optional) receives each new best program;
    by default a ``CostMonitor`` with ``time_limit`` (seconds from this call: set-up, JIT
    compilation or cache loading included) and the objective the config asks for. With a
    measured cost (``cost='measured'``) the candidates are timed after the search
    (``sampling``: a ``discover.native.SamplingConfig``; default latency mode), with
    ``cost='mca'`` estimated by llvm-mca, and the fastest is returned (``rank_measured``).
    ``run_dir``: where enum's proof keeps its checkpoint and resumes from it.
    """
    if method is None:
        method = default_method(task)
    if config is None:
        config = default_config(method)
    measured = next((c for c in (getattr(config, "cost", None),
                                 getattr(config, "tie_break", None)) if c in MEASURED_COSTS),
                    None)
    if monitor is None:
        objective = monitor_objective(method, config)
        monitor = CostMonitor(time_limit=time_limit, objective=objective)
    if task.variable and method in ("beam", "enum"):
        # varsort: the skeleton search (varsort.py); enum compiles every exchange choice
        from .varsort import search_varsort

        if method == "enum":
            return search_varsort(task, monitor, seed=0, width=None, method="enum")
        return search_varsort(task, monitor, seed=config.seed, width=config.width,
                              restarts=config.restarts, method="beam",
                              branches=config.cost == "latency")
    if task.variable and method == "random":
        raise ValueError("--method random does not search the varsort tasks "
                         "(use beam, enum or stochastic)")
    if method == "stochastic":
        result = search_stochastic(task, config, monitor)
    elif method == "random":
        return search_random(task, config, monitor)
    elif method == "beam":
        return search_beam(task, config, monitor)
    elif method == "enum":
        from .enum import search_enum

        result = search_enum(task, config, monitor, run_dir=run_dir)
    else:
        raise ValueError(f"unknown search method {method!r} (known: {', '.join(METHODS)})")
    if measured:
        rank_measured(result, sampling, measured)
    return result


def rank_measured(result: SearchResult, sampling=None, cost: str = "measured") -> None:
    """Rank the result's candidates (and its program) by ``cost``, ``measured`` (timed
    natively, in the same rounds) or ``mca`` (llvm-mca's estimate), and make the fastest
    its program; ``result.ranked`` holds them all, fastest first, and
    ``result.notes[cost]`` how many were ranked and the spread of their figures
    (``spread_ns`` / ``fastest_ns``; ``spread_cycles`` / ``fastest_cycles`` for mca).
    NativeError where the cost cannot be computed here."""
    from discover.candidates import rank

    if cost not in MEASURED_COSTS:
        raise ValueError(f"cost must be one of {', '.join(MEASURED_COSTS)}, got {cost!r}")
    programs = list(result.candidates)
    if result.program is not None:
        programs.append(result.program)
    if not programs:
        return
    result.ranked = rank(programs, result.task, cost, sampling)
    best = result.ranked[0]
    figures = [c.cost(cost) for c in result.ranked]
    if result.program is not None and best.program != result.program \
            and len(best.program) > len(result.program):
        result.optimal = False  # the fastest is longer than the proved shortest
    result.program = best.program
    unit = "ns" if cost == "measured" else "cycles"
    result.notes[cost] = {"timed": len(result.ranked),
                          f"spread_{unit}": [min(figures), max(figures)],
                          f"fastest_{unit}": best.cost(cost)}
