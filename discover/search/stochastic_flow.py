"""AlphaDev-S over ISA v2: the stochastic search on the variable-length tasks (varsortN).

``search_stochastic`` comes here when ``task.variable``. The chains (kernels/flow_mcmc.py)
walk over programs with ``cmp n, K`` and forward jumps: the fixed search's six moves
(add, remove, swap, opcode, operand, instruction; on a jump, opcode changes its condition
and operand its target; on a ``cmp n, K``, operand changes K) and two branch moves
(``branch``: insert a jump, half of the time with a ``cmp n, K`` before it; ``unbranch``:
remove a control row, a ``cmp n, K`` + jump pair together). Inserting or removing a row
rewrites the jump targets so that every label keeps standing before the same instruction.
Ill-formed proposals (a register read or a cmov / conditional jump without a cmp on some
path, a jump not forward) are rejected without running.

Cost = incorrectness + alpha x length: the memory cells not holding their sorted value,
summed over the test inputs, where an input that faults (loads or stores a cell past its
length) counts all N cells plus ``FAULT_PENALTY``. The chains start from the human routine
(``varsort_program(N)``: branch on the length to the optimal network of that length), as
AlphaDev-S was warm-started, or from ``config.start`` (``--resume``), or from the empty
program (``cold_start``). Same seed, same steps, same result; the driver, loop, restarts
and stops (Ctrl-C, the time limit) are the fixed search's: ``search_stochastic`` runs these
chains (``FlowChains``) with the start, capacity and checks of this module.

Of the fixed search's costs, ``length`` and ``latency`` (for a program with branches: the
latency estimate of each input's path, mean over the lengths 0..N, as
``flow_cost(...).latency_mean``; pass a ``CostMonitor(objective='latency')`` as the CLI
does) are supported here; ``fitted``, ``measured`` and ``mca`` (a model fitted to, or
timings of, straight-line routines) are refused.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np

from discover.kernels import Program, Task
from discover.kernels import flow_mcmc, mcmc
from discover.kernels.networks import varsort_program


# ``config`` below is a StochasticConfig (discover/search/stochastic.py): that module
# imports this one (search_stochastic dispatches here), so this one does not import it.

# Default (alpha, beta) by N, measured from the human routine (seed 0, 20 s each after the
# JIT, on a shared 2-core machine; length reached): varsort4 at (0.25, 4) 34, (0.35, 1.5)
# 37, (0.25, 2) 38, (0.5, 1) 47, (1, 0.5) and (1, 0.25) 58, (0.5, 2) 60 (stuck at the
# start); varsort5 at (0.15, 6) 54, (0.25, 4) 55, (0.25, 8), (0.5, 4) and (0.1, 8) 56,
# (0.5, 2) 58, (1, 0.5) 108; varsort3 at (0.25, 4), (0.5, 4) and (0.25, 8) 19, (0.1, 4) 20
# (10 s each). The fixed sorts' defaults ((1, 0.5) from sort5 on) stall here.
DEFAULT_ALPHA_BETA = {2: (0.1, 4.0)}
DEFAULT_ALPHA_BETA_LARGE = (0.25, 4.0)  # N >= 3
BRANCH_WEIGHTS = (0.5, 0.5)
"""Relative frequency of the branch moves (branch, unbranch), beside the six of
``StochasticConfig.move_weights``."""
FAULT_PENALTY = 1.0
"""What an input that faults costs on top of its N cells counted wrong."""
EXTRA_ROWS = 4
"""Default capacity: the start's length + this (room for a cmp n, K + jump and more)."""
COSTS = ("length", "latency")
"""The size terms the v2 chains compute: length, or the latency estimate of each input's
path, mean over the lengths 0..N (``flow_cost(...).latency_mean``)."""


