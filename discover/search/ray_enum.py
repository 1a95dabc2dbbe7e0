"""The enumerative proof's work split on Ray (``discover search --method enum --backend
ray --workers W``): ``RayPool`` stands in for ``proof.Pool`` in ``proof.iterate``.

Each of the W workers is a Ray actor (``EnumWorker``) with its own tables, on whichever
node has a CPU for it; the units of an iteration (prefixes, see ``proof.py``) are handed
out one at a time as they finish, exactly as to the local worker processes, and so are the
shallow failures a worker shares with the others (``("tt", ...)`` entries, merged before
its next unit). A stop (a found program, the time limit, Ctrl-C) reaches the running units
through ``set_stop``, which a worker runs beside its unit (a threaded actor); it names
the iteration it stops, so a late stop never cuts a later iteration's unit.

Soundness and determinism are ``proof.py``'s: a unit's node count depends only on its
prefix, bound and incumbent, not on the process that ran it, so a worker that is lost
(a killed process, a lost node) is replaced by one with empty tables and its unit is run
again from the start: an exhausted iteration still counts every unit, once.
"""

from __future__ import annotations

import queue
import sys
import threading
import time

from discover.cluster import kill_quietly
from discover.kernels import Program, Task

__all__ = ["EnumWorker", "RayPool"]

MAX_LOSSES = 20  # workers lost over one search before it gives up


class EnumWorker:
    """One worker of the proof (a Ray actor once ``ray.remote`` wraps it)."""

    def __init__(self, make_tables, task: Task, exact: bool, limit_bytes: float):
        self.make_tables, self.task = make_tables, task
        self.exact, self.limit_bytes = exact, limit_bytes
        self.tables = None
        self.budget = [256]
        self.last_share = time.monotonic()
        self.stopped_gen = 0  # units of this iteration (generation) and earlier stop
        self.shared: list = []  # entries other workers proved, merged before the next unit
        self.lock = threading.Lock()  # the tables: one unit (or reset) at a time
        self.inbox_lock = threading.Lock()  # ``shared`` only: a share never waits on a unit

    def set_stop(self, gen: int) -> None:
        self.stopped_gen = max(self.stopped_gen, gen)

    def share(self, entries) -> None:
        with self.inbox_lock:
            self.shared.append(entries)

    def reset(self) -> None:
        with self.lock, self.inbox_lock:
            self.tables = None
            self.shared.clear()

    def run(self, item) -> tuple:
        """One unit, as ``proof._worker`` runs it: the outbox tuple."""
        from .proof import SHARE_DEPTH, SHARE_EVERY, merge_entries, run_unit, shallow_entries

        gen, bound, index, prefix, incumbent, w = item
        with self.lock:
            with self.inbox_lock:
                shared, self.shared = self.shared, []
            if self.tables is None:
                self.tables = self.make_tables(self.task, bound, exact=self.exact)
            else:
                for entries in shared:
                    merge_entries(self.tables, *entries)
            tables = self.tables
            tables.set_incumbent(Program.from_instructions([tuple(i) for i in incumbent]))
            if self.stopped_gen >= gen:
                return (gen, index, "stopped", 0, None, w, None)
            try:
                status, nodes, code = run_unit(tables, bound, [tuple(i) for i in prefix],
                                               lambda: self.stopped_gen >= gen,
                                               self.limit_bytes, self.budget)
            except MemoryError:
                status, nodes, code = "memory limit", 0, None
            shared = None
            if not self.exact and time.monotonic() - self.last_share >= SHARE_EVERY:
                shared = shallow_entries(tables, len(prefix) + SHARE_DEPTH)
                self.last_share = time.monotonic()
            return (gen, index, status, nodes, code, w, shared)


class _Alive:
    def is_alive(self) -> bool:  # a lost actor is replaced, never reported dead
        return True


class _Stop:
    """``pool.stop``: set() stops the current iteration's units on every worker."""

    def __init__(self, pool: "RayPool"):
        self.pool = pool
        self.flag = False

    def set(self) -> None:
        self.flag = True
        for actor in self.pool.actors:
            actor.set_stop.remote(self.pool.gen)

    def clear(self) -> None:  # the next iteration has a new generation: nothing to undo
        self.flag = False

    def is_set(self) -> bool:
        return self.flag


class _Inbox:
    def __init__(self, pool: "RayPool", w: int):
        self.pool, self.w = pool, w

    def put(self, item) -> None:
        self.pool.send(self.w, item)


class _Outbox:
    def __init__(self, pool: "RayPool"):
        self.pool = pool

    def get(self, timeout: float):
        return self.pool.receive(timeout)


class RayPool:
    """W proof workers on the Ray cluster, behind ``proof.Pool``'s interface."""

    def __init__(self, ray, task: Task, exact: bool, workers: int, limit_bytes: float,
                 make_tables):
        from discover.cluster import cpu_share, ray_errors

        self.ray, self.workers, self.gen = ray, workers, 0
        self.lost_errors = ray_errors(ray)
        self.remote = ray.remote(EnumWorker).options(
            num_cpus=cpu_share(ray, workers), max_concurrency=4, max_restarts=0,
            max_task_retries=0)
        self._args = (make_tables, task, exact, limit_bytes / workers)
        self.actors = [self.remote.remote(*self._args) for _ in range(workers)]
        self.pending: dict = {}  # object ref of a unit -> (worker, item)
        self.lost = 0
        self.stop = _Stop(self)
        self.inboxes = [_Inbox(self, w) for w in range(workers)]
        self.outbox = _Outbox(self)
        self.procs = [_Alive() for _ in range(workers)]

    def send(self, w: int, item) -> None:
        if item is None:
            return
        if item[0] == "tt":
            self.actors[w].share.remote(tuple(item[1:]))
        elif item[0] == "reset":
            self.actors[w].reset.remote()
        else:
            self.pending[self.actors[w].run.remote(item)] = (w, item)

    def receive(self, timeout: float):
        if not self.pending:
            time.sleep(timeout)
            raise queue.Empty
        ready, _ = self.ray.wait(list(self.pending), num_returns=1, timeout=timeout)
        if not ready:
            raise queue.Empty
        w, item = self.pending.pop(ready[0])
        try:
            return self.ray.get(ready[0])
        except self.lost_errors as error:
            self.lost += 1
            if self.lost > MAX_LOSSES:
                raise RuntimeError(f"enum: {self.lost} Ray workers lost: giving up") from None
            print(f"discover search: proof worker {w} lost ({type(error).__name__}); a new "
                  "one runs its unit again", file=sys.stderr)
            kill_quietly(self.ray, [self.actors[w]])
            self.actors[w] = self.remote.remote(*self._args)
            if self.stop.flag:
                self.actors[w].set_stop.remote(self.gen)
            self.send(w, item)
            raise queue.Empty from None

    def reset(self) -> None:
        for w in range(self.workers):
            self.send(w, ("reset",))

    def close(self) -> None:
        kill_quietly(self.ray, self.actors)
        self.pending.clear()
