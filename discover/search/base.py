"""What every search method shares: its result, and the monitors that time and stop it.

A method is a function ``search_X(task, config, monitor) -> SearchResult``. It calls
``monitor.found(program)`` for every new best correct program (the monitor verifies it,
records the times and saves it at once through ``on_best``), ``monitor.progress(...)``
now and then, and returns when ``monitor.should_stop()`` says so or it is done.
"""

from __future__ import annotations

import signal
import threading
import time
from dataclasses import dataclass, field

from discover._version import __version__
import numpy as np

from discover.kernels import (Program, Task, flow_cost, latency_estimate, modelled_latency,
                              verify)

OBJECTIVES = ("length", "latency", "fitted", "length_latency")  # CostMonitor's orders


class SearchStopped(Exception):
    """Raised inside a method by ``monitor.check()`` to unwind on a stop request."""


class _Interrupt(BaseException):
    """What a stop raises inside ``Monitor.setup()``, turned into ``SearchStopped`` as the
    block ends: not an Exception, so that no ``except Exception`` on the way (Numba's
    compiler has some) swallows it."""


@dataclass
class SearchResult:
    """What a search returns; ``result.json`` is ``to_json()``."""

    task: Task
    method: str
    seed: int
    program: Program | None = None
    """Best correct program found, verified; None if none was found."""
    optimal: bool = False
    """True only when the method proved that no shorter program exists."""
    programs: list[Program] = field(default_factory=list)
    """Every optimal program (enum --all), else empty."""
    candidates: list[Program] = field(default_factory=list)
    """The correct programs a measured cost ranks after the search (``cost='measured'``:
    enum's optimal programs, the stochastic chains' pool); see discover/candidates.py."""
    ranked: list = field(default_factory=list)
    """Those candidates as ``discover.candidates.Candidate``, fastest first (filled by
    ``discover.search.search`` for a measured cost)."""
    time_to_first: float | None = None
    time_to_best: float | None = None
    explored: int = 0
    """Nodes (enum) or proposals (stochastic, random) explored."""
    search_time: float = 0.0
    compile_time: float = 0.0
    """JIT compilation (or cache loading) before the search clock started."""
    stopped: str = "completed"
    """completed | time limit | interrupted | memory limit; "running" in the manifest that
    a run rewrites with each new best (what a resume after a kill reads)."""
    notes: dict = field(default_factory=dict)
    """Method-specific figures (e.g. lower bound reached, acceptance rate)."""

    def to_json(self) -> dict:
        verification = verify(self.program, self.task) if self.program is not None else None
        return {
            "task": self.task.name,
            "registers": self.task.registers,
            "method": self.method,
            "seed": self.seed,
            "correct": bool(verification and verification.correct),
            "program": self.program.text() if self.program is not None else None,
            "length": verification.length if verification else None,
            "register_only_length": verification.register_only_length if verification else None,
            "latency_estimate": verification.latency if verification else None,
            "optimal": self.optimal,
            "n_optimal_programs": len(self.programs) or None,
            "time_to_first": self.time_to_first,
            "time_to_best": self.time_to_best,
            "explored": self.explored,
            "search_time": self.search_time,
            "compile_time": self.compile_time,
            "stopped": self.stopped,
            "notes": self.notes,
            "version": __version__,
        }


