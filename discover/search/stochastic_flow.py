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

from dataclasses import replace

import numpy as np

from discover.kernels import Program, Task
from discover.kernels import flow_mcmc, mcmc
from discover.kernels.networks import varsort_program

from .chains import ChainsBase


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


class FlowChains(ChainsBase):
    """C chains over v2 programs: kernels/flow_mcmc.run_flow_chain's caches (machine
    states and each input's resume index before every instruction) beside
    ``ChainsBase``'s; the fixed search's driver runs them as its own."""

    def __init__(self, task: Task, config, start: Program, capacity: int):
        check_cache_memory(task, config, capacity)
        super().__init__(task, config, capacity, tuple(config.move_weights) + BRANCH_WEIGHTS)
        c, p, s, b = config.chains, capacity, task.slots, task.n_inputs
        self.input_lengths = np.ascontiguousarray(task.lengths[self.order])  # int8[B]
        self.fault_cost = float(task.n + FAULT_PENALTY)
        self.cost_kind = (flow_mcmc.COST_LATENCY if config.cost == "latency"
                          else flow_mcmc.COST_LENGTH)
        self.states = np.zeros((c, p + 1, s, b), dtype=np.int8)  # int8[C, P + 1, S, B]
        self.resumes = np.zeros((c, p + 1, b), dtype=np.int32)  # int32[C, P + 1, B]
        self.res = np.zeros((c, mcmc.BLOCK_COLUMNS), dtype=np.int32)
        self.scratch_w = np.zeros((c, p + 1), dtype=np.int64)
        self.scratch_f = np.zeros((c, p + 1), dtype=np.bool_)
        self.scratch_r = np.zeros((c, p + 1), dtype=np.bool_)
        self.shapes = np.zeros((c, 3), dtype=np.int64)
        self.start(start)

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
        if bad == 0:
            self.keep_best(k, program, mcmc._best_key(metric, length, self.capacity))

    def metric(self, k: int) -> float:
        """The size term of chain k's current program (length or latency_mean)."""
        length = int(self.lengths[k])
        if self.cost_kind == flow_mcmc.COST_LATENCY:
            return float(flow_mcmc.latency_mean(self.codes[k], length, self.inputs,
                                                self.input_lengths, self.task.registers))
        return float(length)

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


def notes(config) -> dict:
    """The notes a v2 run's result adds to the fixed search's."""
    return {"isa": "v2", "moves": list(flow_mcmc.MOVE_NAMES),
            "start": ("cold" if config.cold_start and config.start is None else
                      "program" if config.start is not None else "human routine")}
