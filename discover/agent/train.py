"""The training loop: self-play with tree search, replay, learner, hall of fame, checkpoints.

``train(TrainConfig(...))`` runs iterations until the budget, the iteration limit, the
target length or Ctrl-C stops it. One iteration:

1. self-play: ``games`` games played side by side with MCTS (their leaves evaluated in one
   network batch); with ``actors=2`` a second process plays half of them on the other core;
2. every position played goes to the replay buffer with its policy target (root visit
   counts) and value target (the return from that position to the end of its game);
3. ``train_steps`` learner steps on minibatches from the buffer;
4. metrics, periodic greedy evaluation, periodic checkpoint.

Hall of fame: every correct program the search expands (not only the ones played) is
offered to the run's monitor; a new best is verified exhaustively and written to
``DIR/best.asm`` and ``DIR/best.json`` at once (atomic writes), and listed in
``DIR/hall_of_fame.json``.

Determinism: with ``actors=1`` and ``threads=1``, the same config and seed give the same
games, weights and programs (torch, numpy and the noise are seeded; the game has no
randomness). Wall-clock budgets stop a run at a machine-dependent iteration, so compare
runs by iteration. Checkpoints are written between iterations, so resuming one continues
exactly as the uninterrupted run would have. With ``actors=2`` each actor's games are still
seeded per (seed, iteration, actor), so runs repeat too, but weights arrive over a pipe and
batches differ from the one-process run.
"""

from __future__ import annotations

import csv
import io
import math
import random
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from discover.kernels import Program, Task, verify
from discover.runs import read_json, write_atomic, write_json
from discover.search.base import Monitor

from .config import RESUMABLE_FIELDS, TrainConfig
from .game import GameSpec
from .mcts import Search, Tree, choose

if TYPE_CHECKING:  # torch loads on first use: `discover --help` must not import it
    import torch

CHECKPOINT = "checkpoint.pt"
CHECKPOINT_FORMAT = 1  # bump when the checkpoint layout changes
METRICS_EVERY = 5.0  # seconds between rewrites of metrics.csv (a small file, rewritten whole)
METRICS = ("iteration", "episodes", "positions", "elapsed", "best_length", "mean_return",
           "solved_rate", "mean_length", "policy_loss", "value_loss", "eval_return",
           "eval_length", "expansions")


class CheckpointError(ValueError):
    """A checkpoint that cannot be resumed (corrupt, another format or an incompatible run)."""


@dataclass
class TrainResult:
    """What ``train`` returns (``DIR/summary.json`` is ``to_json()``)."""

    config: TrainConfig
    program: Program | None
    """Best correct program, verified; None if none was found."""
    iterations: int = 0
    episodes: int = 0
    elapsed: float = 0.0
    time_to_best: float | None = None
    stopped: str = "completed"
    run_dir: str = ""
    hall_of_fame: list = field(default_factory=list)

    def to_json(self) -> dict:
        task = Task.from_name(self.config.task, self.config.registers)
        v = verify(self.program, task) if self.program is not None else None
        return {
            "task": task.name, "agent": self.config.agent, "seed": self.config.seed,
            "correct": bool(v and v.correct), "length": v.length if v else None,
            "register_only_length": v.register_only_length if v else None,
            "latency_estimate": v.latency if v else None,
            "program": self.program.text() if self.program is not None else None,
            "iterations": self.iterations, "episodes": self.episodes, "elapsed": self.elapsed,
            "time_to_best": self.time_to_best, "stopped": self.stopped,
            "hall_of_fame": self.hall_of_fame,
        }


def resolve_device(name: str) -> torch.device:
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: no CUDA device is available")
    if name not in ("cpu", "cuda"):
        raise ValueError(f"--device must be auto, cpu or cuda, got {name!r}")
    return torch.device(name)


