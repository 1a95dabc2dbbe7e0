"""AlphaDev-S: a stochastic superoptimiser (Markov chain Monte Carlo over whole programs).

Moves (STOKE's, as AlphaDev-S used them): add, remove, swap, opcode, operand and
instruction. Cost = incorrectness + alpha x size, where incorrectness counts the memory
cells not holding their sorted value, summed over every test input, and size is the
length or the latency estimate. A proposal is accepted with probability
``min(1, exp(-beta x (new cost - cost)))``. Ill-formed proposals (a register read before
it is written, a cmov before any cmp) are rejected without running, so the chain only
visits well-formed programs.

The chains run in compiled code (kernels/mcmc.py), several in parallel (one per core),
each with its own seed; the result depends on the seed and the number of steps, never on
thread timing. Every ``restart_every`` steps, a chain whose cost is worse than the best
program found so far restarts from that program.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from discover.candidates import MEASURED_COSTS
from discover.kernels import (MODEL_SIZE, Program, Task, baseline_program, flow_cost,
                              latency_estimate, mcmc, verify)
from discover.validation import (MAX_PROGRAM_LENGTH, ConfigError, check_choice, check_float,
                                 check_int, check_memory_gb, check_seed)

from .chains import ChainsBase
from .base import Monitor, SearchResult, SearchStopped, fitted_cycles, fitted_model_for

COSTS = ("length", "latency", "fitted", "measured", "mca")
POOL_SIZE = 2000  # distinct correct programs kept for a measured (or mca) ranking
POOL_EVERY = 5000  # steps per chain between two samples of the chains for that pool
UNLIMITED = None  # steps=None: run until the monitor stops the search
MAX_CHAINS = 256  # chains are threads; past a few per core they only share the cores

# Default (alpha, beta) by N, measured (one run each, on a shared 2-core machine): sort3
# reaches 17 within 300,000 steps a chain for 10 of 10 seeds at (0.5, 4), 6 of 8 at
# (0.5, 2); sort5 reaches 43-44 within 30 s at (1, 0.5) (seeds 0, 1), 44-45 at (0.5, 1),
# (0.5, 2), (0.5, 4). Small tasks need a cold chain: at sort3 the empty program has only
# 20 misplaced cells, so a hot chain collapses onto it; larger tasks have many more cells
# per instruction of damage and need heat to move at all. sort4: in between, not tuned
# (its network program, 28, is already optimal).
# sort2: alpha 0.1, so that its 8-instruction program costs less than the empty program
# (2 misplaced cells).
DEFAULT_ALPHA_BETA = {2: (0.1, 4.0), 3: (0.5, 4.0), 4: (1.0, 1.0)}
DEFAULT_ALPHA_BETA_LARGE = (1.0, 0.5)  # N >= 5


@dataclass(frozen=True)
class StochasticConfig:
    """Options of the stochastic search (``discover search --method stochastic``)."""

    seed: int = 0
    """Seeds every chain (chain c gets stream c of it): same seed, same steps, same result."""
    cost: str = "length"
    """Size term of the cost: 'length' (instructions), 'latency' (kernels/cost.py's
    estimate), 'fitted' (the latency model fitted to the reference machine,
    discover/known/model.json) or 'measured' (the chains run on the fitted model; the distinct correct programs they hold at
    every POOL_EVERY steps, up to POOL_SIZE, are timed natively after the search
    and the fastest is kept: see discover/candidates.py) or 'mca' (the same pool, ranked
    by llvm-mca's cycle estimate instead: discover/native/mca.py)."""
    alpha: float | None = None
    """Weight of one instruction (or cycle) against one misplaced cell of one input;
    None: the task's default (DEFAULT_ALPHA_BETA)."""
    beta: float | None = None
    """Inverse temperature: a move that adds cost d is accepted with probability
    exp(-beta d); None: the task's default (DEFAULT_ALPHA_BETA)."""
    beta_ratio: float = 1.0
    """Chain c runs at inverse temperature beta x beta_ratio**c (1: all alike; < 1: a
    ladder of hotter chains that explore while chain 0 refines). Measured on sort5, 120 s,
    seeds 0-3: at 1, 43 every time (24-103 s); at 0.25, 42 / 43 / 43 / 44 (seed 1 reached
    42 after 60 s); at 0.5 (seeds 0-1), 43 and 43."""
    cold_start: bool = False
    """Start from the empty program instead of the network baseline (AlphaDev-S found none so)."""
    start: Program | None = None
    """Warm start from this program (e.g. a resumed best); None: the baseline network."""
    max_length: int | None = None
    """Longest program a chain may hold; None: the start's length (baseline's when cold) + 2."""
    chains: int = 2
    """Independent chains, run in parallel (one per core pays; more share the cores)."""
    steps: int | None = UNLIMITED
    """Proposals per chain; None: until the time limit or Ctrl-C."""
    restart_every: int = 200_000
    """Every this many steps, chains worse than the best so far restart from it (0: never)."""
    move_weights: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
    """Relative frequency of add, remove, swap, opcode, operand, instruction."""
    memory_limit_gb: float = 8.0
    """Refuse to start when the chains' prefix-state caches would need more than this."""
    backend: str = "local"
    """Where the chains run: 'local' (threads of this process) or 'ray' (one Ray actor a
    chain on a Ray cluster, search/ray_chains.py: same seed and steps, same result)."""
    address: str | None = None
    """Ray cluster address (backend 'ray'; 'auto': the cluster of this node; None: start
    a local one for the search)."""

    def __post_init__(self):
        check_seed(self, "seed")
        check_choice(self, "cost", COSTS)
        check_float(self, "alpha", 0, lo_open=True, optional=True)
        check_float(self, "beta", 0, lo_open=True, optional=True)
        check_float(self, "beta_ratio", 0, lo_open=True)
        check_int(self, "max_length", 1, MAX_PROGRAM_LENGTH, optional=True)
        check_int(self, "chains", 1, MAX_CHAINS)
        check_int(self, "steps", 0, optional=True)
        check_int(self, "restart_every", 0)
        weights = tuple(self.move_weights)
        if len(weights) != mcmc.N_MOVES or not all(
                isinstance(w, numbers.Real) and math.isfinite(w) and w >= 0 for w in weights) \
                or sum(weights) <= 0:
            raise ConfigError(self, "move_weights", f"needs {mcmc.N_MOVES} finite non-negative "
                              f"weights ({', '.join(mcmc.MOVE_NAMES)}), not all zero, "
                              f"got {self.move_weights!r}")
        check_memory_gb(self, "memory_limit_gb")
        from discover.cluster import check_backend

        check_backend(self)
        if self.backend == "ray" and self.cost in MEASURED_COSTS:
            raise ConfigError(self, "backend", f"'ray' runs costs length, latency and fitted; "
                              f"cost {self.cost!r} keeps the local backend", related=("cost",))

    def resolved(self, task: Task) -> "StochasticConfig":
        """This config with alpha and beta filled in for the task."""
        alpha, beta = DEFAULT_ALPHA_BETA.get(task.n, DEFAULT_ALPHA_BETA_LARGE)
        return replace(self, alpha=alpha if self.alpha is None else self.alpha,
                       beta=beta if self.beta is None else self.beta)

    def validate(self) -> None:
        """ConfigError naming the bad field (construction already checks; kept for callers)."""
        self.__post_init__()


def _key(program: Program, task: Task, config: "StochasticConfig", capacity: int) -> float:
    """The chain kernel's best key of a program (mcmc._best_key)."""
    return _metric(program, task, config) * (capacity + 1) + len(program)


def _cost_kind(config: "StochasticConfig") -> int:
    """The chain kernel's cost kind: length; the latency estimate for 'latency'; the fitted
    model (discover/known/model.json) for 'fitted', 'measured' and 'mca'."""
    if config.cost == "length":
        return mcmc.COST_LENGTH
    return mcmc.COST_LATENCY if config.cost == "latency" else mcmc.COST_MODEL


def _model(task: Task, config: "StochasticConfig") -> np.ndarray:
    """The packed model the chains read (unused but passed for length and latency)."""
    if _cost_kind(config) != mcmc.COST_MODEL:
        return np.zeros(MODEL_SIZE, dtype=np.float64)
    return fitted_model_for(task)


class _Chains(ChainsBase):
    """C chains: the arrays kernels/mcmc.run_chain takes (the prefix-state caches beside
    ``ChainsBase``'s), and the threads that run them."""

    def __init__(self, task: Task, config: StochasticConfig, start: Program, capacity: int):
        _check_cache_memory(task, config, capacity)
        super().__init__(task, config, capacity, config.move_weights)
        self.cost_kind = _cost_kind(config)
        self.model = _model(task, config)  # float64[MODEL_SIZE]
        c, p, s, b = config.chains, capacity, task.slots, task.n_inputs
        self.states = np.zeros((c, p + 1, s, b), dtype=np.int8)  # int8[C, P + 1, S, B]
        self.decoded = np.zeros((c, p, 4), dtype=np.int64)  # int64[C, P, 4] scratch
        self.start(start)

    def reset(self, k: int, program: Program) -> None:
        """Put chain k on ``program`` (its states and cost recomputed)."""
        length = len(program)
        self.codes[k, :length] = program.code
        self.lengths[k] = length
        misplaced = mcmc.prefix_states(self.codes[k], length, self.states[k], self.inputs,
                                       self.expected, self.task.registers)
        self.costs[k] = self.config.alpha * _metric(program, self.task, self.config) + misplaced
        if misplaced == 0:
            self.keep_best(k, program, _key(program, self.task, self.config, self.capacity))

    def _run_one(self, k: int, steps: int) -> None:
        length, cost, best_length, best_key = mcmc.run_chain(
            steps, self.codes[k], int(self.lengths[k]), float(self.costs[k]), self.rngs[k],
            self.states[k], self.props[k], self.works[k], self.decoded[k], self.best_codes[k],
            int(self.best_lengths[k]), float(self.best_keys[k]), self.counters[k],
            self.expected, self.task.registers, self.config.alpha,
            self.config.beta * self.config.beta_ratio ** k, self.move_cdf, self.cost_kind,
            mcmc.BLOCK_COLUMNS, self.model)
        self.lengths[k] = length
        self.costs[k] = cost
        self.best_lengths[k] = best_length
        self.best_keys[k] = best_key

    def collect(self, pool: dict) -> None:
        """Add each chain's current program (when correct) and its best to ``pool``."""
        for k in range(self.config.chains):
            current = Program(self.codes[k, :self.lengths[k]].copy())
            # A chain's cost is alpha x metric + misplaced cells (an integer): above the
            # metric term, the current program is incorrect, and is not verified.
            misplaced = self.costs[k] - self.config.alpha * _metric(current, self.task,
                                                                    self.config)
            found = [current] if misplaced < 0.5 else []
            if np.isfinite(self.best_keys[k]):
                found.append(Program(self.best_codes[k, :self.best_lengths[k]].copy()))
            for program in found:
                if len(pool) >= POOL_SIZE:
                    return
                text = program.text()
                if text not in pool and verify(program, self.task).correct:
                    pool[text] = program



def start_program(task: Task, config: StochasticConfig) -> Program:
    """The chains' first program: config.start, the empty program (cold) or the baseline."""
    if config.start is not None:
        config.start.check(task.n, task.registers)
        return config.start
    if config.cold_start:
        return Program(np.zeros((0, 3), dtype=np.int32))
    if task.registers < task.n + 1:
        raise ValueError(f"the warm start (network baseline) needs {task.n + 1} registers, "
                         f"got {task.registers}: use --cold-start")
    try:
        return baseline_program(task)
    except ValueError as error:  # a kernel task with no baseline construction
        raise ValueError(f"{error}: use --cold-start (or --method enum)") from None


def _cold_length(task: Task) -> int:
    """A cold start's capacity: the baseline's length, 4N^2 for a task without one."""
    try:
        return len(baseline_program(task))
    except ValueError:
        return 4 * task.n * task.n


def _check_cache_memory(task: Task, config: StochasticConfig, capacity: int) -> None:
    """MemoryError when the chains' prefix-state caches would pass the memory limit
    (``search_stochastic`` checks before set-up, ``_Chains`` when it is built)."""
    need = config.chains * (capacity + 1) * task.slots * task.n_inputs
    if need > config.memory_limit_gb * 2**30:
        raise MemoryError(
            f"the stochastic search on {task.name} needs {need / 2**30:.1f} GB for its "
            f"prefix-state caches ({config.chains} chains x {capacity} instructions), over the "
            f"{config.memory_limit_gb:g} GB memory limit: use fewer chains or a shorter "
            f"max length")


@dataclass(frozen=True)
class _Flavour:
    """What the driver needs of one ISA's chains: the fixed sorts' here, the varsort
    tasks' (ISA v2) in ``stochastic_flow.py``."""

    resolve: Callable  # (config, task) -> the config with its defaults filled in
    start: Callable  # (task, config) -> the chains' first program
    cold_length: Callable  # task -> the capacity of a cold start (a program's length)
    extra_rows: int  # capacity: the start's length + this
    check_memory: Callable  # (task, config, capacity): MemoryError over the limit
    chains: type  # (task, config, start, capacity) -> the chains
    notes: Callable  # config -> notes of the result beside the common ones


_FIXED = _Flavour(
    resolve=lambda config, task: config.resolved(task),
    start=lambda task, config: start_program(task, config),
    cold_length=_cold_length,
    extra_rows=2,
    check_memory=lambda task, config, capacity: _check_cache_memory(task, config, capacity),
    chains=_Chains,
    notes=lambda config: {})


def _flavour(task: Task) -> _Flavour:
    if not task.variable:
        return _FIXED
    from . import stochastic_flow as flow

    return _Flavour(resolve=flow.resolved, start=flow.start_program,
                    cold_length=lambda task: len(flow.varsort_program(task.n)),
                    extra_rows=flow.EXTRA_ROWS, check_memory=flow.check_cache_memory,
                    chains=flow.FlowChains, notes=flow.notes)


def search_stochastic(task: Task, config: StochasticConfig, monitor: Monitor) -> SearchResult:
    """Run the chains until ``config.steps`` or the monitor stops them; the best correct program.

    Pass a ``CostMonitor(objective='latency')`` with ``cost='latency'`` so that longer
    but faster programs are kept too. A varsort task (``task.variable``, ISA v2: branches)
    runs the chains of ``stochastic_flow.py`` (``_flavour``) in the same loop.
    """
    flavour = _flavour(task)
    config = flavour.resolve(config, task)
    start = flavour.start(task, config)
    if config.max_length is not None:
        capacity = config.max_length
    elif config.cold_start and config.start is None:
        capacity = flavour.cold_length(task) if task.registers > task.n else 4 * task.n * task.n
    else:
        capacity = len(start) + flavour.extra_rows
    if len(start) > capacity:
        raise ValueError(f"the start program has {len(start)} instructions, over max_length "
                         f"{capacity}")
    capacity = max(capacity, 1)

    # Set-up: a stop interrupts it at once (Monitor.setup) and it counts against the time
    # limit. The warm start (the network, or a resumed best) is offered first, so the run
    # directory holds it from the first second; then the chains' prefix-state caches
    # (sort8: 2 GB) and the JIT.
    flavour.check_memory(task, config, capacity)  # before anything is offered or written
    make = flavour.chains
    if config.backend == "ray":  # one Ray actor a chain (ray_chains.py); connect first:
        from .ray_chains import ray_chains  # ValueError when no cluster answers there

        make = ray_chains(config, flavour.chains)
    warm = time.perf_counter()
    try:
        with monitor.setup():
            if len(start) and verify(start, task).correct:  # compiles the verifier here
                monitor.found(start, task)  # the warm start, when correct
            monitor.check()
            # the caches are filled by long compiled calls (sort8: a second a chain)
            chains = monitor.watched(lambda: make(task, config, start, capacity))
            chains._run_one(0, 0)  # compile (or load) on this thread, where a stop interrupts
    except SearchStopped:
        return monitor.result(task, "stochastic", config.seed, 0,
                              time.perf_counter() - warm, {"stopped_in": "set-up"})
    compile_time = time.perf_counter() - warm
    monitor.start_search()
    monitor.set_phase("search")

    pool = {} if config.cost in MEASURED_COSTS else None
    if pool is not None:
        chains.collect(pool)
    try:
        done = _run(task, config, monitor, chains, pool)
    finally:
        chains.close()
    result = _result(task, config, monitor, chains, start, capacity, done, compile_time)
    result.notes.update(flavour.notes(config))
    if pool is not None:
        chains.collect(pool)
        result.candidates = list(pool.values())
        result.notes["pool"] = len(pool)
    return result


def _run(task, config, monitor, chains, pool=None) -> int:
    """The search loop; returns the steps every chain made. ``pool`` (a dict, text ->
    program) receives the chains' distinct correct programs every POOL_EVERY steps."""
    best_key = float(chains.best_keys.min())
    # A step costs at most about one run of the longest program on every input (up to
    # 5 ns an instruction and input measured, two chains on two loaded cores): at most
    # this many steps a call keep a stop within about half a second however the chunk
    # adapts (sort8: 1, sort7: 26, sort5: 3,800; sort3: 400,000, no limit in practice).
    most = max(1, int(0.5 / (chains.capacity * task.n_inputs * 5e-9)))
    done = 0  # steps every chain has made
    # steps per compiled call, adapted to about 0.1 s a call (from 1: a sort8 step takes
    # about 20 ms, and a stop waits for the call)
    chunk = 1
    with monitor.catch_sigint():
        while not monitor.should_stop() and (config.steps is None or done < config.steps):
            todo = min(chunk, most)
            if config.steps is not None:
                todo = min(todo, config.steps - done)
            if config.restart_every:
                todo = min(todo, config.restart_every - done % config.restart_every)
            if pool is not None:  # the pool is sampled at fixed steps: same seed, same pool
                todo = min(todo, POOL_EVERY - done % POOL_EVERY)
            began = time.perf_counter()
            chains.run(todo)
            took = time.perf_counter() - began
            done += todo
            chunk = int(min(max(todo * 0.1 / max(took, 1e-6), 1), 2 * chunk + 1000))
            if pool is not None and done % POOL_EVERY == 0:
                chains.collect(pool)
            k, program = chains.best()
            if program is not None and chains.best_keys[k] < best_key:
                best_key = float(chains.best_keys[k])
                monitor.found(program, task)
            if config.restart_every and done % config.restart_every == 0 and program is not None:
                for c in range(config.chains):
                    if chains.costs[c] > config.alpha * _metric(program, task, config) + 1e-9:
                        chains.reset(c, program)
            counters = chains.counters.sum(axis=0)
            monitor.progress(int(counters[mcmc.PROPOSED]),
                             accepted=int(counters[mcmc.ACCEPTED]), steps=done)

    return done


def _result(task, config, monitor, chains, start, capacity, done, compile_time):
    counters = chains.counters.sum(axis=0)
    proposed = int(counters[mcmc.PROPOSED])
    notes = {
        "start": "cold" if config.cold_start and config.start is None else
                 ("program" if config.start is not None else "baseline"),
        "start_length": len(start),
        "cost": config.cost,
        "alpha": config.alpha,
        "beta": config.beta,
        "beta_ratio": config.beta_ratio,
        "chains": config.chains,
        "max_length": capacity,
        "steps_per_chain": done,
        "acceptance_rate": counters[mcmc.ACCEPTED] / proposed if proposed else 0.0,
        "ill_formed_rate": counters[mcmc.ILL_FORMED] / proposed if proposed else 0.0,
        "proposals_per_second": proposed / monitor.elapsed if monitor.elapsed > 0 else None,
    }
    return monitor.result(task, "stochastic", config.seed, proposed, compile_time, notes)


def _metric(program: Program, task: Task, config: StochasticConfig) -> float:
    """The size term of a program's cost, as the chain kernel computes it."""
    kind = _cost_kind(config)
    if kind == mcmc.COST_LATENCY and task.variable:  # branches: stochastic_flow's chains
        return float(flow_cost(program, task).latency_mean)
    if kind == mcmc.COST_LATENCY:
        return float(latency_estimate(program.code, task.n, task.registers))
    if kind == mcmc.COST_MODEL:
        return fitted_cycles(program, task)
    return float(len(program))
