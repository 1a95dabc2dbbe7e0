"""Variable-length sorts (varsortN, ISA v2): branch on the length first, then solve each
side with the network beam's short compare-exchanges, sharing code where the paths meet.

The skeletons (``skeletons.py``) fix the shape of the sharing: which loads,
compare-exchanges and stores each length runs, and the jumps and labels between them.
``_Compiler`` writes one skeleton as a program, block by block, over the machine state of
every test input (and where each input is: running, waiting at a label, done). Each
compare-exchange is compiled as the beam search does (``kernels/exchange.py``): every cmp
of the two wires followed by one or two cmovs that leaves min and max in two registers, on
the inputs that run it (a register unset on one of them is unset), or the plain four
instructions; a beam keeps the ``width`` shortest partial programs. Where paths meet (a
label), the wires must be in the registers the jumping inputs left them in; a node whose
registers differ gets the ``mov`` instructions that move them there.
``search_varsort`` compiles the skeletons, shortest plain length first; with no width
(``--method enum``) it keeps every exchange choice and skips only the skeletons that
cannot win, so a completed run has the shortest program *of these skeletons* (not a
proof over all v2 programs)."""

from __future__ import annotations

import time

import numpy as np

from discover.kernels import (CMOVG, CMP, CMPN, CONTROL, JMP, JUMPS, LOAD, MOV, STORE,
                              Program, Task, baseline_program, step)
from discover.kernels import exchange as kex

from .base import Monitor, SearchResult, SearchStopped
from .beam import place
from .skeletons import END, skeletons, with_branch_order

__all__ = ["search_varsort"]

ACTIVE = -1
DONE = -2


class _Node:
    __slots__ = ("rows", "state", "where", "wires", "saved", "labels")

    def __init__(self, rows, state, where, wires, saved, labels):
        self.rows = rows  # tuple of (op, dst, src); a jump's dst: its label (symbolic)
        self.state = state  # int8[S, B]: every input's registers, memory, flags
        self.where = where  # int64[B]: ACTIVE, DONE, or the label it waits for (index)
        self.wires = wires  # tuple: wire -> register (-1: not in a register)
        self.saved = saved  # tuple of (label, wires at its jump)
        self.labels = labels  # tuple of (label, row index)


