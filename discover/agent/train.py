"""The training loop: a learner's iterations, the run directory, checkpoints and resume.

``train(TrainConfig(...))`` runs iterations until the budget, the iteration limit, the
target length or Ctrl-C stops it. Each iteration is the learner's (``alphazero`` or
``ppo``, behind ``learner.Learner``): it plays and learns, offering every solved program
to the run's hall of fame the moment it finds one, and returns what it did
(``LearnStats``); the loop counts it, logs metrics (``DIR/metrics.csv``) and writes a
checkpoint every ``checkpoint_every`` seconds (``rundir``). ``init_from`` starts the
network from an earlier run's, of any sort size (``transfer``); ``curriculum`` trains
smaller tasks first, each a run of its own in ``DIR/stage-TASK`` (``curriculum``).

Determinism: with ``actors=1`` and ``threads=1``, the same config and seed give the same
games, weights and programs (torch, numpy and the noise are seeded; the game has no
randomness). Wall-clock budgets stop a run at a machine-dependent iteration, so compare
runs by iteration. Checkpoints are written between iterations, so resuming one continues
exactly as the uninterrupted run would have. With ``actors=2`` each actor's games are still
seeded per (seed, iteration, actor), so runs repeat too, but weights arrive over a pipe and
batches differ from the one-process run. With ``cost='measured'`` the rewards of solved
programs are timings (``measured.py``), which differ from run to run: such runs do not
repeat exactly, nor does a resumed one continue exactly as the uninterrupted run.
"""

from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from discover.kernels import Program, Task, verify
from discover.runs import RunDir, write_json
from discover.search.base import Monitor

from .config import TrainConfig
from .game import GameSpec
from .learner import Learner, RunView
from .model import resolve_device
from .rundir import (
    CHECKPOINT,
    METRICS,
    CheckpointError,
    Run,
    load_checkpoint,
    resumed_config,
    save_checkpoint,
)

if TYPE_CHECKING:  # torch loads on first use: `discover --help` must not import it
    import torch

__all__ = ["CheckpointError", "TrainResult", "resumed_config", "train"]

METRICS_EVERY = 5.0  # seconds between rewrites of metrics.csv (a small file, rewritten whole)


# A directory holding any of these holds a run: a fresh run into it is refused.
RUN_FILES = (CHECKPOINT, "best.asm", "best.json", "hall_of_fame.json", "config.json",
             "summary.json")

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


def make_learner(config: TrainConfig, spec: GameSpec, device: torch.device) -> Learner:
    """The learner ``config.agent`` names (PPO's module, which imports torch, on demand)."""
    if config.agent == "ppo":
        from .ppo import PPOLearner

        return PPOLearner(config, spec, device)
    if config.agent == "alphazero":
        from .alphazero import AlphaZeroLearner

        return AlphaZeroLearner(config, spec, device)
    raise ValueError(f"agent must be 'alphazero' or 'ppo', got {config.agent!r}")


def train(config: TrainConfig) -> TrainResult:
    """Run (or resume) a training run; see the module docstring."""
    return run_training(config, config.init_from)


def run_training(config: TrainConfig, init_from: str | None) -> TrainResult:
    """``train``, its network started from the run in ``init_from`` (``transfer``) when it
    starts afresh; a curriculum's stages first (``curriculum``)."""
    import torch

    from .transfer import load_source

    if config.agent not in ("alphazero", "ppo"):
        raise ValueError(f"agent must be 'alphazero' or 'ppo', got {config.agent!r}")
    task = Task.from_name(config.task, config.registers)
    if config.cost == "measured":  # before the run directory is made
        from .measured import native_check

        native_check()
    device = resolve_device(config.device)
    torch.set_num_threads(config.threads)
    started = config.resume and (Path(config.run_dir) / CHECKPOINT).exists()
    # Checked before the run directory is made (and, for a curriculum, before its stages).
    source = load_source(init_from, config) if init_from and not started else None
    # Held for the whole run: a second run into this directory is refused at once.
    with RunDir(config.run_dir, "--resume" if config.resume else "--out") as directory:
        if not config.resume:
            directory.fresh(RUN_FILES)
        spent = 0.0
        if config.curriculum:
            from .curriculum import run_stages

            # Written first: a run killed in a stage is resumed by --resume DIR.
            write_json(Path(config.run_dir) / "config.json", config.to_json())
            last, spent, stopped = run_stages(config, init_from, run_training)
            if stopped is not None:  # a stage was interrupted: --resume DIR continues it
                return stopped
            source = load_source(last, config) if not started else None
        return _train(config, task, device, source, spent)


