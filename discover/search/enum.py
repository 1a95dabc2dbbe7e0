"""Enumerative search (``--method enum``): provably shortest programs.

"optimal: proved" means no shorter program exists in this ISA with this register count,
counting every instruction: the proof searches the whole ISA (loads and stores anywhere,
memory cells usable as spare storage; sort2's shortest program reloads an input).

Design (hot loops in ``kernels/enum/``):

* A node is the machine state over all test inputs, as interned row ids.
* Bounded depth-first iterations (IDA*-style) with an admissible lower bound on the
  instructions still needed and a transposition table of proved failures keyed by the
  state up to symmetry (register renaming; item permutations).
* Phase 1, the register phase (when R >= N + 1): loads first, stores last, only register
  instructions searched (the form enumerative-synthesis papers use). The iterations
  *descend* from the network baseline: the bound starts at its length and drops below
  each program found, children are visited incumbent's instruction first, so each
  iteration is a local search around the best so far. The iteration that finds nothing
  proves ``canonical_form_lower_bound`` (no shorter program of that form), not optimality.
* Phase 2, the proof: the whole ISA, *ascending* from the lower bound proved so far (the
  root's bound at first): each iteration that finds nothing proves one more length
  impossible, and the first program found is a proved optimum. The iterations grow about
  25-fold a length on sort4, so the ones below the last cost little, and a proof stopped
  early still reports the best lower bound it reached. ``--no-register-phase`` skips
  phase 1 (on sort4 its own refutation is about as hard as the proof) and starts from the
  network program. Each iteration is cut into prefix units, searched by ``--workers``
  processes and checkpointed (``proof.json``) for ``--resume``: see
  ``discover/search/proof.py``, which also proves the cut sound.
* ``--all`` / latency tie-break: once proved, one more iteration at the optimal length
  collects every program that passes the pruning below.

Why the pruning keeps at least one shortest program (P* below is any shortest program):

* Dead writes: a mov, load or store into a slot whose previous write was never read, or a
  cmp whose flags were never used, makes that earlier write removable; a shortest program
  has none. Enforced on the current path only (the transposition table ignores the
  path), which stays sound: if a table entry made from path p1 cut a suffix s of P* at
  the same state, then p1 + s, no longer than P*, would be a shortest program with a dead
  write, whose removal gives a shorter one. For the same reason an entry only prunes a
  visit at the same or a greater depth than the one that recorded it; and a cell stored
  into and not read since must still be loaded (a lower-bound term).
* No instruction that leaves the state unchanged, and no cmp of two equal rows (its
  all-equal flags make every following cmov a no-op or a plain mov): removable.
* Register renaming: registers are interchangeable, so a first write to an unset register
  goes to the lowest unset one, and states equal up to renaming share a table entry.
  Permuting the items permutes the test inputs and leaves the sorted rows alone, so such
  states share an entry too.
* ``cmp a, b`` only with a < b: swapping the operands mirrors the flags, and mirroring the
  conditions of the cmovs that use them (l/g, le/ge; e, ne stay) gives the same program.
* Loads: none of a row a register already holds (a mov gives the same state); an input
  loaded into a fresh register only while no cmp has run and every slot holds an input
  (any such load can move to the front of a program). See ``kernels/enum/dfs.py:_expand``.
* The lower bound is admissible (see ``kernels/enum/bound.py``), so a cut node has no
  completion within the bound.

Kernel tasks (median5, merge2+2, ``Task.from_function``; K output cells m0..m{K-1}, the
cells past K scratch): the goal is the K expected rows in m0..m{K-1}; the bound counts
only what those force (kernels/enum/bound.py); item permutations merge states only when
the task is symmetric (its expected output unchanged by renaming the items: medians,
min2max, top-K; not merges, stable sorts or most user tasks), else the identity alone;
the register phase loads all N inputs, stores the K outputs, and its program then drops
the loads its outputs never need. A task whose outputs already stand in m0..m{K-1} gets
the empty program.

Hashing: table keys are two 64-bit hashes built from 64-bit hashes of the rows; a false
match needs a collision among row hashes (probability about rows^2 / 2^64, ~1e-11 for
sort3's 12,000 rows), which is the only way a hashed proof could be wrong. ``--exact``
(``EnumConfig.exact``) removes that trust: the table also stores each entry's canonical
state (its row ids after the chosen item permutation, the permuted rows interned, so
compared in full) and matches only an equal one (kernels/enum/keys.py). Workers share
the failures they prove near the top of their units in hashed mode only (the keys are
hashes of row contents, the same in every process; row ids are not).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from discover.candidates import MEASURED_COSTS
from discover.kernels import (LOAD, Program, Task, initial_state, latency_estimate, step,
                              verify)
from discover.kernels import baseline_program
from discover.kernels import enum as kenum
from discover.search import proof
from discover.search.base import Monitor, SearchResult, SearchStopped
from discover.search.tables import EnumTables
from discover.validation import (MAX_PROGRAM_LENGTH, ConfigError, check_choice, check_int,
                                 check_memory_gb)

__all__ = ["EnumConfig", "search_enum"]

ISA_VERSION = "v1"


@dataclass(frozen=True)
class EnumConfig:
    """Options of the enumerative search."""

    all: bool = False
    """Enumerate every optimal program (one per register renaming and cmp operand order)."""
    tie_break: str = "length"
    """``length`` (first shortest program) or ``latency``: among the shortest programs,
    return the one with the lowest latency estimate (enumerates them all); ``measured``:
    enumerates them all, times them natively and returns the fastest (see
    discover/candidates.py); ``mca``: the same, ranked by llvm-mca's cycle estimate
    (discover/native/mca.py)."""
    max_length: int | None = None
    """Give up above this length (None: no cap)."""
    memory_limit_gb: float = 8.0
    """Stop cleanly with the best so far when the search would exceed this memory."""
    exact: bool = False
    """Exact proof: the transposition table stores and compares whole canonical states
    (else two 64-bit hashes, trusted not to collide)."""
    workers: int = 1
    """Processes that search the proof's units (1: this process alone)."""
    split_depth: int = 5
    """The proof iteration is split into the prefixes of this many instructions (its
    units: checkpointed, shared among the workers); 0: one unit."""
    register_phase: bool = True
    """Run the register phase (loads first, stores last) to its own proof before the
    whole-ISA proof; --no-register-phase proves from the network program at once."""
    backend: str = "local"
    """Where the workers run: 'local' (processes of this machine) or 'ray' (Ray actors
    on a Ray cluster, search/ray_enum.py; needs workers >= 2)."""
    address: str | None = None
    """Ray cluster address (backend 'ray'; 'auto': the cluster of this node; None: start
    a local one for the search)."""

    def __post_init__(self):
        check_choice(self, "tie_break", TIE_BREAKS)
        check_int(self, "workers", 1, 64)
        check_int(self, "split_depth", 0, 8)
        check_int(self, "max_length", 1, MAX_PROGRAM_LENGTH, optional=True)
        check_memory_gb(self, "memory_limit_gb")
        from discover.cluster import check_backend

        check_backend(self)
        if self.backend == "ray" and self.workers < 2:
            raise ConfigError(self, "workers", "must be at least 2 with backend 'ray' (one "
                              "worker searches in this process)", related=("backend",))

    def check(self, task: Task) -> None:
        """ConfigError if ``max_length`` is below the shortest possible program of ``task``.

        Every correct sortN program loads each of the N cells (each value must move for
        some input) and stores into each, and needs a cmp and a cmov: 2N + 2 instructions.
        A kernel task: its root lower bound (the enumeration's own, admissible).
        """
        if not task.is_sort:
            from .tables import EnumTables

            shortest = EnumTables(task, 1).root_bound()
            if self.max_length is not None and self.max_length < shortest:
                raise ConfigError(self, "max_length", f"({self.max_length}) is below the "
                                  f"enumeration's lower bound for {task.name} ({shortest} "
                                  f"instructions)")
            return
        shortest = 2 * task.n + 2
        if self.max_length is not None and self.max_length < shortest:
            raise ConfigError(self, "max_length", f"({self.max_length}) is below the shortest "
                              f"possible {task.name} program ({shortest} instructions: N loads, "
                              "N stores, a cmp and a cmov)")