def resolved(config, task: Task):
    """``config`` with alpha and beta filled in for a varsort task; ValueError for a cost
    the v2 chains do not support."""
    if config.cost not in COSTS:
        raise ValueError(f"--cost {config.cost}: the stochastic search on {task.name} "
                         f"(branches) supports --cost {' or '.join(COSTS)} only")
    alpha, beta = DEFAULT_ALPHA_BETA.get(task.n, DEFAULT_ALPHA_BETA_LARGE)
    return replace(config, alpha=alpha if config.alpha is None else config.alpha,
                   beta=beta if config.beta is None else config.beta)


def start_program(task: Task, config) -> Program:
    """The chains' first program: config.start, the empty program (cold) or the human
    routine ``varsort_program(N)``."""
    if config.start is not None:
        config.start.check(task.n, task.registers, variable=True)
        return config.start
    if config.cold_start:
        return Program(np.zeros((0, 3), dtype=np.int32))
    if task.registers < task.n + 1:
        raise ValueError(f"the warm start (the human routine) needs {task.n + 1} registers, "
                         f"got {task.registers}: use --cold-start")
    return varsort_program(task.n)


def check_cache_memory(task: Task, config, capacity: int) -> None:
    """MemoryError when the chains' caches (states and resume indices) pass the limit."""
    need = config.chains * (capacity + 1) * (task.slots + 4) * task.n_inputs
    if need > config.memory_limit_gb * 2**30:
        raise MemoryError(
            f"the stochastic search on {task.name} needs {need / 2**30:.1f} GB for its "
            f"prefix-state caches ({config.chains} chains x {capacity} instructions), over the "
            f"{config.memory_limit_gb:g} GB memory limit: use fewer chains or a shorter "
            f"max length")