class Replay:
    """Ring buffer of positions: inputs, mask, policy target and return."""

    def __init__(self, capacity: int, spec: GameSpec):
        self.capacity = capacity
        self.tokens = np.zeros((capacity, spec.max_length), dtype=np.int16)  # int16[C, T]
        self.states = np.zeros((capacity, spec.slots, spec.n_inputs), dtype=np.int8)  # int8[C, S, B]
        self.masks = np.zeros((capacity, spec.n_actions), dtype=bool)  # bool[C, A]
        self.policies = np.zeros((capacity, spec.n_actions), dtype=np.float32)  # float32[C, A]
        self.returns = np.zeros(capacity, dtype=np.float32)  # float32[C]
        self.size = 0
        self.next = 0

    def add(self, tokens, states, masks, policies, returns) -> None:
        for i in range(len(returns)):
            j = self.next
            self.tokens[j], self.states[j], self.masks[j] = tokens[i], states[i], masks[i]
            self.policies[j], self.returns[j] = policies[i], returns[i]
            self.next = (j + 1) % self.capacity
            self.size = min(self.size + 1, self.capacity)

    def state_dict(self) -> dict:
        n = self.size
        return {"tokens": self.tokens[:n].copy() if n < self.capacity else self.tokens,
                "states": self.states[:n] if n < self.capacity else self.states,
                "masks": self.masks[:n], "policies": self.policies[:n],
                "returns": self.returns[:n], "size": n, "next": self.next}

    def load_state_dict(self, d: dict) -> None:
        n = int(d["size"])
        if n > self.capacity or d["tokens"].shape[1:] != self.tokens.shape[1:] \
                or d["states"].shape[1:] != self.states.shape[1:]:
            raise CheckpointError("replay buffer does not fit this configuration")
        self.tokens[:n], self.states[:n], self.masks[:n] = d["tokens"], d["states"], d["masks"]
        self.policies[:n], self.returns[:n] = d["policies"], d["returns"]
        self.size, self.next = n, int(d["next"])


class Agent:
    """Network, its evaluator for the search, and the learner step."""

    def __init__(self, config: TrainConfig, spec: GameSpec, device: torch.device):
        import torch

        from .network import PolicyValueNet

        self.spec = spec
        self.device = device
        self.net = PolicyValueNet(config.network, spec.n_actions, spec.max_length,
                                  spec.featurizer.table_size).to(device)
        self.optimizer = torch.optim.AdamW(self.net.parameters(), lr=config.learning_rate,
                                           weight_decay=config.weight_decay)
        self.config = config

    def _inputs(self, tokens, states):
        import torch

        t = torch.as_tensor(tokens.astype(np.int64), device=self.device)
        s = torch.as_tensor(self.spec.featurizer.slot_indices(states), device=self.device)
        return t, s

    def evaluate(self, tokens, states, masks):
        """The search's evaluator: masked softmax priors and values, as numpy."""
        import torch

        with torch.inference_mode():
            logits, values = self.net(*self._inputs(tokens, states))
            m = torch.as_tensor(masks, device=self.device)
            priors = torch.softmax(logits.masked_fill(~m, -1e9), dim=-1)
        return priors.cpu().numpy(), values.cpu().numpy()

    def learn(self, replay: Replay, rng: np.random.Generator) -> tuple[float, float]:
        import torch

        from .network import masked_log_softmax

        c = self.config
        idx = rng.integers(0, replay.size, size=min(c.batch_size, replay.size))
        tokens, slots = self._inputs(replay.tokens[idx], replay.states[idx])
        masks = torch.as_tensor(replay.masks[idx], device=self.device)
        targets = torch.as_tensor(replay.policies[idx], device=self.device)
        returns = torch.as_tensor(replay.returns[idx], device=self.device)
        logits, values = self.net(tokens, slots)
        logp = masked_log_softmax(logits, masks)
        policy_loss = -(targets * logp).sum(1).mean()
        value_loss = torch.nn.functional.mse_loss(values, returns)
        loss = policy_loss + c.value_weight * value_loss
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return policy_loss.item(), value_loss.item()


