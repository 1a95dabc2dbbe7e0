"""Single-player AlphaZero tree search over the AssemblyGame.

The game is deterministic, so transitions come from the environment itself (restore a
node's snapshot, step, clone), never from a learned model. Search details:

- PUCT with AlphaZero's visit-dependent exploration constant (pb_c_base, pb_c_init);
- Q(s, a) = r(s, a) + discount * V(s'), normalised to [0, 1] by the minimum and maximum
  values seen in this tree (MuZero's bounds normalisation: returns here have no fixed
  scale, they depend on the task and the cost); an unvisited action takes its parent's
  mean value (first-play urgency), so the prior alone orders untried actions;
- illegal actions never enter a node: every node keeps only the actions its mask allows;
- Dirichlet noise mixed into the root prior during self-play;
- several games searched side by side: each simulation round selects one leaf in every
  tree, expands them all with the environment, and evaluates the new leaves in a single
  network batch (batching by games rather than virtual loss, so each tree's search is
  exactly sequential AlphaZero and reproducible);
- every expansion that solves the task reports the program (``on_solved``): the hall of
  fame sees every correct program the search touches, not only the ones played; an
  optional ``reward_of(program)`` is added to the reward of such a move (the measured
  cost's correction, ``measured.MeasuredReward``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Protocol

import numba
import numpy as np

from discover.kernels.jit import JIT

from .config import MCTSConfig


class Game(Protocol):
    """What the search needs from an environment (the AssemblyGame has all of it)."""

    def clone(self): ...
    def restore(self, snapshot) -> None: ...
    def step(self, action: int): ...
    def action_masks(self) -> np.ndarray: ...
    def program(self): ...


# evaluate(tokens int16[K, T], states int8[K, S, B], masks bool[K, A]) ->
#   (priors float32[K, A] summing to 1 over legal actions, values float32[K])
Evaluator = Callable[[np.ndarray, np.ndarray, np.ndarray], tuple]
# state_of(game, obs) -> int8[S, B]: the machine state over every test input
StateOf = Callable[[object, object], np.ndarray]
# potential(state int8[S, B]) -> float: progress measure for reward shaping
# bound(state int8[S, B]) -> int: admissible lower bound on instructions still needed
Potential = Callable[[np.ndarray], float]
Bound = Callable[[np.ndarray], int]


@numba.njit(**JIT)
def _select(visits, value_sum, best_value, greed, prior, closed, total, fpu, lo, hi,
            pb_c_base, pb_c_init):
    """Index of the open child maximising the PUCT score (ties: lowest index)."""
    pb_c = (math.log((1.0 + total + pb_c_base) / pb_c_base) + pb_c_init) * math.sqrt(total)
    span = hi - lo
    best = 0
    best_score = -1e300
    for i in range(visits.shape[0]):
        if closed[i]:
            continue
        if visits[i] > 0:
            q = (1.0 - greed) * value_sum[i] / visits[i] + greed * best_value[i]
        else:
            q = fpu
        if span > 0:
            q = (q - lo) / span
        else:
            q = 0.5
        score = q + pb_c * prior[i] / (1.0 + visits[i])
        if score > best_score:
            best_score = score
            best = i
    return best


def warm_up() -> None:
    """Compile the search's kernel before any clock starts."""
    z = np.zeros(2)
    _select(z, z, z, 0.5, z, np.zeros(2, dtype=np.bool_), 0, 0.0, 0.0, 1.0, 19652.0, 1.25)


