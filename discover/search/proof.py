"""The whole-ISA proof iteration of ``--method enum``, split into prefixes: work units,
worker processes (``--workers``) and checkpoints (``--resume``).

One iteration asks whether a program of at most ``bound`` instructions exists. It is cut
at ``split_depth``: the prefixes of that many instructions that the search's own pruning
keeps (``split``) are its *units*, searched one by one, each with an empty transposition
table (``run_unit``), in one process or in several. The iteration is exhausted when every
unit is.

Soundness of the split. ``split`` expands nodes with the kernel's expansion (the same
children, the same bound), and drops a node whose state, up to symmetry, was met before
at the same or a smaller depth: exactly what the DFS's transposition table would do once
the first node's subtree had failed (see discover/search/enum.py on why such an entry
prunes soundly), and if it had not failed, the first node's own units find a program.
A unit starting with an empty table loses only prunes.

Determinism. A unit's node count depends only on its prefix, the bound and the incumbent
(the visit order); not on the process that ran it, nor on which units ran before (the
table is emptied; row ids, the memo and table sizes do not change which nodes are
expanded). So an exhausted iteration has the same node total on one core or two, in one
go or resumed from a checkpoint (a unit interrupted midway is run again from its start,
and only finished units count).

Checkpoint (``proof.json`` in the run directory, written atomically every few seconds, at
the end of each iteration and on any stop): task, registers, ISA version, keys, split
depth, the iteration's bound, its incumbent program, a digest of its units, the finished
units with their node counts, and the lower bound proved so far.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import queue
import signal
import time
from pathlib import Path

from discover.kernels import Program, Task
from discover.kernels import enum as kenum

CHECKPOINT = "proof.json"
ISA_VERSION = "v1"
CHECKPOINT_EVERY = 5.0  # seconds between checkpoints while units finish


def split(tables, bound: int, depth: int):
    """(units, solution, nodes): the prefixes of ``depth`` instructions the pruning keeps
    (fewer where a node has no child at that depth), in DFS visit order; a program of at
    most ``bound`` instructions met on the way (else None); nodes expanded."""
    if tables.reg_only:
        raise ValueError("the split is for the whole-ISA proof")
    if bound > tables.max_depth:
        tables.depth_arrays(bound)
    before = int(tables.ctr[kenum.C_EXPANDED])
    seen: dict = {}
    units: list[tuple] = []
    sorted_ids = [int(v) for v in tables.sorted_ids]
    r = tables.r
    canon = tables.canon[0].copy()
    tables.st[0] = tables.root
    tables.pend[0] = 0

    def walk(d: int, prefix: tuple):
        for ids, pending, ins in tables.children(d, bound):
            h1, h2 = tables.keys(ids, canon)
            key = (int(h1), int(h2)) + (tuple(int(v) for v in canon) if tables.exact else ())
            if seen.get(key, bound + 1) <= d + 1:
                continue
            seen[key] = d + 1
            here = prefix + (ins,)
            if [int(v) for v in ids[r: r + len(sorted_ids)]] == sorted_ids:  # m0..m{K-1}
                return here
            if d + 1 >= bound:
                continue
            if d + 1 == depth:
                units.append(here)
                continue
            tables.st[d + 1] = ids
            tables.pend[d + 1] = pending
            found = walk(d + 1, here)
            if found is not None:
                return found
        return None

    if depth == 0:
        units.append(())
        solution = None
    else:
        solution = walk(0, ())
    return units, solution, int(tables.ctr[kenum.C_EXPANDED]) - before


def digest(units) -> str:
    return hashlib.sha256(json.dumps(units).encode()).hexdigest()[:16]


def run_unit(tables, bound: int, prefix, should_stop, limit_bytes: float, budget: list):
    """Search the subtree below ``prefix`` within ``bound``: (status, nodes, program code
    or None); status 'exhausted', 'found', 'stopped' or 'memory limit'. ``budget``: a
    one-item list, the kernel's expansions per call (kept near 20 ms a call). The
    transposition table is kept from unit to unit (emptying it for each made the units of
    a sort4 iteration cost 5 times the nodes of one undivided search), unless the tables
    have grown past half of ``limit_bytes``: then they start again empty (``flush``), so a
    long proof goes on within its memory; only a single unit too large for it stops it."""
    if tables.nbytes() > limit_bytes / 2:
        tables.flush()
    before = int(tables.ctr[kenum.C_EXPANDED])
    tables.start_prefix(bound, prefix)
    while True:
        if should_stop():
            return "stopped", int(tables.ctr[kenum.C_EXPANDED]) - before, None
        t = time.perf_counter()
        status = tables.run(budget[0])
        took = time.perf_counter() - t
        if took > 0.04:
            budget[0] = max(budget[0] // 2, 16)
        elif took < 0.01 and status == kenum.ST_BUDGET:  # only a call that used it all
            budget[0] = min(budget[0] * 2, 1 << 24)  # (a small unit's end says nothing)
        nodes = int(tables.ctr[kenum.C_EXPANDED]) - before
        if status == kenum.ST_GROW:
            if not tables.grow(limit_bytes):
                return "memory limit", nodes, None
        elif status == kenum.ST_FOUND:
            return "found", nodes, tables.solution().code.tolist()
        elif status == kenum.ST_DONE:
            return "exhausted", nodes, None


SHARE_DEPTH = 9  # workers share the failures they prove this far below a unit's prefix
SHARE_EVERY = 1.0  # seconds between a worker's shares (each scans its table)


def shallow_entries(tables, depth: int):
    """The table's entries recorded at most ``depth`` deep and not sent before: (keys,
    chks, vals). Few, and each the root of a large failed subtree: worth sending to the
    other workers."""
    import numpy as np

    sel = (tables.tt_key != 0) & (tables.tt_val[:, 1] <= depth)
    keys = tables.tt_key[sel]
    sent = getattr(tables, "sent_keys", np.zeros(0, dtype=np.uint64))
    new = ~np.isin(keys, sent)
    tables.sent_keys = np.union1d(sent, keys[new])
    return keys[new], tables.tt_chk[sel][new], tables.tt_val[sel][new]


def merge_entries(tables, keys, chks, vals) -> None:
    """Record entries from another worker (hashed mode; see kernels/enum/keys.py:tt_merge)."""
    import numpy as np

    if tables.exact or len(keys) == 0:
        return
    c = tables.ctr
    while 2 * (c[kenum.C_TT] + len(keys)) >= tables.tt_key.shape[0]:
        tables.tt_key, tables.tt_chk, tables.tt_val, tables.tt_state = kenum.rehash_tt(
            tables.transpositions(), 2 * tables.tt_key.shape[0])
    kenum.tt_merge(tables.transpositions(), c, np.ascontiguousarray(keys),
                   np.ascontiguousarray(chks), np.ascontiguousarray(vals))


def _worker(make_tables, task: Task, exact: bool, limit_bytes: float, inbox,
            outbox, stop):
    """A worker process: its own tables (``make_tables``: ``discover.search.tables.EnumTables``); runs the
    units it is sent until it gets None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    tables = None
    budget = [256]
    last_share = time.monotonic()
    while True:
        item = inbox.get()
        if item is None:
            return
        if item[0] == "tt":
            if tables is not None:
                merge_entries(tables, *item[1:])
            continue
        if item[0] == "reset":
            tables = None
            continue
        gen, bound, index, prefix, incumbent, w = item
        if tables is None:  # kept from iteration to iteration, as the parent's are
            tables = make_tables(task, bound, exact=exact)
        tables.set_incumbent(Program.from_instructions([tuple(i) for i in incumbent]))
        if stop.is_set():
            outbox.put((gen, index, "stopped", 0, None, w, None))
            continue
        try:
            status, nodes, code = run_unit(tables, bound, [tuple(i) for i in prefix],
                                           stop.is_set, limit_bytes, budget)
        except MemoryError:
            status, nodes, code = "memory limit", 0, None
        shared = None
        if not exact and time.monotonic() - last_share >= SHARE_EVERY:
            shared = shallow_entries(tables, len(prefix) + SHARE_DEPTH)
            last_share = time.monotonic()
        outbox.put((gen, index, status, nodes, code, w, shared))