class Monitor:
    """Clock, stop requests (time limit, Ctrl-C, memory), progress and best-so-far.

    ``on_best(program)`` is called with every new best verified program, so a run
    directory holds the best program the moment it is found.

    The time limit counts from the monitor's creation, the start of the search: set-up
    (JIT compilation or cache loading, tables, the first program's verification) counts
    against it. ``start_search()`` then starts the search clock (``elapsed``,
    ``time_to_first``, ``time_to_best``, ``search_time``) without moving the deadline.
    Inside ``setup()`` a stop (Ctrl-C, the deadline) interrupts the work at once, where
    no method could poll ``should_stop``: JIT compilation, building tables.
    """

    def __init__(self, time_limit: float | None = None, on_best=None, on_progress=None):
        self.time_limit = time_limit
        self.on_best = on_best
        self.on_progress = on_progress
        self.start = time.perf_counter()
        self.origin = self.start  # the time limit counts from here
        self.stop_reason: str | None = None
        self.best: Program | None = None
        self.time_to_first: float | None = None
        self.time_to_best: float | None = None
        self.explored = 0  # as last reported to progress()
        self.phase: str | None = None
        self._interruptible = False  # inside setup(): a stop raises SearchStopped at once
        self._shield = 0  # inside found() or progress(): a stop waits for the end

    def restart_clock(self) -> None:
        """Start the clock again, time limit included (the agent's training, after its
        set-up)."""
        self.start_search()
        self.origin = self.start

    def start_search(self) -> None:
        """Start the search clock after set-up; the deadline stays where it was. A program
        found during set-up counts as found at 0 s."""
        now = time.perf_counter()
        shift = now - self.start
        self.start = now
        if self.time_to_first is not None:
            self.time_to_first = max(0.0, self.time_to_first - shift)
        if self.time_to_best is not None:
            self.time_to_best = max(0.0, self.time_to_best - shift)

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    @property
    def remaining(self) -> float | None:
        """Seconds left before the time limit (None: no limit)."""
        if self.time_limit is None:
            return None
        return self.time_limit - (time.perf_counter() - self.origin)

    def request_stop(self, reason: str) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason

    def should_stop(self) -> bool:
        if self.stop_reason is None and self.time_limit is not None and self.remaining <= 0:
            self.stop_reason = "time limit"
        return self.stop_reason is not None

    def check(self) -> None:
        if self.should_stop():
            raise SearchStopped(self.stop_reason)

    def set_phase(self, phase: str) -> None:
        """Name what the search does now ("setting up", "register", "proof", ...); the
        progress callback hears it at once."""
        self.phase = phase
        self.progress(self.explored, phase=phase)

    def setup(self, phase: str = "setting up"):
        """Context manager around set-up work that cannot poll ``should_stop``: Ctrl-C
        and the deadline raise ``SearchStopped`` inside it at once (between two Python
        instructions, or when a compiled call returns), except while a found program is
        being saved or progress reported. Only in the main thread (signals); elsewhere it
        names the phase and checks the clock on the way in and out."""
        return _Setup(self, phase)

    def watched(self, call, poll: float = 0.01):
        """``call()`` run on a daemon thread while this thread watches for a stop: its
        value, or ``SearchStopped`` within ``poll`` seconds of a stop request (Ctrl-C, the
        time limit), the call then finishing alone (its data must not be used again).
        For work that neither polls nor can be interrupted (a long compiled call that
        releases the GIL, a large allocation)."""
        box = {}
        done = threading.Event()

        def target():
            try:
                box["value"] = call()
            except BaseException as error:  # re-raised on the caller's thread
                box["error"] = error
            finally:
                done.set()

        threading.Thread(target=target, name="watched", daemon=True).start()
        while not done.wait(poll):
            self.check()
        if "error" in box:
            raise box["error"]
        return box["value"]

    def _interrupt(self, signum, frame) -> None:
        self.request_stop("interrupted" if signum == signal.SIGINT else "time limit")
        if self._interruptible and not self._shield:
            if _in_native_callback(frame):
                # Python code called back from compiled code (llvmlite's object cache,
                # mid JIT compilation): an exception raised here is printed and dropped
                # by ctypes, and the compilation is left broken ("no compiled object
                # yet"). Raise in a moment instead, once the callback has returned.
                signal.setitimer(signal.ITIMER_REAL, CALLBACK_RETRY_S)
                return
            raise _Interrupt(self.stop_reason)

    def _shielded(self):
        monitor = self

        class _Shield:
            def __enter__(self):
                monitor._shield += 1

            def __exit__(self, *exc):
                monitor._shield -= 1
                return False

        return _Shield()

    def found(self, program: Program, task: Task) -> bool:
        """Offer a program; kept (and saved) if correct and shorter than the best so far."""
        if self.best is not None and len(program) >= len(self.best):
            return False
        with self._shielded():
            if not verify(program, task).correct:
                raise AssertionError("a search method offered an incorrect program")
            now = self.elapsed
            if self.best is None:
                self.time_to_first = now
            self.best = program
            self.time_to_best = now
            if self.on_best is not None:
                self.on_best(program)
        if self._interruptible and self.stop_reason is not None:
            raise SearchStopped(self.stop_reason)  # a stop that came while it was saved
        return True

    def result(self, task: Task, method: str, seed: int, explored: int,
               compile_time: float, notes: dict) -> SearchResult:
        """The SearchResult of a finished run: the monitor's best program, times and stop."""
        return SearchResult(
            task=task, method=method, seed=seed, program=self.best,
            time_to_first=self.time_to_first, time_to_best=self.time_to_best,
            explored=explored, search_time=self.elapsed, compile_time=compile_time,
            stopped=self.stop_reason or "completed", notes=notes)

    def progress(self, explored: int, **stats) -> None:
        self.explored = explored
        if self.on_progress is not None:
            best = len(self.best) if self.best is not None else None
            with self._shielded():
                self.on_progress(explored=explored, best=best, elapsed=self.elapsed, **stats)

    def catch_sigint(self):
        """Context manager: Ctrl-C requests a stop instead of raising mid-kernel."""
        monitor = self

        class _Catch:
            def __enter__(self):
                self.previous = signal.getsignal(signal.SIGINT)
                try:
                    signal.signal(signal.SIGINT, lambda *_: monitor.request_stop("interrupted"))
                except ValueError:  # not the main thread
                    self.previous = None
                return monitor

            def __exit__(self, *exc):
                if self.previous is not None:
                    signal.signal(signal.SIGINT, self.previous)
                return False

        return _Catch()