class _Compiler:
    """One run of one skeleton."""

    def __init__(self, task: Task, blocks, width, rng, monitor: Monitor):
        self.task, self.blocks, self.width = task, blocks, width
        self.rng, self.monitor = rng, monitor
        self.r, self.n = task.registers, task.n
        self.flags = self.r + self.n
        names = [b[-1] for b in blocks if b[0] in ("jump", "label")]
        self.label_index = {name: i for i, name in enumerate(dict.fromkeys(names))}
        self.hits = np.zeros((kex.MAX_HITS, kex.HIT_WIDTH), dtype=np.int32)
        self.expanded = 0

    def root(self) -> _Node:
        task = self.task
        state = np.empty((self.r + self.n + 1, task.n_inputs), dtype=np.int8)
        state[:self.r] = -1
        state[self.r:self.flags] = task.inputs
        state[self.flags] = 0
        return _Node((), state, np.full(task.n_inputs, ACTIVE, dtype=np.int64),
                     (-1,) * self.n, (), ())

    def _run(self, node: _Node, instructions) -> np.ndarray:
        """The state after ``instructions`` (v1) run on the node's active inputs."""
        active = np.flatnonzero(node.where == ACTIVE)
        state = node.state.copy()
        sub = np.ascontiguousarray(state[:, active])
        for op, dst, src in instructions:
            step(sub, op, dst, src, self.r)
        state[:, active] = sub
        return state

    def _add(self, node: _Node, instructions, wires=None) -> _Node:
        return _Node(node.rows + tuple(instructions), self._run(node, instructions),
                     node.where, node.wires if wires is None else wires, node.saved,
                     node.labels)

    def _free(self, node: _Node, active) -> list[int]:
        """Registers not holding a live wire, set on every active input first."""
        live = set(node.wires)
        regs = node.state[:self.r][:, active]
        free = [q for q in range(self.r) if q not in live]
        return sorted(free, key=lambda q: (bool(np.all(regs[q] != -1)), q))

    def apply(self, node: _Node, block) -> list[_Node]:
        kind = block[0]
        active = np.flatnonzero(node.where == ACTIVE)
        if kind == "cmpn":
            k = block[1]
            state = node.state.copy()
            lengths = self.task.lengths[active].astype(np.int64)
            state[self.flags, active] = ((lengths < k) * 1 + (lengths == k) * 2
                                         + (lengths > k) * 4)
            return [_Node(node.rows + ((CMPN, 0, k),), state, node.where, node.wires,
                          node.saved, node.labels)]
        if kind == "jump":
            _, op, name = block
            label = self.label_index[name]
            if op == JMP:
                taken = active
            else:
                taken = active[(node.state[self.flags, active] & CONTROL[op].cond) != 0]
            where = node.where.copy()
            where[taken] = DONE if name == END else label
            # the wires those inputs have: beyond them the map means nothing to them
            most = int(self.task.lengths[taken].max()) if len(taken) else 0
            kept = tuple(q if w < most else -1 for w, q in enumerate(node.wires))
            saved = node.saved + ((label, kept),)
            return [_Node(node.rows + ((op, label, 0),), node.state, where, node.wires,
                          saved, node.labels)]
        if kind == "label":
            return [self._land(node, self.label_index[block[1]], block[1] == END)]
        if kind == "load":
            w = block[1]
            free = self._free(node, active)
            regs = node.state[:self.r][:, active]
            unset = [q for q in free if np.all(regs[q] == -1)]
            q = (unset or free)[0]
            wires = list(node.wires)
            wires[w] = q
            return [self._add(node, [(LOAD, q, w)], tuple(wires))]
        if kind == "store":
            w = block[1]
            wires = list(node.wires)
            q, wires[w] = wires[w], -1
            return [self._add(node, [(STORE, w, q)], tuple(wires))]
        if kind == "cx":
            return self._exchanges(node, block[1], block[2], active)
        raise ValueError(f"unknown block {block!r}")

    def _land(self, node: _Node, label: int, end: bool) -> _Node:
        """Place a label: the inputs waiting for it run on; first move the wires the
        joining inputs have into the registers they left them in."""
        node = _Node(node.rows, node.state, node.where, node.wires, node.saved,
                     node.labels)
        if not end:
            want = dict(node.saved)[label]
            if not np.any(node.where == ACTIVE):  # after a jmp: only the joining inputs
                node.wires = want
            moves = self._moves(node, want)
            if moves:
                wires = list(node.wires)
                for w, q in enumerate(want):
                    if q >= 0:
                        wires[w] = q
                node = self._add(node, moves, tuple(wires))
            where = node.where.copy()
            where[where == label] = ACTIVE
            node.where = where
        node.labels = node.labels + ((label, len(node.rows)),)
        return node

    def _moves(self, node: _Node, want) -> list[tuple[int, int, int]]:
        """``mov`` instructions taking each wire of ``want`` from its register in the node
        to the one in ``want`` (a cycle goes through a free register)."""
        pending = {want[w]: node.wires[w] for w in range(self.n)
                   if want[w] >= 0 and node.wires[w] != want[w]}
        if not pending:
            return []
        if any(src < 0 for src in pending.values()):
            raise ValueError("a wire the joining inputs hold is not in a register here")
        out = []
        busy = set(node.wires) | set(want)
        while pending:
            ready = [d for d in pending if d not in pending.values()]
            if ready:
                d = ready[0]
                out.append((MOV, d, pending.pop(d)))
                continue
            d, s = next(iter(pending.items()))  # a cycle: park d's old value
            spare = next(q for q in range(self.r) if q not in busy)
            out.append((MOV, spare, d))
            pending = {k: (spare if v == d else v) for k, v in pending.items()}
            busy.add(spare)
        return out

    def _exchanges(self, node: _Node, i: int, j: int, active) -> list[_Node]:
        a, b = node.wires[i], node.wires[j]
        regs = np.ascontiguousarray(node.state[:self.r][:, active])
        for q in range(self.r):
            if np.any(regs[q] == -1):
                regs[q] = -1  # unset on some input that runs here: unusable
        lo, hi = np.minimum(regs[a], regs[b]), np.maximum(regs[a], regs[b])
        live = set(node.wires) - {-1}
        dead = [q for q in range(self.r) if q not in live]
        out = []
        dests = np.array([q for q in dead if regs[q, 0] != -1] + [a, b], dtype=np.int32)
        count = kex.exchanges(regs, a, b, dests, lo, hi, kex.CMOV_OPS, kex.CMOV_MASKS, 2,
                              self.hits)
        for h in self.hits[:count]:
            ins = [(CMP, int(h[0]), int(h[1])), (int(h[2]), int(h[3]), int(h[4]))]
            if h[5] != kex.NONE:
                ins.append((int(h[5]), int(h[6]), int(h[7])))
            regs2 = regs.copy()
            for op, dst, src in ins:
                _step_regs(regs2, op, dst, src)
            free = [q for q in range(self.r) if q not in live or q in (a, b)]
            written = {q for _, q, _ in ins[1:]}
            placed = place(regs2, lo, hi, free, written)
            if placed is None:
                continue
            wires = list(node.wires)
            wires[i], wires[j] = placed
            out.append(self._add(node, ins, tuple(wires)))
        for z in dead:
            for ins in (((MOV, z, a), (CMP, a, b), (CMOVG, a, b), (CMOVG, b, z)),
                        ((MOV, z, b), (CMP, a, b), (CMOVG, b, a), (CMOVG, a, z))):
                out.append(self._add(node, ins))
        return out

    def key(self, node: _Node):
        return (node.wires, node.saved, node.state[:self.r].tobytes(), node.where.tobytes())

    def run(self) -> Program | None:
        nodes = [self.root()]
        for block in self.blocks:
            if self.monitor.should_stop():
                return None
            children = [c for node in nodes for c in self.apply(node, block)]
            self.expanded += len(nodes)
            if block[0] != "cx":
                nodes = children
                continue
            best = {}
            for c in children:
                k = self.key(c)
                if k not in best or len(c.rows) < len(best[k].rows):
                    best[k] = c
            ranked = list(best.values())
            ties = self.rng.random(len(ranked))
            order = sorted(range(len(ranked)), key=lambda k: (len(ranked[k].rows), ties[k]))
            keep = order if self.width is None else order[:self.width]
            nodes = [ranked[k] for k in keep]
        best = min(nodes, key=lambda node: len(node.rows))
        return self.finish(best)

    def finish(self, node: _Node) -> Program:
        at = dict(node.labels)
        rows = [(op, at[dst], src) if op in JUMPS else (op, dst, src)
                for op, dst, src in node.rows]
        return Program.from_instructions(rows)