def self_play(spec: GameSpec, evaluate, config: TrainConfig, games: int,
              rng: np.random.Generator, on_solved, budget: int | None = None,
              should_stop=None) -> dict:
    """Play ``games`` games side by side with search; positions and per-game results.

    Returns a dict of arrays (tokens, states, masks, policies, returns: one row per
    position played) and per-game lists (returns, lengths, solved), plus the expansion count.
    ``should_stop()`` (checked every move) abandons the games still running: only
    finished games are returned.
    """
    game = spec.game(budget)
    obs, _ = game.reset(seed=0)
    bound = spec.bound if config.prune and spec.sees_all_inputs else None
    search = Search(game, spec.state_of, spec.max_length, evaluate, config.mcts, rng, on_solved,
                    spec.shaping_potential(config.bound_shaping), config.shaping, bound)
    trees = [Tree(search.root(obs)) for _ in range(games)]
    records = [[] for _ in range(games)]  # per game: (node, policy)
    done = [False] * games
    move = 0
    while not all(done):
        if should_stop is not None and should_stop():
            break
        live = [i for i in range(games) if not done[i]]
        search.run([trees[i] for i in live], noise=config.mcts.noise_fraction > 0)
        temperature = 1.0 if move < config.mcts.temperature_moves else 0.0
        for i in live:
            root = trees[i].root
            records[i].append((root, root.policy(spec.n_actions)))
            child = trees[i].advance(choose(root, temperature, rng))
            if child.terminal:
                done[i] = True
        move += 1
    out = {k: [] for k in ("tokens", "states", "masks", "policies", "returns")}
    game_returns, lengths, solved = [], [], []
    discount = config.mcts.discount
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


def evaluate_greedy(spec: GameSpec, evaluate, config: TrainConfig, on_solved,
                    budget: int | None = None) -> tuple[float, int, bool]:
    """One game with search, no noise, most-visited moves: (return, length, solved)."""
    mcts = replace(config.mcts, noise_fraction=0.0, temperature_moves=0)
    result = self_play(spec, evaluate, replace(config, mcts=mcts), 1,
                       np.random.default_rng(0), on_solved, budget)
    return result["game_returns"][0], result["lengths"][0], result["solved"][0]


