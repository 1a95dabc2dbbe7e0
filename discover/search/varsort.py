"""Variable-length sorts (varsortN, ISA v2): branch on the length first, then solve each
side with the network beam's short compare-exchanges, sharing code where the paths meet.

A varsortN program must sort n = 0..N items with forward jumps only, so every input runs
a subsequence of the program. The searches here fix the shape of that sharing (a
*skeleton*: where the program compares the length, loads, compare-exchanges, stores and
where the paths meet) and search how each compare-exchange is written:

* ``tail`` (selection, shared suffix): ``cmp n, 2; jl end``, load m0 and m1, ``je L2``,
  then load m2, ``cmp n, 3; je L3``, load m3 ... up to m{N-1}; then for k = N down to 3:
  ``L{k}:`` comparators that bring the largest of wires 0..k-1 to wire k-1, ``mov
  m{k-1}``; ``L2:`` the comparator (0, 1), the stores of m1 and m0, ``end:``. An input of
  length k jumps to ``L{k}`` once its items are loaded and runs the rest: the selection of
  the largest of k, then of k-1 ... (a sorting network on its k wires), each store
  executed only by inputs that have the cell.
* ``insertion`` (shared prefix): sort m0, m1; for k = 3..N: ``cmp n, k-1; je T{k-1}``,
  load m{k-1} and insert it (comparators (k-2, k-1), (k-3, k-2) ... (0, 1)); then the
  stores m{N-1}, ``T{N-1}:`` m{N-2} ... ``T2:`` m1, m0.

Within a skeleton, each compare-exchange is compiled as the beam search does
(``kernels/exchange.py``): every cmp of the two wires followed by one or two cmovs that
leaves min and max in two registers, on the inputs that run it (the machine state of
those inputs only: a register unset on one of them is unset), or the plain four
instructions; a beam keeps the ``width`` shortest partial programs. Where paths meet (a
label), the registers of the wires must agree with those the jumping inputs left; a node
whose registers differ gets the ``mov`` instructions that move them into place.
``enum`` runs the same compilation with no width limit: the shortest program *of these
skeletons* (not a proof over all v2 programs).
"""

from __future__ import annotations

import functools
import itertools
import time

import numpy as np

from discover.kernels import (CMOVG, CMP, CMPN, CONTROL, JE, JL, JLE, JMP, JNE, JUMPS, LOAD, MOV, STORE, Program, Task,
                              baseline_program, step)
from discover.kernels import exchange as kex

from .base import Monitor, SearchResult, SearchStopped

__all__ = ["candidates", "climb", "hereditary", "networks", "plain_length", "search_varsort",
           "skeleton", "skeletons", "topological_order"]

END = "end"
ACTIVE = -1
DONE = -2


def _sorts(network, m: int) -> bool:
    """Does the network sort every 0/1 input on wires 0..m-1 (the 0-1 principle)?"""
    for x in range(1 << m):
        v = [(x >> i) & 1 for i in range(m)]
        for i, j in network:
            if v[i] > v[j]:
                v[i], v[j] = v[j], v[i]
        if any(v[k] > v[k + 1] for k in range(m - 1)):
            return False
    return True


def _untangle(network) -> tuple[tuple[int, int], ...]:
    """A standard network (min to the lower wire) from one with reversed comparators:
    swap the two wires' names from a reversed comparator on (Knuth 5.3.4, ex. 16)."""
    rest, out = list(network), []
    for k, (i, j) in enumerate(rest):
        if i > j:
            swap = {i: j, j: i}
            rest[k + 1:] = [(swap.get(a, a), swap.get(b, b)) for a, b in rest[k + 1:]]
            i, j = j, i
        out.append((i, j))
    return tuple(out)


def hereditary(network, n: int) -> bool:
    """Do the comparators among wires 0..m-1 sort those wires, for every m = 2..n?
    (The path of an input of length m can run only those: the other wires do not exist.)"""
    return all(_sorts([c for c in network if max(c) < m], m) for m in range(2, n + 1))