class Pool:
    """Worker processes (spawned: a fork would copy the parent's threads' locks), each
    with its own tables and its own inbox; none when one process runs the units itself."""

    def __init__(self, task: Task, exact: bool, workers: int, limit_bytes: float,
                 make_tables=None):
        self.workers = workers
        self.gen = 0
        self.procs = []
        if workers <= 1:
            return
        ctx = multiprocessing.get_context("spawn")
        self.outbox, self.stop = ctx.Queue(), ctx.Event()
        self.inboxes = [ctx.Queue() for _ in range(workers)]
        self.procs = [ctx.Process(target=_worker, daemon=True,
                                  args=(make_tables, task, exact,
                                        limit_bytes / workers,
                                        inbox, self.outbox, self.stop))
                      for inbox in self.inboxes]
        for p in self.procs:
            p.start()

    def reset(self) -> None:
        """Workers drop their tables (a benchmark's rounds start alike)."""
        for inbox in self.inboxes if self.procs else ():
            inbox.put(("reset",))

    def close(self) -> None:
        for inbox in self.inboxes if self.procs else ():
            inbox.put(None)
        for p in self.procs:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()
        self.procs = []


def iterate(tables, pool: Pool, bound: int, units, done: dict, incumbent, monitor,
            limit_bytes: float, on_unit, budget: list, tally: dict, estimates=None):
    """Run the units of one iteration not in ``done`` (index -> nodes, filled in as they
    finish; ``on_unit()`` is called after each). Returns (outcome, program code or None):
    outcome 'exhausted', 'found' or a stop reason. ``tally['worker_nodes']`` adds up the
    nodes the worker processes expanded (finished or not).

    With W workers, each takes the next unit of one list as it finishes one: the units by
    decreasing ``estimates`` (prefix -> nodes, the previous iteration's counts; a sort4
    iteration's largest units are its first ten, about two thirds of its nodes), the
    rest in DFS order; so the largest start first and no worker waits for long at the end.
    """
    todo = [i for i in range(len(units)) if i not in done]
    if pool.workers <= 1:
        for i in todo:
            status, nodes, code = run_unit(tables, bound, units[i], monitor.should_stop,
                                           limit_bytes, budget)
            if status == "exhausted":
                done[i] = nodes
                on_unit()
            elif status == "found":
                return "found", code
            elif status == "memory limit":
                return "memory limit", None
            else:
                return monitor.stop_reason or "interrupted", None
        return "exhausted", None
    pool.gen += 1
    gen = pool.gen
    pool.stop.clear()
    inc = [list(map(int, row)) for row in incumbent]
    w_count = pool.workers
    estimates = estimates or {}
    todo.sort(key=lambda i: -estimates.get(tuple(units[i]), 0))  # stable: DFS order kept
    queue_ = list(reversed(todo))  # popped from the end
    in_flight = [0] * w_count
    outcome, found = "exhausted", None

    def feed(w):
        while outcome == "exhausted" and in_flight[w] < 1 and queue_:
            i = queue_.pop()
            pool.inboxes[w].put((gen, bound, i, [list(p) for p in units[i]], inc, w))
            in_flight[w] += 1

    for w in range(w_count):
        feed(w)
    while sum(in_flight):
        try:
            g, index, status, nodes, code, w, shared = pool.outbox.get(timeout=0.1)
        except queue.Empty:
            if outcome == "exhausted" and monitor.should_stop():
                outcome = monitor.stop_reason or "interrupted"
                pool.stop.set()
            if any(not p.is_alive() for p in pool.procs):
                raise RuntimeError("enum: a worker process died")
            continue
        tally["worker_nodes"] += nodes
        if shared is not None and len(shared[0]):
            tally["shared"] = tally.get("shared", 0) + len(shared[0])
            for v in range(w_count):
                if v != w:
                    pool.inboxes[v].put(("tt",) + tuple(shared))
        if g != gen:
            continue
        in_flight[w] -= 1
        if status == "exhausted":
            done[index] = nodes
            on_unit()
        elif status == "found" and outcome == "exhausted":
            outcome, found = "found", code
            pool.stop.set()
        elif status == "memory limit" and outcome == "exhausted":
            outcome = "memory limit"
            pool.stop.set()
        if outcome == "exhausted" and monitor.should_stop():
            outcome = monitor.stop_reason or "interrupted"
            pool.stop.set()
        feed(w)
    pool.stop.clear()
    return outcome, found


def load_checkpoint(run_dir, task: Task, exact: bool, split_depth: int) -> dict | None:
    """The proof checkpoint of ``run_dir`` if it is one of this task, register count, ISA,
    key mode and split depth; else None."""
    if run_dir is None:
        return None
    path = Path(run_dir) / CHECKPOINT
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    want = {"task": task.name, "registers": task.registers, "isa": ISA_VERSION,
            "keys": "exact" if exact else "hashed", "split_depth": split_depth}
    if not isinstance(data, dict) or any(data.get(k) != v for k, v in want.items()):
        return None
    return data