class Run:
    """The run directory: hall of fame, metrics, checkpoints, summary and curve."""

    def __init__(self, config: TrainConfig, task: Task):
        self.config = config
        self.task = task
        self.dir = Path(config.run_dir)
        self.rows: list[dict] = []
        self.hall: list[dict] = []
        self.best: Program | None = None
        self.elapsed_before = 0.0  # time spent by earlier sessions of a resumed run
        self.monitor: Monitor | None = None
        self.episodes = 0
        self.iteration = 0
        self.tensorboard = None

    def open_tensorboard(self) -> None:
        """Log metrics to DIR/tensorboard too, when TensorBoard is installed."""
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            return
        self.tensorboard = SummaryWriter(str(self.dir / "tensorboard"))

    def log(self, row: dict) -> None:
        self.rows.append(row)
        if self.tensorboard is not None:
            for key, value in row.items():
                if key not in ("iteration", "elapsed") and value != "":
                    self.tensorboard.add_scalar(key, float(value), row["iteration"])

    @property
    def elapsed(self) -> float:
        return self.elapsed_before + (self.monitor.elapsed if self.monitor else 0.0)

    def offer(self, program: Program) -> bool:
        """Keep a solved program if it is a new best: verify, save at once, record."""
        if self.best is not None and len(program) >= len(self.best):
            return False
        check = verify(program, self.task)
        if not check.correct:  # the environment said solved: a bug somewhere, never saved
            raise AssertionError(f"the game reported an incorrect program as solved:\n{program}")
        self.best = program
        entry = {"length": check.length, "register_only_length": check.register_only_length,
                 "latency_estimate": check.latency, "elapsed": round(self.elapsed, 3),
                 "iteration": self.iteration, "episodes": self.episodes,
                 "program": program.text()}
        self.hall.append(entry)
        write_atomic(self.dir / "best.asm",
                     f"; {self.task.name}: {check.length} instructions, verified correct on all "
                     f"{check.n_inputs} weak orderings (discover train, {self.config.agent}, "
                     f"seed {self.config.seed})\n" + program.text())
        write_json(self.dir / "best.json", {"task": self.task.name, "registers": self.task.registers,
                                            "correct": True, **entry})
        write_json(self.dir / "hall_of_fame.json", {"task": self.task.name, "programs": self.hall})
        if self.monitor is not None:
            self.monitor.found(program, self.task)
        return True

    def write_metrics(self) -> None:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=METRICS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        write_atomic(self.dir / "metrics.csv", buffer.getvalue())

    def write_curve(self) -> Path | None:
        if not self.rows:
            return None
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
            from matplotlib.ticker import MaxNLocator
        except ImportError:
            return None
        t = [r["elapsed"] / 60 for r in self.rows]
        best = [r["best_length"] if r["best_length"] != "" else math.nan for r in self.rows]
        ret = [r["mean_return"] if r["mean_return"] != "" else math.nan for r in self.rows]
        fig, ax = plt.subplots(figsize=(7, 4))
        ax.step(t, best, where="post", color="tab:blue", label="best length")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("minutes")
        ax.set_ylabel("best correct length (instructions)", color="tab:blue")
        twin = ax.twinx()
        twin.plot(t, ret, color="tab:orange", alpha=0.7, label="mean return")
        twin.set_ylabel("mean self-play return", color="tab:orange")
        ax.set_title(f"discover train --task {self.task.name} ({self.config.agent}, seed {self.config.seed})")
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100)
        plt.close(fig)
        write_atomic(self.dir / "curve.png", buffer.getvalue())
        return self.dir / "curve.png"


def _rng_state(rng: np.random.Generator) -> dict:
    return rng.bit_generator.state


