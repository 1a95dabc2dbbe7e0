"""What the stochastic search's chains share, for both ISAs: the test inputs in the order
the chains read them, each chain's program, cost, RNG and best, the counters, and the
threads that advance them (``stochastic._Chains`` for the fixed sorts,
``stochastic_flow.FlowChains`` for the varsort tasks add their caches and kernel call)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from discover.kernels import Program, Task
from discover.kernels import mcmc

__all__ = ["ChainView", "ChainsBase"]


class ChainView:
    """Reading the chains' arrays (``codes``, ``lengths``, ``best_codes``, ``best_lengths``,
    ``best_keys``): local chains hold them, ``RayChains`` mirrors its actors' copies."""

    def program(self, k: int) -> Program:
        """Chain k's current program."""
        return Program(self.codes[k, :self.lengths[k]].copy())

    def best(self) -> tuple[int, Program | None]:
        """(chain, program): the best correct program any chain has seen (lowest chain on ties)."""
        k = int(np.argmin(self.best_keys))
        if not np.isfinite(self.best_keys[k]):
            return k, None
        return k, Program(self.best_codes[k, :self.best_lengths[k]].copy())


class ChainsBase(ChainView):
    """C chains of at most ``capacity`` instructions over ``task``'s inputs.

    A subclass allocates its caches, then calls ``start(program)``; it defines ``reset``
    (put chain k on a program) and ``_run_one`` (advance chain k by some proposals in
    compiled code, updating ``lengths``, ``costs``, ``best_lengths`` and ``best_keys``).
    """

    def __init__(self, task: Task, config, capacity: int, move_weights):
        self.task = task
        self.config = config
        self.capacity = capacity
        c, p, s = config.chains, capacity, task.slots
        # Inputs with the most distinct values first: they tell programs apart best, so a
        # wrong proposal is usually caught in the first block of columns (about 10% more
        # proposals/s on sort5 than the lexicographic order).
        self.order = np.argsort(-task.inputs.max(axis=0), kind="stable")
        self.inputs = np.ascontiguousarray(task.inputs[:, self.order])  # int8[N, B]
        self.expected = np.ascontiguousarray(task.expected[:, self.order])  # int8[N, B]
        self.codes = np.zeros((c, p, 3), dtype=np.int32)  # int32[C, P, 3]: (op, dst, src)
        self.lengths = np.zeros(c, dtype=np.int64)  # int64[C]
        self.costs = np.zeros(c, dtype=np.float64)  # float64[C]
        self.rngs = np.array([[mcmc.seed_state(config.seed, k)] for k in range(c)],
                             dtype=np.uint64)  # uint64[C, 1]
        self.props = np.zeros((c, p, 3), dtype=np.int32)  # int32[C, P, 3] scratch
        self.works = np.zeros((c, s, mcmc.BLOCK_COLUMNS), dtype=np.int8)  # int8[C, S, block]
        self.best_codes = np.zeros((c, p, 3), dtype=np.int32)  # int32[C, P, 3]
        self.best_lengths = np.zeros(c, dtype=np.int64)  # int64[C]
        self.best_keys = np.full(c, mcmc.NO_BEST, dtype=np.float64)  # float64[C]
        self.counters = np.zeros((c, mcmc.N_COUNTERS), dtype=np.int64)
        self.move_cdf = np.cumsum(np.asarray(move_weights, dtype=np.float64))
        workers = min(c, os.cpu_count() or 1)
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="chain") if workers > 1 \
            else None

    def start(self, program: Program) -> None:
        """Put every chain on ``program``."""
        for k in range(self.config.chains):
            self.reset(k, program)

    def keep_best(self, k: int, program: Program, key: float) -> None:
        """Make ``program`` (correct, of best key ``key``) chain k's best if it is better."""
        if len(program) and key < self.best_keys[k]:
            self.best_keys[k] = key
            self.best_lengths[k] = len(program)
            self.best_codes[k, :len(program)] = program.code

    def run(self, steps: int) -> None:
        """Advance every chain by ``steps`` proposals (in parallel threads: nogil kernels)."""
        if self.pool is None:
            for k in range(self.config.chains):
                self._run_one(k, steps)
        else:
            list(self.pool.map(lambda k: self._run_one(k, steps), range(self.config.chains)))

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()

    def reset(self, k: int, program: Program) -> None:
        raise NotImplementedError

    def _run_one(self, k: int, steps: int) -> None:
        raise NotImplementedError
