"""Self-play on a Ray cluster (``discover train --backend ray``): actors that never wait.

``RayActorPool`` starts ``actors`` Ray actors (``SelfPlayer``), each a process that plays
``games / actors`` games at a time with search, wherever the cluster has a CPU for it. The
learner (this process) plays none: it trains. Each ``play`` puts the latest weights into
the object store once (``ray.put``) and every game batch it hands out takes that object
reference, so a node fetches the weights once however many actors it runs. An actor that
returns a batch gets the next one at once, with the newest weights, while the learner
trains on what arrived: the learner's steps and the games overlap, and a batch may have been
played with weights one iteration old (as in AlphaZero's and AlphaDev's actor-learner
split). ``play`` returns as soon as the batches that arrived hold ``games`` games.

The hall of fame stays on the learner: the programs an actor solves (only improvements on
the best its batch was given) are offered to it the moment the learner hears of them,
and it verifies and writes each at once. The learner asks every actor for its new finds
each time it has waited ``WAIT_S`` for a batch (an actor answers beside the batch it plays:
a threaded actor), and takes the rest with the batch. An actor that is lost (its process killed, its node
gone) is replaced by a new one and the games it was playing are dropped, never the run;
what the learner holds (the hall of fame, the replay buffer, the run directory) is not on
any actor, so nothing found before the loss is lost.

Determinism: batches arrive in the order the cluster finishes them, so a Ray run does not
repeat exactly (each batch's seed still comes from the learner's generator).
"""

from __future__ import annotations

import io
import sys
import time

import numpy as np

from discover.cluster import count_loss, kill_quietly

__all__ = ["RayActorPool", "SelfPlayer", "ACTOR_PREFIX"]

ACTOR_PREFIX = "discover-selfplay"  # named actors: `ray.util.list_named_actors` finds them
WAIT_S = 0.25  # longest wait for a batch before the stop condition is checked again


class SelfPlayer:
    """One self-play actor (a Ray actor class once ``ray.remote`` wraps it)."""

    def __init__(self, config_json: dict, task):
        import torch

        from discover.kernels import tasks as task_table

        from .config import TrainConfig
        from .game import GameSpec
        from .model import Agent
        from .selfplay import SelfPlay

        if task.kernel is not None:
            # A Task.from_function task is known by name only in the process that defined
            # it (as for the local helpers): its tables came pickled with the Task.
            task_table.make_known(task)
        config = TrainConfig.from_json(config_json)
        torch.set_num_threads(config.threads)
        self.spec = GameSpec.from_config(config, task=task)
        self.selfplay = SelfPlay(self.spec, config)
        self.selfplay.warm_up()
        self.agent = Agent(config, self.spec, torch.device("cpu"))
        self.solved: list[str] = []  # every program it reported, in order (``found``)

    def pid(self) -> int:
        """Its process id (the ``ready`` call the pool waits on; tests kill it by this)."""
        import os

        return os.getpid()

    def found(self, since: int) -> list[str]:
        """The programs it reported after the first ``since`` (asked during a batch)."""
        return self.solved[since:]

    def node(self) -> str:
        """The id of the Ray node it runs on."""
        import ray

        return ray.get_runtime_context().get_node_id()

    def play(self, weights: bytes, seed: int, games: int, best: int | None,
             budget: int | None) -> dict:
        """``games`` games with these weights: ``SelfPlay.play``'s dict, plus ``found`` (the
        texts of the programs that improved on ``best`` and on each other)."""
        import torch

        self.agent.net.load_state_dict(torch.load(io.BytesIO(weights), map_location="cpu"))
        found = []

        def on_solved(program):
            lengths = [len(p) for p in found] + ([best] if best is not None else [])
            if not lengths or len(program) < min(lengths):
                found.append(program)
                self.solved.append(program.text())

        result = self.selfplay.play(self.agent.evaluate, games, np.random.default_rng(seed),
                                    on_solved, budget)
        result["found"] = [p.text() for p in found]
        return result