class Node:
    """A position: the snapshot to restore, and per legal action its statistics."""

    __slots__ = ("snapshot", "reward", "terminal", "solved", "legal", "prior", "clean_prior",
                 "visits", "value_sum", "children", "tokens", "state", "mask", "value", "depth",
                 "closed", "child_closed", "n_closed", "potential", "best_value", "total_visits",
                 "total_value")

    def __init__(self, snapshot, reward: float, terminal: bool, solved: bool, mask, tokens, state,
                 depth: int):
        self.depth = depth  # instructions in the program so far
        self.snapshot = snapshot
        self.reward = reward  # reward of the move into this node
        self.terminal = terminal
        self.solved = solved
        self.mask = mask  # bool[A]
        self.legal = np.flatnonzero(mask).astype(np.int64)  # int64[L] legal action ids
        if not len(self.legal):
            self.terminal = True  # nothing left to play: the episode cannot go on
        self.tokens = tokens  # int16[T]
        self.state = state  # int8[S, B]
        self.prior = None  # float64[L], after evaluation
        self.clean_prior = None
        self.visits = np.zeros(len(self.legal), dtype=np.float64)  # float64[L]
        self.value_sum = np.zeros(len(self.legal), dtype=np.float64)  # float64[L]
        self.best_value = np.full(len(self.legal), -np.inf)  # float64[L] best return seen
        self.children: dict[int, Node] = {}  # index into legal -> child
        self.value = 0.0  # network value at expansion
        # A closed node's subtree is fully explored (every leaf terminal): its value is
        # exact and simulations skip it (MCTS-Solver for a one-player deterministic game).
        self.closed = self.terminal
        self.child_closed = np.zeros(len(self.legal), dtype=np.bool_)  # bool[L]
        self.n_closed = 0
        self.potential = 0.0
        self.total_visits = 0  # visits.sum() and value_sum.sum(), kept as scalars
        self.total_value = 0.0

    @property
    def expanded(self) -> bool:
        return self.prior is not None or self.terminal

    def mean_value(self) -> float:
        n = self.total_visits
        return self.total_value / n if n else self.value

    def policy(self, n_actions: int) -> np.ndarray:
        """``float32[A]``: visit counts normalised (zero on illegal actions)."""
        out = np.zeros(n_actions, dtype=np.float32)
        total = self.visits.sum()
        if total:
            out[self.legal] = self.visits / total
        return out


@dataclass
class Tree:
    """One game's search tree; ``root`` is the position the game has reached."""

    root: Node
    lo: float = math.inf
    hi: float = -math.inf

    def update_bounds(self, value: float) -> None:
        if value < self.lo:
            self.lo = value
        if value > self.hi:
            self.hi = value

    def advance(self, index: int) -> Node:
        """Play legal action ``index`` of the root: its subtree becomes the new tree."""
        self.root = self.root.children[index]
        return self.root