def _step_regs(regs, op, dst, src):
    state = np.concatenate([regs, np.zeros((1, regs.shape[1]), dtype=np.int8)])
    step(state, op, dst, src, regs.shape[0])
    regs[:] = state[:-1]


def search_varsort(task: Task, monitor: Monitor, seed: int = 0, width: int | None = 24,
                   restarts: int | None = None, method: str = "beam",
                   branches: bool = False) -> SearchResult:
    """Compile the skeletons (``candidates``, shortest plain length first) until they,
    ``restarts`` or the time run out; the human routine is offered first, then every
    compiled program through ``monitor.found``.

    ``width``: partial programs kept after each compare-exchange; None (``enum``): all of
    them, and a skeleton is skipped when even two-instruction exchanges everywhere could
    not beat the best program so far, so a completed run has the shortest program of
    these skeletons (a bound over the skeletons, not over every v2 program).
    """
    if not task.variable:
        raise ValueError(f"the skeleton search is for the varsort tasks, not {task.name}")
    if task.registers < task.n + 1:
        raise ValueError(f"the varsort skeletons need {task.n + 1} registers, "
                         f"got {task.registers}")
    warm = time.perf_counter()
    try:
        with monitor.setup():
            monitor.found(baseline_program(task), task)  # compiles the verifier
            pool = skeletons(task.n, seed)
            if branches:
                pool = with_branch_order(pool, task.n)
            _warm_up(task)
    except SearchStopped:
        return monitor.result(task, method, seed, 0, time.perf_counter() - warm,
                              {"stopped_in": "set-up"})
    compile_time = time.perf_counter() - warm
    monitor.start_search()
    monitor.set_phase("search")
    lengths, expanded, seen, skipped, complete = [], 0, 0, 0, False
    # enum: a skeleton whose every exchange took two instructions (cmp and one cmov) still
    # as long as the best is skipped (sound); beam: one instruction saved an exchange at
    # most (the exchanges found so far save none), a heuristic.
    saving = 2 if width is None else 1
    with monitor.catch_sigint():
        while not monitor.should_stop():
            if restarts is not None and len(lengths) >= restarts:
                break
            try:
                plain, exchanges, blocks = next(pool)
            except StopIteration:
                complete = True
                break
            seen += 1
            best = len(monitor.best) if monitor.best is not None else None
            if not branches and best is not None and plain - saving * exchanges >= best:
                skipped += 1
                continue
            rng = np.random.default_rng([seed, seen])
            compiler = _Compiler(task, list(blocks), width, rng, monitor)
            program = compiler.run()
            expanded += compiler.expanded
            if program is None:
                break  # stopped
            lengths.append(len(program))
            monitor.found(program, task)
            monitor.progress(seen, compiled=len(lengths), last=len(program))
    notes = {"skeletons": seen, "compiled": len(lengths), "skipped": skipped,
             "width": width, "complete": complete, "nodes": expanded,
             "lengths": {str(k): lengths.count(k) for k in sorted(set(lengths))}}
    return monitor.result(task, method, seed, seen, compile_time, notes)


def _warm_up(task: Task) -> None:
    """Compile the exchange kernel and the stepper on a tiny state."""
    regs = np.zeros((3, 2), dtype=np.int8)
    hits = np.zeros((kex.MAX_HITS, kex.HIT_WIDTH), dtype=np.int32)
    kex.exchanges(regs, 0, 1, np.array([2, 0, 1], dtype=np.int32), regs[0], regs[1],
                  kex.CMOV_OPS, kex.CMOV_MASKS, 2, hits)