class RayActorPool:
    """``config.actors`` self-play actors on the Ray cluster; the learner's ``play``."""

    def __init__(self, config, selfplay=None):
        from discover.cluster import connect, cpu_share, ray_errors

        from .game import GameSpec

        self.ray = ray = connect(config.address)
        self.config = config
        self.task = selfplay.spec.task if selfplay is not None else \
            GameSpec.from_config(config).task
        self.lost_errors = ray_errors(ray)
        self.cpus = cpu_share(ray, config.actors)
        self.remote = ray.remote(SelfPlayer)
        self.share = config.games // config.actors
        self.run_tag = f"{ACTOR_PREFIX}-{id(self):x}-{int(time.time() * 1000) % 10**8}"
        self.actors = [None] * config.actors
        self.spawned = [0] * config.actors  # actors started per slot (names stay unique)
        self.losses = [0] * config.actors  # losses in a row per slot
        self.lost = 0  # batches dropped with their actor, over the run
        self.pending: dict = {}  # object ref of a batch -> slot
        self.seen = [0] * config.actors  # finds of the slot's actor offered so far
        self.polls: dict = {}  # slot -> object ref of its unanswered ``found`` call
        self.offered: set[str] = set()  # program texts offered (each is verified once)
        self.weights = None  # object ref of the newest weights
        self.batch_args = None  # (best, budget) of the newest play
        self.rng = None
        for slot in range(config.actors):
            self._spawn(slot)
        # Every actor compiles its kernels before the run's clock starts (as the local
        # helpers do); a lost one is replaced here too.
        self._wait_ready()

    def _spawn(self, slot: int) -> None:
        self.spawned[slot] += 1
        name = f"{self.run_tag}-{slot}-{self.spawned[slot]}"
        self.actors[slot] = self.remote.options(
            name=name, num_cpus=self.cpus, max_restarts=0, max_task_retries=0,
            max_concurrency=2).remote(self.config.to_json(), self.task)
        self.seen[slot] = 0
        self.polls.pop(slot, None)

    def _wait_ready(self) -> None:
        ray = self.ray
        waiting = {self.actors[s].pid.remote(): s for s in range(len(self.actors))}
        while waiting:
            ready, _ = ray.wait(list(waiting), num_returns=1)
            slot = waiting.pop(ready[0])
            try:
                ray.get(ready[0])
                self.losses[slot] = 0
            except self.lost_errors as error:
                self._lose(slot, error, "while starting")
                waiting[self.actors[slot].pid.remote()] = slot

    def _lose(self, slot: int, error, when: str) -> None:
        """Replace the actor of ``slot`` (its batch is dropped)."""
        count_loss(self.losses, slot, f"self-play actor {slot}", error)
        print(f"discover train: self-play actor {slot} lost {when} ({type(error).__name__}); "
              "a new one replaces it, its games are dropped", file=sys.stderr)
        kill_quietly(self.ray, [self.actors[slot]])
        self._spawn(slot)

    def _submit(self, slot: int) -> None:
        best, budget = self.batch_args
        seed = int(self.rng.integers(2**63))
        ref = self.actors[slot].play.remote(self.weights, seed, self.share, best, budget)
        self.pending[ref] = slot

    def play(self, agent, run, rng: np.random.Generator, budget: int | None) -> list[dict]:
        """Self-play results worth ``config.games`` games (fewer when the run stops first),
        each offered to the hall of fame as it arrives (``run``: a RunView)."""
        import torch

        ray = self.ray
        buffer = io.BytesIO()
        torch.save({k: v.cpu() for k, v in agent.net.state_dict().items()}, buffer)
        self.weights = ray.put(buffer.getvalue())
        self.batch_args = (len(run.best) if run.best is not None else None, budget)
        self.rng = rng
        busy = set(self.pending.values())
        for slot in range(len(self.actors)):
            if slot not in busy:
                self._submit(slot)
        results, games = [], 0
        while games < self.config.games and not run.should_stop():
            ready, _ = ray.wait(list(self.pending), num_returns=1, timeout=WAIT_S)
            if not ready:
                self._poll(run, games)
            for ref in ready:
                slot = self.pending.pop(ref)
                try:
                    result = ray.get(ref)
                except self.lost_errors as error:
                    self.lost += 1
                    self._lose(slot, error, "during a batch")
                    self._submit(slot)
                    continue
                self.losses[slot] = 0
                # Keep the actor busy while the learner trains: its next batch now.
                self._submit(slot)
                self._offer(run, result.pop("found"), games)
                results.append(result)
                games += len(result["game_returns"])
        return results

    def _offer(self, run, texts, played: int) -> None:
        from discover.kernels import Program

        for text in texts:
            if text not in self.offered:
                self.offered.add(text)
                run.offer(Program.parse(text), played)

    def _poll(self, run, played: int) -> None:
        """Offer the programs the actors found since they were last asked (the answers
        that are in; an actor still starting answers a later poll)."""
        ray = self.ray
        for slot, actor in enumerate(self.actors):
            if slot not in self.polls:
                self.polls[slot] = actor.found.remote(self.seen[slot])
        answered, _ = ray.wait(list(self.polls.values()), num_returns=len(self.polls),
                               timeout=0)
        for slot, ref in list(self.polls.items()):
            if ref not in answered:
                continue
            del self.polls[slot]
            try:
                texts = ray.get(ref)
            except self.lost_errors:
                continue  # its batch reports the loss
            self.seen[slot] += len(texts)
            self._offer(run, texts, played)

    def close(self) -> None:
        from discover.cluster import disconnect

        kill_quietly(self.ray, self.actors)
        self.pending.clear()
        disconnect()
