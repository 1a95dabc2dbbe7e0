"""Network beam search (``--method beam``): a sorting network compiled with AlphaDev's tricks.

A size-optimal comparator network sorts with 4 instructions a comparator (a spare copy,
cmp, two cmovs) plus N loads and N stores: 60 / 78 / 92 instructions for sort6 / 7 / 8.
AlphaDev's shorter programs are still networks underneath, with some compare-exchanges
done in three instructions or two: a register the program no longer needs holds the
right value on exactly the inputs where a cmov leaves it alone, thanks to what earlier
comparators already ordered (``kernels/exchange.py`` says how). Whether a short exchange
exists depends on the values the earlier exchanges left behind in dead registers, so the
choices interact. This search compiles a network comparator by comparator and keeps a beam
of the ``width`` shortest partial programs (distinct machine states) after each one:

* a node is a partial program and its machine state over the test inputs (a sample of
  ``sample`` inputs for sort7 and sort8, every candidate confirmed on all inputs before it
  enters the beam);
* a node's children: the next comparator (any comparator whose wires' earlier comparators
  are done, with ``orders='search'``; the next one of a random topological order with
  ``'random'``), its wires loaded where they are not yet (into the lowest unset register or
  over any dead one), then every exchange of one cmp and one or two cmovs that leaves min
  and max in two registers (exhaustive, ``kernels/exchange.py``), and the plain four
  instruction exchange over each dead register;
* after the last comparator each wire's register is stored to its cell.

Restarts cycle through the size-optimal networks we know (``network_variants``: the
shipped one, the networks of merges of ``kernels/networks.py``, those the N+1 and N+2
networks leave when their top or bottom wires are removed, and the mirror image of each)
with fresh random tie-breaks, on ``workers`` processes; every finished program is verified
(``monitor.found``). Which network matters: sort6's 56 came only from a network of merges
(sort3 + sort3, then a 6-comparator merge). Nothing is proved: the result is as short as
the best network compilation found. Same seed, same restarts, same programs.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
import time
from concurrent.futures import ProcessPoolExecutor, wait
from dataclasses import dataclass

import numpy as np

from discover.kernels import (CMOVG, CMP, LOAD, MERGE_NETWORKS, MOV, OPTIMAL_NETWORKS, STORE,
                              Program, Task, baseline_program, initial_state, step, verify)
from discover.kernels import exchange as kex
from discover.validation import check_choice, check_int, check_memory_gb, check_seed

from .base import Monitor, SearchResult, SearchStopped

__all__ = ["BeamConfig", "network_variants", "place", "search_beam"]

ORDERS = ("search", "random", "fixed")
BEAM_COSTS = ("length", "latency")


@dataclass(frozen=True)
class BeamConfig:
    """Options of the network beam search (``discover search --method beam``)."""

    seed: int = 0
    """Seeds the tie-breaks and comparator orders: same seed, same restarts, same programs."""
    width: int = 24
    """Partial programs (distinct machine states) kept after each comparator."""
    orders: str = "search"
    """Comparator order: 'search' (the beam chooses among the comparators whose earlier
    comparators are done), 'random' (one random topological order per restart) or
    'fixed' (the network's own order)."""
    sample: int = 4096
    """Test inputs the short exchanges are searched on (every input when there are fewer);
    each candidate is confirmed on every input before it enters the beam."""
    restarts: int | None = None
    """Beam runs (networks and tie-breaks vary between them); None: until the time limit."""
    first_restart: int = 0
    """Index of the first restart (``--resume`` goes on after the restarts a run made)."""
    workers: int = 2
    """Restarts run at once, one a process (the driver is Python: threads share one
    core); results are taken in restart order, so the count changes nothing else."""
    memory_limit_gb: float = 8.0
    """Refuse to start when the beams' machine states would need more than this."""
    cost: str = "length"
    """What the kept program minimises after correctness: 'length', or 'latency' (the
    latency estimate of kernels/cost.py; for varsort, the estimate on random lengths with
    mispredicted branches, FlowCost.expected_cycles), then length."""

    def __post_init__(self):
        check_seed(self, "seed")
        check_choice(self, "cost", BEAM_COSTS)
        check_int(self, "width", 1, 1 << 16)
        check_choice(self, "orders", ORDERS)
        check_int(self, "sample", 64, 1 << 24)
        check_int(self, "restarts", 1, optional=True)
        check_int(self, "first_restart", 0)
        check_int(self, "workers", 1, 64)
        check_memory_gb(self, "memory_limit_gb")

    def check(self, task: Task) -> None:
        """ValueError if the task has no network to compile (no spare register) or the
        beams would pass the memory limit, or the task is a kernel (not a sort)."""
        if not task.is_sort:
            raise ValueError(f"the beam search compiles sorting networks and does not search "
                             f"kernel tasks ({task.name}): use --method stochastic or enum")
        if task.registers < task.n + 1:
            raise ValueError(f"the beam search compiles sorting networks, which need a spare "
                             f"register: {task.name} needs --registers {task.n + 1} or more, "
                             f"got {task.registers}")
        need = self.memory_bytes(task)
        if need > self.memory_limit_gb * 2**30:
            raise ValueError(f"the beam search on {task.name} needs {need / 2**30:.1f} GB for "
                             f"its machine states ({self.workers} workers x width "
                             f"{self.width}), over the {self.memory_limit_gb:g} GB memory "
                             "limit: use a smaller --width or fewer --workers")

    def memory_bytes(self, task: Task) -> int:
        """About what the beams hold at most: per worker, the registers of every kept node
        on every input (when sampled) and the sampled states of a step's candidates (at
        most width x the children of one node), plus one full state of scratch."""
        sample = min(self.sample, task.n_inputs)
        full = task.registers * task.n_inputs if task.n_inputs > self.sample else 0
        children = 4 * task.registers * (task.registers + 2)  # loads x exchanges, about
        per_worker = (self.width * (full + task.slots * sample)
                      + self.width * children * task.slots * sample
                      + task.slots * task.n_inputs)
        return self.workers * per_worker


def _sorts(network, n: int) -> bool:
    """Does the comparator network sort every 0/1 input (and so every input)?"""
    for bits in range(1 << n):
        v = [(bits >> k) & 1 for k in range(n)]
        for i, j in network:
            if v[i] > v[j]:
                v[i], v[j] = v[j], v[i]
        if any(v[k] > v[k + 1] for k in range(n - 1)):
            return False
    return True


def _canonical(network) -> tuple[tuple[int, int], ...]:
    """The network with commuting comparators in one order (the smallest ready first), so
    that two writings of one network compare equal."""
    left = list(range(len(network)))
    out = []
    while left:
        ready = [k for k in left if not any(set(network[e]) & set(network[k])
                                            for e in left if e < k)]
        k = min(ready, key=lambda k: network[k])
        left.remove(k)
        out.append(network[k])
    return tuple(out)


def network_variants(n: int) -> list[tuple[tuple[int, int], ...]]:
    """Size-optimal sorting networks for n items: the shipped one (first), the networks of
    merges (``MERGE_NETWORKS``), those of n + 1 and n + 2 items with their top (+inf) or
    bottom (-inf) wires removed when that keeps the optimal size, and the mirror image of
    each; every one checked to sort (on the 0/1 inputs), none twice."""
    size = len(OPTIMAL_NETWORKS[n])

    def mirror(net, m):
        return tuple((m - 1 - j, m - 1 - i) for i, j in net)

    def drop_top(net, m):  # wire m - 1 holds +inf: its comparators change nothing
        return tuple((i, j) for i, j in net if j != m - 1), m - 1

    def drop_bottom(net, m):  # wire 0 holds -inf
        return tuple((i - 1, j - 1) for i, j in net if i != 0), m - 1

    found, seen = [], set()
    for m in (n, n + 1, n + 2):
        for net in (OPTIMAL_NETWORKS.get(m, ()),) + MERGE_NETWORKS.get(m, ()):
            if not net:
                continue
            shrunk = [(net, m)]
            while shrunk[0][1] > n:
                shrunk = [f(x, k) for x, k in shrunk for f in (drop_top, drop_bottom)]
            for x, _ in shrunk:
                for y in (x, mirror(x, n)):
                    key = _canonical(y)
                    if len(y) == size and key not in seen and _sorts(y, n):
                        seen.add(key)
                        found.append(y)
    return found


class _Node:
    """A partial program: its instructions, where each wire lives, the comparators done,
    its machine state on the sample and (when sampled) on every input."""

    __slots__ = ("program", "wires", "done", "state", "full")

    def __init__(self, program, wires, done, state, full):
        self.program = program  # tuple of (op, dst, src)
        self.wires = wires  # tuple: wire -> register, -1 while in memory
        self.done = done  # int: bit c set when comparator c is done
        self.state = state  # int8[S, M]: registers, memory, flags on the sample
        self.full = full  # int8[R, B]: its registers on every input; None: the sample is all


def place(regs, lo, hi, free, written):
    """(lo register, hi register) among ``free``, one of them ``written`` by the exchange:
    where an exchange left min and max (``regs``: register rows); None if not both."""
    for x in free:
        if np.array_equal(regs[x], lo):
            for y in free:
                if y != x and (x in written or y in written) \
                        and np.array_equal(regs[y], hi):
                    return x, y
    return None


def _apply(state, instructions, registers):
    out = state.copy()
    for op, dst, src in instructions:
        step(out, op, dst, src, registers)
    return out


class _Compiler:
    """One beam run over one network."""

    def __init__(self, task: Task, network, config: BeamConfig, rng, monitor: Monitor,
                 columns):
        self.task, self.network, self.config = task, network, config
        self.rng, self.monitor = rng, monitor
        self.r, self.n = task.registers, task.n
        self.columns = columns  # int64[M] or None: the sample
        self.hits = np.zeros((kex.MAX_HITS, kex.HIT_WIDTH), dtype=np.int32)
        self.expanded = 0
        # comparator c waits for these comparators (the earlier ones on its wires)
        self.needs = []
        for c, (i, j) in enumerate(network):
            mask = 0
            for e in range(c):
                if set(network[e]) & {i, j}:
                    mask |= 1 << e
            self.needs.append(mask)
        self.order = self._order()

    def _order(self):
        if self.config.orders == "fixed":
            return list(range(len(self.network)))
        if self.config.orders == "search":
            return None
        done, order = 0, []
        while len(order) < len(self.network):
            ready = self._ready(done)
            c = ready[int(self.rng.integers(len(ready)))]
            order.append(c)
            done |= 1 << c
        return order

    def root(self) -> _Node:
        full = initial_state(self.task.inputs, self.r)
        if self.columns is None:
            return _Node((), (-1,) * self.n, 0, full, None)
        self.scratch = full  # int8[S, B]: memory rows never change before the stores
        return _Node((), (-1,) * self.n, 0, np.ascontiguousarray(full[:, self.columns]),
                     full[:self.r].copy())

    def _ready(self, done: int) -> list[int]:
        """The comparators not in ``done`` (a bit mask) whose earlier comparators are."""
        return [c for c in range(len(self.network))
                if not done >> c & 1 and self.needs[c] & ~done == 0]

    def ready(self, node: _Node, depth: int):
        if self.order is not None:
            return [self.order[depth]]
        return self._ready(node.done)

    def _loaded(self, node: _Node, wire: int):
        """Nodes with ``wire`` in a register: as is, or loaded into the lowest unset
        register or over each dead one."""
        if node.wires[wire] >= 0:
            return [node]
        live = set(node.wires)
        state = node.state
        unset = [q for q in range(self.r) if q not in live and state[q, 0] == -1]
        targets = unset[:1] + [q for q in range(self.r) if q not in live and state[q, 0] != -1]
        out = []
        for q in targets:
            ins = ((LOAD, q, wire),)
            wires = list(node.wires)
            wires[wire] = q
            out.append(_Node(node.program + ins, tuple(wires), node.done,
                             _apply(state, ins, self.r), node.full))
        return out

    def children(self, node: _Node, c: int):
        """(program, wires, done, state, instructions added since node.full, lo/hi registers)."""
        i, j = self.network[c]
        out = []
        for pre in (p2 for p1 in self._loaded(node, i) for p2 in self._loaded(p1, j)):
            a, b = pre.wires[i], pre.wires[j]
            regs = pre.state[:self.r]
            lo, hi = np.minimum(regs[a], regs[b]), np.maximum(regs[a], regs[b])
            live = set(pre.wires) - {-1}
            dead = [q for q in range(self.r) if q not in live]
            dests = np.array([q for q in dead if regs[q, 0] != -1] + [a, b], dtype=np.int32)
            count = kex.exchanges(regs, a, b, dests, lo, hi, kex.CMOV_OPS, kex.CMOV_MASKS, 2,
                                  self.hits)
            done = pre.done | 1 << c
            loads = pre.program[len(node.program):]
            for h in self.hits[:count]:
                ins = [(CMP, int(h[0]), int(h[1])), (int(h[2]), int(h[3]), int(h[4]))]
                if h[5] != kex.NONE:
                    ins.append((int(h[5]), int(h[6]), int(h[7])))
                state = _apply(pre.state, ins, self.r)
                regs2 = state[:self.r]
                free = [q for q in range(self.r) if q not in live or q in (a, b)]
                written = {q for _, q, _ in ins[1:]}
                placed = place(regs2, lo, hi, free, written)
                if placed is None:
                    continue
                wires = list(pre.wires)
                wires[i], wires[j] = placed
                out.append((pre.program + tuple(ins), tuple(wires), done, state,
                            loads + tuple(ins), placed))
            for z in dead:  # the plain exchange: copy one of a, b into z
                for ins in (((MOV, z, a), (CMP, a, b), (CMOVG, a, b), (CMOVG, b, z)),
                            ((MOV, z, b), (CMP, a, b), (CMOVG, b, a), (CMOVG, a, z))):
                    out.append((pre.program + ins, pre.wires, done,
                                _apply(pre.state, ins, self.r), loads + ins, (a, b)))
        return out

    def key(self, program, wires, done, state):
        """Nodes equal up to a renaming of the registers share a key."""
        owner = {q: w for w, q in enumerate(wires) if q >= 0}
        regs = sorted((owner.get(q, -1), state[q].tobytes()) for q in range(self.r))
        return done, tuple(regs)

    def _confirm(self, parent: _Node, added, placed, c) -> np.ndarray | None:
        """The child's registers on every input (``added`` run on the parent's), or None
        when its exchange does not leave min and max in the ``placed`` registers there."""
        i, j = self.network[c]
        state = self.scratch
        state[:self.r] = parent.full
        rows = [state[parent.wires[w]] if parent.wires[w] >= 0 else state[self.r + w]
                for w in (i, j)]
        lo, hi = np.minimum(rows[0], rows[1]), np.maximum(rows[0], rows[1])
        for op, dst, src in added:
            step(state, op, dst, src, self.r)
        x, y = placed
        if not (np.array_equal(state[x], lo) and np.array_equal(state[y], hi)):
            return None
        return state[:self.r].copy()

    def run(self) -> Program | None:
        width = self.config.width
        nodes = [self.root()]
        for depth in range(len(self.network)):
            candidates = {}
            for node in nodes:
                if self.monitor.should_stop():
                    return None
                self.expanded += 1
                for c in self.ready(node, depth):
                    for program, wires, done, state, added, placed in self.children(node, c):
                        key = self.key(program, wires, done, state)
                        old = candidates.get(key)
                        if old is None or len(program) < len(old[0][0]):
                            candidates[key] = ((program, wires, done, state, added, placed),
                                               node, c)
            ranked = list(candidates.values())
            ties = self.rng.random(len(ranked))
            order = sorted(range(len(ranked)), key=lambda k: (len(ranked[k][0][0]), ties[k]))
            nodes = []
            for k in order:
                (program, wires, done, state, added, placed), parent, c = ranked[k]
                full = None
                if parent.full is not None:
                    full = self._confirm(parent, added, placed, c)
                    if full is None:
                        continue  # the exchange held on the sample only
                nodes.append(_Node(program, wires, done, state, full))
                if len(nodes) >= width:
                    break
            if not nodes:
                return None
        best = min(nodes, key=lambda node: len(node.program))
        stores = tuple((STORE, w, q) for w, q in enumerate(best.wires))
        return Program.from_instructions(best.program + stores)


def search_beam(task: Task, config: BeamConfig, monitor: Monitor) -> SearchResult:
    """Compile size-optimal networks with short exchanges until ``config.restarts`` or the
    monitor stops; the shortest verified program."""
    config.check(task)  # ValueError: no spare register, or over the memory limit
    columns = None
    if task.n_inputs > config.sample:
        columns = np.unique(np.linspace(0, task.n_inputs - 1, config.sample).astype(np.int64))
    # Set-up: a stop interrupts it at once (Monitor.setup) and it counts against the time
    # limit. The network program is offered first, so the run directory holds it from the
    # first second; then the networks and the JIT.
    warm = time.perf_counter()
    try:
        with monitor.setup():
            network = baseline_program(task)
            if verify(network, task).correct:  # compiles the verifier here
                monitor.found(network, task)
            networks = network_variants(task.n)
            _warm_up()
    except SearchStopped:
        return monitor.result(task, "beam", config.seed, 0, time.perf_counter() - warm,
                              {"stopped_in": "set-up"})
    compile_time = time.perf_counter() - warm
    monitor.start_search()
    monitor.set_phase("search")
    expanded = 0
    restart = config.first_restart
    stop = None if config.restarts is None else config.first_restart + config.restarts
    lengths = []
    with monitor.catch_sigint(), _Restarts(task, networks, config, columns, monitor) as runs:
        while stop is None or restart < stop:
            if monitor.should_stop():
                break
            count = config.workers if stop is None else min(config.workers, stop - restart)
            for program, nodes in runs.map(range(restart, restart + count)):
                expanded += nodes  # in restart order: the same results for any workers
                if program is not None:
                    lengths.append(len(program))
                    monitor.found(program, task)
            restart += count
            monitor.progress(expanded, restart=restart - config.first_restart,
                             last=lengths[-1] if lengths else None)
    notes = {"networks": len(networks), "restarts": restart - config.first_restart,
             "first_restart": config.first_restart, "width": config.width,
             "orders": config.orders, "sample": int(len(columns)) if columns is not None
             else task.n_inputs,
             "lengths": {str(k): lengths.count(k) for k in sorted(set(lengths))}}
    return monitor.result(task, "beam", config.seed, expanded, compile_time, notes)


def _restart(task: Task, networks, config: BeamConfig, columns, index: int, stopper):
    """Restart ``index``: its network, its random stream; (program or None, nodes)."""
    rng = np.random.default_rng([config.seed, index])
    compiler = _Compiler(task, networks[index % len(networks)], config, rng, stopper, columns)
    return compiler.run(), compiler.expanded


class _Restarts:
    """Runs restarts: here (one worker) or on ``workers`` spawned processes, which stop at
    the monitor's deadline or when it asks (Ctrl-C), within one node expansion."""

    def __init__(self, task, networks, config, columns, monitor: Monitor):
        self.args = (task, networks, config, columns)
        self.monitor = monitor
        self.pool = self.event = None

    def __enter__(self):
        if self.args[2].workers > 1:
            context = mp.get_context("spawn")  # no Numba or thread state forked
            self.event = context.Event()
            self.pool = ProcessPoolExecutor(self.args[2].workers, mp_context=context,
                                            initializer=_worker_init, initargs=(self.event,))
        return self

    def __exit__(self, *exc):
        if self.pool is not None:
            self.event.set()
            self.pool.shutdown(cancel_futures=True)
        return False

    def map(self, indices):
        if self.pool is None:
            return [_restart(*self.args, index, self.monitor) for index in indices]
        remaining = self.monitor.remaining
        deadline = None if remaining is None else time.monotonic() + remaining
        futures = [self.pool.submit(_worker_restart, *self.args, index, deadline)
                   for index in indices]
        while not all(f.done() for f in futures):
            wait(futures, timeout=0.05)
            if self.monitor.should_stop():
                self.event.set()  # the workers return within a node expansion
        return [f.result() for f in futures]


_STOP = None  # a worker process's stop event (set by _Restarts on a stop request)


def _worker_init(event) -> None:
    global _STOP
    _STOP = event
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which says


class _WorkerStop:
    """What a worker's compiler polls: the parent's stop event and the deadline."""

    def __init__(self, deadline):
        self.deadline = deadline

    def should_stop(self) -> bool:
        return _STOP.is_set() or (self.deadline is not None
                                  and time.monotonic() >= self.deadline)


def _worker_restart(task, networks, config, columns, index, deadline):
    return _restart(task, networks, config, columns, index, _WorkerStop(deadline))


def _warm_up() -> None:
    """Compile (or load from Numba's cache) the exchange kernel (set-up verified the
    network program, which compiled the verifier)."""
    regs = np.array([[0, 1, 0], [1, 0, 0], [1, 0, 0]], dtype=np.int8)
    out = np.zeros((kex.MAX_HITS, kex.HIT_WIDTH), dtype=np.int32)
    kex.exchanges(regs, 0, 1, np.array([2, 0, 1], dtype=np.int32), regs[0], regs[1],
                  kex.CMOV_OPS, kex.CMOV_MASKS, 2, out)