def save_checkpoint(run: Run, agent, replay, rng: np.random.Generator, extra: dict | None = None) -> None:
    import torch

    payload = {
        "format": CHECKPOINT_FORMAT,
        "config": run.config.to_json(),
        "model": agent.net.state_dict(),
        "optimizer": agent.optimizer.state_dict(),
        "replay": replay.state_dict() if replay is not None else None,
        "rng": {"numpy": _rng_state(rng), "torch": torch.get_rng_state(),
                "python": random.getstate()},
        "iteration": run.iteration, "episodes": run.episodes, "elapsed": run.elapsed,
        "rows": run.rows, "hall": run.hall,
        "best": run.best.text() if run.best is not None else None,
        "extra": extra or {},
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    write_atomic(run.dir / CHECKPOINT, buffer.getvalue())


def load_checkpoint(path: Path, config: TrainConfig) -> dict:
    """Read and check a checkpoint; CheckpointError (one line) when it cannot be resumed."""
    import torch

    if not path.exists():
        raise CheckpointError(f"{path}: no checkpoint to resume")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # noqa: BLE001 - any unpickling failure means corrupt
        raise CheckpointError(f"{path}: corrupt checkpoint ({type(error).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a discover train checkpoint of format {CHECKPOINT_FORMAT}")
    saved = payload["config"]
    mine = config.to_json()
    different = sorted(k for k in mine if k not in RESUMABLE_FIELDS and saved.get(k) != mine[k])
    if different:
        k = different[0]
        raise CheckpointError(f"{path}: incompatible run: {k} was {saved.get(k)!r}, now {mine[k]!r}"
                              " (resume with the run's own settings)")
    return payload


def resumed_config(config: TrainConfig) -> TrainConfig:
    """The saved run's config with this invocation's budgets (for ``--resume DIR``)."""
    path = Path(config.run_dir) / "config.json"
    try:
        saved = TrainConfig.from_json(read_json(path))
    except (ValueError, TypeError) as error:
        raise CheckpointError(str(error) if isinstance(error, ValueError)
                              else f"{path}: incompatible config ({error})") from None
    return replace(saved, **{k: getattr(config, k) for k in RESUMABLE_FIELDS})


def train(config: TrainConfig) -> TrainResult:
    """Run (or resume) a training run; see the module docstring."""
    import torch

    if config.agent not in ("alphazero", "ppo"):
        raise ValueError(f"agent must be 'alphazero' or 'ppo', got {config.agent!r}")
    task = Task.from_name(config.task, config.registers)
    device = resolve_device(config.device)
    torch.set_num_threads(config.threads)
    run = Run(config, task)
    checkpoint_path = run.dir / CHECKPOINT
    if config.resume:
        payload = load_checkpoint(checkpoint_path, config)
    else:
        if checkpoint_path.exists():
            raise CheckpointError(f"{run.dir} already holds a run: resume it (--resume) or "
                                  "choose another --out")
        payload = None
    torch.manual_seed(config.seed)
    random.seed(config.seed)
    rng = np.random.default_rng(config.seed)
    spec = GameSpec.from_config(config)
    spec.warm_up()
    if config.agent == "ppo":
        from .ppo import PPOLearner

        learner = PPOLearner(config, spec, device)
    else:
        learner = AlphaZeroLearner(config, spec, device)
    agent = learner.agent
    if payload is not None:
        try:
            agent.net.load_state_dict(payload["model"])
            agent.optimizer.load_state_dict(payload["optimizer"])
            learner.load_state_dict(payload)
            rng.bit_generator.state = payload["rng"]["numpy"]
            torch.set_rng_state(payload["rng"]["torch"])
            random.setstate(payload["rng"]["python"])
        except (KeyError, RuntimeError, ValueError, TypeError) as error:
            raise CheckpointError(f"{checkpoint_path}: checkpoint does not fit this run "
                                  f"({type(error).__name__})") from None
        run.iteration, run.episodes = payload["iteration"], payload["episodes"]
        run.elapsed_before, run.rows, run.hall = payload["elapsed"], payload["rows"], payload["hall"]
        run.best = Program.parse(payload["best"]) if payload["best"] else None
    write_json(run.dir / "config.json", config.to_json())

    budget = config.budget_minutes * 60 - run.elapsed_before
    run.monitor = Monitor(time_limit=max(budget, 0.0))
    if run.best is not None:
        run.monitor.best = run.best
    target = config.target
    run.open_tensorboard()
    bar = _progress_bar(config, run)
    last_checkpoint = last_metrics = time.perf_counter()
    stopped = "completed"
    try:
        with run.monitor.catch_sigint():
            run.monitor.restart_clock()
            while True:
                if run.monitor.should_stop():
                    stopped = run.monitor.stop_reason
                    break
                if config.max_iterations is not None and run.iteration >= config.max_iterations:
                    stopped = "iteration limit"
                    break
                if target is not None and run.best is not None and len(run.best) <= target:
                    stopped = "target reached"
                    break
                row = learner.iteration(run, rng)
                run.iteration += 1
                row.update(iteration=run.iteration, episodes=run.episodes, elapsed=round(run.elapsed, 3),
                           best_length=len(run.best) if run.best is not None else "")
                run.log({k: row.get(k, "") for k in METRICS})
                if bar is not None:
                    bar.n = run.episodes
                    ret = row.get("mean_return", "")
                    bar.set_postfix(best=row["best_length"] or "-", it=run.iteration,
                                    ret=f"{ret:.2f}" if ret != "" else "-", refresh=False)
                    bar.refresh()
                now = time.perf_counter()
                if now - last_checkpoint >= config.checkpoint_every:
                    save_checkpoint(run, agent, learner.replay, rng, learner.state_dict())
                    last_checkpoint = now
                if now - last_metrics >= METRICS_EVERY or now == last_checkpoint:
                    run.write_metrics()
                    last_metrics = now
    finally:
        learner.close()
        if bar is not None:
            bar.close()
        if run.tensorboard is not None:
            run.tensorboard.close()
    save_checkpoint(run, agent, learner.replay, rng, learner.state_dict())
    run.write_metrics()
    run.write_curve()
    result = TrainResult(config=config, program=run.best, iterations=run.iteration,
                         episodes=run.episodes, elapsed=run.elapsed,
                         time_to_best=run.hall[-1]["elapsed"] if run.hall else None,
                         stopped=stopped, run_dir=str(run.dir), hall_of_fame=run.hall)
    write_json(run.dir / "summary.json", result.to_json())
    return result


def _progress_bar(config: TrainConfig, run: Run):
    if not config.progress:
        return None
    from tqdm import tqdm

    return tqdm(desc=f"train {config.task}", unit=" episodes", initial=run.episodes,
                bar_format="{desc}: {n_fmt}{unit} [{elapsed}{postfix}]", leave=True)


def episode_budget(config: TrainConfig, run: Run) -> int | None:
    """Length budget of the next games: one below the best so far (``shrink_budget``)."""
    if config.shrink_budget and config.cost == "length" and run.best is not None:
        return max(len(run.best) - 1, 1)
    return None


class AlphaZeroLearner:
    """Self-play with search, replay buffer, learner steps, periodic evaluation."""

    def __init__(self, config: TrainConfig, spec: GameSpec, device: torch.device):
        self.config = config
        self.spec = spec
        self.agent = Agent(config, spec, device)
        self.replay = Replay(config.buffer_size, spec)
        self.pool = None
        if config.actors > 1:
            from .actors import ActorPool

            self.pool = ActorPool(config, spec)

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, payload: dict) -> None:
        if payload["replay"] is None:
            raise CheckpointError("checkpoint has no replay buffer")
        self.replay.load_state_dict(payload["replay"])

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()

    def iteration(self, run: Run, rng: np.random.Generator) -> dict:
        c = self.config
        budget = episode_budget(c, run)
        if self.pool is not None:
            results = self.pool.play(self.agent, run, rng, budget)
        else:
            results = [self_play(self.spec, self.agent.evaluate, c, c.games, rng, run.offer, budget,
                                 run.monitor.should_stop)]
        episodes = returns = lengths = solved = expansions = 0
        for r in results:
            if r["tokens"] is not None:
                self.replay.add(r["tokens"], r["states"], r["masks"], r["policies"], r["returns"])
            episodes += len(r["game_returns"])
            returns += sum(r["game_returns"])
            lengths += sum(r["lengths"])
            solved += sum(r["solved"])
            expansions += r["expansions"]
        run.episodes += episodes
        if run.monitor.should_stop():  # Ctrl-C or time: no learner steps on a cut iteration
            return {"positions": self.replay.size, "expansions": expansions,
                    "mean_return": round(returns / episodes, 4) if episodes else ""}
        losses = [self.agent.learn(self.replay, rng) for _ in range(c.train_steps)] \
            if self.replay.size >= min(c.batch_size, 64) else []
        row = {"positions": self.replay.size, "mean_return": round(returns / max(episodes, 1), 4),
               "solved_rate": round(solved / max(episodes, 1), 4),
               "mean_length": round(lengths / max(episodes, 1), 2), "expansions": expansions}
        if losses:
            row["policy_loss"] = round(float(np.mean([p for p, _ in losses])), 5)
            row["value_loss"] = round(float(np.mean([v for _, v in losses])), 5)
        if c.eval_every and (run.iteration + 1) % c.eval_every == 0:
            ret, length, _ = evaluate_greedy(self.spec, self.agent.evaluate, c, run.offer, budget)
            row["eval_return"], row["eval_length"] = round(ret, 4), length
        return row