CALLBACK_RETRY_S = 0.005
"""How soon a stop that came inside a callback from compiled code is raised again."""


def _in_native_callback(frame) -> bool:
    """Is this Python frame (or one it was called from) a callback of llvmlite's?"""
    while frame is not None:
        if "llvmlite" in frame.f_code.co_filename.replace("\\", "/").split("/"):
            return True
        frame = frame.f_back
    return False


class _Setup:
    """``Monitor.setup()``: SIGINT and a timer at the deadline interrupt the block."""

    def __init__(self, monitor: Monitor, phase: str):
        self.monitor, self.phase = monitor, phase
        self.previous = None

    def __enter__(self):
        monitor = self.monitor
        monitor.set_phase(self.phase)  # a stop already requested: at the first check
        if threading.current_thread() is not threading.main_thread() \
                or not hasattr(signal, "setitimer"):
            return monitor
        self.previous = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGALRM),
                         monitor._interruptible)
        try:
            signal.signal(signal.SIGINT, monitor._interrupt)
            signal.signal(signal.SIGALRM, monitor._interrupt)
            remaining = monitor.remaining
            if remaining is not None:
                signal.setitimer(signal.ITIMER_REAL, max(remaining, 1e-4))
            monitor._interruptible = True  # last: until here a stop is only requested
            return monitor
        except _Interrupt as stop:  # came just as the block began: put the handlers back
            self.__exit__(None, None, None)
            raise SearchStopped(str(stop)) from None

    def __exit__(self, *exc):
        if self.previous is not None:
            self.monitor._interruptible = False  # first: no stop may raise from here on
        monitor = self.monitor
        if self.previous is not None:
            interrupt, alarm, outer = self.previous
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, alarm)
            signal.signal(signal.SIGINT, interrupt)
            monitor._interruptible = outer
            if outer and monitor.remaining is not None:  # an enclosing setup() goes on
                signal.setitimer(signal.ITIMER_REAL, max(monitor.remaining, 1e-4))
        if exc[0] is None or exc[0] is _Interrupt:
            monitor.check()  # the stop (or one that came in a shielded moment)
        return False


_FITTED: dict[tuple[str, int], np.ndarray] = {}


def fitted_model_for(task: Task) -> np.ndarray:
    """The reference machine's fitted latency model (discover/known/model.json), packed
    for ``task`` (kernels/cost.py's pack_model)."""
    key = (task.name, task.registers)
    if key not in _FITTED:
        from discover.known import fitted_model
        from discover.native.model import packed_model

        _FITTED[key] = packed_model(fitted_model(), task)
    return _FITTED[key]


def fitted_cycles(program: Program, task: Task) -> float:
    """The fitted model's cycles for ``program`` (``fitted_model_for``); a varsort
    program: ``FlowCost.expected_cycles`` (no model is fitted to branches)."""
    if task.variable:
        return flow_cost(program, task).expected_cycles
    return float(modelled_latency(program.code, task.n, task.registers,
                                  fitted_model_for(task)))


class CostMonitor(Monitor):
    """A Monitor that can rank programs by their latency estimate too.

    ``Monitor.found`` keeps only shorter programs. ``objective='latency'``: a lower latency
    estimate wins, then the shorter; ``'fitted'``: the same with the fitted model
    (``fitted_cycles``); ``'length_latency'``: the shorter wins, then the lower latency
    (enum's latency tie-break); ``'length'``: Monitor's own order.
    """

    def __init__(self, *args, objective: str = "length", **kwargs):
        super().__init__(*args, **kwargs)
        if objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, "
                             f"got {objective!r}")
        self.objective = objective

    def key(self, program: Program, task: Task) -> tuple:
        """Sort key of a program under the objective (lower is better)."""
        if self.objective == "fitted":
            return (fitted_cycles(program, task), len(program))
        if self.objective == "length":
            return (len(program),)
        if task.variable:  # on random lengths, mispredicted branches included
            latency = flow_cost(program, task).expected_cycles
        else:
            latency = int(latency_estimate(program.code, task.n, task.registers))
        if self.objective == "latency":
            return (latency, len(program))
        if self.objective == "length_latency":
            return (len(program), latency)
        return (len(program),)

    def found(self, program: Program, task: Task) -> bool:
        if self.objective == "length":
            return super().found(program, task)
        if self.best is not None and self.key(program, task) >= self.key(self.best, task):
            return False
        previous, self.best = self.best, None  # let the base class accept a longer program
        try:
            accepted = super().found(program, task)
        finally:
            if self.best is None:
                self.best = previous
        return accepted
