"""The skeletons of the varsort search: which code each length runs, and where the paths
meet (``varsort.py`` compiles them).

A varsortN program sorts n = 0..N items with forward jumps only, so every input runs a
subsequence of the program. Inputs of different lengths share code when the program runs
one *hereditary* sorting network: its comparators among wires 0..m-1 sort those wires, for
every m (an input of length m has only those wires). ``networks`` lists them: every
fewest-comparator network we know under every renaming of its wires that makes it
hereditary, plus selection and insertion (N(N-1)/2 comparators, always hereditary).

A skeleton is a list of blocks: ``("load", w)``, ``("cx", i, j)`` (a compare-exchange),
``("store", w)``, ``("cmpn", K)``, ``("jump", op, label)`` and ``("label", label)``. From
an order of a network's items (``skeleton``) the jumps follow: each item has a *level*,
the shortest length that runs it (a comparator's upper wire + 1; a load or store of m{w},
w + 1, at least 2), and before an item the inputs too short for it jump (``cmp n, K`` and
``jl``/``jle``, one ``cmp`` for several jumps while its flags hold) to the next item of
their level, or to the end. ``skeletons`` lists every order of every network up to
varsort4 and hill-climbed orders above, shortest plain length first. For speed on random
lengths (``--cost latency``) there are also ``dispatch_skeleton`` and ``dispatch_networks``
(the lengths tested N, N-1 ... 3 first, the order that mispredicts least) and ``peeled``
skeletons (those tests put in front of any skeleton).
"""

from __future__ import annotations

import functools
import itertools

import numpy as np

from discover.kernels import JE, JL, JLE, JMP, JNE, OPTIMAL_NETWORKS

from .beam import _sorts as sorts
from .beam import network_variants

__all__ = ["END", "candidates", "climb", "dispatch_networks", "dispatch_skeleton",
           "hereditary", "insertion_network", "items_of", "level", "networks", "peeled",
           "plain_length", "selection_network", "skeleton", "skeletons",
           "topological_order", "with_branch_order"]

END = "end"


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
    return all(sorts([c for c in network if max(c) < m], m) for m in range(2, n + 1))


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


def items_of(network, n: int):
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
        items, needs = items_of(network, n)
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
        items, needs = items_of(network, n)
        quick.append((_cost(items, topological_order(items, needs, rng, "low"), n),
                      len(quick), network))
    for _, _, network in sorted(quick):
        items, needs = items_of(network, n)
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


def with_branch_order(pool, n: int):
    """The dispatch skeletons, then each skeleton of ``pool`` peeled and as it is."""
    for blocks in (dispatch_skeleton(n), dispatch_networks(n)):
        yield plain_length(blocks), sum(b[0] == "cx" for b in blocks), tuple(blocks)
    for plain, exchanges, blocks in pool:
        blocks2 = tuple(peeled(blocks, n))
        yield plain_length(blocks2), exchanges, blocks2
        yield plain, exchanges, blocks