TIE_BREAKS = ("length", "latency", "measured", "mca")
_GB = 1 << 30
def _warm_up() -> float:
    """Compile (or load from Numba's cache) every kernel on sort2; returns seconds."""
    start = time.perf_counter()
    tables = EnumTables(Task(2), 10)
    tables.root_bound()
    tables.start(8)
    tables.run(1 << 30)  # compiles the whole kernel, whichever status it returns
    tables.grow(float("inf"))
    kenum.rehash_rows(tables.row_hash, 1, 4)
    kenum.rehash_memo(tables.memo(), tables.memo_keys.shape[0])
    kenum.rehash_tt(tables.transpositions(), tables.tt_key.shape[0])
    exact = EnumTables(Task(2), 10, exact=True)  # exact keys, and the proof's split and units
    units, _, _ = proof.split(exact, 7, 2)
    proof.run_unit(exact, 7, units[0], lambda: False, float("inf"), [1 << 20])
    exact.grow(float("inf"))
    verify(Program.from_instructions(["mov r0, m0", "mov m0, r0"]), Task(2))
    step(initial_state(tables.task.inputs, tables.r), LOAD, 0, 0, tables.r)  # for solution()
    return time.perf_counter() - start


def _baseline(task: Task) -> Program | None:
    """The task's baseline program (a kernel task may have none: a user task whose
    outputs are not order statistics)."""
    try:
        return baseline_program(task)
    except ValueError:
        return None