def _train(config: TrainConfig, task: Task, device, source=None, spent: float = 0.0) -> TrainResult:
    import torch

    run = Run(config, task)
    checkpoint_path = run.dir / CHECKPOINT
    # A run killed before its first checkpoint (written before the first iteration) has
    # nothing to resume: it starts again from its saved config.
    payload = load_checkpoint(checkpoint_path, config) \
        if config.resume and checkpoint_path.exists() else None
    torch.manual_seed(config.seed)
    random.seed(config.seed)
    rng = np.random.default_rng(config.seed)
    spec = GameSpec.from_config(config, task=task)
    learner = make_learner(config, spec, device)
    learner.warm_up()
    agent = learner.agent
    if config.cost == "measured":
        run.measured = _measured_reward(config, task, learner)
        run.key = run.measured.key
    if source is not None and payload is None:  # weights of another run (--init-from)
        print(f"discover train: {run.dir}: {source.apply(agent, config.init_fill)}", file=sys.stderr)
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
        run.restore(payload)
        if run.measured is not None:
            run.measured.load(run.dir)
        for note in run.reconcile():
            print(f"discover train: {run.dir}: {note}", file=sys.stderr)
    write_json(run.dir / "config.json", config.to_json())
    if payload is None:  # from now on a kill leaves a run that --resume continues
        save_checkpoint(run, agent, learner.state_dict(), rng)

    budget = config.budget_minutes * 60 - run.elapsed_before - spent  # spent: by its stages
    run.monitor = Monitor(time_limit=max(budget, 0.0))
    if run.best is not None:
        run.monitor.best = run.best
    target = config.target
    run.open_tensorboard()
    bar = _progress_bar(config, run)

    def offer(program: Program, played: int = 0) -> bool:
        return run.offer(program, episodes=run.episodes + played)

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
                stats = learner.learn(RunView(run.iteration, run.best, offer,
                                              run.monitor.should_stop), rng)
                run.iteration += 1
                run.episodes += stats.episodes
                if run.measured is not None:  # the round's new programs, timed in one batch
                    for program in run.measured.flush(run.best):
                        run.offer(program)
                row = {**stats.metrics(), "iteration": run.iteration, "episodes": run.episodes,
                       "elapsed": round(run.elapsed, 3),
                       "best_length": len(run.best) if run.best is not None else ""}
                run.log({k: row.get(k, "") for k in METRICS})
                if bar is not None:
                    bar.n = run.episodes
                    ret = row.get("mean_return", "")
                    bar.set_postfix(best=row["best_length"] or "-", it=run.iteration,
                                    ret=f"{ret:.2f}" if ret != "" else "-", refresh=False)
                    bar.refresh()
                now = time.perf_counter()
                if now - last_checkpoint >= config.checkpoint_every:
                    save_checkpoint(run, agent, learner.state_dict(), rng)
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
    if run.measured is not None:  # a cut iteration's programs
        for program in run.measured.flush(run.best):
            run.offer(program)
    save_checkpoint(run, agent, learner.state_dict(), rng)
    run.write_metrics()
    run.write_curve()
    if run.measured is not None:  # the fastest, re-timed together, for bench --rank DIR
        run.measured.write_candidates(run.dir)
    result = TrainResult(config=config, program=run.best, iterations=run.iteration,
                         episodes=run.episodes, elapsed=run.elapsed,
                         time_to_best=run.hall[-1]["elapsed"] if run.hall else None,
                         stopped=stopped, run_dir=str(run.dir), hall_of_fame=run.hall)
    write_json(run.dir / "summary.json", result.to_json())
    return result


def _measured_reward(config: TrainConfig, task: Task, learner: Learner):
    """The measured cost's reward (``measured.py``), on the game's cost weight and scale,
    handed to the learner's search."""
    from .measured import MeasuredReward

    game = learner.selfplay.game()
    measured = MeasuredReward(task, game.config.cost_weight, game.config.scale)
    learner.selfplay.reward_of = measured
    return measured


def _progress_bar(config: TrainConfig, run: Run):
    if not config.progress:
        return None
    from tqdm import tqdm

    return tqdm(desc=f"train {config.task}", unit=" episodes", initial=run.episodes,
                bar_format="{desc}: {n_fmt}{unit} [{elapsed}{postfix}]", leave=True)