def selection_network(n: int) -> tuple[tuple[int, int], ...]:
    """Selection: the largest of wires 0..k-1 to wire k-1, for k = n down to 2."""
    return tuple((i, k - 1) for k in range(n, 1, -1) for i in range(k - 1))


def insertion_network(n: int) -> tuple[tuple[int, int], ...]:
    """Insertion: wire k-1 moved down into the sorted wires 0..k-2, for k = 2..n."""
    return tuple((i - 1, i) for k in range(2, n + 1) for i in range(k - 1, 0, -1))


@functools.lru_cache(maxsize=None)
def networks(n: int) -> tuple[tuple[tuple[int, int], ...], ...]:
    """Hereditary sorting networks for varsortN: the fewest-comparator ones we know
    (``network_variants``) under every renaming of the wires (untangled) that makes them
    hereditary, then selection and insertion (N(N-1)/2 comparators, always hereditary).
    Up to 5! renamings are tried (N <= 5; above, the networks as they are)."""
    from .beam import network_variants

    found = {}
    for network in network_variants(n):
        perms = itertools.permutations(range(n)) if n <= 5 else [tuple(range(n))]
        for perm in perms:
            net = _untangle([(perm[i], perm[j]) for i, j in network])
            if net not in found and hereditary(net, n):
                found[net] = None
    for net in (selection_network(n), insertion_network(n)):
        found.setdefault(net, None)
    return tuple(found)


def _items(network, n: int):
    """The items of a network's program with their dependencies: ``('load', w)``,
    ``('cx', i, j)``, ``('store', w)``; ``needs[k]``: the items item k waits for."""
    items, needs, last = [], [], {}
    for w in range(n):
        items.append(("load", w))
        needs.append(set())
        last[w] = len(items) - 1
    for i, j in network:
        items.append(("cx", i, j))
        needs.append({last[i], last[j]})
        last[i] = last[j] = len(items) - 1
    for w in range(n):
        items.append(("store", w))
        needs.append({last[w]})
    return items, needs


def level(item) -> int:
    """The shortest length whose path runs the item (a load or store of m{w}: w + 1, but
    at least 2: one item is sorted as it is; a comparator: its upper wire + 1)."""
    return max(item[-1] + 1, 2) if item[0] != "cx" else max(item[1:]) + 1


def topological_order(items, needs, rng, bias: str) -> list[int]:
    """An order of the items that keeps every dependency, ties broken by ``bias``:
    'low' (lowest level first), 'high', or 'random'."""
    done, order = set(), []
    while len(order) < len(items):
        ready = [k for k in range(len(items)) if k not in done and needs[k] <= done]
        noise = rng.random(len(ready))
        sign = {"low": 1, "high": -1, "random": 0}[bias]
        pick = min(range(len(ready)), key=lambda r: (sign * level(items[ready[r]]), noise[r]))
        order.append(ready[pick])
        done.add(ready[pick])
    return order


def skeleton(items, n: int) -> list[tuple]:
    """The blocks of a program that runs ``items`` in this order, each input running
    those of its length's level or below: before an item, the inputs too short for it
    jump (``cmp n, K`` and ``jl``/``jle``, one cmp for several jumps where the flags
    allow) to the next item of their level, or to the end."""
    levels = [level(item) for item in items]
    active = set(range(n + 1))
    waiting: dict = {}  # label -> (lengths, the item index it resumes at)
    flags = None  # K of the last cmp n whose flags every active input still has
    blocks, labels = [], 0
    for t, item in enumerate(items):
        leaving = sorted(m for m in active if m < levels[t])
        groups: dict = {}
        for m in leaving:
            resume = next((u for u in range(t + 1, len(items)) if levels[u] <= m), None)
            groups.setdefault(resume, []).append(m)
        for resume, group in sorted(groups.items(), key=lambda kv: kv[1][0]):
            hi = group[-1]
            if flags is not None and hi == flags - 1:
                op = JL
            elif flags is not None and hi == flags:
                op = JLE
            else:
                flags = hi + 1
                blocks.append(("cmpn", flags))
                op = JL
            if resume is None:
                name = END
            else:
                name = labels
                labels += 1
                waiting[name] = (set(group), resume)
            blocks.append(("jump", op, name))
            active -= set(group)
        for name in [name for name, (_, u) in waiting.items() if u == t]:
            blocks.append(("label", name))
            active |= waiting.pop(name)[0]
            flags = None
        blocks.append(item)
        if item[0] == "cx":
            flags = None
    blocks.append(("label", END))
    return blocks