class FlowChains:
    """C chains over v2 programs: kernels/flow_mcmc.run_flow_chain's arrays and threads.

    The attributes ``stochastic._run`` and ``_result`` read (``capacity``, ``costs``,
    ``best_keys``, ``counters``, ``run``, ``reset``, ``best``) mean what they mean on the
    fixed search's ``_Chains``.
    """

    def __init__(self, task: Task, config, start: Program, capacity: int):
        self.task = task
        self.config = config
        self.capacity = capacity
        c, p, s, b = config.chains, capacity, task.slots, task.n_inputs
        check_cache_memory(task, config, capacity)
        # Inputs with the most distinct values (the longest) first: they tell programs
        # apart best, so a wrong proposal is usually caught in the first block of columns.
        order = np.argsort(-task.inputs.max(axis=0), kind="stable")
        self.inputs = np.ascontiguousarray(task.inputs[:, order])  # int8[N, B]
        self.expected = np.ascontiguousarray(task.expected[:, order])  # int8[N, B]
        self.input_lengths = np.ascontiguousarray(task.lengths[order])  # int8[B]
        self.fault_cost = float(task.n + FAULT_PENALTY)
        self.cost_kind = (flow_mcmc.COST_LATENCY if config.cost == "latency"
                          else flow_mcmc.COST_LENGTH)
        self.codes = np.zeros((c, p, 3), dtype=np.int32)  # int32[C, P, 3]: (op, dst, src)
        self.lengths = np.zeros(c, dtype=np.int64)  # int64[C]
        self.costs = np.zeros(c, dtype=np.float64)  # float64[C]
        self.rngs = np.array([[mcmc.seed_state(config.seed, k)] for k in range(c)],
                             dtype=np.uint64)  # uint64[C, 1]
        self.states = np.zeros((c, p + 1, s, b), dtype=np.int8)  # int8[C, P + 1, S, B]
        self.resumes = np.zeros((c, p + 1, b), dtype=np.int32)  # int32[C, P + 1, B]
        self.props = np.zeros((c, p, 3), dtype=np.int32)  # scratch
        self.works = np.zeros((c, s, mcmc.BLOCK_COLUMNS), dtype=np.int8)
        self.res = np.zeros((c, mcmc.BLOCK_COLUMNS), dtype=np.int32)
        self.scratch_w = np.zeros((c, p + 1), dtype=np.int64)
        self.scratch_f = np.zeros((c, p + 1), dtype=np.bool_)
        self.scratch_r = np.zeros((c, p + 1), dtype=np.bool_)
        self.shapes = np.zeros((c, 3), dtype=np.int64)
        self.best_codes = np.zeros((c, p, 3), dtype=np.int32)
        self.best_lengths = np.zeros(c, dtype=np.int64)
        self.best_keys = np.full(c, mcmc.NO_BEST, dtype=np.float64)
        self.counters = np.zeros((c, mcmc.N_COUNTERS), dtype=np.int64)
        weights = np.asarray(tuple(config.move_weights) + BRANCH_WEIGHTS, dtype=np.float64)
        self.move_cdf = np.cumsum(weights)  # float64[flow_mcmc.N_MOVES]
        for k in range(c):
            self.reset(k, start)
        workers = min(c, os.cpu_count() or 1)
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="chain") if workers > 1 \
            else None

    def reset(self, k: int, program: Program) -> None:
        """Put chain k on ``program`` (its caches and cost recomputed)."""
        length = len(program)
        self.codes[k, :length] = program.code
        self.lengths[k] = length
        bad = flow_mcmc.prefix_states(self.codes[k], length, self.states[k], self.resumes[k],
                                      self.inputs, self.expected, self.input_lengths,
                                      self.task.registers, self.fault_cost)
        metric = self.metric(k)
        self.costs[k] = self.config.alpha * metric + bad
        key = mcmc._best_key(metric, length, self.capacity)
        if bad == 0 and length and key < self.best_keys[k]:
            self.best_keys[k] = key
            self.best_lengths[k] = length
            self.best_codes[k, :length] = program.code

    def metric(self, k: int) -> float:
        """The size term of chain k's current program (length or latency_mean)."""
        length = int(self.lengths[k])
        if self.cost_kind == flow_mcmc.COST_LATENCY:
            return float(flow_mcmc.latency_mean(self.codes[k], length, self.inputs,
                                                self.input_lengths, self.task.registers))
        return float(length)

    def run(self, steps: int) -> None:
        """Advance every chain by ``steps`` proposals (in parallel threads: nogil kernels)."""
        if self.pool is None:
            for k in range(self.config.chains):
                self._run_one(k, steps)
        else:
            list(self.pool.map(lambda k: self._run_one(k, steps), range(self.config.chains)))

    def _run_one(self, k: int, steps: int) -> None:
        length, cost, best_length, best_key = flow_mcmc.run_flow_chain(
            steps, self.codes[k], int(self.lengths[k]), float(self.costs[k]), self.rngs[k],
            self.states[k], self.resumes[k], self.props[k], self.works[k], self.res[k],
            self.best_codes[k], int(self.best_lengths[k]), float(self.best_keys[k]),
            self.counters[k], self.expected, self.input_lengths, self.task.registers,
            self.config.alpha, self.config.beta * self.config.beta_ratio ** k, self.move_cdf,
            mcmc.BLOCK_COLUMNS, self.fault_cost, self.scratch_w[k], self.scratch_f[k],
            self.scratch_r[k], self.shapes[k], self.cost_kind, self.inputs)
        self.lengths[k] = length
        self.costs[k] = cost
        self.best_lengths[k] = best_length
        self.best_keys[k] = best_key

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()

    def program(self, k: int) -> Program:
        """Chain k's current program."""
        return Program(self.codes[k, :self.lengths[k]].copy())

    def best(self) -> tuple[int, Program | None]:
        """(chain, program): the best correct program any chain has seen (lowest chain on ties)."""
        k = int(np.argmin(self.best_keys))
        if not np.isfinite(self.best_keys[k]):
            return k, None
        return k, Program(self.best_codes[k, :self.best_lengths[k]].copy())


def notes(config) -> dict:
    """The notes a v2 run's result adds to the fixed search's."""
    return {"isa": "v2", "moves": list(flow_mcmc.MOVE_NAMES),
            "start": ("cold" if config.cold_start and config.start is None else
                      "program" if config.start is not None else "human routine")}