def search_enum(task: Task, config: EnumConfig, monitor: Monitor,
                run_dir=None) -> SearchResult:
    """Find a shortest program for ``task`` and, run to completion, prove it shortest.

    Calls ``monitor.found`` for each shorter program, ``monitor.progress`` about ten
    times a second, and stops when ``monitor.should_stop()``. ``result.optimal`` is True
    only when every shorter length was searched exhaustively. ``run_dir``: where the
    whole-ISA proof checkpoints its progress (``proof.json``, see discover/search/proof.py),
    and whence it resumes.
    """
    if config.tie_break not in TIE_BREAKS:
        raise ValueError(f"tie_break must be one of {TIE_BREAKS}, got {config.tie_break!r}")
    if np.array_equal(task.inputs[:task.n_outputs], task.expected):
        # A kernel whose outputs are its inputs as they stand (the search only checks the
        # goal after an instruction): the empty program, optimal.
        empty = Program(np.zeros((0, 3), dtype=np.int32))
        monitor.found(empty, task)
        result = monitor.result(task, "enum", 0, 0, 0.0, {"lower_bound": 0})
        result.program, result.optimal = empty, True
        return result
    if config.max_length is not None and config.max_length < 1:
        raise ValueError(f"max_length must be positive, got {config.max_length}")
    limit_bytes = config.memory_limit_gb * _GB
    upper = None
    network = _baseline(task) if task.registers >= task.n + 1 else None
    fixed = task.n + task.n_outputs  # the register phase's loads and stores (2N for a sort)
    if network is not None:
        upper = len(network)  # a program this long exists: start there
    cap = config.max_length
    if upper is not None and cap is not None:
        upper = min(upper, cap)
    # Set-up (the network offered first, JIT, both table sets, the root bound): a stop
    # interrupts it at once (Monitor.setup); it counts against the time limit, not in
    # search_time.
    # A resumed proof (DIR/proof.json with a program) goes straight to the whole ISA.
    ckpt = proof.load_checkpoint(run_dir, task, config.exact, config.split_depth)
    register_phase = upper is not None and config.register_phase \
        and not (ckpt is not None and ckpt.get("best"))
    began = time.perf_counter()
    compile_time = 0.0
    try:
        with monitor.setup():
            if network is not None and upper == len(network):
                verify(network, task)  # compiled here, where a stop can interrupt it
                monitor.found(network, task)  # best.asm holds it from the first second
            monitor.check()
            compile_time = _warm_up()
            monitor.check()
            full = EnumTables(task, upper if upper is not None else 32, limit_bytes=limit_bytes,
                           exact=config.exact)
            reg = None if not register_phase else EnumTables(
                task, max(upper - fixed, 1), reg_only=True, limit_bytes=limit_bytes,
                exact=config.exact)
            root_bound = full.root_bound()
    except SearchStopped as stop:
        return monitor.result(task, "enum", 0, 0, compile_time, {
            "stopped_in": "set-up", "setup_time": time.perf_counter() - began,
            "message": f"stopped ({stop}) during set-up; keeping the network program"
                       if monitor.best is not None else f"stopped ({stop}) during set-up"})
    setup_time = time.perf_counter() - began
    full.monitor = monitor
    if reg is not None:
        reg.monitor = monitor
    monitor.start_search()
    result = SearchResult(task=task, method="enum", seed=0, compile_time=compile_time)
    result.notes["setup_time"] = setup_time
    result.notes["symmetry_blocks"] = full.symmetry_blocks
    best: Program | None = None
    enumerate_all = config.all or config.tie_break != "length"
    optimal_programs: list[Program] = []
    # Kernel calls start at 256 expansions (sort7, sort8: 1, where one expansion interns
    # up to hundreds of rows of 47,293 or 545,835 inputs), then adapt to about 20 ms.
    state = {"budget": 256 if task.n_inputs <= 5000 else 1, "last_progress": 0.0,
             "proved_below": 0, "phase": ""}

    def drive(tables: EnumTables, bound: int, collect: bool) -> str:
        """Run one iteration; returns 'found', 'exhausted' or a stop reason."""
        nonlocal best
        tables.start(bound)
        while True:
            if monitor.should_stop():
                return monitor.stop_reason
            t = time.perf_counter()
            status = tables.run(state["budget"])
            took = time.perf_counter() - t
            # keep each kernel call near 20 ms so stops and progress stay responsive
            if took < 0.01:
                state["budget"] = min(state["budget"] * 2, 1 << 24)
            elif took > 0.04:
                state["budget"] = max(state["budget"] // 2, 1)
            if status == kenum.ST_GROW:
                others = sum(t.nbytes() for t in live if t is not tables)
                if not tables.grow(limit_bytes - others):
                    monitor.request_stop("memory limit")
                    return "memory limit"
            elif status == kenum.ST_FOUND:
                program = tables.solution()
                if collect:
                    if not verify(program, task).correct:
                        raise AssertionError("enum produced an incorrect program")
                    optimal_programs.append(program)
                    if best is None or len(program) < len(best):
                        best = program
                        monitor.found(program, task)
                    continue
                if best is None or len(program) < len(best):
                    best = program
                    monitor.found(program, task)
                tables.set_incumbent(program)
                return "found"
            elif status == kenum.ST_DONE:
                return "exhausted"
            now = monitor.elapsed
            if now - state["last_progress"] >= 0.1:
                state["last_progress"] = now
                c = tables.ctr
                monitor.progress(sum(int(t.ctr[kenum.C_EXPANDED]) for t in live),
                                 phase=state["phase"],
                                 bound=bound + (fixed if tables.reg_only else 0),
                                 proved_below=state["proved_below"],
                                 table=int(c[kenum.C_TT]), memory_gb=tables.nbytes() / _GB)

    def descend(tables: EnumTables, bound: int, offset: int) -> tuple[str | None, int]:
        """Lower the bound below each program found until an iteration finds none.

        Returns (stop reason or None, the first bound that was exhausted)."""
        floor = tables.root_bound()
        while bound >= floor:
            outcome = drive(tables, bound, collect=False)
            if outcome == "found":
                bound = min(bound, len(best) - offset) - 1
            elif outcome == "exhausted":
                return None, bound
            else:
                return outcome, bound
        return None, bound

    stopped = None
    live = [full] if reg is None else [full, reg]  # every table set, for the memory limit
    if sum(t.nbytes() for t in live) > limit_bytes:
        stopped = monitor.stop_reason or "memory limit"
        monitor.request_stop(stopped)
    state["proved_below"] = root_bound
    canonical_below = None
    pool = None
    tally = {"nodes": 0, "worker_nodes": 0, "iteration": None}  # proof nodes (finished work)
    if ckpt is not None:
        tally["nodes"] = int(ckpt.get("nodes_before", 0))
        state["proved_below"] = max(root_bound, int(ckpt.get("lower_bound", root_bound)))
        try:
            saved = Program.parse(ckpt["best"]) if ckpt.get("best") else None
        except (ValueError, TypeError):
            saved = None
        if saved is not None and verify(saved, task).correct:
            best = saved
            monitor.found(best, task)
        result.notes["resumed_proof"] = {"bound": ckpt.get("bound"),
                                         "units_done": len(ckpt.get("done", []))}

    def checkpoint(bound, units, done, split_nodes, complete=False):
        if run_dir is None:
            return
        from discover.runs import write_json

        tally["last_save"] = time.monotonic()
        write_json(Path(run_dir) / proof.CHECKPOINT, {
            "task": task.name, "registers": task.registers, "isa": ISA_VERSION,
            "keys": "exact" if config.exact else "hashed", "split_depth": config.split_depth,
            "bound": bound, "units": len(units), "digest": proof.digest(units),
            "done": sorted([int(i), int(v)] for i, v in done.items()),
            "split_nodes": split_nodes, "nodes_before": tally["nodes"],
            "lower_bound": int(state["proved_below"]),
            "best": best.text() if best is not None else None, "complete": complete})

    def prove(bound: int) -> str:
        """One whole-ISA iteration (no program of at most ``bound`` instructions?), cut
        into units (discover/search/proof.py): 'found', 'exhausted' or a stop reason."""
        nonlocal best, pool
        if best is not None:
            full.set_incumbent(best)
        units, solution, split_nodes = proof.split(full, bound, config.split_depth)
        if solution is not None:
            program = Program.from_instructions(list(solution))
            if best is None or len(program) < len(best):
                best = program
                monitor.found(program, task)
            return "found"
        done: dict = {}
        if (ckpt is not None and ckpt.get("bound") == bound
                and ckpt.get("digest") == proof.digest(units)):
            done = {int(i): int(v) for i, v in ckpt.get("done", [])}
        tally["iteration"] = (bound, len(units), done, split_nodes)
        if pool is None:
            if config.backend == "ray":  # the workers as Ray actors (ray_enum.py)
                from discover.cluster import connect
                from discover.search.ray_enum import RayPool

                pool = RayPool(connect(config.address), task, config.exact, config.workers,
                               limit_bytes, EnumTables)
            else:
                pool = proof.Pool(task, config.exact, config.workers, limit_bytes, EnumTables)
        checkpoint(bound, units, done, split_nodes)

        def report():
            now = monitor.elapsed
            if now - state["last_progress"] >= 0.1:
                state["last_progress"] = now
                monitor.progress(sum(int(t.ctr[kenum.C_EXPANDED]) for t in live)
                                 + tally["worker_nodes"], phase="proof", bound=bound,
                                 proved_below=state["proved_below"],
                                 units=f"{len(done)}/{len(units)}")

        def on_unit():
            report()
            if time.monotonic() - tally.get("last_save", 0.0) >= proof.CHECKPOINT_EVERY:
                checkpoint(bound, units, done, split_nodes)

        def should_stop():
            report()
            return monitor.should_stop()

        class _Stop:  # the monitor, with progress reports in the single-process loop
            stop_reason = property(lambda _: monitor.stop_reason)

        stopper = _Stop()
        stopper.should_stop = should_stop
        outcome, code = proof.iterate(full, pool, bound, units, done, best.code
                                      if best is not None else [], stopper,
                                      limit_bytes - sum(t.nbytes() for t in live if t is not full),
                                      on_unit, state.setdefault("unit_budget", [256]),
                                      tally, tally.get("estimates"))
        tally["estimates"] = {tuple(units[i]): nodes for i, nodes in done.items()}
        if outcome == "found":
            program = Program.from_instructions([tuple(i) for i in code])
            if not verify(program, task).correct:
                raise AssertionError("enum produced an incorrect program")
            if best is None or len(program) < len(best):
                best = program
                monitor.found(program, task)
            tally["nodes"] += split_nodes + sum(done.values())
        elif outcome == "exhausted":
            state["proved_below"] = bound + 1
            tally["nodes"] += split_nodes + sum(done.values())
            result.notes["proof_iteration"] = {"bound": bound, "units": len(units),
                                               "split_nodes": split_nodes,
                                               "nodes": split_nodes + sum(done.values())}
            checkpoint(bound, units, done, split_nodes,
                       complete=(best is not None and bound + 1 >= len(best))
                       or (cap is not None and bound >= cap))
        else:
            checkpoint(bound, units, done, split_nodes)
        return outcome

    try:
        if stopped is None and upper is not None:
            if reg is not None:
                # Phase 1, fast: loads first, stores last, search the register instructions
                # only. It finds short programs quickly; its exhaustion proves only that no
                # shorter program of that form exists.
                state["phase"] = "register"
                monitor.set_phase("register")
                reg.set_incumbent(network)
                stopped, exhausted = descend(reg, upper - fixed, fixed)
                if stopped is None:
                    canonical_below = exhausted + 1 + fixed
                    result.notes["canonical_proof_time"] = monitor.elapsed
            elif best is None and network is not None:
                best = network
                if cap is None or len(best) <= cap:
                    monitor.found(best, task)
                else:
                    best = None
        # Phase 2, the proof: the whole ISA, loads and stores anywhere. It ascends from the
        # lower bound proved so far: each iteration that finds nothing raises it by one
        # (the iterations grow about 25-fold a length on sort4, so the lower ones cost
        # little), and the first program an iteration finds is a shortest one.
        if stopped is None:
            state["phase"] = "proof"
            monitor.set_phase("proof")
            bound = state["proved_below"]
            while (cap is None or bound <= cap) and (best is None or bound < len(best)):
                outcome = prove(bound)
                if outcome == "found":
                    break
                if outcome != "exhausted":
                    stopped = outcome
                    break
                bound += 1
            if stopped is None and best is not None and (cap is None or len(best) <= cap):
                state["proved_below"] = len(best)
    finally:
        if pool is not None:
            pool.close()
    proved_below = state["proved_below"]
    if stopped is None and best is not None and proved_below == len(best):
        result.optimal = True
        if enumerate_all:
            state["phase"] = "enumerate"
            monitor.set_phase("enumerate")
            optimal_programs.clear()
            outcome = drive(full, len(best), collect=True)
            if outcome != "exhausted":
                stopped = outcome
                result.notes["enumeration_complete"] = False
            else:
                result.notes["enumeration_complete"] = True
            if config.tie_break != "length" and optimal_programs:
                latencies = [int(latency_estimate(p.code, task.n, task.registers))
                             for p in optimal_programs]
                best = optimal_programs[int(np.argmin(latencies))]
                monitor.found(best, task)  # a monitor ranking by (length, latency) keeps it
            if config.all:
                result.programs = list(optimal_programs)
            if config.tie_break in MEASURED_COSTS:
                result.candidates = list(optimal_programs)  # ranked by search()
    if canonical_below is not None:
        # No program with loads first and stores last is shorter than this (the form
        # enumerative-synthesis papers search); "lower_bound" covers every program.
        result.notes["canonical_form_lower_bound"] = int(canonical_below)
    result.program = best if best is not None else monitor.best  # the network, say
    result.stopped = stopped or "completed"
    result.search_time = monitor.elapsed
    result.time_to_first = monitor.time_to_first
    result.time_to_best = monitor.time_to_best
    result.explored = sum(t.stats()["expanded"] for t in live) + tally["worker_nodes"]
    result.notes["proved"] = {
        "task": task.name, "registers": task.registers, "isa": ISA_VERSION,
        "lower_bound": int(proved_below), "nodes": int(tally["nodes"]),
        "keys": "exact" if config.exact else "hashed", "complete": stopped is None,
        "workers": config.workers, "split_depth": config.split_depth}
    if stopped is not None and tally["iteration"] is not None:
        # the unfinished iteration: how far it got (its finished units' nodes not in "nodes")
        bound, n_units, done, split_nodes = tally["iteration"]
        result.notes["proved"]["in_progress"] = {
            "bound": bound, "units": n_units, "units_done": len(done),
            "nodes": split_nodes + sum(done.values())}
    result.notes.update(
        lower_bound=int(proved_below),
        root_lower_bound=int(root_bound),
        start_bound="network baseline" if upper is not None else "root lower bound",
        proof=full.stats(),
    )
    if len(live) > 1:
        result.notes["register_phase"] = live[1].stats()
    if result.stopped == "memory limit":
        result.notes["message"] = (f"stopped: the search would exceed its memory limit of "
                                   f"{config.memory_limit_gb:g} GB; keeping the best so far")
    return result