def dispatch_networks(n: int) -> list[tuple]:
    """The dispatch of ``dispatch_skeleton`` (lengths N, N-1 ... 3 peeled first, then 2
    against 0 and 1), each length then running its own size-optimal network (the human
    routine's code in the order that mispredicts least on random lengths)."""
    from discover.kernels import OPTIMAL_NETWORKS

    blocks = []
    for m in range(n, 2, -1):
        blocks += [("cmpn", m), ("jump", JE, ("entry", m))]
    blocks += [("cmpn", 2), ("jump", JNE, END)]
    for m in range(2, n + 1):
        if m > 2:
            blocks.append(("label", ("entry", m)))
        blocks += [("load", w) for w in range(m)]
        blocks += [("cx", i, j) for i, j in OPTIMAL_NETWORKS[m]]
        blocks += [("store", w) for w in range(m)]
        if m < n:
            blocks.append(("jump", JMP, END))
    blocks.append(("label", END))
    return blocks


def dispatch_skeleton(n: int) -> list[tuple]:
    """Branch on the length first, then run code with no more branches: ``cmp n, N; je
    E{N}`` ... ``cmp n, 3; je E3; cmp n, 2; jne end``, each entry ``E{m}`` loading m0 ..
    m{m-1} and jumping (``jmp``, always predicted) into the selection network's tail at
    the point from which it sorts m wires (the largest to wire m-1, then m-2 ...). Longer
    than the shared skeletons (each length loads its own items; selection has N(N-1)/2
    comparators), but an input meets only the branches of a decision that peels the
    lengths N, N-1 ... 3 first and leaves 0 and 1 (one outcome) to the last test, which
    a branch predictor that learns each branch's likelier way mispredicts least often on
    random lengths (``FlowCost.mispredictions``)."""
    blocks = []
    for m in range(n, 2, -1):
        blocks += [("cmpn", m), ("jump", JE, ("entry", m))]
    blocks += [("cmpn", 2), ("jump", JNE, END)]
    for m in range(2, n + 1):
        if m > 2:  # length 2 falls through the last test
            blocks.append(("label", ("entry", m)))
        blocks += [("load", w) for w in range(m)]
        if m < n:
            blocks.append(("jump", JMP, ("tail", m)))
    for k in range(n, 1, -1):
        if k < n:
            blocks.append(("label", ("tail", k)))
        blocks += [("cx", i, k - 1) for i in range(k - 1)]
        blocks.append(("store", k - 1))
    blocks += [("store", 0), ("label", END)]
    return blocks


def plain_length(blocks) -> int:
    """The length with every compare-exchange in four instructions (no moves at labels)."""
    return sum(4 if b[0] == "cx" else 0 if b[0] == "label" else 1 for b in blocks)


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
            placed = _place(regs2, lo, hi, free, written)
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


def _place(regs, lo, hi, free, written):
    for x in free:
        if np.array_equal(regs[x], lo):
            for y in free:
                if y != x and (x in written or y in written) and np.array_equal(regs[y], hi):
                    return x, y
    return None


EVERY_ORDER_UP_TO = 4  # every topological order of every network up to varsort4


def all_orders(items, needs):
    """Every order of the items that keeps their dependencies (a generator)."""
    done, order = set(), []

    def extend():
        if len(order) == len(items):
            yield list(order)
            return
        for k in range(len(items)):
            if k not in done and needs[k] <= done:
                done.add(k)
                order.append(k)
                yield from extend()
                order.pop()
                done.discard(k)

    return extend()


@functools.lru_cache(maxsize=None)
def candidates(n: int) -> tuple[tuple[int, int, tuple], ...]:
    """Every skeleton of every order of every network (``EVERY_ORDER_UP_TO`` items at
    most), shortest plain length first: ``(plain length, compare-exchanges, blocks)``."""
    found = {}
    for network in networks(n):
        items, needs = _items(network, n)
        for order in all_orders(items, needs):
            blocks = tuple(skeleton([items[k] for k in order], n))
            found.setdefault(blocks, (plain_length(blocks), len(network), blocks))
    return tuple(sorted(found.values(), key=lambda c: c[0]))