class Search:
    """Runs simulations on several trees at once over one scratch environment."""

    def __init__(self, game: Game, state_of: StateOf, max_length: int, evaluate: Evaluator,
                 config: MCTSConfig, rng: np.random.Generator, on_solved: Callable | None = None,
                 potential: Potential | None = None, shaping: float = 0.0,
                 bound: Bound | None = None, reward_of: Callable | None = None):
        self.reward_of = reward_of  # reward_of(program) -> float, added when solved
        self.potential = potential if shaping else None
        self.shaping = shaping
        self.bound = bound
        self.game = game
        self.state_of = state_of
        self.max_length = max_length
        self.evaluate = evaluate
        self.config = config
        self.rng = rng
        self.on_solved = on_solved
        self.expansions = 0
        # Network outputs by program (the program fixes the position, the weights are fixed
        # during a search): the games of one self-play round share their first moves, and
        # different trees reach the same programs.
        self.cache: dict[bytes, tuple] = {}
        self.evaluations = 0

    def root(self, obs) -> Node:
        """A root node for the game's start (``obs`` from reset: an empty program)."""
        tokens = np.zeros(self.max_length, dtype=np.int16)  # int16[T], all PAD
        node = Node(self.game.clone(), 0.0, False, False, self.game.action_masks(), tokens,
                    self.state_of(self.game, obs), 0)
        if self.potential is not None:
            node.potential = self.potential(node.state)
        return node

    def _expand(self, parent: Node, index: int) -> Node:
        self.game.restore(parent.snapshot)
        action = int(parent.legal[index])
        obs, reward, terminated, truncated, info = self.game.step(action)
        self.expansions += 1
        solved = bool(info.get("solved", False))
        if solved and self.reward_of is not None:  # e.g. measured.MeasuredReward
            reward = float(reward) + self.reward_of(self.game.program())
        if solved and self.on_solved is not None:
            self.on_solved(self.game.program())
        # The program so far is the parent's plus this action: tokens grow incrementally.
        tokens = parent.tokens.copy()
        if parent.depth < len(tokens):
            tokens[parent.depth] = action + 1
        mask = info.get("action_mask")
        mask = self.game.action_masks() if mask is None else mask
        child = Node(self.game.clone(), float(reward), bool(terminated or truncated), solved,
                     np.asarray(mask, dtype=bool), tokens, self.state_of(self.game, obs),
                     parent.depth + 1)
        if (self.bound is not None and not child.terminal
                and self.game.length + self.bound(child.state) > self.game.max_length):
            # No correct program within the episode's budget continues this one: the node is
            # a dead end, closed at once (MCTS-Solver), and its return is what it has. (The
            # game's length: a VarSort game's land moves write no instruction.)
            child.terminal = child.closed = True
        if self.potential is not None:
            # Potential-based shaping (Ng et al. 1999): r + w (phi(s') - phi(s)) keeps the
            # order of complete programs (the sum telescopes) but pays progress at once.
            child.potential = self.potential(child.state)
            child.reward += self.shaping * (child.potential - parent.potential)
        parent.children[index] = child
        return child

    def _evaluate(self, nodes: list[Node]) -> None:
        if not nodes:
            return
        keys = [n.tokens.tobytes() for n in nodes]
        todo = {}  # key -> node, the positions not in the cache, once each
        for key, node in zip(keys, nodes):
            if key not in self.cache and key not in todo:
                todo[key] = node
        if todo:
            batch = list(todo.values())
            priors, values = self.evaluate(np.stack([n.tokens for n in batch]),
                                           np.stack([n.state for n in batch]),
                                           np.stack([n.mask for n in batch]))
            self.evaluations += len(batch)
            for key, prior, value in zip(todo, priors, values):
                self.cache[key] = (prior, value)
        for key, node in zip(keys, nodes):
            prior, value = self.cache[key]
            p = np.asarray(prior, dtype=np.float64)[node.legal]
            total = p.sum()
            node.prior = p / total if total > 0 else np.full(len(p), 1.0 / len(p))
            node.clean_prior = node.prior
            node.value = float(value)

    def add_noise(self, node: Node) -> None:
        """Mix Dirichlet noise into a root's prior (from its clean prior, once per move)."""
        c = self.config
        if c.noise_fraction <= 0 or node.terminal or len(node.legal) < 2:
            return
        noise = self.rng.dirichlet(np.full(len(node.legal), c.dirichlet_alpha))
        node.prior = (1 - c.noise_fraction) * node.clean_prior + c.noise_fraction * noise

    def run(self, trees: list[Tree], noise: bool) -> None:
        """``config.simulations`` simulations in every tree whose root is not terminal."""
        c = self.config
        trees = [t for t in trees if not t.root.closed]
        self._evaluate([t.root for t in trees if t.root.prior is None])
        if noise:
            for t in trees:
                self.add_noise(t.root)
        for _ in range(c.simulations):
            pending = []  # (tree, path, leaf) awaiting a network value
            for tree in trees:
                if tree.root.closed:
                    continue  # every program from here has been tried
                node, path = tree.root, []
                while True:
                    index = _select(node.visits, node.value_sum, node.best_value, c.greed,
                                    node.prior, node.child_closed,
                                    node.total_visits, node.mean_value(), tree.lo, tree.hi,
                                    c.pb_c_base, c.pb_c_init)
                    path.append((node, index))
                    child = node.children.get(index)
                    if child is None:
                        child = self._expand(node, index)
                        break
                    if child.terminal:
                        break
                    node = child
                if child.terminal:
                    self._backup(tree, path, 0.0)
                else:
                    pending.append((tree, path, child))
            self._evaluate([leaf for _, _, leaf in pending])
            for tree, path, leaf in pending:
                self._backup(tree, path, leaf.value)

    def _backup(self, tree: Tree, path, value: float) -> None:
        g = value
        discount = self.config.discount
        closing = True  # the leaf's closure propagates up while parents become fully explored
        for node, index in reversed(path):
            child = node.children[index]
            g = child.reward + discount * g
            node.visits[index] += 1
            node.value_sum[index] += g
            node.total_visits += 1
            node.total_value += g
            if g > node.best_value[index]:
                node.best_value[index] = g
            tree.update_bounds(g)
            if closing and child.closed and not node.child_closed[index]:
                node.child_closed[index] = True
                node.n_closed += 1
                node.closed = node.n_closed == len(node.legal)
            closing = node.closed


def choose(node: Node, temperature: float, rng: np.random.Generator) -> int:
    """Index (into ``node.legal``) of the move to play: visit-proportional or most visited."""
    if temperature <= 0:
        # Most visited; ties broken by the higher mean value, then the lower index.
        best = node.visits.max()
        candidates = np.flatnonzero(node.visits == best)
        if len(candidates) > 1:
            q = node.value_sum[candidates] / np.maximum(node.visits[candidates], 1)
            candidates = candidates[q == q.max()]
        return int(candidates[0])
    weights = node.visits ** (1.0 / temperature)
    return int(rng.choice(len(weights), p=weights / weights.sum()))


def uniform_evaluator(n_actions: int) -> Evaluator:
    """Uniform prior over legal actions and value 0: plain UCT-like search, for tests."""

    def evaluate(tokens, states, masks):
        priors = masks.astype(np.float32)
        priors /= np.maximum(priors.sum(1, keepdims=True), 1)
        return priors, np.zeros(len(masks), dtype=np.float32)

    return evaluate
