"""Self-play with tree search: games played side by side, their positions and targets.

``SelfPlay(spec, config)`` holds what its games share across iterations: one scratch game
per length budget (the search restores snapshots, so one serves all trees) and the
admissible lower bound behind ``prune`` and ``bound_shaping`` (its interning tables are
kept warm). ``play`` returns every position played with its policy target (root visit
counts) and value target (the return from that position to the end of its game).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from discover.kernels import Task
from discover.kernels.game import M_NEXT_LOAD
from discover.search.bound import StateBound

from . import mcts
from .config import MCTSConfig, TrainConfig
from .game import GameSpec
from .mcts import Search, Tree, choose

__all__ = ["KernelBound", "LastBound", "LengthBound", "SelfPlay"]


class KernelBound:
    """An admissible bound for a comparison kernel's position (``Task.kernel``), where the
    enumerative search's bound (written for sorts: every cell an output, items
    interchangeable) does not apply. A sum of parts, each counting one kind of
    instruction only:

    * stores >= output cells m_j (j < K) not yet holding their expected row (a store
      fixes one cell);
    * loads >= the most values some input needs in such a cell that no register holds
      (a load brings one value into a register on every input), and, once a game is
      ``attach``-ed, >= the input cells the outputs depend on that the game's in-order
      loads have not reached yet (each must be loaded: memory is read by loads only);
    * cmovs >= the expected rows of those cells that exist in no register or cell (only a
      cmov makes a row that did not exist, one a cmov), and >= ceil(log2 g), g the most
      distinct expected outputs (as input items) among permutation inputs that share a
      *routing* (which item each register and cell holds): mov, load and store move items
      alike on all of them, a cmov splits such a group in two at most;
    * cmps >= ceil(log2 g'), g' as g over inputs sharing routing and flags: they behave
      alike until a cmp separates them, into two groups at most (no ties).

    Positions show every test input (``GameSpec.has_bound``). Returns a number past any
    budget when a needed value is held nowhere.
    """

    def __init__(self, task: Task):
        from discover.envs.masks import optional_cells

        self._game = None
        self._required = ((1 << task.n) - 1) & ~optional_cells(task)  # cells to be read
        self._r, self._n, self._k = task.registers, task.n, task.n_outputs
        self._expected = np.ascontiguousarray(task.expected)  # int8[K, B]
        inputs = task.inputs
        n = task.n
        perm = np.flatnonzero((np.sort(inputs, axis=0) == np.arange(n)[:, None]).all(axis=0))
        self._perm = perm  # int64[P]: the permutation inputs (no ties)
        # item_of[p, v]: the item holding value v on permutation input p; slot -1 -> -1
        item_of = np.full((len(perm), n + 1), -1, dtype=np.int64)
        for i in range(n):
            item_of[np.arange(len(perm)), inputs[i, perm]] = i
        self._item_of = item_of
        self._powers = 9 ** np.arange(task.registers + n, dtype=np.int64)
        self._powers8 = 8 ** np.arange(self._k, dtype=np.int64)
        self._wanted = np.take_along_axis(item_of.T, self._expected[:, perm].astype(np.int64),
                                          axis=0) if len(perm) else None  # int64[K, P]

    def __call__(self, state: np.ndarray) -> int:
        r, n, expected = self._r, self._n, self._expected
        memory = state[r:r + self._k]
        wrong = np.flatnonzero((memory != expected).any(axis=1))
        if not len(wrong):
            return 0
        need = expected[wrong]  # int8[W, B]
        registers = state[:r]
        slots = state[:r + n]
        held_reg = (registers[None, :, :] == need[:, None, :]).any(axis=1)  # bool[W, B]
        held = (slots[None, :, :] == need[:, None, :]).any(axis=1)
        if not held.all():
            return 1 << 20  # a value is lost for good
        # loads: distinct needed values per input that no register holds
        lack = ~held_reg
        values = np.where(lack, need.astype(np.int64), -1)
        values.sort(axis=0)
        distinct = (values[1:] != values[:-1]) & (values[1:] >= 0)
        loads = int(((values[0] >= 0).astype(np.int64) + distinct.sum(axis=0)).max())
        if self._game is not None:
            unread = self._required >> int(self._game._meta[M_NEXT_LOAD])
            loads = max(loads, bin(unread).count("1"))
        rows_missing = sum(1 for j in range(len(wrong))
                           if not (slots == need[j]).all(axis=1).any()
                           and not any(np.array_equal(need[j], need[t]) for t in range(j)))
        cmovs, cmps = rows_missing, 0
        if self._wanted is not None:
            perm = self._perm
            p = len(perm)
            cols = np.arange(p)[None, :]
            routing = self._item_of[cols, slots[:, perm].astype(np.int64)]  # int64[S, P]
            # one int64 key per input: items -1..7 in base 9 (S <= 17 slots, then flags)
            key = (self._powers[:len(routing)] @ (routing + 1))  # int64[P]
            wanted = self._wanted[wrong]  # int64[W, P], items 0..7
            out = self._powers8[:len(wrong)] @ wanted  # int64[P]
            cmovs = max(cmovs, _split_bound(key, out))
            flags = state[-1, perm].astype(np.int64)
            cmps = _split_bound(key * 9 + flags, out)
        return len(wrong) + loads + cmovs + cmps

    def attach(self, game) -> None:
        """Read the loads' progress from ``game``, which the caller keeps at the position
        of every state it asks about (the search's scratch game)."""
        self._game = game


def _split_bound(keys: np.ndarray, wanted: np.ndarray) -> int:
    """ceil(log2) of the most distinct values of ``wanted`` among the inputs sharing one
    value of ``keys`` (both int64[P])."""
    order = np.lexsort((wanted, keys))
    k, w = keys[order], wanted[order]
    new = np.ones(len(k), dtype=bool)
    new[1:] = (k[1:] != k[:-1]) | (w[1:] != w[:-1])  # a new (key, wanted) pair
    starts = np.ones(len(k), dtype=bool)
    starts[1:] = k[1:] != k[:-1]  # a new key
    counts = np.add.reduceat(new.astype(np.int64), np.flatnonzero(starts))
    most = int(counts.max())
    return (most - 1).bit_length() if most > 1 else 0


class LengthBound:
    """The enumerative search's bound on a VarSort game position (varsortN, ISA v2).

    Branches test the length only, so the inputs of one length m all take one path, and
    the instructions on it (jumps and ``cmp n`` aside) are a straight-line program that
    finishes sorting them: at least ``StateBound(sort_m)`` of their state (registers, cells
    m0..m{m-1}, flags), for m >= 2. While inputs of a shorter length l wait on the same
    label (or are active with them) and one of m's inputs still has a wrong cell i >= l, the
    store to it would fault for l: a cmp n and a jump on m's path must separate them first
    (+2). The program is at least as long as any path: the bound is the most over m.
    A cell of an m-item input (m >= 2) that holds its sorted value on every input of length
    m has been stored (each cell starts wrong on some input, and stores are strict): a cell
    is stored once per input (the pruned game's rule), so when m has stored cell i and
    another length m' still has it wrong, m' stores it on an instruction off m's path:
    the program holds m's path plus those stores (and the jump that separates m and m' if
    they run together now). Positions are the game's observed state (status row last: 0
    active, d suspended on pending label d).
    """

    def __init__(self, task: Task):
        r, n = task.registers, task.n
        self._groups = []
        for m in range(2, n + 1):
            cols = np.flatnonzero(task.lengths == m)
            rows = np.array(list(range(r)) + [r + i for i in range(m)] + [r + n])
            self._groups.append((m, StateBound(Task(m, registers=r)), cols, rows))
        self._lengths = task.lengths
        self._r = r
        self._expected = task.expected

    def __call__(self, state: np.ndarray) -> int:
        status = state[-1]
        r = self._r
        most = 0
        groups = []  # (need, status, cells stored, cells wrong) per length m >= 2
        for m, bound, cols, rows in self._groups:
            need = int(bound(np.ascontiguousarray(state[np.ix_(rows, cols)])))
            wrong_rows = (state[r:r + m, cols] != self._expected[:m, cols]).any(1)
            wrong = np.flatnonzero(wrong_rows)
            mine = status[cols[0]]
            groups.append((need, mine, ~wrong_rows, wrong_rows))
            if need == 0:
                continue
            together = self._lengths[status == mine]
            if len(wrong) and together.size and together.min() <= wrong.max():
                need += 2
            most = max(most, need)
        for need, mine, stored, _ in groups:
            for other_need, other, _, wrong in groups:
                k = min(len(stored), len(wrong))
                extra = int(np.count_nonzero(stored[:k] & wrong[:k]))
                if extra:
                    most = max(most, need + extra + 2 * (mine == other))
        return most


class LastBound:
    """``StateBound`` (``LengthBound`` for a varsort task, ``KernelBound`` for a kernel)
    that remembers its last position: the search asks twice per position (``prune``, then
    the shaping potential), and the bound is the costly part."""

    def __init__(self, task):
        if task.variable:
            self._bound = LengthBound(task)
        elif task.is_sort:
            self._bound = StateBound(task)
        else:
            self._bound = KernelBound(task)
        self._last = (None, 0)  # (state asked last, its bound)

    def attach(self, game) -> None:
        """The game the search plays in (``KernelBound`` reads its loads' progress)."""
        if hasattr(self._bound, "attach"):
            self._bound.attach(game)
        self._last = (None, 0)

    def __call__(self, state: np.ndarray) -> int:
        """Admissible lower bound on the instructions any correct continuation of the
        position ``state: int8[S, B]`` still needs (the enumerative search's, on every test
        input: call it only when the positions show them all)."""
        if self._last[0] is not state:
            self._last = (state, self._bound(state))
        return self._last[1]


class SelfPlay:
    """Games with search for one game configuration and one run's settings."""

    def __init__(self, spec: GameSpec, config: TrainConfig):
        self.spec = spec
        self.config = config
        self._games: dict[int, object] = {}  # length budget -> scratch game
        self._bound: LastBound | None = None
        self.reward_of = None
        """Added to the reward of every move that solves the task (``mcts.Search``'s
        ``reward_of``; the measured cost's ``measured.MeasuredReward``); None: nothing."""

    @property
    def bound(self) -> LastBound:
        """The lower bound on the spec's task (made on first use)."""
        if self._bound is None:
            self._bound = LastBound(self.spec.task)
        return self._bound

    def game(self, budget: int | None = None):
        """The scratch game of a length budget (None: the spec's max_length)."""
        key = self.spec.max_length if budget is None else min(budget, self.spec.max_length)
        if key not in self._games:
            self._games[key] = self.spec.make(key)
        return self._games[key]

    def shaping_potential(self, bound_weight: float):
        """The potential the search shapes rewards with: ``spec.potential``, minus
        ``bound_weight`` x ``bound`` / ``max_length`` when that weight is not 0 (and the
        positions show every test input, which the bound needs)."""
        spec = self.spec
        if not bound_weight or not spec.has_bound:
            return spec.potential
        scale = bound_weight / spec.max_length
        return lambda state: spec.potential(state) - scale * self.bound(state)

    def warm_up(self) -> None:
        """Compile the game's, the search's and the bound's kernels before any clock starts."""
        self.spec.warm_up()
        mcts.warm_up()
        if self.spec.has_bound:  # the enum kernels behind pruning and shaping
            obs, _ = self.game().reset(seed=0)
            self.bound(self.spec.state_of(self.game(), obs))

    def play(self, evaluate, games: int, rng: np.random.Generator, on_solved,
             budget: int | None = None, should_stop=None,
             settings: MCTSConfig | None = None) -> dict:
        """Play ``games`` games side by side with search; positions and per-game results.

        Returns a dict of arrays (tokens, states, masks, policies, returns: one row per
        position played) and per-game lists (game_returns, lengths, solved), plus the
        expansion and evaluation counts. ``should_stop()`` (checked every move) abandons the
        games still running: only finished games are returned. ``settings`` replaces the run's
        search settings (``config.mcts``) for these games.
        """
        spec, config = self.spec, self.config
        settings = config.mcts if settings is None else settings
        game = self.game(budget)
        obs, _ = game.reset(seed=0)
        if spec.has_bound:  # the bound (and the shaping that uses it) sees this game
            self.bound.attach(game)
        bound = self.bound if config.prune and spec.has_bound else None
        search = Search(game, spec.state_of, spec.max_moves, evaluate, settings, rng, on_solved,
                        self.shaping_potential(config.bound_shaping), config.shaping, bound,
                        reward_of=self.reward_of)
        trees = [Tree(search.root(obs)) for _ in range(games)]
        records = [[] for _ in range(games)]  # per game: (node, policy)
        done = [False] * games
        move = 0
        while not all(done):
            if should_stop is not None and should_stop():
                break
            live = [i for i in range(games) if not done[i]]
            search.run([trees[i] for i in live], noise=settings.noise_fraction > 0)
            temperature = 1.0 if move < settings.temperature_moves else 0.0
            for i in live:
                root = trees[i].root
                records[i].append((root, root.policy(spec.n_actions)))
                child = trees[i].advance(choose(root, temperature, rng))
                if child.terminal:
                    done[i] = True
            move += 1
        out = {k: [] for k in ("tokens", "states", "masks", "policies", "returns")}
        game_returns, lengths, solved = [], [], []
        discount = settings.discount
        for i in range(games):
            if not done[i]:
                continue
            nodes = [node for node, _ in records[i]] + [trees[i].root]
            rewards = [n.reward for n in nodes[1:]]
            g, returns = 0.0, []
            for r in reversed(rewards):
                g = r + discount * g
                returns.append(g)
            returns.reverse()
            for (node, policy), ret in zip(records[i], returns):
                out["tokens"].append(node.tokens)
                out["states"].append(node.state)
                out["masks"].append(node.mask)
                out["policies"].append(policy)
                out["returns"].append(ret)
            game_returns.append(returns[0] if returns else 0.0)
            lengths.append(len(rewards))
            solved.append(bool(trees[i].root.solved))
        arrays = {k: np.stack(v) if v else None for k, v in out.items()}
        return {**arrays, "game_returns": game_returns, "lengths": lengths, "solved": solved,
                "expansions": search.expansions, "evaluations": search.evaluations}

    def evaluate_greedy(self, evaluate, on_solved,
                        budget: int | None = None) -> tuple[float, int, bool]:
        """One game with search, no noise, most-visited moves: (return, length, solved)."""
        settings = replace(self.config.mcts, noise_fraction=0.0, temperature_moves=0)
        result = self.play(evaluate, 1, np.random.default_rng(0), on_solved, budget,
                           settings=settings)
        return result["game_returns"][0], result["lengths"][0], result["solved"][0]
