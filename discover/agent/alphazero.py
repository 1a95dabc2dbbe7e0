"""The AlphaZero learner: self-play with tree search, a replay buffer, learner steps.

One iteration:

1. self-play: ``games`` games played side by side with MCTS (their leaves evaluated in one
   network batch); with ``actors=2`` a second process plays half of them on the other core;
2. every position played goes to the replay buffer with its policy target (root visit
   counts) and value target (the return from that position to the end of its game);
3. ``train_steps`` learner steps on minibatches from the buffer (none on an iteration cut
   short by the clock or Ctrl-C);
4. every ``eval_every`` iterations, one greedy game with search (no noise).

Every correct program the search expands (not only the ones played) is offered to the
run's hall of fame.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .config import TrainConfig
from .game import GameSpec
from .learner import LearnStats, RunView, episode_budget
from .model import Agent
from .rundir import CheckpointError
from .selfplay import SelfPlay

if TYPE_CHECKING:
    import torch

__all__ = ["AlphaZeroLearner", "Replay"]


class Replay:
    """Ring buffer of positions: inputs, mask, policy target and return."""

    def __init__(self, capacity: int, spec: GameSpec):
        self.capacity = capacity
        self.tokens = np.zeros((capacity, spec.max_moves), dtype=np.int16)  # int16[C, T]
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


class AlphaZeroLearner:
    """Self-play with search, replay buffer, learner steps, periodic evaluation."""

    def __init__(self, config: TrainConfig, spec: GameSpec, device: torch.device):
        self.config = config
        self.spec = spec
        self.agent = Agent(config, spec, device)
        self.replay = Replay(config.buffer_size, spec)
        self.selfplay = SelfPlay(spec, config)
        self.pool = None
        if config.backend == "ray":  # actors on a Ray cluster (ray_actors.py)
            from .ray_actors import RayActorPool

            self.pool = RayActorPool(config, self.selfplay)
        elif config.actors > 1:
            from .actors import ActorPool

            self.pool = ActorPool(config, self.selfplay)

    def warm_up(self) -> None:
        self.selfplay.warm_up()

    def state_dict(self) -> dict:
        return {"replay": self.replay.state_dict(), "extra": {}}

    def load_state_dict(self, payload: dict) -> None:
        if payload["replay"] is None:
            raise CheckpointError("checkpoint has no replay buffer")
        self.replay.load_state_dict(payload["replay"])

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()

    def learn(self, run: RunView, rng: np.random.Generator) -> LearnStats:
        c = self.config
        budget = episode_budget(c, run.best)
        if self.pool is not None:
            results = self.pool.play(self.agent, run, rng, budget)
        else:
            results = [self.selfplay.play(self.agent.evaluate, c.games, rng, run.offer, budget,
                                          run.should_stop)]
        episodes = returns = lengths = solved = expansions = 0
        for r in results:
            if r["tokens"] is not None:
                self.replay.add(r["tokens"], r["states"], r["masks"], r["policies"], r["returns"])
            episodes += len(r["game_returns"])
            returns += sum(r["game_returns"])
            lengths += sum(r["lengths"])
            solved += sum(r["solved"])
            expansions += r["expansions"]
        if run.should_stop():  # Ctrl-C or time: no learner steps on a cut iteration
            return LearnStats(episodes, self.replay.size, expansions=expansions,
                              mean_return=round(returns / episodes, 4) if episodes else None)
        losses = [self._train_step(rng) for _ in range(c.train_steps)] \
            if self.replay.size >= min(c.batch_size, 64) else []
        policy_loss = value_loss = eval_return = eval_length = None
        if losses:
            policy_loss = round(float(np.mean([p for p, _ in losses])), 5)
            value_loss = round(float(np.mean([v for _, v in losses])), 5)
        if c.eval_every and (run.iteration + 1) % c.eval_every == 0:
            def offer(program):  # the games above are played: the run records them with it
                return run.offer(program, episodes)

            ret, eval_length, _ = self.selfplay.evaluate_greedy(self.agent.evaluate, offer, budget)
            eval_return = round(ret, 4)
        return LearnStats(episodes, self.replay.size,
                          mean_return=round(returns / max(episodes, 1), 4),
                          solved_rate=round(solved / max(episodes, 1), 4),
                          mean_length=round(lengths / max(episodes, 1), 2),
                          policy_loss=policy_loss, value_loss=value_loss,
                          eval_return=eval_return, eval_length=eval_length, expansions=expansions)

    def _train_step(self, rng: np.random.Generator) -> tuple[float, float]:
        """One gradient step on a minibatch from the buffer: (policy loss, value loss)."""
        import torch

        from .network import masked_log_softmax

        c, agent, replay = self.config, self.agent, self.replay
        idx = rng.integers(0, replay.size, size=min(c.batch_size, replay.size))
        tokens, slots = agent.inputs(replay.tokens[idx], replay.states[idx])
        masks = torch.as_tensor(replay.masks[idx], device=agent.device)
        targets = torch.as_tensor(replay.policies[idx], device=agent.device)
        returns = torch.as_tensor(replay.returns[idx], device=agent.device)
        logits, values = agent.net(tokens, slots)
        logp = masked_log_softmax(logits, masks)
        policy_loss = -(targets * logp).sum(1).mean()
        value_loss = torch.nn.functional.mse_loss(values, returns)
        loss = policy_loss + c.value_weight * value_loss
        agent.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        agent.optimizer.step()
        return policy_loss.item(), value_loss.item()