def _cost(items, order, n) -> int:
    return plain_length(skeleton([items[k] for k in order], n))


def climb(items, needs, order, n: int, rng, rounds: int = 3):
    """Hill-climb an order on its plain length: move one item to another place (keeping
    the dependencies); take the first move that shortens it, or sideways at random."""
    cost, size = _cost(items, order, n), len(order)
    for _ in range(rounds):
        improved = False
        for i in rng.permutation(size):
            for j in range(size):
                if i == j:
                    continue
                moved = list(order)
                moved.insert(j, moved.pop(i))
                place = {k: p for p, k in enumerate(moved)}
                if any(place[d] > place[k] for k in moved for d in needs[k]):
                    continue
                c = _cost(items, moved, n)
                if c < cost or (c == cost and rng.random() < SIDEWAYS):
                    improved |= c < cost
                    order, cost = moved, c
                    break
        if not improved:
            break
    return cost, order


SIDEWAYS = 0.2  # chance of taking a move that keeps the plain length
CLIMBS = 4  # starts per network: lowest level first, highest first, two random


def skeletons(n: int, seed: int = 0):
    """The skeletons the search compiles, best first: up to EVERY_ORDER_UP_TO every
    order (``candidates``); above, per network (those whose lowest-level-first order is
    shortest first) the best of CLIMBS hill-climbed orders. A generator of
    ``(plain length, compare-exchanges, blocks)``; the same for the same seed."""
    if n <= EVERY_ORDER_UP_TO:
        yield from candidates(n)
        return
    rng = np.random.default_rng([seed, n])
    quick = []
    for network in networks(n):
        items, needs = _items(network, n)
        quick.append((_cost(items, topological_order(items, needs, rng, "low"), n),
                      len(quick), network))
    for _, _, network in sorted(quick):
        items, needs = _items(network, n)
        best = None
        for bias in ("low", "high") + ("random",) * (CLIMBS - 2):
            cost, order = climb(items, needs, topological_order(items, needs, rng, bias), n,
                                rng)
            if best is None or cost < best[0]:
                best = (cost, order)
        blocks = tuple(skeleton([items[k] for k in best[1]], n))
        yield best[0], len(network), blocks


def peeled(blocks, n: int) -> list[tuple]:
    """The skeleton with ``cmp n, N; je P; P:`` ... ``cmp n, 3; je ...`` in front: jumps
    that go nowhere (to the next instruction) but tell a global-history branch predictor
    the length in the order that mispredicts least on random lengths (N, N-1 ... 3, then
    the skeleton's own tests, predicted from them)."""
    prefix = []
    for m in range(n, 2, -1):
        prefix += [("cmpn", m), ("jump", JE, ("peel", m)), ("label", ("peel", m))]
    return prefix + list(blocks)


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
                pool = _with_branch_order(pool, task.n)
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


def _with_branch_order(pool, n: int):
    """The dispatch skeletons, then each skeleton of ``pool`` peeled and as it is."""
    for blocks in (dispatch_skeleton(n), dispatch_networks(n)):
        yield plain_length(blocks), sum(b[0] == "cx" for b in blocks), tuple(blocks)
    for plain, exchanges, blocks in pool:
        blocks2 = tuple(peeled(blocks, n))
        yield plain_length(blocks2), exchanges, blocks2
        yield plain, exchanges, blocks


def _warm_up(task: Task) -> None:
    """Compile the exchange kernel and the stepper on a tiny state."""
    regs = np.zeros((3, 2), dtype=np.int8)
    hits = np.zeros((kex.MAX_HITS, kex.HIT_WIDTH), dtype=np.int32)
    kex.exchanges(regs, 0, 1, np.array([2, 0, 1], dtype=np.int32), regs[0], regs[1],
                  kex.CMOV_OPS, kex.CMOV_MASKS, 2, hits)
