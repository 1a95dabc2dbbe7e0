"""Random search: masked random programs, the floor any method must beat.

Each program has a length drawn uniformly from ``min_length .. max_length`` and
instructions drawn under the ISA's masks (no register read before it is written, no cmov
before a cmp), so every program is well-formed. Program i is drawn from an RNG seeded
with (seed, i): the result depends on the seed and the number of programs only.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from discover.kernels import Program, Task, baseline_program, mcmc, verify
from discover.validation import MAX_PROGRAM_LENGTH, ConfigError, check_int, check_seed

from .base import Monitor, SearchResult, SearchStopped

CHUNKS = 8  # slices of each call, run on threads; fixed, so results do not depend on cores


@dataclass(frozen=True)
class RandomConfig:
    """Options of the random search (``discover search --method random``)."""

    seed: int = 0
    """Seed of the program stream: same seed, same programs, same result."""
    min_length: int | None = None
    """Shortest program drawn; None: 2N (one load and one store an item; a kernel task:
    N + K, N loads and K stores)."""
    max_length: int | None = None
    """Longest program drawn; None: the baseline network's length (4N^2 without spare, or
    for a kernel task without a baseline)."""
    programs: int | None = None
    """Programs to draw; None: until the time limit or Ctrl-C."""

    def __post_init__(self):
        check_seed(self, "seed")
        check_int(self, "min_length", 1, MAX_PROGRAM_LENGTH, optional=True)
        check_int(self, "max_length", 1, MAX_PROGRAM_LENGTH, optional=True)
        check_int(self, "programs", 0, optional=True)
        if self.min_length is not None and self.max_length is not None \
                and self.min_length > self.max_length:
            raise ConfigError(self, "min_length", f"({self.min_length}) cannot exceed max_length "
                              f"({self.max_length})", related=("max_length",))

    def lengths(self, task: Task) -> tuple[int, int]:
        """(min_length, max_length) for a task; ConfigError if they make no range."""
        if self.max_length is not None:
            hi = self.max_length
        else:
            hi = 4 * task.n * task.n
            if task.registers > task.n:
                try:
                    hi = len(baseline_program(task))
                except ValueError:  # a kernel task with no baseline construction
                    pass
        lo = self.min_length if self.min_length is not None else min(task.n + task.n_outputs, hi)
        if not 1 <= lo <= hi:
            raise ConfigError(self, "min_length", f"({lo}) cannot exceed max_length ({hi}, "
                              f"{'given' if self.max_length is not None else 'by default'} "
                              f"for {task.name})", related=("max_length",))
        return lo, hi


def search_random(task: Task, config: RandomConfig, monitor: Monitor) -> SearchResult:
    """Draw masked random programs until ``config.programs`` or a stop; the shortest correct."""
    lo, hi = config.lengths(task)
    seed_state = mcmc.seed_state(config.seed, 0)
    # Each call splits its indices into CHUNKS slices; slice c always updates best[c], so
    # results do not depend on how many threads ran them.
    best_codes = np.zeros((CHUNKS, hi, 3), dtype=np.int32)  # int32[CHUNKS, P, 3]
    best = np.zeros((CHUNKS, 2), dtype=np.int64)  # int64[CHUNKS, 2]: (length, index)
    best[:, 0] = hi + 1  # none yet
    stats = np.zeros((CHUNKS, 2), dtype=np.int64)  # (programs run, fewest misplaced)
    stats[:, 1] = task.n_outputs * task.n_inputs  # every output cell of every input wrong
    workers = min(CHUNKS, os.cpu_count() or 1)
    pool = ThreadPoolExecutor(workers, thread_name_prefix="random") if workers > 1 else None

    def one(c, lo_i, hi_i):
        mcmc.random_programs(seed_state, lo_i, hi_i, lo, hi, task.inputs, task.expected,
                             task.registers, best_codes[c], best[c], stats[c])

    def call(start, count):
        per = -(-count // CHUNKS)
        slices = [(c, start + c * per, min(start + count, start + (c + 1) * per))
                  for c in range(CHUNKS)]
        if pool is None:
            for args in slices:
                one(*args)
        else:
            list(pool.map(lambda args: one(*args), slices))

    warm = time.perf_counter()
    try:
        # Set-up: a stop interrupts it at once (Monitor.setup); it counts against the time
        # limit. Compiled (or loaded from cache) on this thread, where a stop interrupts.
        with monitor.setup():
            one(0, 0, 0)
            verify(Program(np.zeros((0, 3), dtype=np.int32)), task)  # the verifier's kernels
        compile_time = time.perf_counter() - warm
        monitor.start_search()
        monitor.set_phase("search")
        done = _run(task, config, monitor, call, best, best_codes)
    except SearchStopped:
        return monitor.result(task, "random", config.seed, 0, time.perf_counter() - warm,
                              {"stopped_in": "set-up"})
    finally:
        if pool is not None:
            pool.shutdown()

    notes = {
        "min_length": lo,
        "max_length": hi,
        "programs_run": int(stats[:, 0].sum()),
        "fewest_misplaced": int(stats[:, 1].min()),
        "programs_per_second": done / monitor.elapsed if monitor.elapsed > 0 else None,
    }
    return monitor.result(task, "random", config.seed, done, compile_time, notes)


def _run(task, config, monitor, call, best, best_codes) -> int:
    """The search loop; returns the number of programs drawn."""
    done = 0
    # programs per call, adapted to about 0.1 s a call; from 10,000 (and never below
    # 1,000) up to sort6; sort7 and sort8 from what 0.1 s runs (up to 5 ns an instruction
    # and input: sort7 5, sort8 1), since a stop waits for the call
    first = 10_000 if task.n_inputs <= 5000 else \
        max(1, int(0.1 / (best_codes.shape[1] * task.n_inputs * 5e-9)))
    floor = min(1000, first)
    chunk = first
    best_length = best_codes.shape[1] + 1
    with monitor.catch_sigint():
        while not monitor.should_stop() and (config.programs is None or done < config.programs):
            todo = chunk if config.programs is None else min(chunk, config.programs - done)
            began = time.perf_counter()
            call(done, todo)
            took = time.perf_counter() - began
            done += todo
            chunk = int(min(max(todo * 0.1 / max(took, 1e-6), floor), 2 * chunk + 1000))
            order = np.lexsort((best[:, 1], best[:, 0]))  # shortest, then first drawn
            k = int(order[0])
            if best[k, 0] < best_length:
                best_length = int(best[k, 0])
                monitor.found(Program(best_codes[k, :best_length].copy()), task)
            monitor.progress(done)
    return done
